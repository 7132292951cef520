import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { dlqHeader, topicName, topics, UpdateEventV1 } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, runIngestUpdates } from "./index.ts";
import { fixtureFile, mixedWsusFixture } from "./testing.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const examples = fileURLToPath(new URL("../../../examples/updates/", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-updates-it-"));
const entries = mixedWsusFixture();
const { text, firstLines } = fixtureFile(entries);
const file = join(workDir, "SoftwareDistribution.log");
writeFileSync(file, text);
const bad = entries.flatMap((entry, index) =>
  "kind" in entry.expect ? [{ entry, line: firstLines[index]!, expect: entry.expect }] : [],
);

let transport: Transport;

beforeAll(() => {
  transport = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "ingest-updates-integration-test" });
});

afterAll(async () => {
  await transport?.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function freshTopics(): Promise<string> {
  const prefix = uniqueTopicPrefix("ingest-updates");
  await ensureRegistryTopics(transport, prefix);
  return prefix;
}

async function expectEveryEntryAccountedFor(prefix: string, source: string): Promise<void> {
  const messages = await transport.readAll(topicName(topics.updatesAgent, prefix));
  const events = messages.map((message) => UpdateEventV1.parse(JSON.parse(message.value!.toString())));
  expect(events).toHaveLength(entries.length - bad.length);
  expect(
    events
      .map((event) => event.signature?.id)
      .filter(Boolean)
      .sort(),
  ).toEqual([
    "ms-954960-server-duplicate-key",
    "ms-954960-server-fix-installed",
    "ms-954960-server-unfixed-version",
  ]);
  for (const [index, message] of messages.entries()) {
    expect(message.key?.toString()).toBe("wsus01.corp.example");
    expect(message.headers.ce_type).toBe(topics.updatesAgent.ceType);
    expect(message.headers.ce_id).toBe(events[index]!.id);
  }
  const trace = events.find((event) => event.signature?.id === "ms-954960-server-duplicate-key")!;
  expect(trace.raw_data.split("\n")).toHaveLength(4);

  const letters = await transport.readAll(topicName(topics.dlq, prefix));
  expect(letters).toHaveLength(bad.length);
  for (const { entry, line, expect: expected } of bad) {
    const letter = letters.find(
      (message) => message.headers[dlqHeader.sourceLocation] === `${source}:${line}`,
    );
    if (!letter) {
      const found = letters.map(
        (message) => `${message.headers[dlqHeader.sourceLocation]} ${message.headers[dlqHeader.kind]}`,
      );
      throw new Error(`the entry at line ${line} (${expected.kind}) is not in the DLQ: ${found.join("; ")}`);
    }
    expect(letter.headers[dlqHeader.kind]).toBe(expected.kind);
    expect(letter.headers[dlqHeader.reason]).toContain(expected.reason);
    expect(letter.headers[dlqHeader.stage]).toBe("ingest-updates");
    expect(letter.value?.toString()).toBe(entry.lines.join("\n"));
  }
}

describe("ingest-updates on a real Kafka broker", () => {
  it("in process: publishes the signature events, dead-letters the bad entries and goes on", async () => {
    const prefix = await freshTopics();
    const config = {
      ...cli.parse(["--file", file, "--host", "wsus01.corp.example"], {}).values,
      topicPrefix: prefix,
    };
    const summary = await runIngestUpdates({ transport, logger: silentLogger(), config });
    expect(summary).toMatchObject({
      format: "wsus",
      read: entries.length,
      published: entries.length - bad.length,
      deadLettered: bad.length,
      aborted: false,
    });
    await expectEveryEntryAccountedFor(prefix, file);
  });

  it("as a process: the demo's client log publishes its 954960 failures keyed by the host, exit 0", async () => {
    const prefix = await freshTopics();
    const log = join(examples, "clients/ws-0101.corp.example/WindowsUpdate.log");
    const child = spawn(process.execPath, [main, "--file", log, "--host", "ws-0101.corp.example", "--json"], {
      env: {
        ...process.env,
        KAFKA_BROKERS: kafkaBrokers().join(","),
        VIGIL_TOPIC_PREFIX: prefix,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr).toBe(0);
    const { summary } = JSON.parse(stdout.trim()) as { summary: { published: number; deadLettered: number } };
    expect(summary.deadLettered).toBe(0);

    const messages = await transport.readAll(topicName(topics.updatesAgent, prefix));
    expect(messages).toHaveLength(summary.published);
    const events = messages.map((message) => UpdateEventV1.parse(JSON.parse(message.value!.toString())));
    const failures = events.filter(
      (event) => event.signature?.id === "ms-954960-client-syncupdates-0x8024400e",
    );
    expect(failures).toHaveLength(10);
    for (const failure of failures) {
      expect(failure).toMatchObject({
        host: "ws-0101.corp.example",
        update_server: { host: "wsus01.corp.example" },
        error_codes: ["0x8024400E"],
        time_basis: "logged-offset",
      });
      expect(failure.soap_fault_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(messages.map((message) => message.key?.toString()))).toEqual(
      new Set(["ws-0101.corp.example"]),
    );
    expect(events.some((event) => event.event_kind === "install" && event.outcome === "success")).toBe(true);
  });
});
