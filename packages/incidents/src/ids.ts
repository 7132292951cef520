import { createHash } from "node:crypto";
import type { FindingV1 } from "@vigil/schema";

function digest(parts: readonly string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/**
 * `evt-` + 128 bits of sha256 over incident id, change type and its cause (`finding:<id>`,
 * `command:<id>`, `level:<n>`, `sla:<due>`): the same change re-derived after a redelivery, a
 * restart or a replay carries the same id, so consumers of `vigil.incident-events` can drop twins.
 */
export function incidentEventId(incidentId: string, type: string, cause: string): string {
  return `evt-${digest([incidentId, type, cause])}`;
}

/** `act-` + 128 bits of sha256 over incident id, level and action: the idempotency key of a response action. */
export function responseActionId(incidentId: string, level: number, action: string): string {
  return `act-${digest([incidentId, String(level), action])}`;
}

/**
 * A finding's `source` + `source_ref` as one string (`<rule id>|<ref>`): the rule that judged, and
 * what it judged (asset, group key, the evidence events, whether it clears). Unlike the finding id
 * it leaves out the rule version, so a new version of a rule re-emitting the same judgement on
 * the same events (a replay after an upgrade) is recognised and not merged twice.
 */
export function findingSourceRef(finding: FindingV1): string {
  const events = finding.events.map((event) => `${event.topic}\u0001${event.id}`).sort();
  const ref = digest([
    finding.asset.id,
    finding.group_key,
    finding.clears === true ? "clears" : "",
    ...events,
  ]);
  return `${finding.rule.id}|${ref}`;
}
