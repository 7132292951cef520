/**
 * What a rule can name: the fields of each event kind (from the zod schemas of @vigil/schema) and
 * the virtual fields the reference tables answer (`asset.*`, `baseline.deltas`, `exposure.*`,
 * `port.*`, `affected.*`), plus `event.*`, `rule.*`, `correlation.*` and `each.*`. Paths are
 * checked against these at compile time, so a misspelt field is an error instead of a rule that
 * silently never matches.
 */
import {
  AdvisoryV1,
  AuditV1,
  FirewallEventV1,
  HostV1,
  IdsAlertV1,
  PriorityTier,
  UpdateEventV1,
} from "@vigil/schema";
import { z } from "zod";
import type { EventKind } from "../model.ts";

export const eventSchemas = {
  "ids.alert": IdsAlertV1,
  "firewall.event": FirewallEventV1,
  "inventory.host": HostV1,
  "inventory.audit": AuditV1,
  "updates.agent": UpdateEventV1,
  advisory: AdvisoryV1,
} as const satisfies Record<EventKind, z.ZodType>;

/** `asset.*`: the asset the rule judges (ResolvedAsset, flattened for conditions). */
export const AssetView = z.object({
  id: z.string(),
  ip: z.string().optional(),
  hostname: z.string().optional(),
  /** Listed in the priority list or the inventory. */
  known: z.boolean(),
  tier: PriorityTier,
  priority_reason: z.string(),
  owner: z.string().optional(),
  organisation: z.string().optional(),
  tags: z.array(z.string()),
  /** `domain-controller`, `fsmo:<role>`, `business-critical` and the inventory's role tags. */
  roles: z.array(z.string()),
  /** An inventory record exists for the asset. */
  inventoried: z.boolean(),
  /** A management agent or system reports the asset. */
  managed: z.boolean(),
  host: HostV1.optional(),
});

export const DeltaView = z.object({
  baseline: z.object({ name: z.string(), version: z.string(), class: z.string() }),
  item: z.string(),
  direction: z.enum(["below", "above", "policy"]),
  expected: z.string(),
  actual: z.string(),
  /** An active exception excuses it. */
  excepted: z.boolean(),
  excepted_by: z
    .object({ id: z.string(), owner: z.string(), reason: z.string(), expires: z.string() })
    .optional(),
});

export const ExposureItemView = z.object({
  cve: z.string(),
  advisory: AdvisoryV1,
  missing_kbs: z.array(z.string()),
  reason: z.string(),
  known_exploited: z.boolean(),
});

export const ExposureView = z.object({
  /** The asset is affected and lacks the fix (for the event's CVEs, or any advisory); absent when the asset is not inventoried. */
  vulnerable: z.boolean(),
  /** One of the open exposures is known to be exploited (CISA KEV or the vendor). */
  known_exploited: z.boolean(),
  missing_kbs: z.array(z.string()),
  cves: z.array(z.string()),
  advisories: z.array(z.string()),
  list: z.array(ExposureItemView),
});

export const PortView = z.object({
  /** The destination's baseline allows the port (absent when no baseline states ports). */
  allowed: z.boolean(),
  number: z.number(),
  protocol: z.string(),
  destination: z.string(),
  /** What the baseline allows for that protocol, for explanations. */
  allowed_ports: z.array(z.number()),
});

export const AffectedAssetView = z.object({
  id: z.string(),
  hostname: z.string().optional(),
  ip: z.string().optional(),
  tier: PriorityTier,
  known: z.boolean(),
  managed: z.boolean(),
  cves: z.array(z.string()),
  missing_kbs: z.array(z.string()),
  reason: z.string(),
  known_exploited: z.boolean(),
});

export const AffectedView = z.object({
  /** Inventoried assets the advisory affects and that lack its fix. */
  count: z.number(),
  /** Sum of tier weights (critical 8, high 4, medium 2, low 1). */
  score: z.number(),
  by_tier: z.object({ critical: z.number(), high: z.number(), medium: z.number(), low: z.number() }),
  hostnames: z.array(z.string()),
  /** Highest tier first, then by id. */
  assets: z.array(AffectedAssetView),
});

export const EventMetaView = z.object({
  id: z.string(),
  kind: z.string(),
  /** Event time, epoch milliseconds. */
  time: z.number(),
  /** Event time, RFC 3339 UTC. */
  timestamp: z.string(),
  key: z.string(),
  topic: z.string(),
});

export const RuleView = z.object({ id: z.string(), name: z.string(), version: z.number() });

export const CorrelationView = z.object({
  key: z.string(),
  count: z.number(),
  distinct: z.number(),
  values: z.array(z.string()),
  window: z.string(),
  first: z.string(),
  last: z.string(),
  /** Absence: how long the key has been silent when the finding is raised. */
  silence: z.string(),
  /** Sequence: the step names, in order. */
  steps: z.array(z.string()),
});

export const virtualRoots = [
  "asset",
  "baseline",
  "exposure",
  "port",
  "affected",
  "event",
  "rule",
  "correlation",
  "each",
] as const;
export type VirtualRoot = (typeof virtualRoots)[number];
const virtualRootSet: ReadonlySet<string> = new Set(virtualRoots);
export function isVirtualRoot(name: string): name is VirtualRoot {
  return virtualRootSet.has(name);
}

// A virtual root sharing a name with an event field would shadow it: refuse to start instead.
for (const [kind, schema] of Object.entries(eventSchemas)) {
  for (const key of Object.keys(schema.shape)) {
    if (virtualRootSet.has(key))
      throw new Error(`event kind ${kind} has a field "${key}" named like a virtual root`);
  }
}

const portKinds: ReadonlySet<EventKind> = new Set(["firewall.event", "ids.alert"]);

export interface FieldScopeOptions {
  /** The for_each element schema, when compiling inside a for_each. */
  each?: z.ZodType;
  correlation?: boolean;
}

/** The schema a path is checked against for one kind: the event's fields and the virtual roots that apply. */
export function rootSchema(kind: EventKind, options: FieldScopeOptions = {}): z.ZodType {
  const shape: Record<string, z.ZodType> = {
    ...eventSchemas[kind].shape,
    asset: AssetView,
    baseline: z.object({ deltas: z.array(DeltaView) }),
    exposure: ExposureView,
    event: EventMetaView,
    rule: RuleView,
  };
  if (portKinds.has(kind)) shape.port = PortView;
  if (kind === "advisory") shape.affected = AffectedView;
  if (options.correlation) shape.correlation = CorrelationView;
  if (options.each) shape.each = options.each;
  return z.object(shape);
}

interface ZodInternals {
  _zod: { def: { type: string } & Record<string, unknown> };
}

function def(schema: unknown): ZodInternals["_zod"]["def"] {
  return (schema as ZodInternals)._zod.def;
}

/** Strips wrappers that do not change what fields exist. */
function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let guard = 0; guard < 32; guard++) {
    const d = def(current);
    switch (d.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "catch":
      case "nonoptional":
      case "readonly":
        current = d.innerType;
        continue;
      case "pipe":
        current = d.in;
        continue;
      case "lazy":
        current = (d.getter as () => unknown)();
        continue;
      default:
        return current;
    }
  }
  return current;
}

export type FieldLookup =
  | { ok: true; schema: z.ZodType; collection: boolean }
  | { ok: false; at: number; reason: string };

const numeric = /^\d+$/;

/**
 * Follows `segments` through a schema. Arrays met on the way are traversed (the path then names a
 * collection: "any element" semantics); a numeric segment indexes an array.
 */
export function lookupField(schema: z.ZodType, segments: readonly string[], from = 0): FieldLookup {
  let current: unknown = unwrap(schema);
  let collection = false;
  for (let index = from; index < segments.length; index++) {
    const segment = segments[index]!;
    const d = def(current);
    switch (d.type) {
      case "object": {
        const shape = d.shape as Record<string, unknown>;
        if (!Object.hasOwn(shape, segment)) {
          const known = Object.keys(shape).sort().join(", ");
          return { ok: false, at: index, reason: `no field "${segment}" (fields here: ${known})` };
        }
        current = unwrap(shape[segment]);
        break;
      }
      case "array":
        if (numeric.test(segment)) current = unwrap(d.element);
        else {
          collection = true;
          current = unwrap(d.element);
          index--; // the same segment applies to the element
        }
        break;
      case "record":
        current = unwrap(d.valueType);
        break;
      case "union": {
        for (const option of d.options as z.ZodType[]) {
          const found = lookupField(option, segments, index);
          if (found.ok) return { ...found, collection: collection || found.collection };
        }
        return { ok: false, at: index, reason: `no field "${segment}" in any variant` };
      }
      case "unknown":
      case "any":
        return { ok: true, schema: current as z.ZodType, collection };
      default:
        return {
          ok: false,
          at: index,
          reason: `"${segments.slice(0, index).join(".")}" is a single value (${d.type}), it has no fields`,
        };
    }
  }
  const last = def(current);
  if (last.type === "array") return { ok: true, schema: current as z.ZodType, collection: true };
  return { ok: true, schema: current as z.ZodType, collection };
}

/** The element schema of a path that names a list (for `some` and `for_each`), or why not. */
export function elementSchema(found: FieldLookup & { ok: true }): z.ZodType {
  const d = def(found.schema);
  if (d.type === "array") return unwrap(d.element) as z.ZodType;
  return found.schema;
}

/** Whether a schema is an object (so `some` can apply conditions to its fields). */
export function isObjectSchema(schema: z.ZodType): boolean {
  const d = def(unwrap(schema));
  return (
    d.type === "object" ||
    d.type === "record" ||
    d.type === "unknown" ||
    d.type === "any" ||
    d.type === "union"
  );
}

const forbiddenSegments: ReadonlySet<string> = new Set(["__proto__", "prototype", "constructor"]);
const segmentPattern = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** Splits and sanity-checks a dotted path; an error message when it cannot be a field path. */
export function splitPath(path: string): string[] | string {
  if (typeof path !== "string" || path.length === 0) return "expected a dotted field path";
  if (path.length > 256) return "field path longer than 256 characters";
  const segments = path.split(".");
  if (segments.length > 16) return "field path deeper than 16 levels";
  for (const segment of segments) {
    if (forbiddenSegments.has(segment)) return `"${segment}" cannot be part of a field path`;
    if (!segmentPattern.test(segment))
      return `"${path}" is not a dotted field path (letters, digits, _ and -)`;
  }
  return segments;
}
