import type { HostV1, PriorityTier, Severity } from "@vigil/schema";
import { type CompiledRule, defineRule, type Exposure, findingId, type ResolvedAsset } from "../contract.ts";
import {
  evidence,
  hostLabel,
  listSome,
  maxSeverity,
  reportOnce,
  stepSeverity,
  tierRank,
  tierText,
  tierWeight,
} from "../support.ts";

const RULE_ID = "core.advisory.affects-inventory";
const RULE_VERSION = 1;

interface Affected {
  host: HostV1;
  asset: ResolvedAsset;
  exposures: Exposure[];
}

const tiers: PriorityTier[] = ["critical", "high", "medium", "low"];

function stillVulnerable(exposure: Exposure): boolean {
  return exposure.missing_kbs.length > 0 || exposure.advisory.fixing_kb_ids.length === 0;
}

/**
 * MISSION.md 5: new bulletins must be matched against the inventory; MISSION.md 4: the
 * prioritized list says what to protect first. Each advisory record (KEV, NVD, vendor CSAF) is
 * matched against every inventoried host through the advisory index (supersedence applied); the
 * finding says how many hosts are exposed, which, and their weight by tier (critical 8, high 4,
 * medium 2, low 1). Severity starts from the advisory's (medium when it states none) and goes up
 * a step when a critical-tier host is exposed and a step when the CVE is known exploited. The
 * finding's asset is the exposed host of the highest tier. Reported again only when the set of
 * exposed hosts or the exploitation status changes, whichever source's record brought it.
 */
export const advisoryAffectsInventory: CompiledRule = defineRule({
  id: RULE_ID,
  name: "New advisory affects inventoried assets",
  version: RULE_VERSION,
  description:
    "A new or updated advisory whose CVEs affect inventoried hosts that lack the fix: how many, which, weighted by priority tier.",
  on: ["advisory"],
  evaluate(event, context) {
    const { tables, state } = context;
    const advisory = event.value;
    const cves = [...new Set(advisory.cves.length > 0 ? advisory.cves : [advisory.id])].sort();
    const affected: Affected[] = [];
    for (const host of tables.hosts()) {
      const exposures = cves.flatMap((cve) => tables.exposures(host, cve)).filter(stillVulnerable);
      if (exposures.length === 0) continue;
      affected.push({ host, asset: tables.resolveAsset({ id: host.id }), exposures });
    }
    if (affected.length === 0) return [];
    affected.sort(
      (a, b) =>
        tierRank[b.asset.tier] - tierRank[a.asset.tier] || hostLabel(a.host).localeCompare(hostLabel(b.host)),
    );
    const knownExploited =
      advisory.known_exploited !== undefined ||
      affected.some((entry) =>
        entry.exposures.some((exposure) => exposure.known_exploited || exposure.advisory.known_exploited),
      );
    const hostIds = affected.map((entry) => entry.host.id);
    const signature = `${hostIds.join(",")}|${knownExploited}`;
    if (!reportOnce(state, `cves/${cves.join(",")}`, signature)) return [];

    const counts = tiers
      .map((tier) => ({ tier, count: affected.filter((entry) => entry.asset.tier === tier).length }))
      .filter((entry) => entry.count > 0);
    const weight = affected.reduce((sum, entry) => sum + tierWeight[entry.asset.tier], 0);
    const advisorySeverity = [
      advisory.severity,
      ...affected.flatMap((entry) => entry.exposures.map((exposure) => exposure.advisory.severity)),
    ].filter((severity): severity is Severity => severity !== undefined);
    const base = advisorySeverity.length > 0 ? advisorySeverity.reduce(maxSeverity) : "medium";
    const criticalExposed = affected.some((entry) => entry.asset.tier === "critical");
    const severity = stepSeverity(base, (criticalExposed ? 1 : 0) + (knownExploited ? 1 : 0));
    const top = affected[0]!;
    const missing = [
      ...new Set(affected.flatMap((entry) => entry.exposures.flatMap((exposure) => exposure.missing_kbs))),
    ].sort();
    const names = affected.map((entry) => `${hostLabel(entry.host)} (${entry.asset.tier})`);
    const name = advisory.title ?? advisory.known_exploited?.vulnerability_name ?? advisory.id;
    const countText = counts.map((entry) => `${entry.count} ${entry.tier}`).join(", ");
    return [
      context.finding({
        id: findingId(RULE_ID, RULE_VERSION, [cves.join(","), signature]),
        time: event.time,
        severity,
        title: `${cves.join(", ")} affects ${affected.length} inventoried host${affected.length === 1 ? "" : "s"} (${countText}; weight ${weight})${knownExploited ? ", known exploited" : ""}`,
        description: `${advisory.source} advisory ${advisory.id} "${name}": ${affected.length} host${affected.length === 1 ? "" : "s"} exposed: ${listSome(names)}.${missing.length > 0 ? ` Fixing updates missing: ${listSome(missing)}.` : ""}${advisory.known_exploited?.due_date ? ` KEV due date ${advisory.known_exploited.due_date}.` : ""} Patch the highest tiers first.`,
        asset: top.asset.ref,
        group_key: `advisory:${cves.join(",")}`,
        events: [evidence(event, `${advisory.source}/${advisory.id}: ${name}`)],
        summary: `A new advisory matches the inventory (MISSION.md 5): ${affected.length} exposed host${affected.length === 1 ? "" : "s"}, priority weight ${weight}; the most important is ${hostLabel(top.host)}, ${tierText(top.asset.ref)}.`,
        conditions: [
          `advisory ${advisory.source}/${advisory.id} names ${cves.join(", ")}`,
          ...affected
            .slice(0, 20)
            .map(
              (entry) =>
                `${hostLabel(entry.host)} (${entry.asset.tier}): ${entry.exposures.map((exposure) => `${exposure.cve} ${exposure.reason}`).join("; ")}`,
            ),
          ...(affected.length > 20 ? [`and ${affected.length - 20} more hosts`] : []),
          `severity ${base}${criticalExposed ? " +1 (a critical-tier host is exposed)" : ""}${knownExploited ? " +1 (known exploited)" : ""} = ${severity}`,
        ],
        cves,
        references: advisory.references.slice(0, 10).map((reference) => reference.url),
      }),
    ];
  },
});
