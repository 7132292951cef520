import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { allTopics, topicName, topics } from "@vigil/schema";
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaBrokers, uniqueTopicPrefix } from "./index.ts";

const SCRIPT = fileURLToPath(new URL("../../../infra/kafka/topics-apply.ts", import.meta.url));

interface ApplyOutput {
  replicationFactor: number;
  topics: Array<{ topic: string; status: string; changes: Array<{ kind: string; name?: string }> }>;
}

async function topicsApply(prefix: string): Promise<ApplyOutput> {
  const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, "--json"], {
    env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(","), VIGIL_TOPIC_PREFIX: prefix },
  });
  return JSON.parse(stdout) as ApplyOutput;
}

async function topicConfigs(admin: Admin, topic: string): Promise<Record<string, string>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  });
  return Object.fromEntries(
    (described.resources[0]?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue]),
  );
}

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics[0]?.partitions.length ?? 0;
}

describe("pnpm topics:apply", () => {
  let admin: Admin;
  const prefixes: string[] = [];

  beforeAll(async () => {
    admin = new Kafka({
      clientId: "topics-apply-test",
      brokers: kafkaBrokers(),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    const ours = (await admin.listTopics()).filter((topic) =>
      prefixes.some((prefix) => topic.startsWith(prefix)),
    );
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
    await admin.disconnect();
  });

  it("creates every registry topic with its partitions and configs, and a second run changes nothing", async () => {
    const prefix = uniqueTopicPrefix("apply");
    prefixes.push(prefix);

    const first = await topicsApply(prefix);
    expect(first.topics.map((t) => [t.topic, t.status])).toEqual(
      allTopics.map((spec) => [topicName(spec, prefix), "created"]),
    );

    for (const spec of allTopics) {
      const name = topicName(spec, prefix);
      expect(await partitionCount(admin, name)).toBe(spec.partitions);
      const configs = await topicConfigs(admin, name);
      expect(configs["cleanup.policy"]).toBe(spec.cleanupPolicy);
      expect(configs["retention.ms"]).toBe(String(spec.retentionMs));
    }
    const incidents = await topicConfigs(admin, topicName(topics.incidents, prefix));
    expect(incidents["cleanup.policy"]).toBe("compact");

    const second = await topicsApply(prefix);
    expect(second.topics.map((t) => [t.status, t.changes])).toEqual(allTopics.map(() => ["unchanged", []]));
  });

  it("brings a drifted topic in line and keeps the overrides it does not manage", async () => {
    const prefix = uniqueTopicPrefix("drift");
    prefixes.push(prefix);
    const findings = topicName(topics.findings, prefix);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: findings,
          numPartitions: 2,
          configEntries: [
            { name: "retention.ms", value: "60000" },
            { name: "segment.bytes", value: "1048576" },
          ],
        },
      ],
    });

    const first = await topicsApply(prefix);
    const drifted = first.topics.find((t) => t.topic === findings);
    expect(drifted?.status).toBe("updated");
    expect(drifted?.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "add-partitions", from: 2, to: topics.findings.partitions }),
        expect.objectContaining({ kind: "alter-config", name: "retention.ms", from: "60000" }),
      ]),
    );

    expect(await partitionCount(admin, findings)).toBe(topics.findings.partitions);
    const configs = await topicConfigs(admin, findings);
    expect(configs["retention.ms"]).toBe(String(topics.findings.retentionMs));
    expect(configs["cleanup.policy"]).toBe("delete");
    expect(configs["segment.bytes"]).toBe("1048576");

    const second = await topicsApply(prefix);
    expect(second.topics.every((t) => t.status === "unchanged")).toBe(true);
  });
});
