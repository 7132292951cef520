import { PipelineMetrics, silentLogger } from "@vigil/observability";
import { topics } from "@vigil/schema";
import { waitFor } from "@vigil/testkit";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { output } from "./codec.ts";
import { createEmbeddedTransport, EmbeddedBroker } from "./embedded.ts";
import { runProcessor } from "./processor.ts";
import { ensureRegistryTopics } from "./topics.ts";
import { type OutgoingMessage, overrideTransport, type Transport } from "./transport.ts";

/** A transport whose first send to `t.out.*` fails and whose retry waits until `open()` is called. */
function stalledOutputs(base: Transport) {
  let failed = false;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const transport = overrideTransport(base, {
    send: async (topic: string, messages: OutgoingMessage[]) => {
      if (topic.startsWith("t.out.")) {
        if (!failed) {
          failed = true;
          throw new Error("broker unavailable");
        }
        await gate;
      }
      return base.send(topic, messages);
    },
  });
  return { transport, open };
}

describe("runProcessor backpressure", () => {
  it("holds the stage back from a failed send until its retry goes through", async () => {
    const base = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await base.createTopics([{ name: "t.input", partitions: 1 }]);
    await ensureRegistryTopics(base, "t.out.");
    const { transport, open } = stalledOutputs(base);
    const metrics = new PipelineMetrics("backpressure-test");
    const running = await runProcessor({
      stage: "backpressure-test",
      transport,
      groupId: "g",
      input: { topic: "t.input", schema: z.object({ n: z.number() }) },
      topicPrefix: "t.",
      logger: silentLogger(),
      metrics,
      lagIntervalMs: 0,
      sendRetry: { attempts: 5, initialDelayMs: 1, maxDelayMs: 1, factor: 1 },
      handle: (value) => [
        output(topics.dlq, { n: value.n }, { key: null, source: "test", prefix: "t.out." }),
      ],
    });
    try {
      expect(metrics.backpressure()).toBeUndefined();
      await base.send("t.input", [{ key: "k", value: JSON.stringify({ n: 1 }) }]);
      expect(await waitFor(() => metrics.backpressure(), { timeoutMs: 10_000, message: "held back" })).toBe(
        "send retrying",
      );
      open();
      await waitFor(async () => ((await base.readAll("t.out.vigil.dlq")).length === 1 ? true : undefined), {
        timeoutMs: 10_000,
        message: "the retried send went through",
      });
      expect(metrics.backpressure()).toBeUndefined();
    } finally {
      await running.stop();
      await base.close();
    }
  });
});
