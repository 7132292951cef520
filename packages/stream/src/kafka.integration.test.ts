import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { transportContract } from "./contract.ts";
import { createKafkaTransport, type KafkaTransportOptions } from "./kafka.ts";
import type { Batch, ConsumedMessage, Subscription, Transport } from "./transport.ts";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());

function kafkaOptions(overrides: Partial<KafkaTransportOptions> = {}): KafkaTransportOptions {
  return {
    brokers,
    clientId: `vigil-stream-test-${randomUUID().slice(0, 8)}`,
    // Short redelivery backoff: the tests wait for several failed deliveries.
    redelivery: { initialDelayMs: 50, maxDelayMs: 500 },
    ...overrides,
  };
}

transportContract("kafka", async () => createKafkaTransport(kafkaOptions()), {
  timeoutMs: 30_000,
  quietMs: 1_000,
  testTimeoutMs: 90_000,
});

describe("Kafka transport specifics", () => {
  const prefix = `kafka-it-${randomUUID().slice(0, 8)}`;
  let counter = 0;
  const unique = (label: string) => `${prefix}-${label}-${++counter}`;
  const open: Transport[] = [];
  const transport = () => {
    const t = createKafkaTransport(kafkaOptions());
    open.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });

  async function eventually(check: () => void | Promise<void>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await check();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const text = (messages: ConsumedMessage[]) => messages.map((m) => m.value?.toString("utf8"));
  const numbered = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ key: "one-key", value: `${i}` }));

  it("names the missing topic and how to create it when sending to a topic that does not exist", async () => {
    const t = transport();
    const missing = unique("missing");
    await expect(t.send(missing, [{ key: "k", value: "v" }])).rejects.toThrow(
      new RegExp(`"${missing}" does not exist.*pnpm topics:apply`),
    );
    await expect(
      t.subscribe({ groupId: unique("g"), topics: [missing], eachBatch: async () => {} }),
    ).rejects.toThrow(missing);
  }, 30_000);

  it("applies topic configs and defaults the replication factor to the cluster size (at most 3)", async () => {
    const t = transport();
    const name = unique("compacted");
    await t.createTopics([
      { name, partitions: 2, configs: { "cleanup.policy": "compact", "retention.ms": "3600000" } },
    ]);
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { brokers: nodes } = await admin.describeCluster();
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [name] })).topics;
      expect(metadata?.partitions).toHaveLength(2);
      for (const partition of metadata?.partitions ?? []) {
        expect(partition.replicas).toHaveLength(Math.min(3, nodes.length));
      }
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name, configNames: ["cleanup.policy", "retention.ms"] }],
      });
      const configs = Object.fromEntries(
        (resources[0]?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue]),
      );
      expect(configs).toEqual({ "cleanup.policy": "compact", "retention.ms": "3600000" });
    } finally {
      await admin.disconnect();
    }
  }, 30_000);

  it("readAll of an empty topic returns nothing", async () => {
    const t = transport();
    const name = unique("empty");
    await t.createTopics([{ name, partitions: 3, replicationFactor: 1 }]);
    expect(await t.readAll(name)).toEqual([]);
  }, 30_000);

  it("readAll reads every partition in offset order and can be repeated", async () => {
    const t = transport();
    const name = unique("read");
    await t.createTopics([{ name, partitions: 2, replicationFactor: 1 }]);
    await t.send(
      name,
      Array.from({ length: 20 }, (_, i) => ({ key: `k-${i % 4}`, value: `${i}` })),
    );
    const read = await t.readAll(name);
    expect(read).toHaveLength(20);
    for (const partition of [0, 1]) {
      const offsets = read.filter((m) => m.partition === partition).map((m) => Number(m.offset));
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    expect((await t.readAll(name)).map((m) => m.value?.toString())).toEqual(
      read.map((m) => m.value?.toString()),
    );
  }, 60_000);

  it("hands out at most maxBatchSize records per call and commits after each chunk", async () => {
    const t = transport();
    const name = unique("chunks");
    await t.createTopics([{ name, partitions: 1, replicationFactor: 1 }]);
    await t.send(name, numbered(23));
    const batches: Batch[] = [];
    const groupId = unique("g");
    const sub = await t.subscribe({
      groupId,
      topics: [name],
      maxBatchSize: 5,
      eachBatch: async (batch) => {
        batches.push(batch);
      },
    });
    await eventually(() => expect(batches.flatMap((b) => b.messages)).toHaveLength(23));
    for (const batch of batches) expect(batch.messages.length).toBeLessThanOrEqual(5);
    expect(text(batches.flatMap((b) => b.messages))).toEqual(numbered(23).map((m) => m.value));
    await eventually(async () =>
      expect(await t.committedOffsets(groupId, name)).toEqual([{ partition: 0, offset: "23" }]),
    );
    await sub.stop();
  }, 60_000);

  it("keeps the chunks that succeeded committed and redelivers from the chunk that threw", async () => {
    const t = transport();
    const name = unique("partial");
    await t.createTopics([{ name, partitions: 1, replicationFactor: 1 }]);
    await t.send(name, numbered(12));
    const groupId = unique("g");
    const firstOffsets: string[] = [];
    const processed: ConsumedMessage[] = [];
    const committedWhileFailing: string[] = [];
    let failuresLeft = 3;
    const sub = await t.subscribe({
      groupId,
      topics: [name],
      maxBatchSize: 4,
      eachBatch: async (batch) => {
        firstOffsets.push(batch.messages[0]!.offset);
        if (batch.messages.some((m) => m.offset === "5") && failuresLeft > 0) {
          failuresLeft -= 1;
          committedWhileFailing.push(...(await t.committedOffsets(groupId, name)).map((c) => c.offset));
          throw new Error("simulated failure");
        }
        processed.push(...batch.messages);
      },
    });
    await eventually(() => expect(processed).toHaveLength(12));
    expect(text(processed)).toEqual(numbered(12).map((m) => m.value));
    expect(firstOffsets).toEqual(["0", "4", "4", "4", "4", "8"]);
    // While the chunk holding offset 5 kept failing, the chunk before it stayed committed.
    expect(committedWhileFailing).toEqual(["4", "4", "4"]);
    await eventually(async () =>
      expect(await t.committedOffsets(groupId, name)).toEqual([{ partition: 0, offset: "12" }]),
    );
    await sub.stop();
  }, 60_000);

  it("stop() during redelivery backoff resolves without committing the failing batch", async () => {
    const t = createKafkaTransport(
      kafkaOptions({ redelivery: { initialDelayMs: 60_000, maxDelayMs: 60_000 } }),
    );
    open.push(t);
    const name = unique("stop-backoff");
    await t.createTopics([{ name, partitions: 1, replicationFactor: 1 }]);
    await t.send(name, numbered(3));
    const groupId = unique("g");
    let attempts = 0;
    const sub = await t.subscribe({
      groupId,
      topics: [name],
      eachBatch: async () => {
        attempts += 1;
        throw new Error("always failing");
      },
    });
    await eventually(() => expect(attempts).toBe(1));
    // The backoff is a minute long: stop() must not wait it out (the test timeout is shorter).
    await sub.stop();
    expect(attempts).toBe(1);
    expect(await t.committedOffsets(groupId, name)).toEqual([{ partition: 0, offset: "-1" }]);
  }, 30_000);

  it("pausing inside eachBatch holds back the rest of a fetched batch until resume", async () => {
    const t = transport();
    const name = unique("pause-mid-batch");
    await t.createTopics([{ name, partitions: 1, replicationFactor: 1 }]);
    await t.send(name, numbered(10));
    const groupId = unique("g");
    const seen: ConsumedMessage[] = [];
    let paused = false;
    // Assigned before the first fetch can complete: run() resolves right after joining the group.
    let subscription: Subscription | undefined;
    const sub = await t.subscribe({
      groupId,
      topics: [name],
      maxBatchSize: 3,
      eachBatch: async (batch) => {
        seen.push(...batch.messages);
        if (!paused && subscription) {
          paused = true;
          subscription.pause();
        }
      },
    });
    subscription = sub;
    await eventually(async () =>
      expect(await t.committedOffsets(groupId, name)).toEqual([{ partition: 0, offset: "3" }]),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(text(seen)).toEqual(["0", "1", "2"]);
    sub.resume();
    await eventually(() => expect(seen).toHaveLength(10));
    expect(text(seen)).toEqual(numbered(10).map((m) => m.value));
    await eventually(async () =>
      expect(await t.committedOffsets(groupId, name)).toEqual([{ partition: 0, offset: "10" }]),
    );
    await sub.stop();
  }, 30_000);

  it("forwards kafkajs logs of warn level and above to the given logger", async () => {
    const seen: Array<{ level: string; msg: string | undefined }> = [];
    const record = (level: string) => (_obj: object, msg?: string) => {
      seen.push({ level, msg });
    };
    const t = createKafkaTransport(
      kafkaOptions({
        // Nothing listens on port 1: connecting fails and kafkajs logs the failure as an error.
        brokers: ["127.0.0.1:1"],
        retry: { retries: 0 },
        logger: {
          debug: record("debug"),
          info: record("info"),
          warn: record("warn"),
          error: record("error"),
        },
      }),
    );
    open.push(t);
    await expect(t.listTopics()).rejects.toThrow();
    expect(seen.some((entry) => entry.level === "error")).toBe(true);
    expect(seen.filter((entry) => entry.level === "debug" || entry.level === "info")).toEqual([]);
  }, 30_000);
});
