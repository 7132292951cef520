import {
  type EvidenceRef,
  type FindingV1,
  type IncidentV1,
  type Severity,
  severityRank,
} from "@vigil/schema";
import { DEFAULT_MERGE_WINDOW_MS, incidentIdFor, windowStart } from "./incident-id.ts";
import type { IncidentStore } from "./store.ts";

export const DEFAULT_MAX_EVIDENCE = 50;
export const DEFAULT_MAX_FINDING_IDS = 50;

export interface ApplyOptions {
  mergeWindowMs?: number;
  /** Processing time: becomes `updated_at`, and `created_at` of a new incident. */
  now: Date;
  /** Evidence kept per incident: the latest by event time (default 50). */
  maxEvidence?: number;
  /** Finding ids kept in the record, newest last (default 50). */
  maxFindingIds?: number;
}

/**
 * Merges a finding into its incident (creating it on first sight) and returns the incident's new
 * full state, or `null` when the store has already seen this finding (a redelivery or a replay:
 * nothing new to publish).
 *
 * Everything but `created_at` / `updated_at` is a function of the findings applied: ids, counts,
 * severity, first/last seen, evidence (ordered by event time), CVEs and ATT&CK ids. The two
 * timestamps are processing times on purpose: `created_at` is when Vigil raised the incident,
 * which is what time-to-detect is measured against, while `first_seen` carries the event time.
 * A replay into an empty store therefore yields the same ids and counts, with new processing times.
 */
export function applyFinding(
  store: IncidentStore,
  finding: FindingV1,
  options: ApplyOptions,
): IncidentV1 | null {
  const mergeWindowMs = options.mergeWindowMs ?? DEFAULT_MERGE_WINDOW_MS;
  const maxEvidence = options.maxEvidence ?? DEFAULT_MAX_EVIDENCE;
  const maxFindingIds = options.maxFindingIds ?? DEFAULT_MAX_FINDING_IDS;
  const id = incidentIdFor(finding, mergeWindowMs);
  if (store.hasApplied(id, finding.id)) return null;
  const now = options.now.toISOString();
  const current = store.get(id);

  const next: IncidentV1 = current
    ? {
        ...current,
        severity: maxSeverity(current.severity, finding.severity),
        // The latest enrichment wins: a priority-list change shows on the next finding.
        asset: finding.asset,
        first_seen: earlier(current.first_seen, finding.time),
        last_seen: later(current.last_seen, finding.time),
        updated_at: now,
        finding_count: current.finding_count + 1,
        finding_ids: [...current.finding_ids.filter((fid) => fid !== finding.id), finding.id].slice(
          -maxFindingIds,
        ),
        evidence: mergeEvidence(current.evidence, finding.events, maxEvidence),
        explanation: `${current.finding_count + 1} findings of rule ${finding.rule.id} on ${finding.asset.id} (${finding.group_key}). Latest: ${finding.explanation.summary}`,
        cves: union(current.cves, finding.cves),
        attack: union(current.attack, finding.attack),
        version: current.version + 1,
      }
    : {
        schema: "vigil.incident/v1",
        id,
        title: finding.title,
        description: finding.description,
        severity: finding.severity,
        status: "new",
        rule_id: finding.rule.id,
        asset: finding.asset,
        group_key: finding.group_key,
        window_start: new Date(windowStart(finding.time, mergeWindowMs)).toISOString(),
        first_seen: finding.time,
        last_seen: finding.time,
        created_at: now,
        updated_at: now,
        finding_count: 1,
        finding_ids: [finding.id],
        evidence: mergeEvidence([], finding.events, maxEvidence),
        explanation: `${finding.explanation.summary} ${finding.explanation.conditions.join("; ")}.`,
        cves: union([], finding.cves),
        attack: union([], finding.attack),
        version: 1,
      };
  store.set(next, finding.id);
  return next;
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank[b] > severityRank[a] ? b : a;
}

export function earlier(a: string, b: string): string {
  return Date.parse(b) < Date.parse(a) ? b : a;
}

export function later(a: string, b: string): string {
  return Date.parse(b) > Date.parse(a) ? b : a;
}

export function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Deduplicated by (topic, id), ordered by event time then id, the `max` latest kept. */
export function mergeEvidence(
  current: readonly EvidenceRef[],
  added: readonly EvidenceRef[],
  max: number,
): EvidenceRef[] {
  const byKey = new Map<string, EvidenceRef>();
  for (const ref of [...current, ...added]) byKey.set(`${ref.topic}\u0000${ref.id}`, ref);
  const sorted = [...byKey.values()].sort(
    (a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return sorted.slice(-max);
}
