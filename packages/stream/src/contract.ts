import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { partitionForKey } from "./partitioner.ts";
import type { Batch, ConsumedMessage, OutgoingMessage, Subscription, Transport } from "./transport.ts";

export interface TransportContractOptions {
  /** How long to wait for a condition to become true (Kafka rebalances take seconds). Default 10 s. */
  timeoutMs?: number;
  /** How often conditions are re-checked. Default 20 ms. */
  pollMs?: number;
  /**
   * How long "nothing arrives" is watched for (paused subscription). Only a lower bound on
   * confidence, never a timing assertion. Default 300 ms.
   */
  quietMs?: number;
  /** Per-test timeout; defaults to a multiple of `timeoutMs`. */
  testTimeoutMs?: number;
}

interface Received {
  batches: Batch[];
  messages: ConsumedMessage[];
}

const text = (buffer: Buffer | null): string | null => (buffer === null ? null : buffer.toString("utf8"));
const values = (messages: ConsumedMessage[]): string[] => messages.map((m) => text(m.value) ?? "<null>");
const sentValues = (messages: OutgoingMessage[]): string[] =>
  messages.map((m) => (m.value === null ? "<null>" : Buffer.from(m.value).toString("utf8")));
const offsetsAsNumbers = (offsets: Array<{ partition: number; offset: string }>): Record<number, number> =>
  Object.fromEntries(offsets.map(({ partition, offset }) => [partition, Number(offset)]));

/**
 * The behaviour every `Transport` must have, as a vitest suite. `makeTransport` must return a
 * new client of one shared cluster on every call (two calls = two processes on the same broker).
 * The suite only creates topics and groups with a random prefix; it deletes nothing.
 */
export function transportContract(
  name: string,
  makeTransport: () => Promise<Transport>,
  opts: TransportContractOptions = {},
): void {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const pollMs = opts.pollMs ?? 20;
  const quietMs = opts.quietMs ?? 300;
  const testTimeoutMs = opts.testTimeoutMs ?? timeoutMs * 4;
  const prefix = `contract-${randomUUID().slice(0, 8)}`;
  let counter = 0;
  const unique = (label: string): string => `${prefix}-${label}-${++counter}`;

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  async function eventually<T>(
    what: string,
    check: () => T | Promise<T>,
    onPoll?: () => Promise<void>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        return await check();
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}: ${String(lastError)}`);
      }
      await onPoll?.();
      await sleep(pollMs);
    }
  }

  const open: Transport[] = [];
  async function transport(): Promise<Transport> {
    const t = await makeTransport();
    open.push(t);
    return t;
  }

  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });

  async function topic(t: Transport, partitions: number, label = "t"): Promise<string> {
    const topicName = unique(label);
    await t.createTopics([{ name: topicName, partitions, replicationFactor: 1 }]);
    return topicName;
  }

  function collector(): Received & { eachBatch: (batch: Batch) => Promise<void> } {
    const batches: Batch[] = [];
    const messages: ConsumedMessage[] = [];
    return {
      batches,
      messages,
      eachBatch: async (batch) => {
        batches.push(batch);
        messages.push(...batch.messages);
      },
    };
  }

  async function untilAssigned(sub: Subscription, partitions: number): Promise<void> {
    await eventually(`${partitions} partitions assigned to ${sub.groupId}`, () =>
      expect(sub.assignment()).toHaveLength(partitions),
    );
  }

  async function untilCommittedToEnd(t: Transport, groupId: string, topicName: string): Promise<void> {
    const end = offsetsAsNumbers(await t.endOffsets(topicName));
    await eventually(`${groupId} to commit up to the end of ${topicName}`, async () =>
      expect(offsetsAsNumbers(await t.committedOffsets(groupId, topicName))).toEqual(end),
    );
  }

  const numbered = (label: string, count: number, keys = 5): OutgoingMessage[] =>
    Array.from({ length: count }, (_, i) => ({ key: `key-${i % keys}`, value: `${label}-${i}` }));

  describe(`Transport contract: ${name}`, () => {
    it(
      "createTopics is idempotent and leaves existing topics as they are; listTopics lists them",
      async () => {
        const t = await transport();
        const a = unique("a");
        const b = unique("b");
        await t.createTopics([{ name: a, partitions: 3, replicationFactor: 1 }]);
        await t.createTopics([
          { name: a, partitions: 5, replicationFactor: 1 },
          { name: b, partitions: 1, replicationFactor: 1, configs: { "cleanup.policy": "compact" } },
        ]);
        await eventually("both topics listed", async () =>
          expect(await t.listTopics()).toEqual(expect.arrayContaining([a, b])),
        );
        expect(await t.endOffsets(a)).toHaveLength(3);
        expect(await t.endOffsets(b)).toHaveLength(1);
      },
      testTimeoutMs,
    );

    it(
      "send + readAll roundtrip keys, values and headers byte for byte",
      async () => {
        const t = await transport();
        const topicName = await topic(t, 3);
        const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const sent: OutgoingMessage[] = [
          { key: "asset-1", value: '{"n":1}', headers: { ce_id: "id-1", ce_type: "vigil.test" } },
          { key: binary, value: Buffer.concat([binary, binary]), headers: { note: "binary" } },
          { key: "ключ-🔑", value: "héllo wörld 🛡️ 日本語", headers: { "x-unicode": "ü ✓ 漢字", empty: "" } },
          { key: "tombstone", value: null },
          { key: null, value: "no key" },
        ];
        await t.send(topicName, sent);
        const read = await t.readAll(topicName);
        expect(read).toHaveLength(sent.length);
        for (const message of sent) {
          const key = message.key === null ? null : Buffer.from(message.key);
          const value = message.value === null ? null : Buffer.from(message.value);
          const match = read.filter(
            (r) =>
              (key === null ? r.key === null : r.key !== null && key.equals(r.key)) &&
              (value === null ? r.value === null : r.value !== null && value.equals(r.value)),
          );
          expect(match, `record with key ${String(text(key))}`).toHaveLength(1);
          const [record] = match;
          expect(record!.topic).toBe(topicName);
          expect(record!.headers).toEqual(message.headers ?? {});
          expect(record!.offset).toMatch(/^\d+$/);
          expect(Number(record!.timestamp)).toBeGreaterThan(Date.parse("2020-01-01"));
          if (key !== null) expect(record!.partition).toBe(partitionForKey(key, 3));
        }
      },
      testTimeoutMs,
    );

    it(
      "puts a key on its murmur2 partition and keeps order per key",
      async () => {
        const t = await transport();
        const partitions = 4;
        const topicName = await topic(t, partitions);
        const keys = ["10.0.0.1", "10.0.0.2", "host-a", "host-b", "host-c", "asset-🛡️"];
        for (let round = 0; round < 5; round++) {
          await t.send(
            topicName,
            Array.from({ length: 12 }, (_, i) => ({
              key: keys[i % keys.length]!,
              value: `${round * 12 + i}`,
            })),
          );
        }
        const read = await t.readAll(topicName);
        expect(read).toHaveLength(60);
        for (const key of keys) {
          const ofKey = read.filter((r) => text(r.key) === key);
          expect(new Set(ofKey.map((r) => r.partition))).toEqual(new Set([partitionForKey(key, partitions)]));
          const inOffsetOrder = [...ofKey].sort((x, y) => Number(x.offset) - Number(y.offset));
          const sequence = inOffsetOrder.map((r) => Number(text(r.value)));
          expect(sequence).toEqual([...sequence].sort((x, y) => x - y));
          expect(sequence).toHaveLength(10);
        }
        const ends = offsetsAsNumbers(await t.endOffsets(topicName));
        for (let p = 0; p < partitions; p++) {
          expect(ends[p]).toBe(read.filter((r) => r.partition === p).length);
        }
      },
      testTimeoutMs,
    );

    it(
      "rejects a send to a topic that does not exist",
      async () => {
        const t = await transport();
        await expect(t.send(unique("missing"), [{ key: "k", value: "v" }])).rejects.toThrow();
      },
      testTimeoutMs,
    );

    it(
      "sends to several topics atomically, and writes nothing when one of them cannot be written",
      async () => {
        const t = await transport();
        const records = await topic(t, 2, "atomic-records");
        const checkpoints = await topic(t, 1, "atomic-checkpoints");
        const writer = unique("writer");
        await t.sendAtomically(
          [
            {
              topic: records,
              messages: [
                { key: "a", value: "1" },
                { key: "b", value: "2" },
              ],
            },
            { topic: checkpoints, messages: [{ key: "source", value: "line 2" }] },
          ],
          writer,
        );
        await t.sendAtomically([{ topic: records, messages: [{ key: "c", value: "3" }] }], writer);
        await expect(
          t.sendAtomically(
            [
              { topic: records, messages: [{ key: "d", value: "never" }] },
              { topic: unique("missing"), messages: [{ key: "k", value: "v" }] },
            ],
            writer,
          ),
        ).rejects.toThrow();
        expect(values(await t.readAll(records)).sort()).toEqual(["1", "2", "3"]);
        expect(values(await t.readAll(checkpoints))).toEqual(["line 2"]);
      },
      testTimeoutMs,
    );

    it(
      "reports end offsets and committed offsets per partition",
      async () => {
        const t = await transport();
        const partitions = 3;
        const topicName = await topic(t, partitions);
        const groupId = unique("group");
        expect(offsetsAsNumbers(await t.endOffsets(topicName))).toEqual({ 0: 0, 1: 0, 2: 0 });
        expect(await t.committedOffsets(groupId, topicName)).toEqual(
          expect.arrayContaining([0, 1, 2].map((partition) => ({ partition, offset: "-1" }))),
        );
        const messages = numbered("v", 30, 7);
        await t.send(topicName, messages);
        const expected: Record<number, number> = { 0: 0, 1: 0, 2: 0 };
        for (const m of messages) expected[partitionForKey(m.key as string, partitions)]! += 1;
        expect(offsetsAsNumbers(await t.endOffsets(topicName))).toEqual(expected);

        const c = collector();
        const sub = await t.subscribe({ groupId, topics: [topicName], eachBatch: c.eachBatch });
        await eventually("all records consumed", () => expect(c.messages).toHaveLength(30));
        await untilCommittedToEnd(t, groupId, topicName);
        expect(offsetsAsNumbers(await t.committedOffsets(groupId, topicName))).toEqual(expected);
        await sub.stop();
      },
      testTimeoutMs,
    );

    it(
      "delivers every record once to a consumer group, in offset order per partition",
      async () => {
        const t = await transport();
        const topicName = await topic(t, 3);
        const groupId = unique("group");
        await t.send(topicName, numbered("before", 25));
        const c = collector();
        const sub = await t.subscribe({
          groupId,
          topics: [topicName],
          fromBeginning: true,
          eachBatch: c.eachBatch,
        });
        expect(sub.groupId).toBe(groupId);
        await untilAssigned(sub, 3);
        await t.send(topicName, numbered("after", 25));
        await eventually("50 records consumed", () => expect(c.messages).toHaveLength(50));
        await untilCommittedToEnd(t, groupId, topicName);
        expect(new Set(values(c.messages)).size).toBe(50);
        for (const batch of c.batches) {
          expect(batch.topic).toBe(topicName);
          expect(batch.messages.length).toBeGreaterThan(0);
          for (const [i, m] of batch.messages.entries()) {
            expect(m.partition).toBe(batch.partition);
            expect(Number(m.offset)).toBe(Number(batch.messages[0]!.offset) + i);
          }
        }
        for (let p = 0; p < 3; p++) {
          const offsets = c.messages.filter((m) => m.partition === p).map((m) => Number(m.offset));
          expect(offsets).toEqual(offsets.map((_, i) => i));
        }
        await sub.stop();
      },
      testTimeoutMs,
    );

    it(
      "commits after eachBatch resolves: a later member of the group resumes after the commit",
      async () => {
        const t = await transport();
        const topicName = await topic(t, 2);
        const groupId = unique("group");
        await t.send(topicName, numbered("first", 10));
        const first = collector();
        const sub1 = await t.subscribe({ groupId, topics: [topicName], eachBatch: first.eachBatch });
        await eventually("first 10 consumed", () => expect(first.messages).toHaveLength(10));
        await untilCommittedToEnd(t, groupId, topicName);
        await sub1.stop();
        await sub1.stop();

        await t.send(topicName, numbered("second", 6));
        const t2 = await transport();
        const second = collector();
        const sub2 = await t2.subscribe({ groupId, topics: [topicName], eachBatch: second.eachBatch });
        await eventually("second 6 consumed", () => expect(second.messages).toHaveLength(6));
        await untilCommittedToEnd(t2, groupId, topicName);
        expect(values(second.messages).sort()).toEqual(sentValues(numbered("second", 6)).sort());
        await sub2.stop();
      },
      testTimeoutMs,
    );

    it(
      "redelivers the same records when eachBatch throws, and commits nothing until it succeeds",
      async () => {
        const t = await transport();
        const topicName = await topic(t, 1);
        const groupId = unique("group");
        await t.send(topicName, numbered("v", 5));
        let failing = true;
        const attempts: Batch[] = [];
        const done: ConsumedMessage[] = [];
        const sub = await t.subscribe({
          groupId,
          topics: [topicName],
          eachBatch: async (batch) => {
            attempts.push(batch);
            if (failing) throw new Error("simulated processing failure");
            done.push(...batch.messages);
          },
        });
        await eventually("at least 3 failed deliveries", () =>
          expect(attempts.length).toBeGreaterThanOrEqual(3),
        );
        expect(await t.committedOffsets(groupId, topicName)).toEqual([{ partition: 0, offset: "-1" }]);
        failing = false;
        for (const attempt of attempts) expect(attempt.messages[0]!.offset).toBe("0");
        await eventually("all 5 processed after recovery", () => expect(done).toHaveLength(5));
        await untilCommittedToEnd(t, groupId, topicName);
        expect(values(done)).toEqual(sentValues(numbered("v", 5)));
        await sub.stop();
      },
      testTimeoutMs,
    );

    it(
      "splits partitions between two members of a group, each record seen exactly once, and rebalances on stop",
      async () => {
        const partitions = 4;
        const t1 = await transport();
        const t2 = await transport();
        const topicName = await topic(t1, partitions);
        const groupId = unique("group");
        const a = collector();
        const b = collector();
        const subA = await t1.subscribe({ groupId, topics: [topicName], eachBatch: a.eachBatch });
        await untilAssigned(subA, partitions);
        const subB = await t2.subscribe({ groupId, topics: [topicName], eachBatch: b.eachBatch });
        await eventually("a stable split of the partitions", () => {
          const ofA = subA.assignment().map((x) => x.partition);
          const ofB = subB.assignment().map((x) => x.partition);
          expect(ofA.length).toBeGreaterThan(0);
          expect(ofB.length).toBeGreaterThan(0);
          expect([...ofA, ...ofB].sort()).toEqual([0, 1, 2, 3]);
          for (const x of [...subA.assignment(), ...subB.assignment()]) expect(x.topic).toBe(topicName);
        });
        const ofA = new Set(subA.assignment().map((x) => x.partition));
        const ofB = new Set(subB.assignment().map((x) => x.partition));

        const messages = numbered("split", 40, 16);
        await t1.send(topicName, messages);
        await eventually("40 records between both members", () =>
          expect(a.messages.length + b.messages.length).toBe(40),
        );
        await untilCommittedToEnd(t1, groupId, topicName);
        expect([...values(a.messages), ...values(b.messages)].sort()).toEqual(sentValues(messages).sort());
        for (const m of a.messages) expect(ofA.has(m.partition)).toBe(true);
        for (const m of b.messages) expect(ofB.has(m.partition)).toBe(true);

        await subA.stop();
        await untilAssigned(subB, partitions);
        const later = numbered("later", 12, 12);
        await t1.send(topicName, later);
        await eventually("the remaining member receives everything new", () =>
          expect(values(b.messages)).toEqual(expect.arrayContaining(sentValues(later))),
        );
        await untilCommittedToEnd(t2, groupId, topicName);
        await subB.stop();
      },
      testTimeoutMs * 2,
    );

    it(
      "pause stops delivery and resume continues where it stopped",
      async () => {
        const t = await transport();
        const topicName = await topic(t, 2);
        const groupId = unique("group");
        const c = collector();
        const sub = await t.subscribe({ groupId, topics: [topicName], eachBatch: c.eachBatch });
        await untilAssigned(sub, 2);
        await t.send(topicName, numbered("one", 6));
        await eventually("first records", () => expect(c.messages).toHaveLength(6));
        await untilCommittedToEnd(t, groupId, topicName);

        sub.pause();
        await t.send(topicName, numbered("two", 6));
        await sleep(quietMs);
        expect(values(c.messages).filter((v) => v.startsWith("two-"))).toEqual([]);

        sub.resume();
        await eventually("records sent while paused", () => expect(c.messages).toHaveLength(12));
        await untilCommittedToEnd(t, groupId, topicName);
        expect(new Set(values(c.messages)).size).toBe(12);
        await sub.stop();
      },
      testTimeoutMs,
    );

    it(
      "stop() waits for the in-flight batch, commits it and only then resolves",
      async () => {
        const t = await transport();
        const topicName = await topic(t, 1);
        const groupId = unique("group");
        await t.send(topicName, numbered("v", 3));
        const events: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        let delivered: Batch | undefined;
        const sub = await t.subscribe({
          groupId,
          topics: [topicName],
          eachBatch: async (batch) => {
            delivered ??= batch;
            events.push("batch-start");
            await gate;
            events.push("batch-end");
          },
        });
        await eventually("a batch in flight", () => expect(delivered).toBeDefined());
        const stopped = sub.stop().then(() => events.push("stopped"));
        for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
        expect(events).not.toContain("stopped");
        release();
        await stopped;
        expect(events.slice(0, 3)).toEqual(["batch-start", "batch-end", "stopped"]);
        const last = Number(delivered!.messages.at(-1)!.offset);
        expect(await t.committedOffsets(groupId, topicName)).toEqual([
          { partition: 0, offset: String(last + 1) },
        ]);
        expect(sub.assignment()).toEqual([]);
      },
      testTimeoutMs,
    );

    it(
      "fromBeginning false skips what was there before the group existed",
      async () => {
        const t = await transport();
        const topicName = await topic(t, 2);
        await t.send(topicName, numbered("old", 10));
        const groupId = unique("group");
        const c = collector();
        const sub = await t.subscribe({
          groupId,
          topics: [topicName],
          fromBeginning: false,
          eachBatch: c.eachBatch,
        });
        await untilAssigned(sub, 2);
        // The group's start offset may be resolved only once fetching starts (Kafka): keep sending
        // markers until some arrive, then nothing old may have been delivered.
        let marker = 0;
        await eventually(
          "a marker sent after subscribing",
          () => expect(values(c.messages).some((v) => v.startsWith("new-"))).toBe(true),
          () => t.send(topicName, [{ key: `marker-${marker}`, value: `new-${marker++}` }]),
        );
        expect(values(c.messages).filter((v) => v.startsWith("old-"))).toEqual([]);
        await sub.stop();
      },
      testTimeoutMs,
    );
  });
}
