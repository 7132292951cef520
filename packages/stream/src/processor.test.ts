import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import {
  addSpanProcessor,
  installTracing,
  PipelineMetrics,
  silentLogger,
  withSpan,
} from "@vigil/observability";
import { dlqHeader, topics } from "@vigil/schema";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { output } from "./codec.ts";
import { createEmbeddedTransport, EmbeddedBroker } from "./embedded.ts";
import { type RunningProcessor, runProcessor } from "./processor.ts";
import { ensureRegistryTopics } from "./topics.ts";
import { type OutgoingMessage, overrideTransport, type Transport } from "./transport.ts";

const Input = z.object({ n: z.number().int(), fail: z.boolean().optional() });
const fastRetry = { attempts: 3, initialDelayMs: 1, maxDelayMs: 5, factor: 2 };

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Echoes each input as a dead-letter-shaped record on an output topic, so outputs are easy to read back. */
function echo(prefix: string) {
  return (value: z.output<typeof Input>) => {
    if (value.fail) throw new Error(`cannot handle ${value.n}`);
    return [
      output(
        topics.dlq,
        { echoed: value.n },
        { key: String(value.n), source: "test", id: `e-${value.n}`, prefix: `${prefix}out.` },
      ),
    ];
  };
}

describe("runProcessor", () => {
  let transport: Transport;
  let running: RunningProcessor | undefined;
  const prefix = "t.";
  const inputTopic = "t.input";

  async function setup(wrap: (t: Transport) => Transport = (t) => t) {
    const base = createEmbeddedTransport({
      broker: new EmbeddedBroker(),
      retryBackoff: { initialMs: 5, maxMs: 20 },
    });
    await base.createTopics([{ name: inputTopic, partitions: 3 }]);
    await ensureRegistryTopics(base, prefix);
    await ensureRegistryTopics(base, `${prefix}out.`);
    transport = wrap(base);
    return base;
  }

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await transport.close();
  });

  const send = (values: Array<string | object>) =>
    transport.send(
      inputTopic,
      values.map((value, i) => ({
        key: `k${i}`,
        value: typeof value === "string" ? value : JSON.stringify(value),
      })),
    );

  it("transforms valid records and dead-letters bad ones with reason, source and original bytes, and goes on", async () => {
    await setup();
    const metrics = new PipelineMetrics("test");
    running = await runProcessor({
      stage: "test-stage",
      transport,
      groupId: "g1",
      input: { topic: inputTopic, schema: Input },
      topicPrefix: prefix,
      handle: echo(prefix),
      logger: silentLogger(),
      metrics,
      sendRetry: fastRetry,
    });
    await send([{ n: 1 }, "{not json", '"a string"', { n: "wrong type" }, { n: 2, fail: true }, { n: 3 }]);
    const outputs = await waitFor(async () => {
      const records = await transport.readAll("t.out.vigil.dlq");
      return records.length === 2 ? records : undefined;
    });
    expect(outputs.map((r) => JSON.parse(String(r.value)).echoed).sort()).toEqual([1, 3]);
    const dead = await waitFor(async () => {
      const records = await transport.readAll("t.vigil.dlq");
      return records.length === 4 ? records : undefined;
    });
    const byValue = new Map(dead.map((r) => [String(r.value), r.headers]));
    expect(byValue.get("{not json")?.[dlqHeader.kind]).toBe("json");
    expect(byValue.get('"a string"')?.[dlqHeader.kind]).toBe("schema");
    expect(byValue.get(JSON.stringify({ n: "wrong type" }))?.[dlqHeader.reason]).toMatch(
      /^value does not match the schema: n:/,
    );
    const failed = byValue.get(JSON.stringify({ n: 2, fail: true }));
    expect(failed?.[dlqHeader.kind]).toBe("processing");
    expect(failed?.[dlqHeader.reason]).toContain("cannot handle 2");
    for (const headers of byValue.values()) {
      expect(headers[dlqHeader.sourceTopic]).toBe(inputTopic);
      expect(headers[dlqHeader.stage]).toBe("test-stage");
      expect(Number(headers[dlqHeader.sourceOffset])).toBeGreaterThanOrEqual(0);
      expect(headers[dlqHeader.sourcePartition]).toMatch(/^\d+$/);
    }
    await waitFor(() => (metrics.snapshot().in === 6 ? true : undefined));
    expect(metrics.snapshot()).toMatchObject({ in: 6, out: 2, deadLettered: 4 });
  });

  it("consumes several topics with their own schemas, and sends the afterBatch outputs with the batch", async () => {
    const base = await setup();
    await base.createTopics([{ name: "t.other", partitions: 1 }]);
    const Other = z.object({ word: z.string() });
    const seen: string[] = [];
    const batches: number[] = [];
    running = await runProcessor({
      stage: "test-stage",
      transport,
      groupId: "g-multi",
      input: {
        topics: [
          { topic: inputTopic, schema: Input as z.ZodType },
          { topic: "t.other", schema: Other as z.ZodType },
        ],
      },
      topicPrefix: prefix,
      handle: (value, message) => {
        seen.push(`${message.topic}:${JSON.stringify(value)}`);
        return [];
      },
      afterBatch: (batch) => {
        batches.push(batch.messages.length);
        return [
          output(
            topics.dlq,
            { after: batch.topic, count: batch.messages.length },
            { key: batch.topic, source: "test", id: `a-${batches.length}`, prefix: `${prefix}out.` },
          ),
        ];
      },
      logger: silentLogger(),
      sendRetry: fastRetry,
    });
    await send([{ n: 1 }]);
    await transport.send("t.other", [
      { key: "w", value: JSON.stringify({ word: "hello" }) },
      // Valid for the first topic's schema, not for this one's: dead-lettered by this topic's schema.
      { key: "w", value: JSON.stringify({ n: 5 }) },
    ]);
    const after = await waitFor(async () => {
      const records = await transport.readAll("t.out.vigil.dlq");
      const total = records.reduce((sum, r) => sum + JSON.parse(String(r.value)).count, 0);
      return total === 3 ? records : undefined;
    });
    expect(new Set(after.map((r) => JSON.parse(String(r.value)).after))).toEqual(
      new Set([inputTopic, "t.other"]),
    );
    expect(seen.sort()).toEqual([`${inputTopic}:{"n":1}`, 't.other:{"word":"hello"}']);
    const dead = await waitFor(async () => {
      const records = await transport.readAll("t.vigil.dlq");
      return records.length === 1 ? records : undefined;
    });
    expect(dead[0]?.headers[dlqHeader.kind]).toBe("schema");
    expect(dead[0]?.headers[dlqHeader.sourceTopic]).toBe("t.other");
  });

  it("retries failed sends, and when they keep failing commits nothing and processes the batch again", async () => {
    let failuresLeft = 5; // more than one batch's retry budget (3 attempts)
    let sendCalls = 0;
    await setup((base) =>
      overrideTransport(base, {
        send: async (topic: string, messages: OutgoingMessage[]) => {
          if (topic.startsWith("t.out.")) {
            sendCalls++;
            if (failuresLeft-- > 0) throw new Error("broker unavailable");
          }
          return base.send(topic, messages);
        },
      }),
    );
    running = await runProcessor({
      stage: "retrying",
      transport,
      groupId: "g2",
      input: { topic: inputTopic, schema: Input },
      topicPrefix: prefix,
      handle: echo(prefix),
      logger: silentLogger(),
      sendRetry: fastRetry,
    });
    await transport.send(inputTopic, [{ key: "same", value: JSON.stringify({ n: 7 }) }]);
    const outputs = await waitFor(async () => {
      const records = await transport.readAll("t.out.vigil.dlq");
      return records.length > 0 ? records : undefined;
    });
    expect(outputs).toHaveLength(1);
    expect(sendCalls).toBe(6);
    const committed = await waitFor(async () => {
      const offsets = await transport.committedOffsets("g2", inputTopic);
      return offsets.some((o) => o.offset === "1") ? offsets : undefined;
    });
    expect(committed.filter((o) => o.offset === "1")).toHaveLength(1);
  });
  it("runs beforeBatch before each batch and tells onBatchFailed of a failed one; a throwing beforeBatch dead-letters nothing", async () => {
    let failuresLeft = 3; // one batch's whole retry budget
    await setup((base) =>
      overrideTransport(base, {
        send: async (topic: string, messages: OutgoingMessage[]) => {
          if (topic.startsWith("t.out.") && failuresLeft-- > 0) throw new Error("broker unavailable");
          return base.send(topic, messages);
        },
      }),
    );
    const seen: string[] = [];
    let refuseNext = true;
    running = await runProcessor({
      stage: "hooks",
      transport,
      groupId: "g3",
      input: { topic: inputTopic, schema: Input },
      topicPrefix: prefix,
      handle: (value, message) => {
        seen.push(`handle ${message.offset}`);
        return echo(prefix)(value);
      },
      beforeBatch: (batch) => {
        seen.push(`before ${batch.messages.map((m) => m.offset).join(",")}`);
        if (refuseNext) {
          refuseNext = false;
          throw new Error("state not restored yet");
        }
      },
      onBatchFailed: (_batch, error) => seen.push(`failed: ${(error as Error).message}`),
      logger: silentLogger(),
      sendRetry: fastRetry,
    });
    await transport.send(inputTopic, [{ key: "same", value: JSON.stringify({ n: 1 }) }]);
    await waitFor(async () => ((await transport.readAll("t.out.vigil.dlq")).length > 0 ? true : undefined));
    expect(seen).toEqual([
      "before 0",
      "failed: state not restored yet",
      "before 0",
      "handle 0",
      "failed: broker unavailable",
      "before 0",
      "handle 0",
    ]);
    // The refused batch was delivered again, not parked: the only dead-letter topic records are outputs.
    expect(await transport.readAll("t.vigil.dlq")).toEqual([]);
  });
});

describe("trace context across stages", () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    installTracing();
    addSpanProcessor(new SimpleSpanProcessor(exporter));
  });

  it("continues the producer's trace in the consumer and in what it produces", async () => {
    const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await transport.createTopics([{ name: "in", partitions: 1 }]);
    await ensureRegistryTopics(transport, "x.");
    const traceId = await withSpan("ingest", {}, async (span) => {
      await transport.send(
        "in",
        [output(topics.dlq, { n: 1 }, { key: "a", source: "test", prefix: "" })].map((o) => o.message),
      );
      return span.spanContext().traceId;
    });
    const running = await runProcessor({
      stage: "traced",
      transport,
      groupId: "g",
      input: { topic: "in", schema: z.object({ n: z.number() }) },
      topicPrefix: "x.",
      handle: (value) => [output(topics.dlq, value, { key: "a", source: "test", prefix: "x.out." })],
      logger: silentLogger(),
    }).catch(async (error) => {
      await transport.close();
      throw error;
    });
    try {
      await ensureRegistryTopics(transport, "x.out.");
      const [record] = await waitFor(async () => {
        const records = await transport.readAll("x.out.vigil.dlq");
        return records.length > 0 ? records : undefined;
      });
      expect(record?.headers.traceparent?.split("-")[1]).toBe(traceId);
      const spans = exporter.getFinishedSpans();
      const consumerSpan = spans.find((s) => s.name === "traced process");
      expect(consumerSpan?.spanContext().traceId).toBe(traceId);
    } finally {
      await running.stop();
      await transport.close();
    }
  });
});

describe("consumer lag", () => {
  it("is measured per partition as end offset minus committed offset", async () => {
    const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await transport.createTopics([{ name: "lag.in", partitions: 2 }]);
    await ensureRegistryTopics(transport, "lag.");
    const metrics = new PipelineMetrics("lag");
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = await runProcessor({
      stage: "lag",
      transport,
      groupId: "lag",
      input: { topic: "lag.in", schema: z.object({ n: z.number() }) },
      topicPrefix: "lag.",
      logger: silentLogger(),
      metrics,
      lagIntervalMs: 10,
      maxBatchSize: 1,
      // Holds every batch until released, so the records stay uncommitted.
      handle: async () => {
        await gate;
        return [];
      },
    });
    try {
      await transport.send(
        "lag.in",
        Array.from({ length: 5 }, (_, n) => ({ key: `k${n}`, value: JSON.stringify({ n }) })),
      );
      await waitFor(() => (metrics.lag() === 5 ? true : undefined));
      release();
      await waitFor(() => (metrics.lag() === 0 ? true : undefined));
      expect(metrics.snapshot()).toMatchObject({ in: 5, lag: 0 });
    } finally {
      release();
      await running.stop();
      await transport.close();
    }
  });
});
