/**
 * What the pack's TypeScript rules share: building a finding with its explanation, evidence from
 * events, severity steps, and "report once per episode" state. Everything here is a pure function
 * of its inputs (no clock): replaying the same events gives the same findings, ids included.
 */
import type { AssetRef, EvidenceRef, HostV1, PriorityTier, Severity } from "@vigil/schema";
import { severityRank } from "@vigil/schema";
import type { RuleEvent, StateStore } from "./contract.ts";

export function iso(time: number): string {
  return new Date(time).toISOString();
}

export function evidence(event: RuleEvent, summary: string): EvidenceRef {
  return { topic: event.topic, id: event.id, time: iso(event.time), summary };
}

const bySeverityRank = (Object.keys(severityRank) as Severity[]).sort(
  (a, b) => severityRank[a] - severityRank[b],
);

export function stepSeverity(severity: Severity, steps: number): Severity {
  const index = Math.max(0, Math.min(bySeverityRank.length - 1, severityRank[severity] - 1 + steps));
  return bySeverityRank[index]!;
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank[a] >= severityRank[b] ? a : b;
}

export const tierRank: Record<PriorityTier, number> = { critical: 4, high: 3, medium: 2, low: 1 };

/** The weight of one affected asset of each tier when counting exposure (MISSION.md 4: protect first what matters most). */
export const tierWeight: Record<PriorityTier, number> = { critical: 8, high: 4, medium: 2, low: 1 };

export function label(asset: AssetRef): string {
  return asset.hostname ?? asset.ip ?? asset.id;
}

export function hostLabel(host: HostV1): string {
  return host.fqdn ?? host.hostname ?? host.names[0] ?? host.id;
}

export function tierText(asset: AssetRef): string {
  return `tier ${asset.priority} (${asset.priority_reason})${asset.owner ? `, owner ${asset.owner}` : ""}`;
}

/**
 * Remembers the last thing reported for a key and says whether `signature` is new: a rule reports
 * an episode once, and again only when what it would say changes. `state` is the rule's own
 * (defineRule scopes it under `<rule id>/`).
 */
export function reportOnce(state: StateStore, key: string, signature: string): boolean {
  if (state.get(key) === signature) return false;
  state.set(key, signature);
  return true;
}

/** A copy of the rule's state for a key: changing it changes nothing until `state.set`. */
export function stateOf<T>(state: StateStore, key: string): T | undefined {
  const value = state.get(key);
  return value === undefined ? undefined : (structuredClone(value) as T);
}

const techniqueId = /^T\d{4}(\.\d{3})?$/;
const tacticId = /^TA\d{4}$/;

/** ATT&CK ids from IDS rule metadata (Suricata `mitre_technique_id`, `mitre_tactic_id`); anything else is ignored. */
export function attackIds(metadata: Record<string, string[]>): string[] {
  const ids = new Set<string>();
  for (const [key, pattern] of [
    ["mitre_technique_id", techniqueId],
    ["mitre_tactic_id", tacticId],
  ] as const) {
    for (const value of metadata[key] ?? []) {
      const id = value.trim().toUpperCase();
      if (pattern.test(id)) ids.add(id);
    }
  }
  return [...ids];
}

export function endpointText(
  endpoint: { ip?: string | undefined; port?: number | undefined } | undefined,
): string {
  if (endpoint?.ip === undefined) return "?";
  const host = endpoint.ip.includes(":") ? `[${endpoint.ip}]` : endpoint.ip;
  return endpoint.port !== undefined ? `${host}:${endpoint.port}` : host;
}

/** Lists at most `max` items, then says how many more: descriptions stay readable for 10 000 hosts. */
export function listSome(items: readonly string[], max = 20): string {
  if (items.length <= max) return items.join(", ");
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** Start (epoch ms, UTC) of the fixed window of `size` that holds `time`. */
export function windowStart(time: number, size: number): number {
  return Math.floor(time / size) * size;
}
