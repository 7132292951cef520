import type { Headers } from "@vigil/schema";

/** A record as consumed: bytes and headers exactly as they were produced. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit; kept as decimal strings as kafkajs does. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  /** Milliseconds since the epoch, as a decimal string. */
  timestamp: string;
}

/** A record to produce. Strings are encoded as UTF-8. */
export interface OutgoingMessage {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Headers;
}

export interface TopicConfig {
  name: string;
  partitions: number;
  replicationFactor?: number;
  /** Kafka topic configs, e.g. `cleanup.policy`, `retention.ms`, `min.insync.replicas`. */
  configs?: Record<string, string>;
}

/** A batch of consecutive records from one partition. */
export interface Batch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /**
   * The offset the partition's consumption moves to once this batch is handled: past the last
   * record, and past transaction markers after it (which no consumer sees). Absent when unknown.
   */
  nextOffset?: string;
}

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. Default: earliest (never skip data). */
  fromBeginning?: boolean;
  /**
   * Called with consecutive records of one partition, one batch at a time per partition.
   * When it resolves, the batch's offsets are committed: await every output before resolving.
   * When it throws, nothing of the batch is committed and it is redelivered after a backoff.
   */
  eachBatch: (batch: Batch) => Promise<void>;
  /**
   * Called when a partition's consumption moved past records no batch delivers (transaction
   * markers, aborted records) without an `eachBatch`: only the position changed. A follower that
   * waits for an end offset needs it, else a partition ending in a marker fetched alone never
   * reaches its end. Nothing to handle or commit.
   */
  onSkipped?: (position: { topic: string; partition: number; nextOffset: string }) => void;
  /** Upper bound on records per batch (default 500). */
  maxBatchSize?: number;
}

export interface Subscription {
  readonly groupId: string;
  /** Stop fetching (backpressure); in-flight batches finish. */
  pause(): void;
  resume(): void;
  /** Finish the in-flight batch, commit it, and leave the group. Idempotent. */
  stop(): Promise<void>;
  /** Partitions currently assigned to this member. */
  assignment(): Array<{ topic: string; partition: number }>;
}

export interface ReadOptions {
  /** Stop at the end offsets observed when the read starts (default true). */
  untilEnd?: boolean;
}

/**
 * The whole of what Vigil's apps know of a broker. Implemented over Kafka (kafkajs) and in
 * process (embedded) with the same semantics: partition by murmur2 of the key (Kafka's default
 * partitioner), consumer groups, committed offsets, redelivery of what was not committed.
 */
export interface Transport {
  readonly kind: "kafka" | "embedded";
  /** Idempotent: existing topics are left as they are. */
  createTopics(topics: TopicConfig[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Resolves once every message is acknowledged (acks=all on Kafka). Order is kept per key. */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /**
   * All or nothing: every message of every batch becomes visible to (read-committed) consumers,
   * or none does (a Kafka transaction). `transactionalId` names the writer: one per source, so
   * that a restarted writer fences its crashed predecessor and aborts what it left open.
   * Called with no batches it only does that: call it before reading what a predecessor committed.
   */
  sendAtomically(
    batches: Array<{ topic: string; messages: OutgoingMessage[] }>,
    transactionalId: string,
  ): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Reads a topic from the beginning to its current end, without a consumer group (table restore, tools). */
  readAll(topic: string, options?: ReadOptions): Promise<ConsumedMessage[]>;
  /** Current end offsets (next offset to be written) per partition. */
  endOffsets(topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /** Committed offsets of a group per partition ("-1" when none). */
  committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /** Stops every subscription (as `Subscription.stop`) and disconnects. */
  close(): Promise<void>;
}

/**
 * A transport that is `base` except for the operations given: how a stage observes or intercepts
 * what it sends (the sink's delivery hooks) and how tests inject broker failures.
 */
export function overrideTransport(base: Transport, overrides: Partial<Omit<Transport, "kind">>): Transport {
  return {
    kind: base.kind,
    createTopics: (topics) => base.createTopics(topics),
    listTopics: () => base.listTopics(),
    send: (topic, messages) => base.send(topic, messages),
    sendAtomically: (batches, transactionalId) => base.sendAtomically(batches, transactionalId),
    subscribe: (options) => base.subscribe(options),
    readAll: (topic, options) => base.readAll(topic, options),
    endOffsets: (topic) => base.endOffsets(topic),
    committedOffsets: (groupId, topic) => base.committedOffsets(groupId, topic),
    close: () => base.close(),
    ...overrides,
  };
}
