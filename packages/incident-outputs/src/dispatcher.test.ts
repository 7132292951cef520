import { silentLogger } from "@vigil/observability";
import { afterEach, describe, expect, it } from "vitest";
import { type Delivery, DeliveryError, type IncidentOutput } from "./delivery.ts";
import { createDispatcher, type DeadLetterError, type DispatcherOptions } from "./dispatcher.ts";
import { slackOutput } from "./outputs/slack.ts";
import { theHiveOutput } from "./outputs/thehive.ts";
import { webhookOutput } from "./outputs/webhook.ts";
import { type HttpReceiver, httpReceiver, sampleDelivery } from "./testing/receivers.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function receiver(...args: Parameters<typeof httpReceiver>): Promise<HttpReceiver> {
  const started = await httpReceiver(...args);
  cleanups.push(started.close);
  return started;
}

const fastRetry = { attempts: 4, initialDelayMs: 2, maxDelayMs: 10 };

function deadLetters() {
  const letters: Array<{ key: string; output: string; reason: string; attempts: number; message: string }> =
    [];
  const onDeadLetter: DispatcherOptions["onDeadLetter"] = (delivery, output, error: DeadLetterError) => {
    letters.push({
      key: delivery.key,
      output,
      reason: error.reason,
      attempts: error.attempts,
      message: error.message,
    });
  };
  return { letters, onDeadLetter };
}

/** An in-memory output whose deliveries wait for a permit: `release()` lets one through, now or later. */
function gatedOutput(name: string) {
  const delivered: string[] = [];
  const waiting: Array<() => void> = [];
  let permits = 0;
  const output: IncidentOutput = {
    name,
    deliver: (delivery: Delivery) =>
      new Promise<void>((resolve) => {
        const go = () => {
          delivered.push(delivery.key);
          resolve();
        };
        if (permits > 0) {
          permits -= 1;
          go();
        } else {
          waiting.push(go);
        }
      }),
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else permits += 1;
  };
  return { output, delivered, release };
}

describe("dispatcher", () => {
  it("retries a failing receiver with backoff until it answers 2xx, then counts one delivery", async () => {
    const server = await receiver((index) => (index < 2 ? { status: 503 } : { status: 200 }));
    const { letters, onDeadLetter } = deadLetters();
    const dispatcher = createDispatcher({
      outputs: [webhookOutput({ name: "soc", url: server.url, secret: "s" })],
      retry: fastRetry,
      onDeadLetter,
      logger: silentLogger(),
    });
    const receipt = dispatcher.dispatch(sampleDelivery("k1"));
    expect(await receipt.settled).toEqual([{ output: "soc", status: "delivered" }]);
    expect(server.requests.map((request) => request.headers["idempotency-key"])).toEqual(["k1", "k1", "k1"]);
    expect(letters).toEqual([]);
    expect(dispatcher.counters()).toEqual({ soc: { delivered: 1, retried: 2, deadLettered: 0, pending: 0 } });
    await dispatcher.close();
  });

  it("dead-letters a permanent failure at once and a spent retry budget after the last attempt", async () => {
    const rejecting = await receiver(() => ({ status: 403, body: "forbidden" }));
    const failing = await receiver(() => ({ status: 500 }));
    const { letters, onDeadLetter } = deadLetters();
    const dispatcher = createDispatcher({
      outputs: [
        webhookOutput({ name: "rejecting", url: rejecting.url, secret: "s" }),
        webhookOutput({ name: "failing", url: failing.url, secret: "s" }),
      ],
      retry: fastRetry,
      onDeadLetter,
      logger: silentLogger(),
    });
    const outcome = await dispatcher.dispatch(sampleDelivery("k1")).settled;
    expect(outcome).toEqual([
      { output: "rejecting", status: "dead_lettered" },
      { output: "failing", status: "dead_lettered" },
    ]);
    expect(rejecting.requests).toHaveLength(1);
    expect(failing.requests).toHaveLength(4);
    expect(letters).toEqual([
      { key: "k1", output: "rejecting", reason: "permanent", attempts: 1, message: "HTTP 403: forbidden" },
      { key: "k1", output: "failing", reason: "retries_exhausted", attempts: 4, message: "HTTP 500: " },
    ]);
    expect(dispatcher.counters().failing).toEqual({ delivered: 0, retried: 3, deadLettered: 1, pending: 0 });
    await dispatcher.close();
  });

  it("a hanging receiver times out on its own while the other outputs deliver", async () => {
    const hanging = await receiver(() => "hang");
    const slack = await receiver(() => ({ status: 200, body: "ok" }));
    const hive = await receiver(() => ({ status: 201 }));
    const { letters, onDeadLetter } = deadLetters();
    const dispatcher = createDispatcher({
      outputs: [
        webhookOutput({ name: "hanging", url: hanging.url, secret: "s", timeoutMs: 500 }),
        slackOutput({ url: slack.url }),
        theHiveOutput({ baseUrl: hive.url, apiKey: "k" }),
      ],
      retry: { attempts: 2, initialDelayMs: 2, maxDelayMs: 5 },
      onDeadLetter,
      logger: silentLogger(),
    });
    const receipts = [dispatcher.dispatch(sampleDelivery("k1")), dispatcher.dispatch(sampleDelivery("k2"))];
    const others = await Promise.all(
      receipts.flatMap((receipt) => [receipt.outputs.slack, receipt.outputs.thehive]),
    );
    expect(others.map((outcome) => outcome?.status)).toEqual([
      "delivered",
      "delivered",
      "delivered",
      "delivered",
    ]);
    expect(slack.requests).toHaveLength(2);
    expect(hive.requests).toHaveLength(2);
    // Meanwhile the webhook is still on its first delivery.
    expect(dispatcher.counters().hanging).toMatchObject({ delivered: 0, deadLettered: 0, pending: 2 });

    await dispatcher.drain();
    expect(letters.map((letter) => [letter.key, letter.output, letter.reason, letter.message])).toEqual([
      ["k1", "hanging", "retries_exhausted", "no answer within 500 ms"],
      ["k2", "hanging", "retries_exhausted", "no answer within 500 ms"],
    ]);
    expect(hanging.requests).toHaveLength(4);
    await dispatcher.close();
  });

  it("dispatch returns before any receiver answers, and a full queue dead-letters with 'queue full'", async () => {
    const slow = gatedOutput("slow");
    const fast = gatedOutput("fast");
    const { letters, onDeadLetter } = deadLetters();
    const dispatcher = createDispatcher({
      outputs: [slow.output, fast.output],
      queueCapacity: 2,
      retry: fastRetry,
      onDeadLetter,
      logger: silentLogger(),
    });
    const receipts = ["k1", "k2", "k3"].map((key) => dispatcher.dispatch(sampleDelivery(key)));
    // Nothing answered yet, yet every dispatch has returned; the third overflowed both lanes.
    expect(slow.delivered).toEqual([]);
    expect(await receipts[2]?.settled).toEqual([
      { output: "slow", status: "dead_lettered" },
      { output: "fast", status: "dead_lettered" },
    ]);
    expect(letters.map((letter) => [letter.key, letter.output, letter.reason, letter.message])).toEqual([
      ["k3", "slow", "queue_full", "queue full (2 deliveries waiting)"],
      ["k3", "fast", "queue_full", "queue full (2 deliveries waiting)"],
    ]);
    // The fast lane moves on while the slow one is still stuck on k1.
    fast.release();
    fast.release();
    await receipts[1]?.outputs.fast;
    expect(fast.delivered).toEqual(["k1", "k2"]);
    expect(slow.delivered).toEqual([]);
    slow.release();
    slow.release();
    await dispatcher.drain();
    expect(slow.delivered).toEqual(["k1", "k2"]);
    expect(await receipts[0]?.settled).toEqual([
      { output: "slow", status: "delivered" },
      { output: "fast", status: "delivered" },
    ]);
    await dispatcher.close();
  });

  it("close waits for the queues, then at its deadline abandons what is left without dead-lettering it", async () => {
    const stuck = gatedOutput("stuck");
    let failures = 0;
    const retrying: IncidentOutput = {
      name: "retrying",
      deliver: async () => {
        failures += 1;
        throw new DeliveryError("HTTP 503", { retryable: true, status: 503 });
      },
    };
    const { letters, onDeadLetter } = deadLetters();
    const dispatcher = createDispatcher({
      outputs: [stuck.output, retrying],
      retry: { attempts: 1_000, initialDelayMs: 5, maxDelayMs: 5 },
      onDeadLetter,
      logger: silentLogger(),
    });
    const first = dispatcher.dispatch(sampleDelivery("k1"));
    const second = dispatcher.dispatch(sampleDelivery("k2"));
    const closing = dispatcher.close({ deadlineMs: 100 });
    // The in-flight delivery still completes after the deadline; the queued one is never tried.
    setTimeout(() => stuck.release(), 150);
    await closing;
    expect(await first.settled).toEqual([
      { output: "stuck", status: "delivered" },
      { output: "retrying", status: "abandoned" },
    ]);
    expect(await second.settled).toEqual([
      { output: "stuck", status: "abandoned" },
      { output: "retrying", status: "abandoned" },
    ]);
    expect(stuck.delivered).toEqual(["k1"]);
    expect(failures).toBeGreaterThan(1);
    expect(letters).toEqual([]);
    expect(await dispatcher.dispatch(sampleDelivery("k3")).settled).toEqual([
      { output: "stuck", status: "abandoned" },
      { output: "retrying", status: "abandoned" },
    ]);
  });

  it("a failing dead-letter callback leaves the delivery abandoned, so the caller does not commit it", async () => {
    const refusing: IncidentOutput = {
      name: "refusing",
      deliver: async () => {
        throw new DeliveryError("HTTP 400", { retryable: false, status: 400 });
      },
    };
    const dispatcher = createDispatcher({
      outputs: [refusing],
      retry: fastRetry,
      onDeadLetter: async () => {
        throw new Error("dlq unavailable");
      },
      logger: silentLogger(),
    });
    expect(await dispatcher.dispatch(sampleDelivery()).settled).toEqual([
      { output: "refusing", status: "abandoned" },
    ]);
    expect(dispatcher.counters().refusing?.deadLettered).toBe(0);
    await dispatcher.close();
  });

  it("refuses two outputs with the same name", () => {
    const output = gatedOutput("twin").output;
    expect(() =>
      createDispatcher({ outputs: [output, output], onDeadLetter: () => {}, logger: silentLogger() }),
    ).toThrow("two outputs are named twin");
  });
});
