import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { dlqHeader, IdsAlertV1, idsRecordKey, topicName, topics } from "@vigil/schema";
import {
  type ConsumedMessage,
  createKafkaTransport,
  ensureRegistryTopics,
  type Transport,
} from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, runIngestIds } from "./index.ts";
import { type FixtureLine, fixtureFile, mixedFixture } from "./testing.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-ids-it-"));
const fixture = mixedFixture();
const file = join(workDir, "eve-mixed.json");
writeFileSync(file, fixtureFile(fixture));

let transport: Transport;
const createdPrefixes: string[] = [];

beforeAll(() => {
  transport = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "ingest-ids-integration-test" });
});

afterAll(async () => {
  await transport?.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function freshTopics(): Promise<string> {
  const prefix = uniqueTopicPrefix("ingest-ids");
  createdPrefixes.push(prefix);
  await ensureRegistryTopics(transport, prefix);
  return prefix;
}

/** What each line of the file must have become, read back from the broker. */
async function expectEveryLineAccountedFor(
  prefix: string,
  lines: FixtureLine[],
  source: string,
): Promise<void> {
  const alerts = await transport.readAll(topicName(topics.idsAlerts, prefix));
  const good = lines.filter((line) => line.expect === "alert");
  const published = alerts.map((message) => IdsAlertV1.parse(JSON.parse(message.value!.toString())));
  // Exactly once: as many records as good lines, each good line's flow among them once.
  expect(published).toHaveLength(good.length);
  const flowIds = published.map((alert) => alert.connection_info.uid).sort();
  expect(flowIds).toEqual(
    good.map((line) => String((JSON.parse(line.text) as { flow_id: number }).flow_id)).sort(),
  );
  for (const [index, message] of alerts.entries()) {
    expect(message.key?.toString()).toBe(idsRecordKey(published[index]!));
    expect(message.headers.ce_type).toBe(topics.idsAlerts.ceType);
    expect(message.headers.ce_id).toBe(published[index]!.id);
  }

  const deadLetters = await transport.readAll(topicName(topics.dlq, prefix));
  const bad = lines.flatMap((line, index) =>
    typeof line.expect === "object" ? [{ line, lineNumber: index + 1, expect: line.expect }] : [],
  );
  expect(deadLetters).toHaveLength(bad.length);
  const byLocation = new Map<string | undefined, ConsumedMessage>(
    deadLetters.map((message) => [message.headers[dlqHeader.sourceLocation], message]),
  );
  for (const { line, lineNumber, expect: expected } of bad) {
    const letter = byLocation.get(`${source}:${lineNumber}`);
    if (!letter) throw new Error(`line ${lineNumber} (${expected.kind}) is not in the DLQ`);
    expect(letter.headers[dlqHeader.kind]).toBe(expected.kind);
    expect(letter.headers[dlqHeader.reason]).toContain(expected.reason);
    expect(letter.headers[dlqHeader.stage]).toBe("ingest-ids");
    const original = Buffer.from(line.text);
    if (expected.kind === "oversized") {
      expect(letter.value).toEqual(original.subarray(0, 64 * 1024));
      expect(letter.headers[dlqHeader.reason]).toContain(
        `the value holds the first 65536 of ${original.length} bytes`,
      );
    } else {
      expect(letter.value).toEqual(original);
    }
  }
}

describe("ingest-ids on a real Kafka broker", () => {
  it("in process: publishes every good alert once and dead-letters every bad line with its bytes", async () => {
    const prefix = await freshTopics();
    const config = {
      ...cli.parse(["--file", file, "--home-net", "10.20.0.0/16"], {}).values,
      topicPrefix: prefix,
    };
    const summary = await runIngestIds({ transport, logger: silentLogger(), config });
    expect(summary).toMatchObject({
      read: fixture.length,
      published: 4,
      ignored: 2,
      deadLettered: fixture.length - 6,
      lastAckedLine: fixture.length,
      aborted: false,
    });
    await expectEveryLineAccountedFor(prefix, fixture, file);
  });

  it("as a process: goes on after bad input, exits 0 and prints the summary", async () => {
    const prefix = await freshTopics();
    const child = spawn(process.execPath, [main, "--file", file, "--json"], {
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
    const { summary } = JSON.parse(stdout.trim()) as { summary: Record<string, unknown> };
    expect(summary).toMatchObject({
      read: fixture.length,
      published: 4,
      ignored: 2,
      deadLettered: fixture.length - 6,
    });
    await expectEveryLineAccountedFor(prefix, fixture, file);
  });

  it("as a process: refuses to start when the topics are missing", async () => {
    const child = spawn(process.execPath, [main, "--file", file], {
      env: {
        ...process.env,
        KAFKA_BROKERS: kafkaBrokers().join(","),
        VIGIL_TOPIC_PREFIX: uniqueTopicPrefix("absent"),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("missing topics");
    expect(stderr).toContain("pnpm topics:apply");
  });
});
