/**
 * The rule-pack manifest: what a pack exports (default export or `pack`), validated by zod. A pack
 * is an npm package (or a folder with a `pack.yaml`): rules, the reference documents it ships
 * (baseline fragments, exceptions, a priority list for its tests) and test cases.
 */
import { ReferenceKind, Severity } from "@vigil/schema";
import { z } from "zod";
import { EventKindName } from "../language/schema.ts";
import type { CompiledRule, EventKind, EventValues } from "../model.ts";

export const PackReference = z.strictObject({
  kind: ReferenceKind,
  /** Relative to the pack root. */
  path: z.string().min(1),
});
export type PackReference = z.output<typeof PackReference>;

export const PackExpectation = z.strictObject({
  rule: z.string().min(1),
  /** The finding's asset id, hostname or address. */
  asset: z.string().min(1).optional(),
  severity: Severity.optional(),
  title_contains: z.string().min(1).optional(),
  /** How many findings match exactly (default 1; 0 asserts there is none). */
  count: z.number().int().min(0).default(1),
});
export type PackExpectation = z.output<typeof PackExpectation>;

export const PackEventRecord = z.strictObject({
  kind: EventKindName,
  value: z.unknown(),
  /** The Kafka key; default: the key the ingest publishes with. */
  key: z.string().min(1).optional(),
});

export const PackTest = z.strictObject({
  name: z.string().min(1),
  /** Rule ids under test (default: every rule of the pack). */
  rules: z.array(z.string().min(1)).min(1).optional(),
  references: z.array(PackReference).optional(),
  /** A JSON-lines file (relative to the pack root) of `{ kind, value, key? }`, or the records inline. */
  events: z.union([z.string().min(1), z.array(PackEventRecord)]),
  /** Event time to advance to after the events (windows close, absences are reported). */
  advance_to: z.iso.datetime({ offset: true }).optional(),
  expect: z.array(PackExpectation),
});
export type PackTest = z.output<typeof PackTest>;

const CompiledRuleValue = z.custom<CompiledRule>(
  (value) =>
    value !== null &&
    typeof value === "object" &&
    typeof (value as CompiledRule).id === "string" &&
    typeof (value as CompiledRule).evaluate === "function" &&
    Array.isArray((value as CompiledRule).on),
  { message: "expected YAML rule text, a path to a YAML file or folder, or a compiled rule (defineRule)" },
);

/** Sigma rules the pack ships, evaluated over Vigil's events (see sigma-rules.ts). */
export const PackSigmaEntry = z.strictObject({
  /** A Sigma rule file or a folder of them, relative to the pack root. */
  path: z.string().min(1),
  /** A processing pipeline (YAML, relative to the pack root; or `windows`), applied before Vigil's own. */
  pipeline: z.string().min(1).optional(),
  /** The event kinds these rules apply to, instead of the mapping from their log source. */
  on: z.array(EventKindName).min(1).optional(),
});
export type PackSigmaEntry = z.output<typeof PackSigmaEntry>;

export const PackManifest = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string(),
  /** YAML rule text, a path (relative to the pack root) to a YAML file or a folder of them, or a CompiledRule. */
  rules: z.array(z.union([z.string().min(1), CompiledRuleValue])),
  /** Sigma rules (files or folders) with their pipeline and event kinds. */
  sigma: z.array(PackSigmaEntry).default([]),
  references: z.array(PackReference).default([]),
  tests: z.array(PackTest).default([]),
});
export type PackManifest = z.output<typeof PackManifest>;

/** An event record of a pack test, typed by kind for TypeScript authors. */
export type PackEventInput = {
  [K in EventKind]: { kind: K; value: EventValues[K]; key?: string };
}[EventKind];

export type PackManifestInput = Omit<z.input<typeof PackManifest>, "tests"> & {
  tests?: (Omit<z.input<typeof PackTest>, "events"> & { events: string | PackEventInput[] })[];
};

/** Identity with types: `export default definePack({ ... })` in a pack's entry module. */
export function definePack<const M extends PackManifestInput>(manifest: M): M {
  return manifest;
}
