/**
 * Test support for the reference tables: host and advisory builders, and the example estate
 * (`examples/inventory/`) merged in memory exactly as `apps/ingest-inventory` merges it. It reads
 * the repository's files and needs the dev dependencies; not part of the runtime API.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { AssetTable } from "@vigil/inventory";
import {
  ExportMapping,
  type InventoryParse,
  parseAdComputersCsv,
  parseAdvisoryDocument,
  parseBindZone,
  parseDhcpLeases,
  parseInventoryExport,
  parseOsqueryResults,
} from "@vigil/parsers";
import { AdvisoryV1, type HostCollection, HostV1 } from "@vigil/schema";

export const EXAMPLES_DIR = resolve(import.meta.dirname, "../../../../examples");
const INVENTORY = resolve(EXAMPLES_DIR, "inventory");
/** The audit "now" of the example estate (examples/inventory/README.md). */
export const ESTATE_NOW = Date.parse("2024-03-12T06:00:00Z");

const read = (path: string) => readFileSync(resolve(INVENTORY, path));
const mapping = (path: string) => ExportMapping.parse(JSON.parse(read(path).toString("utf8")));

/** Every host of the example estate, in the order the ingest README loads the inputs. */
export function exampleEstate(): HostV1[] {
  const fileTime = new Date(ESTATE_NOW).toISOString();
  const base = (file: string) => ({ file, fileTime });
  const parses: InventoryParse[] = [
    parseOsqueryResults(read("osquery/osqueryd.results.log"), base("osqueryd.results.log")),
    parseInventoryExport(
      read("configmgr/hardware.csv"),
      mapping("configmgr/hardware.mapping.json"),
      "csv",
      base("hardware.csv"),
    ),
    parseInventoryExport(
      read("wsus/missing-updates.csv"),
      mapping("wsus/missing-updates.mapping.json"),
      "csv",
      base("missing-updates.csv"),
    ),
    parseAdComputersCsv(read("directory/ad-computers.csv"), base("ad-computers.csv")),
    parseBindZone(read("dns/corp.example.zone"), base("corp.example.zone")),
    parseDhcpLeases(read("dhcp/dhcpd.leases"), { ...base("dhcpd.leases"), domain: "corp.example" }),
  ];
  const table = new AssetTable();
  for (const parse of parses) {
    if (!parse.ok) throw new Error(`example estate: ${parse.error}`);
    for (const record of parse.records) if (record.status === "record") table.apply(record.observation);
  }
  return table.all();
}

const COLLECTIONS: HostCollection[] = [
  "software",
  "updates",
  "missing_updates",
  "listening_ports",
  "local_admins",
  "services",
  "files",
];

/**
 * A valid managed Windows 10 workstation (`ws-001.corp.example`, 10.20.40.21) with whatever the
 * overrides say. A collection given in the overrides counts as reported (an agent's snapshot),
 * even when empty; one left out was never reported.
 */
export function buildHost(overrides: Partial<HostV1> = {}): HostV1 {
  const time = overrides.time ?? "2024-03-12T06:00:00.000Z";
  const base: HostV1 = {
    schema: "vigil.inventory.host/v1",
    id: "host-test-ws-001",
    time,
    hostname: "ws-001",
    fqdn: "ws-001.corp.example",
    domain: "corp.example",
    names: ["ws-001", "ws-001.corp.example"],
    ips: [{ ip: "10.20.40.21", first_seen: time, last_seen: time, source: "dhcp" }],
    macs: [],
    type: "desktop",
    hw_info: {},
    os: { name: "Microsoft Windows 10 Enterprise", type: "windows", version: "10.0.19045", build: "19045" },
    software: [],
    updates: [],
    missing_updates: [],
    listening_ports: [],
    local_admins: [],
    services: [],
    files: [],
    roles: { domain_controller: false, fsmo: [], business_critical: false, tags: [] },
    connectivity: { link: "lan", remote: false },
    directory: { ou: "OU=Workstations,OU=Computers,DC=corp,DC=example" },
    is_managed: true,
    sources: [{ source: "osquery", first_seen: time, last_seen: time }],
    first_seen: time,
    last_seen: time,
    field_sources: {},
  };
  const host: HostV1 = { ...base, ...overrides, field_sources: { ...(overrides.field_sources ?? {}) } };
  for (const collection of COLLECTIONS)
    if (overrides[collection] !== undefined)
      host.field_sources[`collection.${collection}.test`] = { source: "osquery", time };
  return HostV1.parse(host);
}

/** A valid advisory (an NVD record of CVE-2024-0001 without products) with the overrides. */
export function buildAdvisory(overrides: Partial<AdvisoryV1> = {}): AdvisoryV1 {
  return AdvisoryV1.parse({
    schema: "vigil.advisory/v1",
    id: "CVE-2024-0001",
    source: "nvd",
    cves: ["CVE-2024-0001"],
    cwes: [],
    cpe_matches: [],
    products: [],
    product_status: [],
    remediations: [],
    fixing_kb_ids: [],
    cvss: [],
    references: [],
    ...overrides,
  });
}

/** Every advisory of `examples/advisories/` (KEV JSON, NVD page, the two CSAF documents). */
export function exampleAdvisories(): AdvisoryV1[] {
  const dir = resolve(EXAMPLES_DIR, "advisories");
  const files = [
    "kev.json",
    "nvd-page.json",
    ...readdirSync(resolve(dir, "csaf")).map((file) => `csaf/${file}`),
  ];
  const advisories: AdvisoryV1[] = [];
  for (const file of files) {
    const result = parseAdvisoryDocument(readFileSync(resolve(dir, file)), "auto");
    if (result.status !== "document") throw new Error(`example advisories: ${file}: ${result.found}`);
    for (const entry of result.entries)
      if (entry.result.status === "record") advisories.push(entry.result.value);
  }
  return advisories;
}
