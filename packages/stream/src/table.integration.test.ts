import { randomUUID } from "node:crypto";
import { silentLogger } from "@vigil/observability";
import { afterEach, describe, expect, it } from "vitest";
import { createKafkaTransport } from "./kafka.ts";
import { followGlobalTable, type GlobalTable } from "./table.ts";
import type { Transport } from "./transport.ts";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());

describe("followGlobalTable on Kafka", () => {
  const open: Array<Transport | GlobalTable> = [];
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) {
      await ("ready" in item ? item.stop() : item.close());
    }
  });

  it("restores a compacted topic whole before ready, then follows updates and tombstones", async () => {
    const topic = `table-it-${randomUUID().slice(0, 8)}.vigil.reference`;
    const writer = createKafkaTransport({ brokers, clientId: "table-it-writer" });
    open.push(writer);
    await writer.createTopics([{ name: topic, partitions: 3, configs: { "cleanup.policy": "compact" } }]);
    await writer.send(
      topic,
      Array.from({ length: 60 }, (_, i) => ({ key: `doc-${i % 25}`, value: `v${i}` })),
    );

    const followers = [0, 1].map(() => new Map<string, string | null>());
    for (const state of followers) {
      const transport = createKafkaTransport({ brokers, clientId: "table-it-reader" });
      open.push(transport);
      const table = await followGlobalTable({
        transport,
        topics: [topic],
        groupPrefix: "table-it",
        logger: silentLogger(),
        apply: (message) => {
          state.set(String(message.key), message.value && String(message.value));
        },
      });
      open.push(table);
      await table.ready;
      // Ready means whole: every key at its last value, on every follower.
      expect(state.size).toBe(25);
      expect(state.get("doc-24")).toBe("v49");
      expect(state.get("doc-0")).toBe("v50");
    }

    await writer.send(topic, [
      { key: "doc-0", value: null },
      { key: "doc-99", value: "new" },
    ]);
    // doc-0 and doc-99 can land on different partitions, read concurrently: wait for both, not for
    // the one that happens to arrive first.
    for (const state of followers) {
      for (let i = 0; i < 300 && (state.get("doc-99") !== "new" || state.get("doc-0") !== null); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(state.get("doc-99")).toBe("new");
      expect(state.get("doc-0")).toBeNull();
    }
  });

  it("is ready over a topic written in transactions (its end offset is past a commit marker)", async () => {
    const topic = `table-it-${randomUUID().slice(0, 8)}.vigil.incidents`;
    const writer = createKafkaTransport({ brokers, clientId: "table-it-tx-writer" });
    open.push(writer);
    await writer.createTopics([{ name: topic, partitions: 2, configs: { "cleanup.policy": "compact" } }]);
    for (let round = 0; round < 3; round++) {
      await writer.sendAtomically(
        [{ topic, messages: Array.from({ length: 4 }, (_, i) => ({ key: `inc-${i}`, value: `v${round}` })) }],
        `table-it-tx-${topic}`,
      );
    }
    const transport = createKafkaTransport({ brokers, clientId: "table-it-tx-reader" });
    open.push(transport);
    const state = new Map<string, string | null>();
    const table = await followGlobalTable({
      transport,
      topics: [topic],
      groupPrefix: "table-it-tx",
      logger: silentLogger(),
      apply: (message) => {
        state.set(String(message.key), message.value && String(message.value));
      },
    });
    open.push(table);
    await table.ready;
    expect([...state.values()]).toEqual(["v2", "v2", "v2", "v2"]);
  });

  it("is ready when the last commit marker comes in a fetch of its own", async () => {
    // One record batch per fetch (the broker returns at least one whole batch): the final commit
    // marker arrives alone, a batch kafkajs filters out entirely and never hands to a handler. A
    // big transactional topic (vigil.incidents) meets the same when a fetch ends just before it.
    const topic = `table-it-${randomUUID().slice(0, 8)}.vigil.incidents`;
    const writer = createKafkaTransport({ brokers, clientId: "table-it-marker-writer" });
    open.push(writer);
    await writer.createTopics([{ name: topic, partitions: 1, configs: { "cleanup.policy": "compact" } }]);
    for (let round = 0; round < 2; round++) {
      await writer.sendAtomically(
        [{ topic, messages: [{ key: "inc-0", value: `v${round}` }] }],
        `table-it-marker-${topic}`,
      );
    }
    const transport = createKafkaTransport({
      brokers,
      clientId: "table-it-marker-reader",
      consumer: { maxBytesPerPartition: 1 },
    });
    open.push(transport);
    const state = new Map<string, string | null>();
    const table = await followGlobalTable({
      transport,
      topics: [topic],
      groupPrefix: "table-it-marker",
      logger: silentLogger(),
      apply: (message) => {
        state.set(String(message.key), message.value && String(message.value));
      },
    });
    open.push(table);
    const waited = await Promise.race([
      table.ready.then(() => "ready"),
      new Promise((resolve) => setTimeout(resolve, 30_000, "still restoring after 30 s")),
    ]);
    expect(waited).toBe("ready");
    expect(state.get("inc-0")).toBe("v1");
  });
});
