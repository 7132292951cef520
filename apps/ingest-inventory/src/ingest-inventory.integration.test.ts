import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { dlqHeader, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, registryTopicConfigs, type Transport, withRetry } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditsOnTopic,
  checkEstate,
  EXAMPLE_RUNS,
  EXAMPLES,
  expectedAssetCount,
  hostsOnTopic,
  ingestEstate,
} from "./testing.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
let transport: Transport;

beforeAll(() => {
  transport = createKafkaTransport({
    brokers: kafkaBrokers(),
    clientId: "ingest-inventory-integration-test",
  });
});
afterAll(async () => {
  await transport?.close();
});

async function freshTopics(): Promise<string> {
  const prefix = uniqueTopicPrefix("ingest-inventory");
  // Only the topics this app reads and writes: the rest of the registry is not this test's business.
  await withRetry(() =>
    transport.createTopics(
      registryTopicConfigs(prefix, [topics.inventoryHosts, topics.inventoryAudits, topics.dlq]),
    ),
  );
  return prefix;
}

function runMain(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [main, ...args], {
      env: { ...process.env, LOG_LEVEL: "warn", KAFKA_BROKERS: kafkaBrokers().join(",") },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("ingest-inventory on a real broker", { timeout: 120_000 }, () => {
  it("publishes the merged estate, restores it across runs, writes audits and dead letters", async () => {
    const prefix = await freshTopics();
    const summaries = await ingestEstate(transport, prefix);
    expect(summaries.map((summary) => summary.restored)).toEqual([0, 204, 204, 204, 213, 223]);
    checkEstate(await hostsOnTopic(transport, prefix));
    expect((await auditsOnTopic(transport, prefix)).map((audit) => audit.source)).toEqual([
      "osquery",
      "inventory",
      "inventory",
      "directory",
      "dns",
      "dhcp",
    ]);
    const dlq = await transport.readAll(topicName(topics.dlq, prefix));
    expect(dlq).toHaveLength(EXAMPLE_RUNS.reduce((sum, run) => sum + run.invalid, 0));
    const zoneLetter = dlq.find((message) =>
      message.headers[dlqHeader.sourceLocation]?.includes("corp.example.zone"),
    );
    expect(zoneLetter?.value?.toString()).toBe("broken\tIN\tA\t10.20.300.1");
    expect(zoneLetter?.headers[dlqHeader.reason]).toContain("not an IPv4 address");
  });

  it("runs as a process: restores the table from the topic, merges, and reports counts in --json", async () => {
    const prefix = await freshTopics();
    const common = ["--topic-prefix", prefix, "--json", "--as-of", "2024-03-12T06:00:00Z"];
    const first = await runMain([
      ...common,
      "--format",
      "osquery",
      "--file",
      resolve(EXAMPLES, "osquery/osqueryd.results.log"),
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout.trim()).summary).toMatchObject({
      restored: 0,
      published: 204,
      deadLettered: 2,
      audits: 1,
    });
    const second = await runMain([
      ...common,
      "--format",
      "ad-csv",
      "--file",
      resolve(EXAMPLES, "directory/ad-computers.csv"),
    ]);
    expect(second.code, second.stderr).toBe(0);
    // 204 agents restored; the directory adds its 9 accounts without an agent and merges the rest.
    expect(JSON.parse(second.stdout.trim()).summary).toMatchObject({
      restored: 204,
      hosts: 211,
      deadLettered: 1,
    });
    const hosts = await hostsOnTopic(transport, prefix);
    expect(hosts.size).toBe(213);
    expect(hosts.size).toBeLessThan(expectedAssetCount());
    const dc01 = [...hosts.values()].find((host) => host.names.includes("dc01.corp.example"));
    expect(dc01?.sources.map((seen) => seen.source)).toEqual(["osquery", "directory"]);
  });
});
