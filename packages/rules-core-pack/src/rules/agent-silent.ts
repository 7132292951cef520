import type { FindingV1, HostV1, Severity } from "@vigil/schema";
import { topics } from "@vigil/schema";
import { type CompiledRule, defineRule, findingId, type TypedRuleContext } from "../contract.ts";
import {
  DAY_MS,
  evidence,
  HOUR_MS,
  hostLabel,
  iso,
  reportOnce,
  stepSeverity,
  tierText,
  windowStart,
} from "../support.ts";

const RULE_ID = "core.agent.silent";
const RULE_VERSION = 1;

/** MISSION.md 1 asks for agents "that have not run for a given time": a week, as for a host off on a business trip. */
export const SILENT_AFTER_MS = 7 * DAY_MS;

/** Other sources that saw the machine after its agent went quiet: the machine is on, the agent is not. */
function seenSince(host: HostV1, since: number): string[] {
  return host.sources
    .filter((seen) => seen.source !== "osquery" && Date.parse(seen.last_seen) > since)
    .map((seen) => `${seen.source} ${seen.last_seen}`);
}

function judge(
  host: HostV1,
  now: number,
  context: TypedRuleContext,
  evidenceOf: (host: HostV1) => ReturnType<typeof evidence>,
) {
  if (!host.is_managed || host.agent === undefined) return [];
  const lastReport = Date.parse(host.agent.last_seen);
  if (Number.isNaN(lastReport) || now - lastReport <= SILENT_AFTER_MS) return [];
  const silentSince = lastReport + SILENT_AFTER_MS;
  if (context.tables.exception(host.id, RULE_ID, now) !== undefined) return [];
  // One report per silence: the next one only after the agent has reported again and gone quiet again.
  if (!reportOnce(context.state, `host/${host.id}`, host.agent.last_seen)) return [];
  const asset = context.tables.resolveAsset({ id: host.id });
  const alive = seenSince(host, lastReport);
  const days = Math.floor((now - lastReport) / DAY_MS);
  const base: Severity = alive.length > 0 ? "medium" : "low";
  const raised = asset.tier === "critical" || asset.tier === "high";
  const severity = raised ? stepSeverity(base, 1) : base;
  const name = hostLabel(host);
  return [
    context.finding({
      id: findingId(RULE_ID, RULE_VERSION, [host.id, host.agent.last_seen]),
      time: silentSince,
      severity,
      title: `Agent ${host.agent.name} on ${name} silent for ${days} days`,
      description: `The ${host.agent.name} agent of ${name} last reported ${host.agent.last_seen}. ${alive.length > 0 ? `The machine is still seen by ${alive.join(", ")}: it is on, but nothing manages it (no updates, no inventory).` : "No other source has seen the machine since: it may be off, lost or rebuilt."} Repair or reinstall the agent, or record why it is offline (an exception for ${RULE_ID}).`,
      asset: asset.ref,
      group_key: "agent:silent",
      events: [evidenceOf(host)],
      summary: `Managed host ${name} stopped reporting ${days} days ago (MISSION.md 1: agents that have not run for a given time must be reported).`,
      conditions: [
        `host ${host.id} is managed, agent ${host.agent.name}`,
        `last agent report ${host.agent.last_seen}, more than ${SILENT_AFTER_MS / DAY_MS} days before ${iso(now)}`,
        alive.length > 0 ? `still seen by ${alive.join(", ")}` : "not seen by any other source since",
        `asset ${tierText(asset.ref)}${raised ? `: severity raised ${base} -> ${severity}` : ""}`,
      ],
    }),
  ];
}

/**
 * MISSION.md 1: managed hosts that stopped reporting. Judged on each state of the host (its time
 * is its latest observation by any source) and, for hosts whose state no longer changes at all,
 * when event time moves on (`advance`, checked once per hour of event time). Both paths give the
 * same finding id, and the state remembers the silence already reported.
 */
export const agentSilent: CompiledRule = defineRule({
  id: RULE_ID,
  name: "Management agent silent",
  version: RULE_VERSION,
  description: `A managed host whose management agent has not reported for more than ${SILENT_AFTER_MS / DAY_MS} days.`,
  on: ["inventory.host"],
  evaluate(event, context) {
    return judge(event.value, event.time, context, () =>
      evidence(
        event,
        `host state of ${hostLabel(event.value)}: agent last seen ${event.value.agent?.last_seen}`,
      ),
    );
  },
  advance(watermark, context) {
    const hour = windowStart(watermark, HOUR_MS);
    const checked = context.state.get("checked-hour");
    if (typeof checked === "number" && checked >= hour) return [];
    context.state.set("checked-hour", hour);
    const findings: FindingV1[] = [];
    for (const host of context.tables.hosts())
      findings.push(
        ...judge(host, watermark, context, (state) => ({
          topic: topics.inventoryHosts.name,
          id: `${state.id}@${state.time}`,
          time: state.time,
          summary: `latest host state of ${hostLabel(state)}: agent last seen ${state.agent?.last_seen}`,
        })),
      );
    return findings;
  },
});
