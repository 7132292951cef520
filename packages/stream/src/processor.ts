import type { Logger, PipelineMetrics } from "@vigil/observability";
import { extractTraceContext, SpanKind, traceLinks, withSpan } from "@vigil/observability";
import type { z } from "zod";
import { DecodeError, decodeValue, type Output } from "./codec.ts";
import { deadLetterMessage, deadLetterTopic } from "./dead-letter.ts";
import { defaultRetryPolicy, type RetryPolicy, withRetry } from "./retry.ts";
import type { Batch, ConsumedMessage, OutgoingMessage, Subscription, Transport } from "./transport.ts";

export interface ProcessorOptions<S extends z.ZodType> {
  /** Names the stage in logs, spans, metrics and dead letters, e.g. `rules-engine`. */
  stage: string;
  transport: Transport;
  groupId: string;
  /**
   * What it consumes: one topic, or several (one consumer group over all of them, each topic
   * decoded with its own schema; `handle` tells them apart by `message.topic`).
   */
  input: { topic: string; schema: S } | { topics: ReadonlyArray<{ topic: string; schema: S }> };
  /** Deployment topic prefix, for the dead-letter topic. */
  topicPrefix?: string;
  /**
   * Turns one valid record into its outputs. It runs inside the record's trace span, so
   * outputs encoded here carry the trace on. A throw dead-letters this record only.
   */
  handle: (value: z.output<S>, message: ConsumedMessage) => Promise<Output[]> | Output[];
  /**
   * Runs once per batch after every record was handled, before anything is sent: its outputs
   * (state changelog entries, results of a watermark moving on) go out with the batch's and are
   * acknowledged before the batch is committed. A throw fails the batch (redelivered).
   */
  afterBatch?: (batch: Batch) => Promise<Output[]> | Output[];
  /**
   * Runs before a batch's first record is handled, e.g. to rebuild in-memory state the handler
   * needs. A throw fails the batch (redelivered after a backoff): no record is dead-lettered for it.
   */
  beforeBatch?: (batch: Batch) => Promise<void> | void;
  /**
   * Told when a batch failed (a hook threw, or its outputs could not be published): it will be
   * delivered again, and in-memory state the handler changed for it is ahead of what was published.
   */
  onBatchFailed?: (batch: Batch, error: unknown) => void;
  logger: Logger;
  metrics?: PipelineMetrics;
  /**
   * Publish each batch's outputs (dead letters included) in one Kafka transaction under this id:
   * all or none become visible, so a crash between two output topics never leaves half a batch
   * published (which a redelivery would then skip as already applied). Call
   * `transport.sendAtomically([], id)` before restoring state, to fence a crashed predecessor.
   */
  transactionalId?: string;
  /**
   * One batch at a time across partitions (default: partitions run concurrently). For a handler
   * over shared in-memory state that must see each batch whole, before or after the others.
   */
  exclusive?: boolean;
  /** Retry of sends (transient broker trouble). When spent, the batch is not committed and is redelivered. */
  sendRetry?: RetryPolicy;
  maxBatchSize?: number;
  fromBeginning?: boolean;
  /** How often consumer lag (end offset - committed offset, per partition) is measured; 0 turns it off. */
  lagIntervalMs?: number;
}

export interface RunningProcessor {
  subscription: Subscription;
  stop(): Promise<void>;
}

/**
 * The consume-transform-produce loop every processing app runs, at least once:
 * decode and validate each record, transform it, send every output and dead letter of the
 * batch, wait for the broker's acknowledgement, and only then let the batch be committed.
 * Idempotent outputs (deterministic ids and keys) make redelivery harmless.
 */
export async function runProcessor<S extends z.ZodType>(
  options: ProcessorOptions<S>,
): Promise<RunningProcessor> {
  const dlqTopic = deadLetterTopic(options.topicPrefix);
  const policy = options.sendRetry ?? defaultRetryPolicy;
  const { logger, metrics, transport, stage } = options;
  const inputs = "topics" in options.input ? options.input.topics : [options.input];
  const schemas = new Map(inputs.map(({ topic, schema }) => [topic, schema]));
  const inputTopics = [...schemas.keys()];

  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.catch(() => {}).then(work);
    queue = next;
    return next;
  };

  async function processBatch(batch: Batch): Promise<void> {
    try {
      await options.beforeBatch?.(batch);
      await handleBatch(batch);
    } catch (error) {
      options.onBatchFailed?.(batch, error);
      throw error;
    }
  }

  async function handleBatch(batch: Batch): Promise<void> {
    const outputs: Output[] = [];
    for (const message of batch.messages) {
      metrics?.recordIn(batch.topic);
      const started = performance.now();
      const produced = await processOne(message);
      metrics?.recordProcessing(batch.topic, performance.now() - started);
      outputs.push(...produced);
    }
    // What a batch makes as a whole (changelog, findings of a watermark moving on) has many causes:
    // a trace of its own, linked to the span of every record of the batch rather than a child of one.
    const { afterBatch } = options;
    if (afterBatch)
      outputs.push(
        ...(await withSpan(
          `${stage} batch`,
          {
            root: true,
            links: traceLinks(batch.messages.map((message) => message.headers)),
            attributes: {
              "messaging.destination.name": batch.topic,
              "messaging.batch.message_count": batch.messages.length,
            },
          },
          () => afterBatch(batch),
        )),
      );
    await sendAll(outputs);
  }

  async function processOne(message: ConsumedMessage): Promise<Output[]> {
    return withSpan(
      `${stage} process`,
      {
        parent: extractTraceContext(message.headers),
        kind: SpanKind.CONSUMER,
        attributes: {
          "messaging.system": "kafka",
          "messaging.destination.name": message.topic,
          "messaging.kafka.destination.partition": message.partition,
          "messaging.kafka.message.offset": Number(message.offset),
        },
      },
      async () => {
        let value: z.output<S>;
        try {
          // Only subscribed topics are delivered, so the schema is always there.
          value = decodeValue(schemas.get(message.topic) as S, message);
        } catch (error) {
          if (error instanceof DecodeError) return [deadLetter(message, error.kind, error.message)];
          throw error;
        }
        try {
          return await options.handle(value, message);
        } catch (error) {
          // A processing failure is a property of this record (a poison pill): park it, go on.
          logger.error(
            { err: error, topic: message.topic, partition: message.partition, offset: message.offset },
            "processing failed; dead-lettering the record",
          );
          return [
            deadLetter(message, "processing", `processing failed in ${stage}: ${(error as Error).message}`),
          ];
        }
      },
    );
  }

  function deadLetter(message: ConsumedMessage, kind: string, reason: string): Output {
    metrics?.recordDeadLetter(message.topic, kind);
    logger.warn(
      { kind, reason, topic: message.topic, partition: message.partition, offset: message.offset },
      "dead-lettered",
    );
    return {
      topic: dlqTopic,
      message: deadLetterMessage({
        reason,
        kind,
        stage,
        value: message.value,
        key: message.key,
        source: message,
      }),
    };
  }

  async function sendAll(outputs: Output[]): Promise<void> {
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const { topic, message } of outputs) {
      const list = byTopic.get(topic) ?? [];
      list.push(message);
      byTopic.set(topic, list);
    }
    // Held back (not ready) from the first failed send until the batch's outputs are through.
    let release: (() => void) | undefined;
    const retrying = (topic?: string) => (error: unknown, attempt: number, delayMs: number) => {
      release ??= metrics?.holdBack("send retrying");
      metrics?.recordRetry("send");
      logger.warn({ err: error, topic, attempt, delayMs }, "send failed; retrying");
    };
    try {
      if (options.transactionalId !== undefined && byTopic.size > 0) {
        const transactionalId = options.transactionalId;
        const batches = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
        await withRetry(() => transport.sendAtomically(batches, transactionalId), {
          policy,
          onRetry: retrying(),
        });
        for (const [topic, messages] of byTopic)
          if (topic !== dlqTopic) metrics?.recordOut(topic, messages.length);
        return;
      }
      for (const [topic, messages] of byTopic) {
        await withRetry(() => transport.send(topic, messages), { policy, onRetry: retrying(topic) });
        if (topic !== dlqTopic) metrics?.recordOut(topic, messages.length);
      }
    } finally {
      release?.();
    }
  }

  const subscription = await transport.subscribe({
    groupId: options.groupId,
    topics: inputTopics,
    fromBeginning: options.fromBeginning ?? true,
    ...(options.maxBatchSize ? { maxBatchSize: options.maxBatchSize } : {}),
    eachBatch: options.exclusive ? (batch) => serial(() => processBatch(batch)) : processBatch,
  });
  logger.info({ groupId: options.groupId, topics: inputTopics }, `${stage} subscribed`);
  const lagTimer =
    metrics && (options.lagIntervalMs ?? 10_000) > 0
      ? startLagProbe(options, inputTopics, metrics)
      : undefined;
  return {
    subscription,
    stop: async () => {
      if (lagTimer) clearInterval(lagTimer);
      await subscription.stop();
    },
  };
}

/** Measures the group's lag on its input topics now and then (admin calls, off the hot path). */
function startLagProbe<S extends z.ZodType>(
  options: ProcessorOptions<S>,
  inputTopics: readonly string[],
  metrics: PipelineMetrics,
): NodeJS.Timeout {
  const { transport, groupId, logger } = options;
  let running = false;
  const probe = async () => {
    if (running) return;
    running = true;
    try {
      for (const topic of inputTopics) {
        const [ends, committed] = await Promise.all([
          transport.endOffsets(topic),
          transport.committedOffsets(groupId, topic),
        ]);
        const done = new Map(committed.map(({ partition, offset }) => [partition, BigInt(offset)]));
        for (const { partition, offset } of ends) {
          const end = BigInt(offset);
          const at = done.get(partition) ?? -1n;
          // No commit yet: the whole partition is still to be read (fromBeginning).
          metrics.recordLag(topic, partition, Number(at < 0n ? end : end - at));
        }
      }
    } catch (error) {
      logger.debug({ err: error }, "lag probe failed");
    } finally {
      running = false;
    }
  };
  const timer = setInterval(probe, options.lagIntervalMs ?? 10_000);
  timer.unref();
  return timer;
}
