import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { AuditV1, dlqHeader, HostV1, topicName, topics } from "@vigil/schema";
import { createEmbeddedTransport, EmbeddedBroker, ensureRegistryTopics } from "@vigil/stream";
import { afterAll, describe, expect, it } from "vitest";
import { runInventoryIngest } from "./index.ts";
import {
  auditsOnTopic,
  checkEstate,
  configFor,
  EXAMPLE_RUNS,
  EXAMPLES,
  hostsOnTopic,
  ingestEstate,
} from "./testing.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-inventory-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function runMain(args: string[], input?: string) {
  return spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    env: { ...process.env, LOG_LEVEL: "silent", KAFKA_BROKERS: "" },
    ...(input !== undefined ? { input } : {}),
    maxBuffer: 64 * 1024 * 1024,
  });
}

describe("ingest-inventory as a process", { timeout: 60_000 }, () => {
  it("--help lists the formats and every option", () => {
    const result = runMain(["--help"]);
    expect(result.status).toBe(0);
    for (const text of [
      "osquery, inventory-csv, inventory-json, ad-csv, ldif, bind-zone, dhcp-leases",
      "--dir",
      "--mapping",
      "--dry-run",
      "--json",
      "VIGIL_INVENTORY_FORMAT",
    ])
      expect(result.stdout).toContain(text);
  });

  it("--dry-run prints the merged hosts and the audit, dead letters on stderr", () => {
    const result = runMain([
      "--format",
      "bind-zone",
      "--file",
      resolve(EXAMPLES, "dns/corp.example.zone"),
      "--dry-run",
      "--json",
    ]);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n");
    const summary = JSON.parse(lines.pop()!) as { summary: Record<string, number> };
    const audit = AuditV1.parse(JSON.parse(lines.pop()!));
    const hosts = lines.map((line) => HostV1.parse(JSON.parse(line)));
    expect(hosts).toHaveLength(audit.host_count);
    expect(audit).toMatchObject({ source: "dns", format: "bind-zone", records_invalid: 1 });
    expect(summary.summary).toMatchObject({ published: hosts.length, deadLettered: 1, ignored: 5 });
    expect(summary.summary.read).toBe(hosts.length === 0 ? 0 : summary.summary.read);
    const letter = JSON.parse(
      result.stderr.split("\n").find((line) => line.startsWith('{"dead_letter"'))!,
    ) as { dead_letter: { location: string; reason: string } };
    expect(letter.dead_letter.location).toMatch(/corp\.example\.zone:\d+$/);
    expect(letter.dead_letter.reason).toContain("not an IPv4 address");
  });

  it("reads stdin", () => {
    const input = readFileSync(resolve(EXAMPLES, "dhcp/dhcpd.leases"), "utf8");
    const result = runMain(
      ["--format", "dhcp-leases", "--domain", "corp.example", "--dry-run", "--json"],
      input,
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('"inputs":["stdin"]');
  });

  it("exits 2 naming the expected format when the input is in another one", () => {
    const result = runMain([
      "--format",
      "ad-csv",
      "--file",
      resolve(EXAMPLES, "osquery/osqueryd.results.log"),
      "--dry-run",
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("expected a Get-ADComputer CSV export");
    expect(result.stderr).toContain("found JSON lines");
  });

  it("exits 2 on a bad configuration, naming it", () => {
    expect(
      runMain([
        "--format",
        "inventory-csv",
        "--file",
        resolve(EXAMPLES, "configmgr/hardware.csv"),
        "--dry-run",
      ]).stderr,
    ).toContain("needs --mapping FILE");
    const badMapping = join(workDir, "bad-mapping.json");
    writeFileSync(badMapping, JSON.stringify({ name: "x", kind: "software", columns: { hostname: "Name" } }));
    const result = runMain([
      "--format",
      "inventory-csv",
      "--mapping",
      badMapping,
      "--file",
      resolve(EXAMPLES, "configmgr/hardware.csv"),
      "--dry-run",
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "columns.software_name: a software export needs the software_name column",
    );
    expect(runMain(["--format", "yaml", "--dry-run"]).status).toBe(2);
    expect(
      runMain(["--format", "osquery", "--file", join(workDir, "missing.log"), "--dry-run"]).stderr,
    ).toContain("ENOENT");
    expect(
      runMain(["--format", "osquery", "--file", resolve(EXAMPLES, "osquery/osqueryd.results.log")]).stderr,
    ).toContain("no Kafka brokers");
  });
});

describe("ingest-inventory on the embedded transport", { timeout: 60_000 }, () => {
  it("merges the example estate across runs: one asset per machine, an audit per run, bad records dead-lettered", async () => {
    const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await ensureRegistryTopics(transport, "");
    const summaries = await ingestEstate(transport, "");
    // Each run restores what the previous ones published.
    expect(summaries.map((summary) => summary.restored)).toEqual([0, 204, 204, 204, 213, 223]);
    expect(summaries.map((summary) => summary.deadLettered)).toEqual(EXAMPLE_RUNS.map((run) => run.invalid));
    checkEstate(await hostsOnTopic(transport, ""));
    const audits = await auditsOnTopic(transport, "");
    expect(audits.map((audit) => [audit.format, audit.host_count])).toEqual([
      ["osquery", 204],
      ["inventory-csv", 202],
      ["inventory-csv", 11],
      ["ad-csv", 211],
      ["bind-zone", 205],
      ["dhcp-leases", 187],
    ]);
    const dlq = await transport.readAll(topicName(topics.dlq, ""));
    expect(dlq).toHaveLength(6);
    // The DLQ has several partitions: look letters up by location, not by position.
    const cutOff = dlq.find((message) =>
      /osqueryd\.results\.log:41$/.test(message.headers[dlqHeader.sourceLocation] ?? ""),
    );
    expect(cutOff?.headers[dlqHeader.kind]).toBe("json");
    expect(cutOff?.value?.toString()).toHaveLength(120);
    // A second run of the same input changes nothing and publishes nothing new.
    const again = await runInventoryIngest({
      transport,
      logger: silentLogger(),
      config: configFor(EXAMPLE_RUNS[4]!, ""),
      now: () => new Date("2024-03-12T07:00:00Z"),
    });
    expect(again).toMatchObject({ published: 0, restored: 225, hosts: 205 });
  });

  it("--dir processes each new file once and remembers it across runs", async () => {
    const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await ensureRegistryTopics(transport, "");
    const dir = mkdtempSync(join(workDir, "watch-"));
    writeFileSync(join(dir, "a.zone"), "$ORIGIN corp.example.\nws-1 IN A 10.20.40.1\n");
    writeFileSync(join(dir, "b.zone"), "$ORIGIN corp.example.\nws-2 IN A 10.20.40.2\n");
    writeFileSync(join(dir, "c.zone"), '{"not":"a zone"}\n');
    const config = { ...configFor(EXAMPLE_RUNS[4]!, ""), file: "-", dir, once: true };
    const first = await runInventoryIngest({ transport, logger: silentLogger(), config });
    expect(first).toMatchObject({ files: 3, filesRefused: 1, audits: 2, published: 2, deadLettered: 1 });
    const dlq = await transport.readAll(topicName(topics.dlq, ""));
    expect(dlq[0]!.headers[dlqHeader.kind]).toBe("format");
    expect(dlq[0]!.headers[dlqHeader.reason]).toContain("expected a DNS zone file");
    expect(
      JSON.parse(readFileSync(join(dir, ".vigil-ingest-inventory.json"), "utf8")).processed,
    ).toHaveProperty("a.zone");
    writeFileSync(join(dir, "d.zone"), "$ORIGIN corp.example.\nws-3 IN A 10.20.40.3\n");
    const second = await runInventoryIngest({ transport, logger: silentLogger(), config });
    expect(second).toMatchObject({ files: 1, audits: 1, published: 1, restored: 2 });
  });

  it("--dir --dry-run marks no file as done, so the real run still takes every file", async () => {
    const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await ensureRegistryTopics(transport, "");
    const dir = mkdtempSync(join(workDir, "dry-"));
    writeFileSync(join(dir, "a.zone"), "$ORIGIN corp.example.\nws-1 IN A 10.20.40.1\n");
    const config = { ...configFor(EXAMPLE_RUNS[4]!, ""), file: "-", dir, once: true };
    const dry = await runInventoryIngest({
      transport,
      logger: silentLogger(),
      config: { ...config, dryRun: true },
      out: new PassThrough().resume(),
    });
    expect(dry).toMatchObject({ files: 1 });
    expect(existsSync(join(dir, ".vigil-ingest-inventory.json"))).toBe(false);
    const real = await runInventoryIngest({ transport, logger: silentLogger(), config });
    expect(real).toMatchObject({ files: 1, published: 1 });
  });
});
