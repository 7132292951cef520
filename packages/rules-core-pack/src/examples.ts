/**
 * The repository's demo data (`examples/`) as the event stream the rules engine sees: every
 * inventory host and audit and every advisory (the tables), then the IDS, firewall and update
 * events in event-time order. Test support only: it reads the repository's files and parses them
 * with the same parsers the ingest apps use, so the pack is judged on what the demo really feeds it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AssetTable, auditRecord } from "@vigil/inventory";
import {
  createUpdateLogParser,
  ExportMapping,
  firewallEventKey,
  type InventoryParse,
  NetworkSet,
  parseAdComputersCsv,
  parseAdvisoryDocument,
  parseBindZone,
  parseDhcpLeases,
  parseFirewallLine,
  parseInventoryExport,
  parseOsqueryResults,
  parseSnortAlertJson,
  parseSuricataEve,
  parseZeekNoticeJson,
  splitUpdateLogRecords,
  type UpdateLogFormat,
} from "@vigil/parsers";
import {
  type AuditV1,
  advisoryKey,
  type HostV1,
  type InventorySource,
  idsRecordKey,
  updateEventKey,
} from "@vigil/schema";
import type { EventKind, EventValues } from "./contract.ts";

export const EXAMPLES_DIR = resolve(import.meta.dirname, "../../../examples");

/** The audit "now" of the example estate (examples/inventory/README.md). */
export const ESTATE_NOW = "2024-03-12T06:00:00.000Z";

/** The home networks the demo's ingest apps are configured with (examples/firewall/README.md). */
export const DEMO_HOME_NETS = ["10.20.0.0/16", "10.30.0.0/16", "172.16.10.0/24", "fd00::/8"];

export type ExampleEvent = { [K in EventKind]: { kind: K; value: EventValues[K]; key: string } }[EventKind];

const read = (...parts: string[]) => readFileSync(join(EXAMPLES_DIR, ...parts));

function mustParse(name: string, parse: InventoryParse) {
  if (!parse.ok) throw new Error(`examples/inventory/${name}: ${parse.error}`);
  return parse.records;
}

/**
 * The example estate merged as `apps/ingest-inventory` merges it, one audit per input, and the
 * final state of every host (what the compacted hosts topic holds).
 */
export function exampleInventory(): { hosts: HostV1[]; audits: AuditV1[] } {
  const fileTime = ESTATE_NOW;
  const mapping = (path: string) => ExportMapping.parse(JSON.parse(read("inventory", path).toString("utf8")));
  const inputs: { name: string; source: InventorySource; format: string; parse: () => InventoryParse }[] = [
    {
      name: "osquery/osqueryd.results.log",
      source: "osquery",
      format: "osquery",
      parse: () =>
        parseOsqueryResults(read("inventory", "osquery/osqueryd.results.log"), { file: "osquery", fileTime }),
    },
    {
      name: "configmgr/hardware.csv",
      source: "inventory",
      format: "inventory-csv",
      parse: () =>
        parseInventoryExport(
          read("inventory", "configmgr/hardware.csv"),
          mapping("configmgr/hardware.mapping.json"),
          "csv",
          { file: "hardware.csv", fileTime },
        ),
    },
    {
      name: "wsus/missing-updates.csv",
      source: "inventory",
      format: "inventory-csv",
      parse: () =>
        parseInventoryExport(
          read("inventory", "wsus/missing-updates.csv"),
          mapping("wsus/missing-updates.mapping.json"),
          "csv",
          { file: "missing-updates.csv", fileTime },
        ),
    },
    {
      name: "directory/ad-computers.csv",
      source: "directory",
      format: "ad-csv",
      parse: () =>
        parseAdComputersCsv(read("inventory", "directory/ad-computers.csv"), { file: "ad", fileTime }),
    },
    {
      name: "dns/corp.example.zone",
      source: "dns",
      format: "bind-zone",
      parse: () => parseBindZone(read("inventory", "dns/corp.example.zone"), { file: "zone", fileTime }),
    },
    {
      name: "dhcp/dhcpd.leases",
      source: "dhcp",
      format: "dhcp-leases",
      parse: () =>
        parseDhcpLeases(read("inventory", "dhcp/dhcpd.leases"), {
          file: "dhcpd.leases",
          fileTime,
          domain: "corp.example",
        }),
    },
  ];
  const table = new AssetTable();
  const audits: AuditV1[] = [];
  for (const input of inputs) {
    const records = mustParse(input.name, input.parse());
    const hostIds = new Set<string>();
    let invalid = 0;
    for (const record of records) {
      if (record.status === "invalid") invalid += 1;
      if (record.status !== "record") continue;
      hostIds.add(table.apply(record.observation).id);
    }
    audits.push(
      auditRecord({
        source: input.source,
        format: input.format,
        inputs: [`examples/inventory/${input.name}`],
        started: ESTATE_NOW,
        finished: ESTATE_NOW,
        hostIds,
        recordsRead: records.length,
        recordsInvalid: invalid,
      }),
    );
  }
  return { hosts: table.all(), audits };
}

export function exampleAdvisories(): ExampleEvent[] {
  const files = [
    "kev.json",
    "nvd-page.json",
    ...readdirSync(join(EXAMPLES_DIR, "advisories", "csaf"))
      .filter((name) => name.endsWith(".json"))
      .sort()
      .map((name) => `csaf/${name}`),
  ];
  const events: ExampleEvent[] = [];
  for (const file of files) {
    const document = parseAdvisoryDocument(read("advisories", file), "auto");
    if (document.status !== "document") throw new Error(`examples/advisories/${file}: ${document.found}`);
    for (const entry of document.entries) {
      if (entry.result.status !== "record")
        throw new Error(`examples/advisories/${file} ${entry.path}: ${entry.result.reason}`);
      events.push({ kind: "advisory", value: entry.result.value, key: advisoryKey(entry.result.value) });
    }
  }
  return events;
}

export function exampleIdsAlerts(files: readonly string[] = ["eve.json", "eve-wsus01.json"]): ExampleEvent[] {
  const homeNets = new NetworkSet(DEMO_HOME_NETS);
  const events: ExampleEvent[] = [];
  // eve.json is the demo morning; eve-wsus01.json the same worm reaching the one server left
  // without MS17-010 (added for the core pack's exploit-on-vulnerable-asset rule).
  const lines = files.flatMap((file) => read("suricata", file).toString("utf8").split("\n"));
  for (const line of lines) {
    if (line.trim() === "") continue;
    const result = parseSuricataEve(line, { homeNets, now: () => new Date(ESTATE_NOW) });
    if (result.status === "alert")
      events.push({ kind: "ids.alert", value: result.alert, key: idsRecordKey(result.alert) });
  }
  return events;
}

/** The same morning seen by Snort 3 (alert_json) and Zeek (notice.log as JSON), as the demo ingests them too. */
export function exampleSnortAndZeekAlerts(): ExampleEvent[] {
  const homeNets = new NetworkSet(DEMO_HOME_NETS);
  const now = () => new Date(ESTATE_NOW);
  const events: ExampleEvent[] = [];
  const lines = (file: string) =>
    read("ids", file)
      .toString("utf8")
      .split("\n")
      .filter((line) => line.trim() !== "");
  for (const line of lines("snort-alert_json.txt")) {
    const result = parseSnortAlertJson(line, { homeNets, sensor: "snort-dmz", now });
    if (result.status === "alert")
      events.push({ kind: "ids.alert", value: result.alert, key: idsRecordKey(result.alert) });
  }
  for (const line of lines("zeek-notice.json")) {
    const result = parseZeekNoticeJson(line, { homeNets, sensor: "zeek-core", now });
    if (result.status === "alert")
      events.push({ kind: "ids.alert", value: result.alert, key: idsRecordKey(result.alert) });
  }
  return events;
}

export function exampleFirewallEvents(): ExampleEvent[] {
  const homeNets = new NetworkSet(DEMO_HOME_NETS);
  const events: ExampleEvent[] = [];
  for (const file of ["asa.log", "pfsense.log", "iptables.log"]) {
    for (const line of read("firewall", file).toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      const result = parseFirewallLine(line, { homeNets, now: Date.parse("2024-03-12T12:00:00Z") });
      if (result.status === "record")
        events.push({
          kind: "firewall.event",
          value: result.value,
          key: firewallEventKey(result.value) ?? "unknown",
        });
    }
  }
  return events;
}

export function exampleUpdateEvents(): ExampleEvent[] {
  const manifest = JSON.parse(read("updates", "manifest.json").toString("utf8")) as {
    file: string;
    format: UpdateLogFormat;
    host: string;
  }[];
  const events: ExampleEvent[] = [];
  for (const entry of manifest) {
    // The clients and the site server log local time (+09:00); WSUS logs UTC (examples/updates/README.md).
    const parse = createUpdateLogParser(entry.format, {
      host: entry.host,
      utcOffset: "+09:00",
      file: entry.file,
      now: () => new Date("2008-07-15T00:00:00Z"),
    });
    const text = read("updates", entry.file).toString("utf8");
    for (const record of splitUpdateLogRecords(text, entry.format)) {
      const result = parse(record.text, record.position);
      if (result.status === "record")
        events.push({ kind: "updates.agent", value: result.value, key: updateEventKey(result.value) });
    }
  }
  return events;
}
