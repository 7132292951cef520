import { randomUUID } from "node:crypto";
import type { Logger } from "@vigil/observability";
import type { ConsumedMessage, Subscription, Transport } from "./transport.ts";

export interface GlobalTableOptions {
  transport: Transport;
  /** Compacted topics to hold whole (every partition), in any order. */
  topics: string[];
  /**
   * A consumer group name to put in front of a random suffix: every instance reads every
   * partition from the beginning on each start, which a shared group would prevent.
   */
  groupPrefix: string;
  /** Applies one record (a `null` value is a tombstone). A throw is logged and the record skipped. */
  apply: (message: ConsumedMessage) => void | Promise<void>;
  logger: Logger;
}

export interface GlobalTable {
  /** Resolves once every record that existed when the follower started has been applied. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Holds compacted topics whole and follows them live (Kafka Streams' GlobalKTable): the
 * restore completes when each partition reaches the end offset observed at start, so a
 * caller can refuse to judge anything on half-loaded reference data, and later records keep
 * arriving through the same subscription.
 */
export async function followGlobalTable(options: GlobalTableOptions): Promise<GlobalTable> {
  const { transport, logger } = options;
  const pending = new Map<string, bigint>();
  for (const topic of options.topics) {
    for (const { partition, offset } of await transport.endOffsets(topic)) {
      if (BigInt(offset) > 0n) pending.set(`${topic}/${partition}`, BigInt(offset));
    }
  }
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  // `next` is where consumption moves to: past the record, and past the transaction markers that
  // follow it (a transactional topic's end offset is one beyond its last commit marker).
  const check = (topic: string, partition: number, next: bigint) => {
    const key = `${topic}/${partition}`;
    const end = pending.get(key);
    if (end !== undefined && next >= end) pending.delete(key);
    if (pending.size === 0) markReady();
  };
  if (pending.size === 0) markReady();

  let subscription: Subscription | undefined;
  subscription = await transport.subscribe({
    groupId: `${options.groupPrefix}.${randomUUID()}`,
    topics: options.topics,
    fromBeginning: true,
    eachBatch: async (batch) => {
      for (const message of batch.messages) {
        try {
          await options.apply(message);
        } catch (error) {
          logger.error(
            { err: error, topic: message.topic, partition: message.partition, offset: message.offset },
            "reference record rejected; the table keeps its previous state",
          );
        }
      }
      const last = batch.messages.at(-1);
      const next =
        batch.nextOffset !== undefined
          ? BigInt(batch.nextOffset)
          : last !== undefined
            ? BigInt(last.offset) + 1n
            : undefined;
      if (next !== undefined) check(batch.topic, batch.partition, next);
    },
    onSkipped: ({ topic, partition, nextOffset }) => check(topic, partition, BigInt(nextOffset)),
  });
  return {
    ready,
    stop: async () => {
      await subscription?.stop();
      subscription = undefined;
    },
  };
}
