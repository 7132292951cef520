import { fileURLToPath } from "node:url";
import { ReferenceTableSet } from "@vigil/rules";
import { type FindingV1, HostV1, type Severity } from "@vigil/schema";

/** Markup an attacker could put in an IDS signature or a host name: it must only ever show as text. */
export const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

let counter = 0;

/** A finding as the rules engine would publish it; each call a new rule, so a new incident. */
export function finding(
  overrides: { title?: string; severity?: Severity; asset?: string; time?: string } = {},
): FindingV1 {
  counter += 1;
  const time = overrides.time ?? new Date().toISOString();
  const asset = overrides.asset ?? `asset-${counter}`;
  const rule = `test.console.rule-${counter}`;
  return {
    schema: "vigil.finding/v1",
    id: `fnd-console-${counter}-${Math.random().toString(16).slice(2)}`,
    time,
    rule: { id: rule, name: rule, version: 1 },
    severity: overrides.severity ?? "high",
    title: overrides.title ?? `Suspicious traffic ${counter}`,
    description: "console test finding",
    asset: {
      id: asset,
      ip: `10.30.0.${(counter % 250) + 1}`,
      hostname: `${asset}.corp.example`,
      known: true,
      priority: "critical",
      priority_reason: "test",
      owner: "Infrastructure",
      tags: [],
    },
    group_key: "g",
    events: [{ topic: "vigil.ids.alerts", id: `evt-${counter}`, time, summary: "an alert" }],
    explanation: { summary: `Raised because of test ${counter}`, conditions: [] },
    cves: ["CVE-2017-0144"],
    attack: [],
    references: [],
  };
}

export const TIME = "2024-03-12T06:00:00.000Z";

/** A Windows 10 workstation of the demo's workstation range, reporting through an agent. */
export function host(overrides: Partial<HostV1>): HostV1 {
  return HostV1.parse({
    schema: "vigil.inventory.host/v1",
    id: "host-ws-001",
    time: TIME,
    hostname: "ws-001",
    names: ["ws-001"],
    ips: [{ ip: "10.20.40.21", first_seen: TIME, last_seen: TIME, source: "dhcp" }],
    macs: [],
    type: "desktop",
    hw_info: {},
    os: { name: "Microsoft Windows 10 Enterprise", type: "windows", version: "10.0.19045", build: "19045" },
    software: [],
    updates: [],
    missing_updates: [{ id: "KB5035845", origin: "osquery" }],
    listening_ports: [],
    local_admins: [],
    services: [],
    files: [],
    roles: { domain_controller: false, fsmo: [], business_critical: false, tags: [] },
    connectivity: { link: "lan", remote: false },
    directory: { ou: "OU=Workstations,OU=Computers,DC=corp,DC=example" },
    is_managed: true,
    sources: [{ source: "osquery", first_seen: TIME, last_seen: TIME }],
    first_seen: TIME,
    last_seen: TIME,
    field_sources: { "collection.updates.test": { source: "osquery", time: TIME } },
    ...overrides,
  });
}

const example = (path: string) => fileURLToPath(new URL(`../../../examples/${path}`, import.meta.url));

/** The demo's Windows baselines and priority list, a workstation below its class and an unmanaged printer. */
export async function exampleTables(): Promise<ReferenceTableSet> {
  const tables = new ReferenceTableSet();
  await tables.loadFiles({
    baselines: [example("baselines/windows.yaml")],
    priorityLists: [example("assets/priority-list.yaml")],
  });
  tables.applyHost(host({}));
  tables.applyHost(
    host({
      id: "host-printer-7",
      hostname: "printer-7",
      names: ["printer-7"],
      ips: [{ ip: "10.20.41.7", first_seen: TIME, last_seen: TIME, source: "dhcp" }],
      is_managed: false,
      sources: [{ source: "dhcp", first_seen: TIME, last_seen: TIME }],
    }),
  );
  return tables;
}
