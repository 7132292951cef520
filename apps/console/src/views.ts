import type { ReferenceTableSet } from "@vigil/rules";
import type { HostV1, IncidentV1, Urgency } from "@vigil/schema";

/** What the console needs of the reference tables: the rules engine's `ReferenceTableSet` fits. */
export type ConsoleTables = Pick<
  ReferenceTableSet,
  "host" | "hosts" | "resolveAsset" | "assessBaselines" | "exposures" | "advisoriesForCve"
>;

export interface AssetCard {
  id: string;
  known: boolean;
  hostname?: string | undefined;
  ips: string[];
  tier: string;
  owner?: { organisation: string; contacts: Array<{ name?: string; email?: string; role?: string }> };
  roles?: HostV1["roles"];
  os?: HostV1["os"];
  is_managed?: boolean;
  last_seen?: string;
  baseline_deltas: Array<{
    baseline: string;
    class: string;
    item: string;
    direction: string;
    expected: string;
    actual: string;
    excepted_by?: { id: string; owner: string; reason: string; expires: string };
  }>;
  missing_updates: Array<{ id: string; title?: string | undefined; severity?: string | undefined }>;
  exceptions: Array<{ id: string; item: string; owner: string; reason: string; expires: string }>;
  exposures: Array<{
    cve: string;
    advisory: string;
    title?: string | undefined;
    known_exploited: boolean;
    missing_kbs: string[];
  }>;
}

/** The asset card: who owns it, what it is, how far it is from its baseline and what it is exposed to. */
export function assetCard(tables: ConsoleTables, assetId: string, at: number): AssetCard {
  const host = tables.host(assetId);
  const resolved = tables.resolveAsset(host ? { id: assetId } : { id: assetId, ip: assetId });
  const card: AssetCard = {
    id: assetId,
    known: host !== undefined || resolved.ref.known,
    hostname: host?.hostname ?? resolved.ref.hostname,
    ips: host ? host.ips.map((seen) => seen.ip) : resolved.ref.ip ? [resolved.ref.ip] : [],
    tier: resolved.tier,
    baseline_deltas: [],
    missing_updates: [],
    exceptions: [],
    exposures: [],
  };
  if (resolved.ownership) {
    card.owner = {
      organisation: resolved.ownership.organisation,
      contacts: resolved.ownership.contacts.map((contact) => ({
        ...(contact.name ? { name: contact.name } : {}),
        ...(contact.email ? { email: contact.email } : {}),
        ...(contact.role ? { role: contact.role } : {}),
      })),
    };
  }
  if (!host) return card;
  card.roles = host.roles;
  card.os = host.os;
  card.is_managed = host.is_managed;
  card.last_seen = host.last_seen;
  for (const assessment of tables.assessBaselines(host, at)) {
    for (const delta of assessment.deltas) {
      card.baseline_deltas.push({
        baseline: `${delta.baseline.name}@${delta.baseline.version}`,
        class: delta.baseline.class,
        item: delta.item,
        direction: delta.direction,
        expected: delta.expected,
        actual: delta.actual,
        ...(delta.excepted_by ? { excepted_by: delta.excepted_by } : {}),
      });
      if (delta.excepted_by) card.exceptions.push({ item: delta.item, ...delta.excepted_by });
    }
  }
  card.missing_updates = host.missing_updates.map((update) => ({
    id: update.id,
    title: update.title,
    severity: update.severity,
  }));
  card.exposures = tables.exposures(host).map((exposure) => ({
    cve: exposure.cve,
    advisory: exposure.advisory.id,
    title: exposure.advisory.title,
    known_exploited: exposure.known_exploited,
    missing_kbs: exposure.missing_kbs,
  }));
  return card;
}

export interface ComplianceRow {
  baseline: string;
  class: string;
  hosts: number;
  compliant: number;
  /** Hosts with an unexcepted difference in that direction (a host counts once, below first). */
  below: number;
  above: number;
  policy: number;
}

/** Patch compliance of the estate by baseline class: excepted differences count as compliant. */
export function compliance(tables: ConsoleTables, at: number): ComplianceRow[] {
  const rows = new Map<string, ComplianceRow>();
  for (const host of tables.hosts()) {
    for (const assessment of tables.assessBaselines(host, at)) {
      const cls =
        assessment.choice.kind === "class" ? assessment.choice.class : assessment.choice.classes.join(" | ");
      const key = `${assessment.baseline.name}\u0000${cls}`;
      const row = rows.get(key) ?? {
        baseline: assessment.baseline.name,
        class: cls,
        hosts: 0,
        compliant: 0,
        below: 0,
        above: 0,
        policy: 0,
      };
      rows.set(key, row);
      row.hosts += 1;
      const open = assessment.deltas.filter((delta) => !delta.excepted_by);
      if (open.length === 0) row.compliant += 1;
      else if (open.some((delta) => delta.direction === "below")) row.below += 1;
      else if (open.some((delta) => delta.direction === "policy")) row.policy += 1;
      else row.above += 1;
    }
  }
  return [...rows.values()].sort(
    (a, b) => a.baseline.localeCompare(b.baseline) || a.class.localeCompare(b.class),
  );
}

export function unmanagedHosts(tables: ConsoleTables) {
  const hosts = [];
  for (const host of tables.hosts()) {
    if (host.is_managed) continue;
    hosts.push({
      id: host.id,
      hostname: host.hostname,
      ips: host.ips.map((seen) => seen.ip),
      type: host.type,
      os: host.os.name,
      sources: host.sources.map((source) => source.source),
      last_seen: host.last_seen,
    });
  }
  return hosts.sort((a, b) => b.last_seen.localeCompare(a.last_seen));
}

const URGENCIES: Urgency[] = ["critical", "high", "medium", "low"];

/** Incidents raised per hour (or day), by urgency: the stacked bars of the dashboard. */
export function overTime(incidents: Iterable<IncidentV1>, bucket: "hour" | "day") {
  const width = bucket === "hour" ? 13 : 10;
  const buckets = new Map<string, Record<Urgency | "none", number>>();
  for (const incident of incidents) {
    const key = new Date(incident.first_seen).toISOString().slice(0, width);
    const counts = buckets.get(key) ?? { critical: 0, high: 0, medium: 0, low: 0, none: 0 };
    counts[incident.urgency ?? "none"] += 1;
    buckets.set(key, counts);
  }
  return {
    bucket,
    urgencies: [...URGENCIES, "none"],
    series: [...buckets.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([start, counts]) => ({ start: bucket === "hour" ? `${start}:00:00Z` : start, ...counts })),
  };
}
