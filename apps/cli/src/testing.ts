// How the process-level tests compare the incidents the pipeline raised on Kafka with those of the
// embedded demo over the same input. Not part of the CLI (left out of dist/ and the package).
import type { IncidentV1 } from "@vigil/schema";

/**
 * Rules whose state spans partitions (or topics) see their events in an order that varies on
 * Kafka, where the engine reads partitions concurrently: a new advisory judged when the first of
 * its sources arrives, an update server's episode and its clear from different hosts' logs, scans
 * and sweeps keyed by a source while events are keyed by the inside address, "once per address"
 * suppression fed by two topics, absences driven by a watermark that any partition moves. Their
 * findings can take other events (so other ids) run to run: the same rules must fire; every other
 * incident must match exactly. (Why, and the fix: the session notes.)
 */
export const ORDER_DEPENDENT_RULES: ReadonlySet<string> = new Set([
  "core.advisory.affects-inventory",
  "core.updates.distribution-blocked",
  "core.firewall.port-scan",
  "core.firewall.address-sweep",
  "core.firewall.denied-burst",
  "core.firewall.quarantined-source",
  "core.inventory.unmanaged-address",
  "core.agent.silent",
]);

/** The incidents that must match exactly: those of rules that do not depend on arrival order. */
export const stableIncidents = (incidents: readonly IncidentV1[]): IncidentV1[] =>
  incidents.filter((incident) => !ORDER_DEPENDENT_RULES.has(incident.rule_id));

/** What must match of a stable incident, in one order for both sides. */
export const incidentSummary = (incidents: readonly IncidentV1[]) =>
  stableIncidents(incidents)
    .map((i) => ({
      id: i.id,
      rule: i.rule_id,
      findings: i.finding_count,
      asset: i.asset.id,
      severity: i.severity,
    }))
    .sort((a, b) => `${a.rule} ${a.asset} ${a.id}`.localeCompare(`${b.rule} ${b.asset} ${b.id}`));

/** The order-dependent rules that fired: compared by rule id only. */
export const orderDependentRulesFired = (incidents: readonly IncidentV1[]): string[] =>
  [
    ...new Set(
      incidents.filter((incident) => ORDER_DEPENDENT_RULES.has(incident.rule_id)).map((i) => i.rule_id),
    ),
  ].sort();

/** Findings merged into the stable incidents: the pipeline has caught up when it reaches the demo's. */
export const stableFindingCount = (incidents: readonly IncidentV1[]): number =>
  stableIncidents(incidents).reduce((sum, incident) => sum + incident.finding_count, 0);
