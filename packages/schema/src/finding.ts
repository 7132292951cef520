import { z } from "zod";
import { CveId, IpAddress, PriorityTier, Severity, Timestamp } from "./common.ts";

/** The asset a finding or incident is about, as enrichment resolved it. */
export const AssetRef = z.object({
  /** Asset id from the inventory or priority list; the address itself for an unknown host. */
  id: z.string().min(1),
  ip: IpAddress.optional(),
  hostname: z.string().optional(),
  /** Whether the asset was found in the reference tables at all. */
  known: z.boolean(),
  priority: PriorityTier,
  /** Why this tier: the priority-list entry or selector that matched. */
  priority_reason: z.string(),
  owner: z.string().optional(),
  tags: z.array(z.string()),
});
export type AssetRef = z.infer<typeof AssetRef>;

export const EvidenceRef = z.object({
  topic: z.string(),
  id: z.string(),
  time: Timestamp,
  summary: z.string(),
});
export type EvidenceRef = z.infer<typeof EvidenceRef>;

/** A rule's judgement about one asset: the input of incidents. Keyed on Kafka by `asset.id`. */
export const FindingV1 = z.object({
  schema: z.literal("vigil.finding/v1"),
  /** Deterministic: rule id + the triggering event ids, so a replay re-emits the same finding. */
  id: z.string().min(1),
  time: Timestamp,
  rule: z.object({ id: z.string().min(1), name: z.string(), version: z.number().int().positive() }),
  severity: Severity,
  title: z.string(),
  description: z.string(),
  asset: AssetRef,
  /** What the incident layer groups on (besides rule and asset). */
  group_key: z.string(),
  events: z.array(EvidenceRef).min(1),
  explanation: z.object({
    summary: z.string(),
    conditions: z.array(z.string()),
  }),
  cves: z.array(CveId),
  attack: z.array(z.string()),
  references: z.array(z.string()),
  /**
   * True on a finding saying the problem its rule reported for this asset and group key is gone
   * (the host was patched, the update server fixed): the incident layer resolves the open incident
   * it clears instead of raising one. Absent means false.
   */
  clears: z.boolean().optional(),
});
export type FindingV1 = z.infer<typeof FindingV1>;
