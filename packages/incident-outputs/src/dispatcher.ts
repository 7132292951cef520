import type { Logger, PipelineMetrics } from "@vigil/observability";
import { type RetryPolicy, withRetry } from "@vigil/stream";
import { type Delivery, DeliveryError, type IncidentOutput, isRetryable } from "./delivery.ts";

export type DeadLetterReason = "permanent" | "retries_exhausted" | "queue_full" | "closed";

/** Why a delivery went to the dead letter: the reason, the attempts made and the last error. */
export class DeadLetterError extends Error {
  readonly reason: DeadLetterReason;
  readonly attempts: number;

  constructor(reason: DeadLetterReason, message: string, attempts: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "DeadLetterError";
    this.reason = reason;
    this.attempts = attempts;
  }
}

/**
 * Per output: `delivered` (the receiver has it), `dead_lettered` (handed to `onDeadLetter`, which
 * resolved), or `abandoned` (not delivered and not safely dead-lettered: the dead-letter callback
 * failed, or `close` gave up at its deadline). A caller that commits its input only when no output
 * is `abandoned` gets at-least-once delivery across restarts.
 */
export type OutputOutcome = { output: string; status: "delivered" | "dead_lettered" | "abandoned" };

export interface DispatchReceipt {
  /** Resolves (never rejects) once every output has settled this delivery. */
  settled: Promise<OutputOutcome[]>;
  /** Each output's own outcome, by output name. */
  outputs: Record<string, Promise<OutputOutcome>>;
}

export interface OutputCounters {
  delivered: number;
  retried: number;
  deadLettered: number;
  /** Waiting or in progress now. */
  pending: number;
}

export interface DispatcherOptions {
  outputs: IncidentOutput[];
  retry?: Partial<Pick<RetryPolicy, "attempts" | "initialDelayMs" | "maxDelayMs" | "factor">>;
  /** Deliveries waiting per output, the one in progress included; beyond it they are dead-lettered. */
  queueCapacity?: number;
  /** Must persist the delivery somewhere safe (the sink writes `vigil.dlq`) before resolving. */
  onDeadLetter: (delivery: Delivery, output: string, error: DeadLetterError) => void | Promise<void>;
  logger: Logger;
  metrics?: PipelineMetrics;
}

export interface Dispatcher {
  /** Queues the delivery for every output and returns at once; never blocks on a receiver. */
  dispatch(delivery: Delivery): DispatchReceipt;
  /** Resolves when every queue is empty and nothing is in flight. */
  drain(): Promise<void>;
  /**
   * Stops accepting deliveries, waits for the queues to drain up to `deadlineMs` (default 30 s),
   * then stops retrying: what is left is `abandoned` (not dead-lettered: a restart redelivers it).
   * Closes the outputs last.
   */
  close(options?: { deadlineMs?: number }): Promise<void>;
  counters(): Record<string, OutputCounters>;
}

interface Pending {
  delivery: Delivery;
  resolve: (outcome: OutputOutcome) => void;
}

interface Lane {
  output: IncidentOutput;
  queue: Pending[];
  running: boolean;
  idle: Array<() => void>;
  counters: OutputCounters;
}

export const DEFAULT_QUEUE_CAPACITY = 10_000;

/**
 * Each output gets its own lane: a bounded FIFO worked one delivery at a time (so one incident's
 * versions reach a receiver in order), with its own retries. A slow or failing receiver fills its
 * own lane only; the caller and the other outputs never wait for it.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const policy: RetryPolicy = {
    attempts: options.retry?.attempts ?? 8,
    initialDelayMs: options.retry?.initialDelayMs ?? 500,
    maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
    factor: options.retry?.factor ?? 2,
  };
  const capacity = options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY;
  const { logger, metrics } = options;
  const names = new Set<string>();
  for (const output of options.outputs) {
    if (names.has(output.name)) throw new Error(`two outputs are named ${output.name}: names must be unique`);
    names.add(output.name);
  }
  const lanes: Lane[] = options.outputs.map((output) => ({
    output,
    queue: [],
    running: false,
    idle: [],
    counters: { delivered: 0, retried: 0, deadLettered: 0, pending: 0 },
  }));
  const stopRetrying = new AbortController();
  let closing = false;
  let closed: Promise<void> | undefined;

  const topic = (lane: Lane) => `output:${lane.output.name}`;

  async function deadLetter(lane: Lane, delivery: Delivery, error: DeadLetterError): Promise<OutputOutcome> {
    const output = lane.output.name;
    logger.warn(
      {
        output,
        key: delivery.key,
        incident: delivery.incident.id,
        reason: error.reason,
        attempts: error.attempts,
        err: error.message,
      },
      "incident delivery dead-lettered",
    );
    try {
      await options.onDeadLetter(delivery, output, error);
      lane.counters.deadLettered += 1;
      metrics?.recordDeadLetter(topic(lane), error.reason);
      return { output, status: "dead_lettered" };
    } catch (failure) {
      logger.error(
        { output, key: delivery.key, err: failure instanceof Error ? failure.message : String(failure) },
        "dead-letter callback failed: delivery abandoned",
      );
      return { output, status: "abandoned" };
    }
  }

  async function attempt(lane: Lane, delivery: Delivery): Promise<OutputOutcome> {
    const output = lane.output.name;
    let attempts = 0;
    try {
      await withRetry(
        async (attempt) => {
          attempts = attempt;
          await lane.output.deliver(delivery);
        },
        {
          policy,
          isRetriable: isRetryable,
          signal: stopRetrying.signal,
          onRetry: (error, attempt, delayMs) => {
            lane.counters.retried += 1;
            metrics?.recordRetry(topic(lane));
            logger.info(
              {
                output,
                key: delivery.key,
                attempt,
                delayMs,
                err: error instanceof Error ? error.message : String(error),
              },
              "incident delivery failed, retrying",
            );
          },
        },
      );
      lane.counters.delivered += 1;
      metrics?.recordOut(topic(lane));
      return { output, status: "delivered" };
    } catch (error) {
      if (stopRetrying.signal.aborted && isRetryable(error)) {
        logger.warn({ output, key: delivery.key, attempts }, "incident delivery abandoned at shutdown");
        return { output, status: "abandoned" };
      }
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof DeliveryError && !error.retryable;
      const reason: DeadLetterReason = permanent ? "permanent" : "retries_exhausted";
      return deadLetter(lane, delivery, new DeadLetterError(reason, message, attempts, error));
    }
  }

  async function work(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      for (let next = lane.queue[0]; next !== undefined; next = lane.queue[0]) {
        const outcome = stopRetrying.signal.aborted
          ? { output: lane.output.name, status: "abandoned" as const }
          : await attempt(lane, next.delivery);
        lane.queue.shift();
        lane.counters.pending -= 1;
        next.resolve(outcome);
      }
    } finally {
      lane.running = false;
      for (const wake of lane.idle.splice(0)) wake();
    }
  }

  function enqueue(lane: Lane, delivery: Delivery): Promise<OutputOutcome> {
    if (closing) {
      return Promise.resolve({ output: lane.output.name, status: "abandoned" });
    }
    if (lane.queue.length >= capacity) {
      return deadLetter(
        lane,
        delivery,
        new DeadLetterError("queue_full", `queue full (${capacity} deliveries waiting)`, 0),
      );
    }
    const { promise, resolve } = Promise.withResolvers<OutputOutcome>();
    lane.queue.push({ delivery, resolve });
    lane.counters.pending += 1;
    if (!lane.running) {
      void work(lane);
    }
    return promise;
  }

  function laneIdle(lane: Lane): Promise<void> {
    if (!lane.running && lane.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => lane.idle.push(resolve));
  }

  async function drain(): Promise<void> {
    // A dead-letter callback can dispatch again; loop until every lane is quiet at once.
    while (lanes.some((lane) => lane.running || lane.queue.length > 0)) {
      await Promise.all(lanes.map(laneIdle));
    }
  }

  return {
    dispatch(delivery: Delivery): DispatchReceipt {
      if (closing) logger.warn({ key: delivery.key }, "dispatch after close: delivery abandoned");
      const outcomes = lanes.map((lane) => enqueue(lane, delivery));
      return {
        settled: Promise.all(outcomes),
        outputs: Object.fromEntries(lanes.map((lane, index) => [lane.output.name, outcomes[index]!])),
      };
    },
    drain,
    close(closeOptions = {}): Promise<void> {
      closed ??= (async () => {
        closing = true;
        const deadlineMs = closeOptions.deadlineMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, deadlineMs);
        });
        await Promise.race([drain(), deadline]);
        clearTimeout(timer);
        stopRetrying.abort();
        await drain();
        for (const lane of lanes) {
          try {
            await lane.output.close?.();
          } catch (error) {
            logger.warn(
              { output: lane.output.name, err: error instanceof Error ? error.message : String(error) },
              "output close failed",
            );
          }
        }
      })();
      return closed;
    },
    counters(): Record<string, OutputCounters> {
      return Object.fromEntries(lanes.map((lane) => [lane.output.name, { ...lane.counters }]));
    },
  };
}
