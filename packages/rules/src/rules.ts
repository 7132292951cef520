import { createHash } from "node:crypto";
import type { FindingV1, Severity } from "@vigil/schema";
import { severityRank } from "@vigil/schema";
import type { AssetTable } from "./priority-list.ts";

/** What a rule may consult besides the event: reference tables, and where the event came from. */
export interface RuleContext {
  assets: AssetTable;
  /** The topic the event was read from, for the finding's evidence references. */
  eventTopic: string;
}

/**
 * A detection rule: a pure function of one event and the reference tables. No clock, no I/O,
 * so replaying the same events re-emits the same findings (ids included).
 */
export interface Rule<E> {
  /** Stable, dotted, e.g. `ids.alert`: part of finding and incident ids, never reused for another meaning. */
  id: string;
  name: string;
  /** Bump when the rule's judgement changes: findings of the new version get new ids. */
  version: number;
  description: string;
  evaluate(event: E, context: RuleContext): FindingV1[];
}

/** `fnd-` + 128 bits of sha256 over rule id, rule version and the triggering event ids. */
export function findingId(ruleId: string, ruleVersion: number, eventIds: readonly string[]): string {
  const hash = createHash("sha256");
  hash.update(`${ruleId}\u0000${ruleVersion}`);
  for (const id of eventIds) hash.update(`\u0000${id}`);
  return `fnd-${hash.digest("hex").slice(0, 32)}`;
}

const severitiesByRank = Object.entries(severityRank)
  .sort(([, a], [, b]) => a - b)
  .map(([name]) => name as Severity);

/** One step up the severity scale, capped at critical. */
export function raiseSeverity(severity: Severity): Severity {
  return severitiesByRank[Math.min(severityRank[severity], severitiesByRank.length - 1)]!;
}

export function atLeast(severity: Severity, minimum: Severity): boolean {
  return severityRank[severity] >= severityRank[minimum];
}
