/** The example estate run through the app, shared by the unit (embedded) and integration (Kafka) tests. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { silentLogger } from "@vigil/observability";
import { AuditV1, HostV1, topicName, topics } from "@vigil/schema";
import type { Transport } from "@vigil/stream";
import { expect } from "vitest";
import {
  type IngestInventoryConfig,
  type InventoryFormat,
  type InventorySummary,
  runInventoryIngest,
} from "./index.ts";

export const EXAMPLES = resolve(import.meta.dirname, "../../../examples/inventory");

export const EXAMPLE_RUNS: {
  format: InventoryFormat;
  file: string;
  mapping?: string;
  domain?: string;
  invalid: number;
}[] = [
  { format: "osquery", file: "osquery/osqueryd.results.log", invalid: 2 },
  {
    format: "inventory-csv",
    file: "configmgr/hardware.csv",
    mapping: "configmgr/hardware.mapping.json",
    invalid: 1,
  },
  {
    format: "inventory-csv",
    file: "wsus/missing-updates.csv",
    mapping: "wsus/missing-updates.mapping.json",
    invalid: 0,
  },
  { format: "ad-csv", file: "directory/ad-computers.csv", invalid: 1 },
  { format: "bind-zone", file: "dns/corp.example.zone", invalid: 1 },
  { format: "dhcp-leases", file: "dhcp/dhcpd.leases", domain: "corp.example", invalid: 1 },
];

/** Hosts of estate.json, plus the two DHCP-only devices (a visitor's phone and an unnamed client). */
export function expectedAssetCount(): number {
  const estate = JSON.parse(readFileSync(resolve(EXAMPLES, "estate.json"), "utf8")) as { hosts: unknown[] };
  return estate.hosts.length + 2;
}

export function configFor(run: (typeof EXAMPLE_RUNS)[number], topicPrefix: string): IngestInventoryConfig {
  return {
    format: run.format,
    file: resolve(EXAMPLES, run.file),
    dir: undefined,
    state: undefined,
    once: false,
    pollSeconds: 10,
    mapping: run.mapping ? resolve(EXAMPLES, run.mapping) : undefined,
    origin: undefined,
    domain: run.domain,
    asOf: "2024-03-12T06:00:00.000Z",
    maxFileBytes: 64 * 1024 * 1024,
    dryRun: false,
    topicPrefix,
  };
}

/** Every example input, each in its own run (a new table restored from the topic each time). */
export async function ingestEstate(transport: Transport, topicPrefix: string): Promise<InventorySummary[]> {
  const summaries: InventorySummary[] = [];
  for (const run of EXAMPLE_RUNS)
    summaries.push(
      await runInventoryIngest({
        transport,
        logger: silentLogger(),
        config: configFor(run, topicPrefix),
        now: () => new Date("2024-03-12T06:30:00Z"),
      }),
    );
  return summaries;
}

/** The asset table as the topic holds it: the last record of each key. */
export async function hostsOnTopic(transport: Transport, prefix: string): Promise<Map<string, HostV1>> {
  const latest = new Map<string, HostV1>();
  for (const message of await transport.readAll(topicName(topics.inventoryHosts, prefix))) {
    const host = HostV1.parse(JSON.parse(message.value!.toString()));
    expect(message.key?.toString()).toBe(host.id);
    latest.set(host.id, host);
  }
  return latest;
}

export async function auditsOnTopic(transport: Transport, prefix: string): Promise<AuditV1[]> {
  return (await transport.readAll(topicName(topics.inventoryAudits, prefix))).map((message) =>
    AuditV1.parse(JSON.parse(message.value!.toString())),
  );
}

/** What the merged estate must look like, whichever transport carried it. */
export function checkEstate(hosts: Map<string, HostV1>): void {
  expect(hosts.size).toBe(expectedAssetCount());
  const byName = (name: string) => [...hosts.values()].filter((host) => host.names.includes(name));
  const [dc01] = byName("dc01.corp.example");
  expect(dc01).toMatchObject({
    type: "server",
    is_managed: true,
    ips: [expect.objectContaining({ ip: "10.20.1.10" })],
    roles: { domain_controller: true, fsmo: ["domain-naming-master", "pdc-emulator", "schema-master"] },
  });
  expect(dc01!.sources.map((seen) => seen.source).sort()).toEqual([
    "directory",
    "dns",
    "inventory",
    "osquery",
  ]);
  const [payroll] = byName("payroll01.corp.example");
  expect(payroll).toMatchObject({
    roles: { business_critical: true },
    ips: [expect.objectContaining({ ip: "10.20.5.20" })],
  });
  const [legacy] = byName("ws-pay01.corp.example");
  expect(legacy).toMatchObject({
    os: { sp_name: "Service Pack 3" },
    connectivity: { link: "dialup" },
    roles: { tags: expect.arrayContaining(["baseline-exception"]) },
  });
  const [www] = byName("www01.corp.example");
  expect(www).toMatchObject({ is_managed: false, ips: [expect.objectContaining({ ip: "172.16.10.5" })] });
  expect(www!.sources.map((seen) => seen.source)).toEqual(["dns"]);
  // The two ws-041s: corp (managed) and lab (DNS only) stay apart.
  expect(byName("ws-041")).toHaveLength(2);
  const [wsus] = byName("wsus01.corp.example");
  expect(wsus!.files.find((file) => file.version !== undefined)?.version).toBe("3.1.6001.66");
  const [silent] = byName("lt-017.corp.example");
  expect(silent!.agent!.last_seen < "2024-02-10").toBe(true);
  // lt-006's old address now belongs to the visitor's phone only.
  const [guest] = byName("guest-phone");
  const guestIp = guest!.ips[0]!.ip;
  expect([...hosts.values()].filter((host) => host.ips.some((entry) => entry.ip === guestIp))).toEqual([
    guest,
  ]);
}
