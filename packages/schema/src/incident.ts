import { z } from "zod";
import { CveId, Severity, Timestamp } from "./common.ts";
import { AssetRef, EvidenceRef } from "./finding.ts";

export const IncidentStatus = z.enum(["new", "in_progress", "on_hold", "resolved", "closed"]);

/**
 * An incident for the emergency-response process (OCSF Incident Finding where it fits).
 * Keyed by `id` on the compacted topic `vigil.incidents`: the value is always the full current state.
 */
export const IncidentV1 = z.object({
  schema: z.literal("vigil.incident/v1"),
  /** Deterministic: rule + asset + group key + merge-window start; a replay updates, never duplicates. */
  id: z.string().min(1),
  title: z.string(),
  description: z.string(),
  severity: Severity,
  status: IncidentStatus,
  rule_id: z.string(),
  asset: AssetRef,
  group_key: z.string(),
  window_start: Timestamp,
  first_seen: Timestamp,
  last_seen: Timestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
  /** Distinct findings merged into this incident (a redelivered finding is not counted twice). */
  finding_count: z.number().int().positive(),
  /** The most recent finding ids, newest last, bounded. */
  finding_ids: z.array(z.string()),
  evidence: z.array(EvidenceRef),
  explanation: z.string(),
  cves: z.array(CveId),
  attack: z.array(z.string()),
  /** Monotonic per incident: consumers can drop stale versions. */
  version: z.number().int().positive(),
});
export type IncidentV1 = z.infer<typeof IncidentV1>;
