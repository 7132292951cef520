/** How an incident record folds in what a new finding brings: severity, times, evidence, ids. */
import { type EvidenceRef, type Severity, severityRank } from "@vigil/schema";

/** Evidence kept per incident: the latest by event time. */
export const DEFAULT_MAX_EVIDENCE = 50;
/** Finding ids kept in the record, newest last. */
export const DEFAULT_MAX_FINDING_IDS = 50;

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
