import { createHash } from "node:crypto";
import type { Severity } from "@vigil/schema";
import { severityRank } from "@vigil/schema";

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
