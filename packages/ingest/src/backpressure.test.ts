import { PipelineMetrics, silentLogger } from "@vigil/observability";
import { createEmbeddedTransport, type OutgoingMessage, type Transport } from "@vigil/stream";
import { waitFor } from "@vigil/testkit";
import { describe, expect, it } from "vitest";
import type { Line } from "./lines.ts";
import { runIngest } from "./run.ts";

async function* lines(count: number): AsyncIterable<Line> {
  for (let lineNumber = 1; lineNumber <= count; lineNumber++) {
    const bytes = Buffer.from(`line ${lineNumber}`);
    yield { lineNumber, bytes, length: bytes.length, oversized: false };
  }
}

describe("runIngest backpressure", () => {
  it("holds the stage back from a failed send until its retry goes through", async () => {
    const base = createEmbeddedTransport();
    await base.createTopics([{ name: "out", partitions: 1 }]);
    let failed = false;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    // The first send fails; its retry waits for the gate: the broker is not taking the output.
    const transport: Transport = Object.assign(Object.create(base) as Transport, {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        if (!failed) {
          failed = true;
          throw new Error("broker unavailable");
        }
        await gate;
        return base.send(topic, messages);
      },
    });
    const metrics = new PipelineMetrics("ingest-backpressure-test");
    const run = runIngest({
      transport,
      lines: lines(3),
      parse: (bytes) => ({ status: "record", value: bytes.toString() }),
      encode: (value) => ({ topic: "out", message: { key: null, value } }),
      stage: "ingest-backpressure-test",
      source: "test",
      logger: silentLogger(),
      metrics,
      sendRetry: { attempts: 5, initialDelayMs: 1, maxDelayMs: 1, factor: 1 },
    });
    expect(await waitFor(() => metrics.backpressure(), { timeoutMs: 10_000, message: "held back" })).toBe(
      "send retrying",
    );
    open();
    expect((await run).published).toBe(3);
    expect(metrics.backpressure()).toBeUndefined();
    expect((await base.readAll("out")).map((message) => String(message.value))).toEqual([
      "line 1",
      "line 2",
      "line 3",
    ]);
    await base.close();
  });
});
