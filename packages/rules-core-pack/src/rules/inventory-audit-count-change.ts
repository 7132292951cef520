import { basename } from "node:path";
import type { AuditV1, Severity } from "@vigil/schema";
import { type CompiledRule, defineRule, findingId } from "../contract.ts";
import { evidence, listSome, stateOf } from "../support.ts";

const RULE_ID = "core.inventory.audit-count-change";
const RULE_VERSION = 1;

/** A change this large (relative to the previous count) is marked... */
const MIN_RELATIVE_CHANGE = 0.1;
/** ...as long as it is at least this many hosts: 3 of 20 lab machines is churn, not a defect. */
const MIN_ABSOLUTE_CHANGE = 5;

interface PreviousAudit {
  id: string;
  time: string;
  host_count: number;
  host_ids: string[];
}

/**
 * Audits of one source, format and export compare with each other: `hardware-20240311.csv` and
 * `hardware-20240312.csv` are the same series (digits are dates and sequence numbers), while a
 * hardware export and a missing-updates report of the same system are not.
 */
export function auditSeries(audit: Pick<AuditV1, "source" | "format" | "inputs">): string {
  const inputs = audit.inputs.map((input) => basename(input.replaceAll("\\", "/")).replace(/\d+/g, "#"));
  return `${audit.source}/${audit.format}/${[...new Set(inputs)].sort().join("+")}`;
}

/**
 * MISSION.md 1: "compare with the previous audit (a marked change in count means a completeness
 * defect)". The previous audit of the same series is kept in the rule state (it survives a
 * restart); a drop or a jump of at least 10% and 5 hosts is a finding listing the hosts that
 * disappeared or appeared. A drop is the worse case (machines fell out of coverage): medium,
 * high from a third; a jump is low (new machines, or a source that now sees more), medium from a
 * third. The audit source is the finding's asset: the defect is in the audit, not in one host.
 */
export const inventoryAuditCountChange: CompiledRule = defineRule({
  id: RULE_ID,
  name: "Inventory audit count changed markedly",
  version: RULE_VERSION,
  description:
    "An inventory audit whose host count differs markedly (at least 10% and 5 hosts) from the previous audit of the same source.",
  on: ["inventory.audit"],
  evaluate(event, context) {
    const { tables, state } = context;
    const audit = event.value;
    const series = auditSeries(audit);
    const previous = stateOf<PreviousAudit>(state, `series/${series}`);
    // A redelivered or older audit must neither compare with itself nor roll the series back.
    if (previous !== undefined && (previous.id === audit.id || Date.parse(previous.time) > event.time))
      return [];
    state.set(`series/${series}`, {
      id: audit.id,
      time: new Date(event.time).toISOString(),
      host_count: audit.host_count,
      host_ids: audit.host_ids,
    } satisfies PreviousAudit);
    if (previous === undefined) return [];
    const delta = audit.host_count - previous.host_count;
    const relative = previous.host_count === 0 ? 1 : Math.abs(delta) / previous.host_count;
    if (Math.abs(delta) < MIN_ABSOLUTE_CHANGE || relative < MIN_RELATIVE_CHANGE) return [];

    const before = new Set(previous.host_ids);
    const now = new Set(audit.host_ids);
    const missing = previous.host_ids.filter((id) => !now.has(id));
    const added = audit.host_ids.filter((id) => !before.has(id));
    const name = (id: string) => {
      const host = tables.host(id);
      return host?.fqdn ?? host?.hostname ?? id;
    };
    const drop = delta < 0;
    const large = relative >= 1 / 3;
    const severity: Severity = drop ? (large ? "high" : "medium") : large ? "medium" : "low";
    const percent = Math.round(relative * 100);
    const asset = tables.resolveAsset({ id: `audit:${audit.source}` }).ref;
    const inputs = audit.inputs.join(", ");
    return [
      context.finding({
        id: findingId(RULE_ID, RULE_VERSION, [previous.id, audit.id]),
        time: event.time,
        severity,
        title: `Inventory audit ${audit.source} (${audit.format}) ${drop ? "lost" : "gained"} ${Math.abs(delta)} hosts (${previous.host_count} -> ${audit.host_count}, ${percent}%)`,
        description: `The ${audit.source} audit of ${inputs} at ${audit.finished} reports ${audit.host_count} hosts; the previous one (${previous.time}) reported ${previous.host_count}. ${missing.length > 0 ? `No longer reported: ${listSome(missing.map(name))}. ` : ""}${added.length > 0 ? `Newly reported: ${listSome(added.map(name))}. ` : ""}Investigate the difference (problem management) and include the missing systems in the next audit.`,
        asset: { ...asset, id: `audit:${series}`, hostname: `${audit.source} audit (${audit.format})` },
        group_key: `audit:${series}`,
        events: [
          evidence(
            event,
            `${audit.source} audit: ${audit.host_count} hosts (previous ${previous.host_count})`,
          ),
        ],
        summary: `A marked change in an audit's host count is a completeness defect of the inventory (MISSION.md 1): ${previous.host_count} -> ${audit.host_count}.`,
        conditions: [
          `previous audit ${previous.id} of series ${series}: ${previous.host_count} hosts`,
          `this audit ${audit.id}: ${audit.host_count} hosts`,
          `change ${delta > 0 ? "+" : ""}${delta} (${percent}%) >= ${MIN_ABSOLUTE_CHANGE} hosts and ${MIN_RELATIVE_CHANGE * 100}%`,
          `${missing.length} hosts no longer reported, ${added.length} newly reported`,
        ],
      }),
    ];
  },
});
