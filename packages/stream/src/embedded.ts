import type { Headers } from "@vigil/schema";
import { createDefaultPartitioner, type Partitioner } from "./partitioner.ts";
import type {
  Batch,
  ConsumedMessage,
  OutgoingMessage,
  ReadOptions,
  SubscribeOptions,
  Subscription,
  TopicConfig,
  Transport,
} from "./transport.ts";

/**
 * In-process broker with Kafka's semantics for what Vigil uses: partitioned append-only logs,
 * consumer groups with committed offsets, redelivery from the last commit. Nothing is persisted
 * and compaction never runs: a compacted topic keeps every version of a key, which readers must
 * tolerate on Kafka too (the active segment is never compacted).
 */

interface StoredRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  timestamp: string;
}

interface TopicLog {
  config: TopicConfig;
  partitions: StoredRecord[][];
}

interface GroupState {
  /** Next offset to consume, per `tpKey`. */
  committed: Map<string, number>;
  /** Partitions with a batch in flight: one per partition per group, even across a handoff. */
  busy: Set<string>;
  members: Member[];
}

export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
}

/** Kafka's default `max.message.bytes`; a topic's `configs["max.message.bytes"]` overrides it. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
const DEFAULT_RETRY_BACKOFF: RetryBackoff = { initialMs: 100, maxMs: 5_000 };

/** The subset of a pino logger the transport writes to (same shape as the Kafka transport's). */
export interface EmbeddedTransportLogger {
  warn(obj: object, msg?: string): void;
}

/** Used without a logger: warnings as JSON lines on stderr, like the services' pino. */
const stderrLogger: EmbeddedTransportLogger = {
  warn: (obj, msg) => {
    const entry = { level: "warn", time: new Date().toISOString(), msg, ...obj };
    process.stderr.write(`${JSON.stringify(entry, (k, v) => (k === "err" ? String(v) : v))}\n`);
  },
};

const tpKey = (topic: string, partition: number): string => `${partition}:${topic}`;

/** Delay before the `attempt`-th redelivery (1-based) of a failed batch: doubling, capped. */
export function retryDelayMs(attempt: number, backoff: RetryBackoff): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
}

/** One process-wide broker; transports created without an explicit broker share it. */
export class EmbeddedBroker {
  readonly #topics = new Map<string, TopicLog>();
  readonly #groups = new Map<string, GroupState>();

  createTopics(topics: TopicConfig[]): void {
    for (const topic of topics) {
      if (!topic.name) throw new Error("Topic name must not be empty");
      if (!Number.isInteger(topic.partitions) || topic.partitions < 1) {
        throw new Error(
          `Topic ${topic.name}: partitions must be a positive integer, got ${topic.partitions}`,
        );
      }
    }
    for (const topic of topics) {
      if (this.#topics.has(topic.name)) continue;
      this.#topics.set(topic.name, {
        config: { ...topic, configs: { ...topic.configs } },
        partitions: Array.from({ length: topic.partitions }, () => []),
      });
    }
  }

  listTopics(): string[] {
    return [...this.#topics.keys()];
  }

  topic(name: string): TopicLog {
    const topic = this.#topics.get(name);
    if (!topic) {
      throw new Error(
        `Topic "${name}" does not exist (topics are not auto-created; create it with createTopics first)`,
      );
    }
    return topic;
  }

  append(topicName: string, records: Array<{ partition: number; record: StoredRecord }>): void {
    const topic = this.topic(topicName);
    for (const { partition, record } of records) topic.partitions[partition]!.push(record);
    for (const group of this.#groups.values()) {
      for (const member of group.members) if (member.topics.includes(topicName)) member.wake();
    }
  }

  group(groupId: string): GroupState {
    let group = this.#groups.get(groupId);
    if (!group) {
      group = { committed: new Map(), busy: new Set(), members: [] };
      this.#groups.set(groupId, group);
    }
    return group;
  }

  committed(groupId: string): ReadonlyMap<string, number> {
    return this.#groups.get(groupId)?.committed ?? new Map();
  }

  join(member: Member): void {
    const group = this.group(member.groupId);
    group.members.push(member);
    this.#rebalance(group);
  }

  leave(member: Member): void {
    const group = this.group(member.groupId);
    group.members = group.members.filter((m) => m !== member);
    this.#rebalance(group);
  }

  /** Round-robin of each topic's partitions over the members subscribed to it, in join order. */
  #rebalance(group: GroupState): void {
    const assignments = new Map<Member, Array<{ topic: string; partition: number }>>(
      group.members.map((m) => [m, []]),
    );
    const topicNames = new Set(group.members.flatMap((m) => m.topics));
    for (const topicName of [...topicNames].sort()) {
      const subscribers = group.members.filter((m) => m.topics.includes(topicName));
      const partitionCount = this.topic(topicName).partitions.length;
      for (let partition = 0; partition < partitionCount; partition++) {
        const owner = subscribers[partition % subscribers.length]!;
        assignments.get(owner)!.push({ topic: topicName, partition });
      }
    }
    for (const [member, assigned] of assignments) member.assign(assigned);
  }
}

let sharedBroker: EmbeddedBroker | undefined;

/** The broker every app of this process talks to unless told otherwise. */
export function defaultEmbeddedBroker(): EmbeddedBroker {
  sharedBroker ??= new EmbeddedBroker();
  return sharedBroker;
}

interface PartitionCursor {
  topic: string;
  partition: number;
  /** Next offset to deliver; resolved lazily so a handoff starts from the previous owner's commit. */
  position: number | undefined;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

class Member implements Subscription {
  readonly groupId: string;
  readonly topics: string[];
  readonly #broker: EmbeddedBroker;
  readonly #options: SubscribeOptions;
  readonly #backoff: RetryBackoff;
  readonly #maxBatchSize: number;
  #cursors = new Map<string, PartitionCursor>();
  readonly #inFlight = new Set<Promise<void>>();
  #paused = false;
  #stopping: Promise<void> | undefined;
  #wakeup: NodeJS.Immediate | undefined;

  readonly #logger: EmbeddedTransportLogger;

  constructor(
    broker: EmbeddedBroker,
    options: SubscribeOptions,
    backoff: RetryBackoff,
    logger: EmbeddedTransportLogger,
  ) {
    this.#broker = broker;
    this.#logger = logger;
    this.#options = options;
    this.#backoff = backoff;
    this.groupId = options.groupId;
    this.topics = [...new Set(options.topics)];
    this.#maxBatchSize = options.maxBatchSize ?? 500;
  }

  assignment(): Array<{ topic: string; partition: number }> {
    return [...this.#cursors.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  assign(assigned: Array<{ topic: string; partition: number }>): void {
    const next = new Map<string, PartitionCursor>();
    for (const { topic, partition } of assigned) {
      const key = tpKey(topic, partition);
      next.set(
        key,
        this.#cursors.get(key) ?? {
          topic,
          partition,
          position: undefined,
          failures: 0,
          retryTimer: undefined,
        },
      );
    }
    for (const [key, cursor] of this.#cursors) if (!next.has(key)) clearTimeout(cursor.retryTimer);
    this.#cursors = next;
    this.wake();
  }

  /**
   * Deferred to a later turn of the event loop so that `eachBatch` never runs inside `send`,
   * `subscribe` or another `eachBatch` (callers may not even hold their Subscription yet).
   */
  wake(): void {
    if (this.#wakeup || this.#stopping) return;
    this.#wakeup = setImmediate(() => {
      this.#wakeup = undefined;
      this.#schedule();
    });
  }

  /** Where a partition starts when first fetched, unless another member still has a batch on it. */
  resolvePositions(): void {
    const group = this.#broker.group(this.groupId);
    for (const [key, cursor] of this.#cursors) {
      if (cursor.position !== undefined || group.busy.has(key)) continue;
      const end = this.#broker.topic(cursor.topic).partitions[cursor.partition]!.length;
      cursor.position = group.committed.get(key) ?? (this.#options.fromBeginning === false ? end : 0);
    }
  }

  /** Starts a batch on every owned partition that is idle group-wide and has records to deliver. */
  #schedule(): void {
    if (this.#paused || this.#stopping) return;
    this.resolvePositions();
    const group = this.#broker.group(this.groupId);
    const ready: Array<{ key: string; cursor: PartitionCursor; batch: Batch }> = [];
    for (const [key, cursor] of this.#cursors) {
      if (group.busy.has(key) || cursor.retryTimer || cursor.position === undefined) continue;
      const log = this.#broker.topic(cursor.topic).partitions[cursor.partition]!;
      if (cursor.position >= log.length) continue;
      const first = cursor.position;
      const messages = log.slice(first, first + this.#maxBatchSize).map(
        (record, i): ConsumedMessage => ({
          topic: cursor.topic,
          partition: cursor.partition,
          offset: String(first + i),
          key: record.key && Buffer.from(record.key),
          value: record.value && Buffer.from(record.value),
          headers: { ...record.headers },
          timestamp: record.timestamp,
        }),
      );
      group.busy.add(key);
      ready.push({ key, cursor, batch: { topic: cursor.topic, partition: cursor.partition, messages } });
    }
    for (const { key, cursor, batch } of ready) {
      const run = this.#deliver(group, key, cursor, batch);
      this.#inFlight.add(run);
      void run.finally(() => this.#inFlight.delete(run));
    }
  }

  async #deliver(group: GroupState, key: string, cursor: PartitionCursor, batch: Batch): Promise<void> {
    const next = Number(batch.messages.at(-1)!.offset) + 1;
    try {
      await this.#options.eachBatch(batch);
      group.committed.set(key, next);
      cursor.position = next;
      cursor.failures = 0;
    } catch (error) {
      // "Not processed": keep the position at the batch start and redeliver after a backoff.
      cursor.failures += 1;
      const delayMs = retryDelayMs(cursor.failures, this.#backoff);
      this.#logger.warn(
        {
          err: error,
          groupId: this.groupId,
          topic: batch.topic,
          partition: batch.partition,
          offset: batch.messages[0]!.offset,
          attempt: cursor.failures,
          delayMs,
        },
        "Batch handler failed; the batch will be delivered again",
      );
      if (!this.#stopping && this.#cursors.get(key) === cursor) {
        cursor.retryTimer = setTimeout(() => {
          cursor.retryTimer = undefined;
          this.wake();
        }, delayMs);
      }
    } finally {
      group.busy.delete(key);
      // Another member may be waiting to take this partition over after a rebalance.
      for (const member of group.members) member.wake();
    }
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.wake();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearImmediate(this.#wakeup);
      for (const cursor of this.#cursors.values()) clearTimeout(cursor.retryTimer);
      await Promise.allSettled([...this.#inFlight]);
      this.#broker.leave(this);
      this.#cursors.clear();
    })();
    return this.#stopping;
  }
}

export interface EmbeddedTransportOptions {
  /** Defaults to the process-wide broker, so every app in the process sees the same topics. */
  broker?: EmbeddedBroker;
  /** Delay before redelivering a batch whose `eachBatch` threw (doubling per failure, capped). */
  retryBackoff?: Partial<RetryBackoff>;
  partitioner?: Partitioner;
  /** Where failed batches are reported (default: JSON lines on stderr). */
  logger?: EmbeddedTransportLogger;
}

function toBuffer(field: string, value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  throw new TypeError(`Message ${field} must be a string, a Buffer or null, got ${typeof value}`);
}

function toHeaders(headers: unknown): Headers {
  if (headers === undefined || headers === null) return {};
  if (typeof headers !== "object") throw new TypeError("Message headers must be an object of strings");
  const copy: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string")
      throw new TypeError(`Header "${name}" must be a string, got ${typeof value}`);
    copy[name] = value;
  }
  return copy;
}

export class EmbeddedTransport implements Transport {
  readonly kind = "embedded" as const;
  readonly #broker: EmbeddedBroker;
  readonly #backoff: RetryBackoff;
  readonly #partitioner: Partitioner;
  readonly #logger: EmbeddedTransportLogger;
  readonly #subscriptions = new Set<Member>();
  #closed = false;

  constructor(options: EmbeddedTransportOptions = {}) {
    this.#broker = options.broker ?? defaultEmbeddedBroker();
    this.#backoff = { ...DEFAULT_RETRY_BACKOFF, ...options.retryBackoff };
    this.#partitioner = options.partitioner ?? createDefaultPartitioner();
    this.#logger = options.logger ?? stderrLogger;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("Embedded transport is closed");
  }

  async createTopics(topics: TopicConfig[]): Promise<void> {
    this.#assertOpen();
    this.#broker.createTopics(topics);
  }

  async listTopics(): Promise<string[]> {
    this.#assertOpen();
    return this.#broker.listTopics();
  }

  async send(topicName: string, messages: OutgoingMessage[]): Promise<void> {
    this.#assertOpen();
    this.#prepare(topicName, messages)();
  }

  /** In one process there is nothing between two appends: validating everything first is atomicity. */
  async sendAtomically(
    batches: Array<{ topic: string; messages: OutgoingMessage[] }>,
    _transactionalId: string,
  ): Promise<void> {
    this.#assertOpen();
    const appends = batches.map(({ topic, messages }) => this.#prepare(topic, messages));
    for (const append of appends) append();
  }

  /** Validates a send completely (topic, types, sizes) and returns the append that performs it. */
  #prepare(topicName: string, messages: OutgoingMessage[]): () => void {
    const topic = this.#broker.topic(topicName);
    const maxBytes = Number(topic.config.configs?.["max.message.bytes"] ?? DEFAULT_MAX_MESSAGE_BYTES);
    const timestamp = String(Date.now());
    // Validate the whole call before appending anything, so a bad message leaves no partial write.
    const records = messages.map((message) => {
      const record: StoredRecord = {
        key: toBuffer("key", message.key),
        value: toBuffer("value", message.value),
        headers: toHeaders(message.headers),
        timestamp,
      };
      const size =
        (record.key?.length ?? 0) +
        (record.value?.length ?? 0) +
        Object.entries(record.headers).reduce(
          (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
          0,
        );
      if (size > maxBytes) {
        throw new Error(
          `Message of ${size} bytes exceeds max.message.bytes (${maxBytes}) of topic ${topicName}`,
        );
      }
      return record;
    });
    return () =>
      this.#broker.append(
        topicName,
        records.map((record) => ({
          partition: this.#partitioner(topicName, record.key, topic.partitions.length),
          record,
        })),
      );
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.#assertOpen();
    if (!options.groupId) throw new Error("subscribe: groupId must not be empty");
    if (options.topics.length === 0) throw new Error("subscribe: topics must not be empty");
    for (const topic of options.topics) this.#broker.topic(topic);
    const member = new Member(this.#broker, options, this.#backoff, this.#logger);
    this.#subscriptions.add(member);
    this.#broker.join(member);
    // With `fromBeginning: false`, records sent once subscribe() has resolved must be delivered.
    member.resolvePositions();
    return {
      groupId: member.groupId,
      pause: () => member.pause(),
      resume: () => member.resume(),
      assignment: () => member.assignment(),
      stop: async () => {
        await member.stop();
        this.#subscriptions.delete(member);
      },
    };
  }

  /** Every record present at the call, per partition in offset order (compacted topics are not compacted). */
  async readAll(topicName: string, _options?: ReadOptions): Promise<ConsumedMessage[]> {
    this.#assertOpen();
    const topic = this.#broker.topic(topicName);
    return topic.partitions.flatMap((log, partition) =>
      log.map((record, offset) => ({
        topic: topicName,
        partition,
        offset: String(offset),
        key: record.key && Buffer.from(record.key),
        value: record.value && Buffer.from(record.value),
        headers: { ...record.headers },
        timestamp: record.timestamp,
      })),
    );
  }

  async endOffsets(topicName: string): Promise<Array<{ partition: number; offset: string }>> {
    this.#assertOpen();
    return this.#broker
      .topic(topicName)
      .partitions.map((log, partition) => ({ partition, offset: String(log.length) }));
  }

  async committedOffsets(
    groupId: string,
    topicName: string,
  ): Promise<Array<{ partition: number; offset: string }>> {
    this.#assertOpen();
    const committed = this.#broker.committed(groupId);
    return this.#broker.topic(topicName).partitions.map((_, partition) => ({
      partition,
      offset: String(committed.get(tpKey(topicName, partition)) ?? -1),
    }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((member) => member.stop()));
    this.#subscriptions.clear();
  }
}

export function createEmbeddedTransport(options?: EmbeddedTransportOptions): EmbeddedTransport {
  return new EmbeddedTransport(options);
}
