import { z } from "zod";
import { CveId, Severity, Timestamp } from "./common.ts";
import { AssetRef, EvidenceRef } from "./finding.ts";

export const IncidentStatus = z.enum(["new", "in_progress", "on_hold", "resolved", "closed"]);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/** How fast the response process must act: asset priority tier x severity through the urgency matrix. */
export const Urgency = z.enum(["critical", "high", "medium", "low"]);
export type Urgency = z.infer<typeof Urgency>;
export const urgencyRank: Record<Urgency, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/** The analyst's judgement (OCSF `verdict`, lower-cased). */
export const Verdict = z.enum([
  "unknown",
  "true_positive",
  "false_positive",
  "benign",
  "suspicious",
  "disregard",
  "test",
  "insufficient_data",
  "security_risk",
  "managed_externally",
  "duplicate",
]);
export type Verdict = z.infer<typeof Verdict>;

export const IncidentContact = z.object({
  name: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  role: z.string().optional(),
});
export type IncidentContact = z.infer<typeof IncidentContact>;

/** The organisation owning the asset (priority list routing) and whom to reach there. */
export const IncidentOwner = z.object({
  organisation: z.string().min(1),
  contacts: z.array(IncidentContact),
});
export type IncidentOwner = z.infer<typeof IncidentOwner>;

export const ObservableType = z.enum(["ip", "hostname", "user", "cve", "hash", "url", "asset"]);
export type ObservableType = z.infer<typeof ObservableType>;
export const Observable = z.object({ type: ObservableType, value: z.string().min(1) });
export type Observable = z.infer<typeof Observable>;

/** What changed: the `type` of a timeline entry and of a `vigil.incident-events` record. */
export const IncidentEventType = z.enum([
  "created",
  "merged",
  "severity_changed",
  "urgency_changed",
  "status_changed",
  "verdict_changed",
  "acknowledged",
  "assigned",
  "escalated",
  "action_requested",
  "sla_breached",
  "resolved",
  "reopened",
  "commented",
]);
export type IncidentEventType = z.infer<typeof IncidentEventType>;

export const TimelineEntry = z.object({
  time: Timestamp,
  type: IncidentEventType,
  /** `vigil` for the pipeline's own changes, `rule:<id>` for a finding, the analyst for a command. */
  actor: z.string().min(1),
  summary: z.string(),
  /** The finding, command or response action behind the change. */
  ref: z.string().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const EscalationLevel = z.number().int().min(0).max(3);
/** Level 1 notifies the owner (an output); levels 2 and 3 are `vigil.response.actions` records. */
export const EscalationAction = z.enum(["notify_owner", "disable_default_accounts", "remove_from_network"]);
export type EscalationAction = z.infer<typeof EscalationAction>;

export const EscalationStep = z.object({
  level: z.number().int().min(1).max(3),
  /** When the level is (or was) reached unless the clock stops first. */
  at: Timestamp,
  action: EscalationAction,
});
export type EscalationStep = z.infer<typeof EscalationStep>;

export const Escalation = z.object({
  /** 0: nothing done yet; never goes down. */
  level: EscalationLevel,
  /** When the clock last started: the incident raised, or re-opened. The plan counts from here. */
  started_at: Timestamp,
  /** The next level and when it is due; absent when the clock is stopped or the ladder is done. */
  next_level: z.number().int().min(1).max(3).optional(),
  next_at: Timestamp.optional(),
  /** The analyst whose acknowledgment stopped the clock. */
  acknowledged_by: z.string().optional(),
  acknowledged_at: Timestamp.optional(),
  /** The ladder as planned when the clock last started (raised, reopened, or urgency raised). */
  plan: z.array(EscalationStep),
});
export type Escalation = z.infer<typeof Escalation>;

export const Sla = z.object({
  /** Resolution due by, from the urgency (the escalation policy's `sla`). */
  due: Timestamp,
  breached: z.boolean(),
});
export type Sla = z.infer<typeof Sla>;

export const Resolution = z.object({
  time: Timestamp,
  /** `cleared`: a finding said the problem is gone (auto-resolve); `analyst`: a resolve command. */
  reason: z.enum(["cleared", "analyst"]),
  actor: z.string().min(1),
  summary: z.string(),
  /** The clearing finding and its (event) time, for `cleared`: only later findings re-open it. */
  finding_id: z.string().optional(),
  cleared_at: Timestamp.optional(),
});
export type Resolution = z.infer<typeof Resolution>;

/**
 * An incident for the emergency-response process (OCSF Incident Finding where it fits).
 * Keyed by `id` on the compacted topic `vigil.incidents`: the value is always the full current state.
 *
 * The response fields (`urgency` to `resolution`) are optional only so that records written before
 * they existed still read; `@vigil/incidents` fills them on restore and always writes them.
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
  /** Asset tier x severity through the urgency matrix; never goes down. */
  urgency: Urgency.optional(),
  verdict: Verdict.optional(),
  owner: IncidentOwner.optional(),
  /** The analyst working on it. */
  assignee: z.string().optional(),
  /** Addresses, host names, users, CVE ids, hashes, URLs and the asset, deduplicated, sorted, bounded. */
  observables: z.array(Observable).optional(),
  /** Every change, oldest first, the latest ones kept (bounded). */
  timeline: z.array(TimelineEntry).optional(),
  sla: Sla.optional(),
  escalation: Escalation.optional(),
  /**
   * `source` + `source_ref` of the most recent findings (`<rule id>|<ref>`), newest last, bounded:
   * the same judgement re-emitted under another finding id (a new rule version) is not merged twice.
   */
  source_refs: z.array(z.string()).optional(),
  resolution: Resolution.optional(),
});
export type IncidentV1 = z.infer<typeof IncidentV1>;
