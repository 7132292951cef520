import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@vigil/config";
import { silentLogger } from "@vigil/observability";
import { dlqHeader, IdsAlertV1, IdsContextV1, topicName, topics } from "@vigil/schema";
import { createEmbeddedTransport, ensureRegistryTopics } from "@vigil/stream";
import { afterAll, describe, expect, it } from "vitest";
import { cli, runIngestIds, startIngestIds } from "./index.ts";
import { alertLine, fixtureFile, mixedFixture } from "./testing.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const example = fileURLToPath(new URL("../../../examples/suricata/eve.json", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-ids-test-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Runs the real entry point on the Node running the tests (Node 24), without any Kafka settings. */
function runMain(args: string[], env: Record<string, string> = {}, input?: string) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("KAFKA_") && !key.startsWith("VIGIL_")),
  );
  return spawnSync(process.execPath, [main, ...args], {
    env: { ...clean, LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    ...(input !== undefined ? { input } : {}),
  });
}

class Collector extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const parseConfig = (argv: string[], env: Record<string, string> = {}) => cli.parse(argv, env).values;

describe("vigil-ingest-ids process", () => {
  it("--dry-run prints one valid record per alert, anomaly and context event of the example file and needs no Kafka", () => {
    const result = runMain(["--dry-run", "--file", example]);
    expect(result.status).toBe(0);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { schema: string });
    expect(lines).toHaveLength(59);
    const alerts = lines
      .filter((line) => line.schema === "vigil.ids.alert/v1")
      .map((line) => IdsAlertV1.parse(line));
    const context = lines
      .filter((line) => line.schema === "vigil.ids.context/v1")
      .map((line) => IdsContextV1.parse(line));
    // 45 alerts and the SMB anomaly; flow, dns, http, tls, fileinfo as context.
    expect(alerts).toHaveLength(46);
    expect(alerts.filter((alert) => alert.finding_info.analytic.type === "Behavioral")).toHaveLength(1);
    expect(new Set(context.map((event) => event.event_type))).toEqual(
      new Set(["flow", "dns", "http", "tls", "fileinfo"]),
    );
    expect(new Set(alerts.map((alert) => alert.asset_ip))).toEqual(
      new Set([
        "172.16.10.5",
        "10.20.42.101",
        "10.20.40.57",
        "10.20.5.20",
        "10.20.2.15",
        "10.20.41.23",
        "10.20.1.10",
        "10.20.1.11",
        "10.20.9.77",
      ]),
    );
    // One line of the example is a resent duplicate: same record, same id.
    expect(new Set(alerts.map((alert) => alert.id)).size).toBe(45);
    expect(result.stderr).toContain(
      "59 records published, 6 other events ignored, 0 dead-lettered; input fully processed",
    );
  });

  it("detects Snort alert_json and Zeek notice.log (TSV and JSON) on the first line, and --format overrides", () => {
    const dir = join(example, "..", "..", "ids");
    for (const [file, product, count] of [
      ["snort-alert_json.txt", "Snort", 5],
      ["zeek-notice.log", "Zeek", 3],
      ["zeek-notice.json", "Zeek", 3],
    ] as const) {
      const result = runMain(["--dry-run", "--file", join(dir, file), "--sensor", "s1"]);
      expect(result.status, result.stderr).toBe(0);
      const alerts = result.stdout
        .trim()
        .split("\n")
        .map((line) => IdsAlertV1.parse(JSON.parse(line)));
      expect(alerts).toHaveLength(count);
      expect(new Set(alerts.map((alert) => alert.metadata.product.name))).toEqual(new Set([product]));
    }
    // Forced to the wrong format, every line is dead-lettered with a reason, none is lost.
    const forced = runMain([
      "--dry-run",
      "--format",
      "snort-json",
      "--file",
      join(dir, "zeek-notice.json"),
      "--json",
    ]);
    expect(forced.status).toBe(0);
    expect(JSON.parse(forced.stdout.trim().split("\n").at(-1)!)).toMatchObject({
      summary: { read: 3, published: 0, deadLettered: 3 },
    });
  });

  it("refuses --follow on stdin", () => {
    const result = runMain(["--dry-run", "--follow"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--follow and --checkpoint need --file PATH");
  });

  it("--dry-run over bad input dead-letters to stderr, prints the good records and exits 0", () => {
    const fixture = mixedFixture();
    const file = join(workDir, "mixed.json");
    writeFileSync(file, fixtureFile(fixture));
    const result = runMain(["--dry-run", "--file", file, "--json"]);
    expect(result.status).toBe(0);
    const stdout = result.stdout.trim().split("\n");
    const summary = JSON.parse(stdout.pop()!) as { summary: Record<string, unknown> };
    const good = fixture.filter((line) => line.expect === "alert").length;
    const bad = fixture.filter((line) => typeof line.expect === "object").length;
    expect(stdout.map((line) => IdsAlertV1.parse(JSON.parse(line)))).toHaveLength(good);
    expect(summary.summary).toMatchObject({
      read: fixture.length,
      published: good,
      ignored: 2,
      deadLettered: bad,
      lastAckedLine: fixture.length,
    });
    const deadLetters = result.stderr
      .split("\n")
      .filter((line) => line.startsWith('{"dead_letter"'))
      .map((line) => (JSON.parse(line) as { dead_letter: { location: string; kind: string } }).dead_letter);
    expect(deadLetters.map((letter) => letter.kind)).toEqual(
      fixture.flatMap((line) => (typeof line.expect === "object" ? [line.expect.kind] : [])),
    );
    expect(deadLetters[0]?.location).toBe(`${file}:3`);
  });

  it("reads stdin when --file is - or absent", () => {
    const input = `${alertLine(1)}\n${alertLine(2)}\n`;
    for (const args of [["--dry-run"], ["--dry-run", "--file", "-"]]) {
      const result = runMain(args, {}, input);
      expect(result.status).toBe(0);
      expect(result.stdout.trim().split("\n")).toHaveLength(2);
    }
  });

  it("--help lists the flags and their environment variables", () => {
    const result = runMain(["--help"]);
    expect(result.status).toBe(0);
    for (const text of [
      "--file",
      "VIGIL_IDS_FILE",
      "--format",
      "--home-net",
      "VIGIL_HOME_NETS",
      "--sensor",
      "--max-line-bytes",
      "VIGIL_MAX_LINE_BYTES",
      "--dry-run",
      "--json",
      "--brokers",
      "KAFKA_BROKERS",
      "--topic-prefix",
      "VIGIL_TOPIC_PREFIX",
      "Exit codes",
    ]) {
      expect(result.stdout).toContain(text);
    }
  });

  it.each([
    [["--dry-run", "--max-line-bytes", "abc"], {}, "--max-line-bytes / VIGIL_MAX_LINE_BYTES"],
    [["--dry-run"], { KAFKA_BROKERS: "garbage" }, "--brokers / KAFKA_BROKERS"],
    [["--dry-run", "--format", "snort"], {}, "--format / VIGIL_IDS_FORMAT"],
    [["--dry-run", "--home-net", "10.20.0.0/33"], {}, "--home-net / VIGIL_HOME_NETS"],
    [["--dry-run"], { VIGIL_HOME_NETS: "corp" }, "VIGIL_HOME_NETS"],
    [
      ["--dry-run", "--file", "/nonexistent/eve.json"],
      {},
      "cannot read --file /nonexistent/eve.json: ENOENT",
    ],
    [["--file", "-"], {}, "KAFKA_BROKERS"],
  ])("a bad configuration %j %j exits 2 naming %s", (args, env, message) => {
    const result = runMain(args, env, "");
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });
});

describe("configuration", () => {
  it("takes home nets repeated, comma-separated or from the environment, and defaults to private space", () => {
    expect(
      parseConfig(["--home-net", "10.20.0.0/16,172.16.10.0/24", "--home-net", "fd00::/8"]).homeNets,
    ).toEqual([
      { address: "10.20.0.0", prefix: 16, family: "ipv4" },
      { address: "172.16.10.0", prefix: 24, family: "ipv4" },
      { address: "fd00::", prefix: 8, family: "ipv6" },
    ]);
    expect(parseConfig([], { VIGIL_HOME_NETS: "10.20.0.0/16, 172.16.10.0/24" }).homeNets).toHaveLength(2);
    expect(parseConfig([]).homeNets.map((cidr) => `${cidr.address}/${cidr.prefix}`)).toContain(
      "192.168.0.0/16",
    );
  });

  it("reads sizes with binary suffixes", () => {
    expect(parseConfig([]).maxLineBytes).toBe(1024 * 1024);
    expect(parseConfig(["--max-line-bytes", "512k"]).maxLineBytes).toBe(512 * 1024);
    expect(parseConfig(["--max-line-bytes", "4MiB"]).maxLineBytes).toBe(4 * 1024 * 1024);
    expect(() => parseConfig(["--max-line-bytes", "12"])).toThrow(ConfigError);
  });
});

describe("runIngestIds on the embedded transport", () => {
  it("publishes alerts keyed by the home-net side and dead-letters the rest", async () => {
    const transport = createEmbeddedTransport();
    const prefix = `t-${Math.random().toString(16).slice(2, 10)}.`;
    await ensureRegistryTopics(transport, prefix);
    const fixture = mixedFixture();
    const summary = await runIngestIds({
      transport,
      logger: silentLogger(),
      config: { ...parseConfig(["--home-net", "10.20.0.0/16", "--sensor", "fallback"]), topicPrefix: prefix },
      stdin: Readable.from([Buffer.from(fixtureFile(fixture))]),
    });
    expect(summary).toMatchObject({ published: 4, ignored: 2, deadLettered: fixture.length - 6 });
    const alerts = await transport.readAll(topicName(topics.idsAlerts, prefix));
    expect(alerts.map((message) => message.key?.toString()).sort()).toEqual([
      "10.20.1.10",
      "10.20.1.10",
      "10.20.1.10",
      "10.20.5.20",
    ]);
    const letters = await transport.readAll(topicName(topics.dlq, prefix));
    expect(letters.map((letter) => letter.headers[dlqHeader.sourceLocation])).toContain("stdin:3");
    await transport.close();
  });

  it("stops reading on stop() and still returns what was done", async () => {
    const input = new Readable({ read() {} });
    const out = new Collector();
    const running = startIngestIds({
      logger: silentLogger(),
      config: parseConfig(["--dry-run"]),
      stdin: input,
      out,
      errOut: new Collector(),
    });
    input.push(`${alertLine(1)}\n`);
    for (let attempt = 0; attempt < 100 && out.text === ""; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await running.stop();
    const summary = await running.done;
    expect(summary).toMatchObject({ read: 1, published: 1, aborted: true });
  });
});
