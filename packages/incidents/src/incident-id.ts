import { createHash } from "node:crypto";
import type { FindingV1 } from "@vigil/schema";

export const DEFAULT_MERGE_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Start of the fixed (tumbling) window the finding's event time falls in, aligned on the epoch:
 * with 24 h windows, midnight UTC. Fixed windows need no state to compute, so any instance and
 * any replay put a finding in the same window. The cost: an attack straddling a boundary
 * (23:50 to 00:10 UTC) becomes two incidents, one per window.
 */
export function windowStart(time: string, mergeWindowMs: number = DEFAULT_MERGE_WINDOW_MS): number {
  assertWindow(mergeWindowMs);
  const epochMs = Date.parse(time);
  if (Number.isNaN(epochMs)) throw new RangeError(`finding time is not a timestamp: ${JSON.stringify(time)}`);
  return Math.floor(epochMs / mergeWindowMs) * mergeWindowMs;
}

/**
 * `inc-` + 128 bits of sha256 over rule id, asset id, group key and window start: what the
 * incident is about, never when it was processed, so redelivery and replay update the same
 * incident. The rule version is left out on purpose: a new version of a rule keeps merging into
 * the incidents of the old one. Changing the merge window changes the ids.
 */
export function incidentIdFor(finding: FindingV1, mergeWindowMs: number = DEFAULT_MERGE_WINDOW_MS): string {
  const start = windowStart(finding.time, mergeWindowMs);
  const hash = createHash("sha256")
    .update(
      [finding.rule.id, finding.asset.id, finding.group_key, new Date(start).toISOString()].join("\u0000"),
    )
    .digest("hex");
  return `inc-${hash.slice(0, 32)}`;
}

function assertWindow(mergeWindowMs: number): void {
  if (!Number.isSafeInteger(mergeWindowMs) || mergeWindowMs <= 0) {
    throw new RangeError(
      `merge window must be a positive whole number of milliseconds, got ${mergeWindowMs}`,
    );
  }
}
