import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { dlqHeader, topicName, topics, UpdateEventV1 } from "@vigil/schema";
import { createEmbeddedTransport, ensureRegistryTopics } from "@vigil/stream";
import { afterAll, describe, expect, it } from "vitest";
import { cli, FormatError, runIngestUpdates } from "./index.ts";
import { fixtureFile, mixedWsusFixture } from "./testing.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const examples = fileURLToPath(new URL("../../../examples/updates/", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-updates-test-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function runMain(args: string[], input?: string) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("KAFKA_") && !key.startsWith("VIGIL_")),
  );
  return spawnSync(process.execPath, [main, ...args], {
    env: { ...clean, LOG_LEVEL: "warn" },
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

const config = (argv: string[]) => cli.parse(argv, {}).values;

interface ManifestEntry {
  file: string;
  format: string;
  host: string;
}
const manifest = JSON.parse(readFileSync(join(examples, "manifest.json"), "utf8")) as ManifestEntry[];

describe("vigil-ingest-updates process", () => {
  it("--dry-run prints one valid event per entry and the summary, and needs no Kafka", () => {
    const result = runMain([
      "--dry-run",
      "--json",
      "--host",
      "wsus01.corp.example",
      "--file",
      join(examples, "wsus01.corp.example/SoftwareDistribution.log"),
    ]);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    const { summary } = JSON.parse(lines.pop()!) as { summary: Record<string, unknown> };
    expect(summary).toMatchObject({ format: "wsus", deadLettered: 0, published: lines.length });
    const events = lines.map((line) => UpdateEventV1.parse(JSON.parse(line)));
    expect(events.filter((event) => event.signature?.id === "ms-954960-server-duplicate-key")).toHaveLength(
      40,
    );
  }, 30_000);

  it("reads stdin and recognises the format", () => {
    const text = readFileSync(join(examples, "sccm01.corp.example/Wsyncmgr.log"), "utf8");
    const result = runMain(["--dry-run", "--json", "--host", "sccm01.corp.example"], text);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('"format":"wsyncmgr"');
  }, 30_000);

  it("refuses a file in another format, naming the expected format and what it found (exit 2)", () => {
    const result = runMain([
      "--dry-run",
      "--format",
      "wsus",
      "--file",
      join(examples, "clients/ws-0120.corp.example/CBS.log"),
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("is not --format wsus: expected WSUS SoftwareDistribution.log lines");
    expect(result.stderr).toContain("found a CBS.log");
    expect(result.stdout).toBe("");

    const json = join(workDir, "eve.json");
    writeFileSync(json, '{"event_type":"alert","src_ip":"10.0.0.1"}\n');
    const auto = runMain(["--dry-run", "--file", json]);
    expect(auto.status).toBe(2);
    expect(auto.stderr).toMatch(/is not a recognised update log \(expected one of: .*\); found JSON/);
  }, 30_000);

  it("--help lists the formats; a bad option value exits 2 naming it", () => {
    const help = runMain(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("windowsupdate, wsus, wsyncmgr, cbs, or auto");
    expect(help.stdout).toContain("--utc-offset");
    const bad = runMain(["--dry-run", "--utc-offset", "Mars/Olympus"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("utc-offset");
    const missing = runMain(["--dry-run", "--file", join(workDir, "nope.log")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("ENOENT");
  }, 30_000);
});

describe("runIngestUpdates", () => {
  it("turns every example log into valid events with the demo's signatures", async () => {
    const signatures = new Map<string, number>();
    for (const entry of manifest) {
      const out = new Collector();
      const summary = await runIngestUpdates({
        logger: silentLogger(),
        config: config(["--dry-run", "--host", entry.host, "--file", join(examples, entry.file)]),
        out,
        errOut: new Collector(),
      });
      const lines = out.text.trim().split("\n");
      expect(summary).toMatchObject({ deadLettered: 0, format: entry.format, aborted: false });
      expect(summary.published).toBe(lines.length);
      for (const line of lines) {
        const event = UpdateEventV1.parse(JSON.parse(line));
        expect(event.host).toBe(entry.host);
        if (event.signature)
          signatures.set(event.signature.id, (signatures.get(event.signature.id) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(signatures)).toEqual({
      "ms-954960-client-syncupdates-0x8024400e": 40,
      "ms-954960-server-duplicate-key": 40,
      "ms-954960-server-unfixed-version": 1,
      "ms-954960-server-fix-installed": 1,
      "ms-954474-unexpected-deploymentaction": 8,
      "ms-954474-zero-processed-summary": 8,
    });
  });

  it("publishes good entries (multi-line as one), dead-letters bad ones at their first line, and goes on", async () => {
    const entries = mixedWsusFixture();
    const { text, firstLines } = fixtureFile(entries);
    const file = join(workDir, "SoftwareDistribution.log");
    writeFileSync(file, text);
    const transport = createEmbeddedTransport();
    const prefix = "unit-updates.";
    await ensureRegistryTopics(transport, prefix);
    const summary = await runIngestUpdates({
      transport,
      logger: silentLogger(),
      config: { ...config(["--file", file, "--host", "wsus01.corp.example"]), topicPrefix: prefix },
    });
    const bad = entries.filter((entry) => "kind" in entry.expect).length;
    expect(summary).toMatchObject({
      format: "wsus",
      read: entries.length,
      published: entries.length - bad,
      deadLettered: bad,
      deadLetteredByKind: { time: 1, format: 1 },
    });

    const published = (await transport.readAll(topicName(topics.updatesAgent, prefix))).map((message) => ({
      key: message.key?.toString(),
      event: UpdateEventV1.parse(JSON.parse(message.value!.toString())),
    }));
    expect(published.map(({ event }) => event.signature?.id)).toEqual(
      entries
        .filter((entry) => !("kind" in entry.expect))
        .map((entry) => (entry.expect as { signature?: string }).signature),
    );
    expect(published.every(({ key }) => key === "wsus01.corp.example")).toBe(true);
    const trace = published[1]!.event;
    expect(trace.source_location).toEqual({ file, line: 2, last_line: 5 });
    expect(trace.raw_data.split("\n")).toHaveLength(4);

    const letters = await transport.readAll(topicName(topics.dlq, prefix));
    expect(letters).toHaveLength(bad);
    for (const [index, entry] of entries.entries()) {
      if (!("kind" in entry.expect)) continue;
      const letter = letters.find(
        (message) => message.headers[dlqHeader.sourceLocation] === `${file}:${firstLines[index]}`,
      );
      expect(letter, `entry at line ${firstLines[index]}`).toBeDefined();
      expect(letter!.headers[dlqHeader.kind]).toBe(entry.expect.kind);
      expect(letter!.headers[dlqHeader.reason]).toContain(entry.expect.reason);
      expect(letter!.value?.toString()).toBe(entry.lines.join("\n"));
    }
    await transport.close();
  });

  it("dry run from stdin: events on out, dead letters on errOut", async () => {
    const out = new Collector();
    const errOut = new Collector();
    const summary = await runIngestUpdates({
      logger: silentLogger(),
      config: config(["--dry-run", "--format", "cbs"]),
      stdin: Readable.from([
        "2016-09-28 04:30:31, Info                  CBS    Session: 30546173_4261722401 initialized by client WindowsUpdateAgent.\r\n",
        "2016-09-28 04:30:99, Info                  CBS    bad second\r\n",
      ]),
      out,
      errOut,
    });
    expect(summary).toMatchObject({ read: 2, published: 1, deadLettered: 1 });
    expect(UpdateEventV1.parse(JSON.parse(out.text)).component).toBe("CBS");
    expect(JSON.parse(errOut.text)).toMatchObject({ dead_letter: { location: "stdin:2", kind: "time" } });
  });

  it("throws a FormatError before reading on when the input is not the format", async () => {
    await expect(
      runIngestUpdates({
        logger: silentLogger(),
        config: config(["--dry-run", "--format", "windowsupdate"]),
        stdin: Readable.from(["just some text\n", "and more\n"]),
        out: new Collector(),
      }),
    ).rejects.toThrow(FormatError);
  });
});
