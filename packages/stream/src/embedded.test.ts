import { describe, expect, it, vi } from "vitest";
import { transportContract } from "./contract.ts";
import {
  createEmbeddedTransport,
  defaultEmbeddedBroker,
  EmbeddedBroker,
  type EmbeddedTransportOptions,
  retryDelayMs,
} from "./embedded.ts";
import type { Batch } from "./transport.ts";

const warnings: object[] = [];
const logger = { warn: (obj: object) => void warnings.push(obj) };
const contractBroker = new EmbeddedBroker();
transportContract(
  "embedded",
  async () =>
    createEmbeddedTransport({ broker: contractBroker, retryBackoff: { initialMs: 5, maxMs: 20 }, logger }),
  { timeoutMs: 3_000, quietMs: 100 },
);

const fast: EmbeddedTransportOptions["retryBackoff"] = { initialMs: 2, maxMs: 10 };

async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("EmbeddedTransport", () => {
  it("is of kind embedded and explains how to fix a send to a missing topic", async () => {
    const t = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    expect(t.kind).toBe("embedded");
    await expect(t.send("nope", [{ key: "k", value: "v" }])).rejects.toThrow(
      /"nope" does not exist.*createTopics/,
    );
    await expect(t.subscribe({ groupId: "g", topics: ["nope"], eachBatch: async () => {} })).rejects.toThrow(
      /does not exist/,
    );
    await expect(t.endOffsets("nope")).rejects.toThrow(/does not exist/);
  });

  it("shares the process-wide broker by default and isolates explicit brokers", async () => {
    const name = `shared-${Date.now()}`;
    const a = createEmbeddedTransport();
    const b = createEmbeddedTransport({ broker: defaultEmbeddedBroker() });
    const isolated = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await a.createTopics([{ name, partitions: 1 }]);
    await a.send(name, [{ key: "k", value: "v" }]);
    expect(await b.readAll(name)).toHaveLength(1);
    expect(await isolated.listTopics()).not.toContain(name);
  });

  it("validates a whole send before writing any of it", async () => {
    const t = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await t.createTopics([{ name: "t", partitions: 1, configs: { "max.message.bytes": "100" } }]);
    const bad = [
      [
        { key: "ok", value: "fine" },
        { key: 42, value: "v" },
      ],
      [
        { key: "ok", value: "fine" },
        { key: "k", value: "v", headers: { n: 1 } },
      ],
      [
        { key: "ok", value: "fine" },
        { key: "k", value: "x".repeat(101) },
      ],
    ];
    for (const messages of bad) {
      // @ts-expect-error: deliberately invalid input, as untyped callers could send
      await expect(t.send("t", messages)).rejects.toThrow();
    }
    expect(await t.endOffsets("t")).toEqual([{ partition: 0, offset: "0" }]);
  });

  it("copies buffers so later mutation by the producer or a consumer changes nothing stored", async () => {
    const t = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await t.createTopics([{ name: "t", partitions: 1 }]);
    const value = Buffer.from("original");
    await t.send("t", [{ key: null, value }]);
    value.write("MUTATED!");
    const [first] = await t.readAll("t");
    first!.value!.write("changed!");
    const [again] = await t.readAll("t");
    expect(again!.value!.toString()).toBe("original");
  });

  it("keeps every version of a key on a compacted topic (compaction never runs in process)", async () => {
    const t = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await t.createTopics([{ name: "hosts", partitions: 2, configs: { "cleanup.policy": "compact" } }]);
    await t.send("hosts", [
      { key: "h1", value: "v1" },
      { key: "h1", value: "v2" },
      { key: "h1", value: null },
    ]);
    const read = await t.readAll("hosts");
    expect(read.map((m) => m.value?.toString() ?? null)).toEqual(["v1", "v2", null]);
  });

  it("spreads null keys over every partition", async () => {
    const t = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await t.createTopics([{ name: "t", partitions: 3 }]);
    await t.send(
      "t",
      Array.from({ length: 9 }, (_, i) => ({ key: null, value: `${i}` })),
    );
    expect(await t.endOffsets("t")).toEqual([0, 1, 2].map((partition) => ({ partition, offset: "3" })));
  });

  it("redelivers a stopped member's uncommitted records to the member that takes its partitions", async () => {
    const broker = new EmbeddedBroker();
    const t = createEmbeddedTransport({ broker, retryBackoff: fast, logger });
    await t.createTopics([{ name: "t", partitions: 2 }]);
    await t.send(
      "t",
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `${i}` })),
    );
    let failedAttempts = 0;
    const failing = await t.subscribe({
      groupId: "g",
      topics: ["t"],
      eachBatch: async () => {
        failedAttempts += 1;
        throw new Error("always fails");
      },
    });
    await until(() => failedAttempts >= 2, "failed attempts");
    expect(warnings).toContainEqual(
      expect.objectContaining({ groupId: "g", topic: "t", offset: "0", attempt: 1, delayMs: 2 }),
    );
    const received: string[] = [];
    const healthy = await t.subscribe({
      groupId: "g",
      topics: ["t"],
      eachBatch: async (batch) => {
        received.push(...batch.messages.map((m) => m.value!.toString()));
      },
    });
    expect(failing.assignment()).toHaveLength(1);
    expect(healthy.assignment()).toHaveLength(1);
    await failing.stop();
    expect(healthy.assignment()).toHaveLength(2);
    await until(() => received.length === 10, "all records on the healthy member");
    expect(received.map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await t.committedOffsets("g", "t")).toEqual(await t.endOffsets("t"));
    await t.close();
  });

  it("never has two batches of one partition in flight, even while partitions move between members", async () => {
    const t = createEmbeddedTransport({ broker: new EmbeddedBroker(), retryBackoff: fast, logger });
    await t.createTopics([{ name: "t", partitions: 3 }]);
    const inFlight = new Map<number, number>();
    let maxInFlight = 0;
    const seen: string[] = [];
    const eachBatch = async (batch: Batch) => {
      const now = (inFlight.get(batch.partition) ?? 0) + 1;
      inFlight.set(batch.partition, now);
      maxInFlight = Math.max(maxInFlight, now);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight.set(batch.partition, now - 1);
      seen.push(...batch.messages.map((m) => m.value!.toString()));
    };
    const first = await t.subscribe({ groupId: "g", topics: ["t"], eachBatch, maxBatchSize: 2 });
    const sending = (async () => {
      for (let i = 0; i < 60; i++) await t.send("t", [{ key: `k${i % 9}`, value: `${i}` }]);
    })();
    const second = await t.subscribe({ groupId: "g", topics: ["t"], eachBatch, maxBatchSize: 2 });
    await sending;
    await first.stop();
    const third = await t.subscribe({ groupId: "g", topics: ["t"], eachBatch, maxBatchSize: 2 });
    await until(() => new Set(seen).size === 60, "every record");
    await second.stop();
    await third.stop();
    expect(maxInFlight).toBe(1);
    // Partitions only change hands after the in-flight batch commits, so nothing is seen twice.
    expect(seen).toHaveLength(60);
  });

  it("respects maxBatchSize", async () => {
    const t = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await t.createTopics([{ name: "t", partitions: 1 }]);
    await t.send(
      "t",
      Array.from({ length: 7 }, (_, i) => ({ key: "k", value: `${i}` })),
    );
    const sizes: number[] = [];
    await t.subscribe({
      groupId: "g",
      topics: ["t"],
      maxBatchSize: 3,
      eachBatch: async (batch) => {
        sizes.push(batch.messages.length);
      },
    });
    await until(() => sizes.reduce((a, b) => a + b, 0) === 7, "7 records");
    expect(sizes).toEqual([3, 3, 1]);
    await t.close();
  });

  it("close() stops subscriptions, clears retry timers and refuses further use", async () => {
    // Fake timers count only this test's timers (a process-wide count raced with other work).
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const t = createEmbeddedTransport({
        broker: new EmbeddedBroker(),
        retryBackoff: { initialMs: 60_000, maxMs: 60_000 },
        logger,
      });
      await t.createTopics([{ name: "t", partitions: 1 }]);
      await t.send("t", [{ key: "k", value: "v" }]);
      let attempts = 0;
      const sub = await t.subscribe({
        groupId: "g",
        topics: ["t"],
        eachBatch: async () => {
          attempts += 1;
          throw new Error("fails");
        },
      });
      for (let spins = 0; (attempts === 0 || vi.getTimerCount() === 0) && spins < 100_000; spins++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(attempts).toBe(1);
      expect(vi.getTimerCount()).toBe(1); // the 60 s redelivery timer
      await t.close();
      expect(vi.getTimerCount()).toBe(0);
      expect(sub.assignment()).toEqual([]);
      await expect(t.send("t", [{ key: "k", value: "v" }])).rejects.toThrow(/closed/);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("retryDelayMs", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const backoff = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 10].map((attempt) => retryDelayMs(attempt, backoff))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });
});
