// Reference documents and rule state; `topics.ts` merges `referenceTopics` into the registry.
import { z } from "zod";
import { Timestamp } from "./common.ts";
import { DAY_MS, topic } from "./topic-spec.ts";

/** What a reference document is: read by the rules package's loader of the same name. */
export const ReferenceKind = z.enum(["baselines", "priority-list", "exceptions"]);
export type ReferenceKind = z.infer<typeof ReferenceKind>;

/**
 * One reference document (a baselines file, a priority list, an exceptions file) as its owners
 * wrote it, published whole. Keyed by `referenceKey` on a compacted topic, so the topic holds
 * the current version of each document; a tombstone withdraws one.
 */
export const ReferenceDocumentV1 = z.object({
  schema: z.literal("vigil.reference/v1"),
  kind: ReferenceKind,
  /** The document's name (its file name without extension, or as the publisher chose). */
  name: z.string().min(1).max(255),
  time: Timestamp,
  /** Where it was published from (a path, a ConfigMap), for error messages and explanations. */
  origin: z.string().max(4096),
  /** sha256 of `content`: lets an engine skip a republished identical document. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The YAML text itself: validated by the loader, which reports errors by line. */
  content: z.string().max(8 * 1024 * 1024),
});
export type ReferenceDocumentV1 = z.infer<typeof ReferenceDocumentV1>;

export function referenceKey(document: Pick<ReferenceDocumentV1, "kind" | "name">): string {
  return `${document.kind}/${document.name}`;
}

/**
 * A change to the rules engine's keyed state (correlation windows, last-seen times, previous
 * audit counts), written in the same batch as the findings it led to; the compacted topic is the
 * state's changelog, restored before any event is judged.
 */
export const RuleStateV1 = z.object({
  schema: z.literal("vigil.rules.state/v1"),
  /** `<rule id>/<state key>`. */
  key: z.string().min(1).max(2048),
  time: Timestamp,
  value: z.unknown(),
});
export type RuleStateV1 = z.infer<typeof RuleStateV1>;

/** The kinds of event rules judge, by the topic each is read from (the rules package's EventKind). */
export const RuleEventKind = z.enum([
  "ids.alert",
  "firewall.event",
  "inventory.host",
  "inventory.audit",
  "updates.agent",
  "advisory",
]);

/**
 * An event on its way to the correlations keyed by something other than its topic's key (a scan's
 * source, across the hosts it probes, whose events sit on as many partitions): re-keyed by the
 * correlation key, so one instance sees every event of a key whichever instances read them.
 */
export const RuleRepartitionV1 = z.object({
  schema: z.literal("vigil.rules.repartition/v1"),
  kind: RuleEventKind,
  /** Where the event was read, with which key: the event the rules see is the same as at its source. */
  topic: z.string().min(1).max(249),
  key: z.string().max(2048),
  /** The rules to judge it by here (they were skipped where it was read). */
  rules: z.array(z.string().min(1).max(256)).min(1).max(1000),
  /** The event as read; validated again against its kind's schema where it is judged. */
  event: z.unknown(),
});
export type RuleRepartitionV1 = z.infer<typeof RuleRepartitionV1>;

export const referenceTopics = {
  reference: topic({
    name: "vigil.reference",
    description: "Reference documents (baselines, priority lists, exceptions) as published; compacted table.",
    key: "`<kind>/<name>` (referenceKey)",
    partitions: 1,
    cleanupPolicy: "compact",
    retentionMs: -1,
    ceType: "dev.vigil.reference.v1",
    value: ReferenceDocumentV1,
  }),
  rulesState: topic({
    name: "vigil.rules.state",
    description: "The rules engine's keyed correlation state, as a changelog; compacted.",
    key: "`<rule id>/<state key>`",
    partitions: 6,
    cleanupPolicy: "compact",
    retentionMs: -1,
    ceType: "dev.vigil.rules.state.v1",
    value: RuleStateV1,
  }),
  rulesRepartition: topic({
    name: "vigil.rules.repartition",
    description:
      "Events re-keyed by the correlation key of the rules that judge them (scans by source); the rules engine's own.",
    key: "the correlation key (e.g. the scanning source address)",
    partitions: 6,
    cleanupPolicy: "delete",
    // As long as the event topics it is made from: an engine stopped that long still finds them.
    retentionMs: 7 * DAY_MS,
    ceType: "dev.vigil.rules.repartition.v1",
    value: RuleRepartitionV1,
  }),
} as const;
