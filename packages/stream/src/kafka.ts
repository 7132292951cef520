import { randomUUID } from "node:crypto";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { connect as tlsConnect } from "node:tls";
import type { Headers } from "@vigil/schema";
import {
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type EachBatchPayload,
  type IHeaders,
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  type KafkaMessage,
  type LogEntry,
  logLevel,
  type Mechanism,
  Partitioners,
  type Producer,
  type RetryOptions,
} from "kafkajs";
import { describeSecurity, type KafkaSecurity, type OauthBearerProvider } from "./security.ts";
import type {
  ConsumedMessage,
  OutgoingMessage,
  ReadOptions,
  SubscribeOptions,
  Subscription,
  TopicConfig,
  Transport,
} from "./transport.ts";

/** The subset of a pino logger the transport writes to. */
export interface KafkaTransportLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type KafkaLogLevel = "error" | "warn" | "info" | "debug";

export interface KafkaTransportOptions {
  brokers: string[];
  clientId: string;
  /** TLS and SASL from `kafkaSecurityFromEnv`; its summary (no secrets) is logged at start. */
  security?: KafkaSecurity;
  /** Passed through to kafkajs as is (overrides `security.ssl`). */
  ssl?: KafkaConfig["ssl"];
  /** Passed through to kafkajs as is (overrides `security.sasl`). */
  sasl?: KafkaConfig["sasl"];
  /** Supplies OAUTHBEARER tokens (kafkajs calls it again before a token expires); implies OAUTHBEARER. */
  oauthBearerProvider?: OauthBearerProvider;
  logger?: KafkaTransportLogger;
  /** Lowest kafkajs log level forwarded to `logger` (default warn: kafkajs is chatty at info). */
  logLevel?: KafkaLogLevel;
  /** Retries of kafkajs requests (connections, metadata, commits); the producer always retries. */
  retry?: RetryOptions;
  consumer?: {
    sessionTimeout?: number;
    heartbeatInterval?: number;
    rebalanceTimeout?: number;
    maxWaitTimeInMs?: number;
    /**
     * Bytes fetched per partition and request (kafkajs' default 1 MiB). The broker still returns
     * one whole record batch when it is larger: a small value bounds memory, never stalls.
     */
    maxBytesPerPartition?: number;
  };
  /** Backoff before a batch whose handler threw is delivered again. */
  redelivery?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Upper bound on a `readAll` (default 120 s). */
  readAllTimeoutMs?: number;
  /**
   * Put in front of the consumer groups the transport makes for itself (`readAll`'s throwaway
   * `vigil-read-all-<uuid>`): the deployment's topic prefix, so that one tenant's ACLs on a shared
   * cluster cover its own groups and none of another's. Default none.
   */
  groupPrefix?: string;
  /**
   * A subscription's consumer that kafkajs stopped for good (a crash it will not restart: the group
   * refused, e.g. not authorized). It consumes nothing from then on; without this hook that is only
   * logged, and a long-running service would look alive and ready while it judges nothing.
   */
  onConsumerFailed?: (failure: { groupId: string; error: Error }) => void;
}

export function createKafkaTransport(options: KafkaTransportOptions): Transport {
  return new KafkaTransport(options);
}

const kafkajsLevels: Record<KafkaLogLevel, logLevel> = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

function forwardLogsTo(logger: KafkaTransportLogger, muted: () => boolean) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      // After a KafkaSecurityError was thrown, kafkajs' retry loops still run down in the background.
      if (muted()) return;
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const entry = { kafkajs: namespace, ...extra };
      // kafkajs logs every error response as an error before retrying or rethrowing it, including
      // routine ones ("The group is rebalancing"); what matters reaches the caller or the Runner's log.
      const isResponseError = namespace === "Connection" && message.startsWith("Response ");
      if (level === logLevel.ERROR && !isResponseError) logger.error(entry, message);
      else if (level === logLevel.WARN) logger.warn(entry, message);
      else if (level === logLevel.INFO) logger.info(entry, message);
      else logger.debug(entry, message);
    };
}

/** Used without a logger: warnings and errors as JSON lines on stderr, like the services' pino. */
const stderrLogger: KafkaTransportLogger = {
  debug() {},
  info() {},
  warn: (obj, msg) => writeToStderr("warn", obj, msg),
  error: (obj, msg) => writeToStderr("error", obj, msg),
};

function writeToStderr(level: string, obj: object, msg: string | undefined): void {
  const fields = Object.fromEntries(
    Object.entries(obj).map(([name, value]) => [name, value instanceof Error ? String(value) : value]),
  );
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

/**
 * A connection failure that retrying cannot fix (rejected credentials, an untrusted or mismatched
 * broker certificate): the transport ends connecting with it at once instead of retrying.
 */
export class KafkaSecurityError extends Error {
  override name = "KafkaSecurityError";
  readonly retriable = false;
}

/** OpenSSL's verdicts on a broker certificate that no CA the client trusts has signed. */
const UNTRUSTED_CERTIFICATE = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
]);

/**
 * The TLS errors of `tls.connect` that are configuration, not weather. kafkajs wraps every socket
 * error in a retriable KafkaJSConnectionError, so without this an untrusted certificate means
 * minutes of retries; network errors (refused, reset, timeout) are not classified here.
 */
export function tlsFailure(error: unknown, broker: string): KafkaSecurityError | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return undefined;
  const reason = (error as Error).message;
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    return new KafkaSecurityError(
      `TLS: the certificate of the broker ${broker} is not trusted: ${reason} (${code}); ` +
        "set KAFKA_SSL_CA_FILE to the CA that signed it",
      { cause: error },
    );
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new KafkaSecurityError(
      `TLS: the certificate of the broker ${broker} is not for that address: ${reason}; ` +
        "connect with a name or IP address its certificate lists (subjectAltName)",
      { cause: error },
    );
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    return new KafkaSecurityError(
      `TLS: the certificate of the broker ${broker} is not valid now: ${reason}`,
      {
        cause: error,
      },
    );
  }
  if (/^ERR_SSL_.*ALERT/.test(code)) {
    return new KafkaSecurityError(
      `TLS: the broker ${broker} refused the handshake: ${reason}; if it requires a client certificate, ` +
        "set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE (or KAFKA_SSL_PKCS12_FILE) to one its CA signed",
      { cause: error },
    );
  }
  return undefined;
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current instanceof Error && chain.length < 10; current = current.cause) {
    chain.push(current);
  }
  return chain;
}

function toBuffer(data: string | Buffer | null): Buffer | null {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

function decodeHeaders(headers: IHeaders | undefined): Headers {
  const decoded: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    // A repeated header keeps its last value, as Java's `Headers.lastHeader` reads it.
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) decoded[name] = last.toString();
  }
  return decoded;
}

function toConsumedMessage(topic: string, partition: number, message: KafkaMessage): ConsumedMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: decodeHeaders(message.headers),
    timestamp: message.timestamp,
  };
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

function byPartition<T extends { partition: number }>(a: T, b: T): number {
  return a.partition - b.partition;
}

function isInternalTopic(name: string): boolean {
  return name.startsWith("__");
}

/** Broker answers that mean the idempotent producer's state is broken, not the request. */
const PRODUCER_STATE_ERRORS = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
]);

/** Retries an admin read through leader movements and metadata that lags a topic's creation. */
async function retryRetriable<T>(operation: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await sleep(Math.min(2_000, 100 * 2 ** (attempt - 1)));
    }
  }
}

function errorType(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "type" in error && typeof error.type === "string") {
    return error.type;
  }
  return undefined;
}

function missingTopicError(topic: string): Error {
  return new Error(
    `Kafka topic "${topic}" does not exist and automatic topic creation is disabled on the broker: ` +
      "create it first (run `pnpm topics:apply`, or Transport.createTopics).",
  );
}

export type KafkaClientOptions = Pick<
  KafkaTransportOptions,
  | "brokers"
  | "clientId"
  | "security"
  | "ssl"
  | "sasl"
  | "oauthBearerProvider"
  | "logger"
  | "logLevel"
  | "retry"
>;

/**
 * A kafkajs client configured from the transport options, whose connects fail fast on rejected
 * credentials and untrusted certificates (`failFast`). The transport uses it; so do tools that
 * need kafkajs' own admin (topics:apply).
 */
export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  return new KafkaClient(options);
}

export class KafkaClient {
  readonly kafka: Kafka;
  private readonly sasl: KafkaConfig["sasl"];
  /** Settles (rejects) on the first connection failure that retrying cannot fix. */
  private readonly securityFailure = Promise.withResolvers<never>();
  private securityFailed: KafkaSecurityError | undefined;

  constructor(options: KafkaClientOptions) {
    const logger = options.logger ?? stderrLogger;
    this.securityFailure.promise.catch(() => {});
    const ssl = options.ssl ?? options.security?.ssl;
    this.sasl = saslWithProvider(options.sasl ?? options.security?.sasl, options.oauthBearerProvider);
    const config: KafkaConfig = {
      // Empty after a security failure: kafkajs then refuses to build a seed broker with a
      // non-retriable error, which ends its retry loops (else they run down for ~10 s).
      brokers: () => (this.securityFailed ? [] : options.brokers),
      clientId: options.clientId,
      logLevel: kafkajsLevels[options.logLevel ?? "warn"],
      ...(ssl !== undefined && { ssl }),
      ...(this.sasl !== undefined && { sasl: this.sasl }),
      ...(options.retry !== undefined && { retry: options.retry }),
      socketFactory: this.socketFactory,
      logCreator: forwardLogsTo(logger, () => this.securityFailed !== undefined),
    };
    this.kafka = new Kafka(config);
    const summary = options.security?.summary;
    if (summary) {
      logger.info({ kafkaSecurity: summary }, `Kafka connection security: ${describeSecurity(summary)}`);
      if (summary.verifyServer === false) {
        logger.warn(
          { kafkaSecurity: summary },
          "KAFKA_SSL_INSECURE_SKIP_VERIFY=true: the brokers' certificates are NOT verified; " +
            "anyone on the network path can impersonate them (never use this in production)",
        );
      }
    }
  }

  /** kafkajs' own socket factory, plus: a TLS failure retrying cannot fix ends connecting at once. */
  private readonly socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    // The certificate will not become trusted: no new connections (kafkajs' retries end quickly).
    if (this.securityFailed) throw this.securityFailed;
    const options = typeof ssl === "object" && ssl !== null ? ssl : {};
    const socket: Socket = ssl
      ? tlsConnect({ host, port, ...(isIP(host) === 0 && { servername: host }), ...options }, onConnect)
      : netConnect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    if (ssl) {
      socket.once("error", (error) => {
        const failure = tlsFailure(error, `${host}:${port}`);
        if (failure && !this.securityFailed) {
          this.securityFailed = failure;
          this.securityFailure.reject(failure);
        }
      });
    }
    return socket;
  };

  /**
   * Waits for a kafkajs connect, but ends it with a clear KafkaSecurityError as soon as the
   * credentials or a certificate are refused. kafkajs already gives up on a SASL failure
   * (non-retriable) but words it per mechanism; TLS failures it would retry.
   */
  async failFast<T>(connecting: Promise<T>): Promise<T> {
    try {
      return await Promise.race([connecting, this.securityFailure.promise]);
    } catch (error) {
      throw this.explain(error);
    }
  }

  private explain(error: unknown): unknown {
    for (const cause of causes(error)) {
      if (cause instanceof KafkaSecurityError) return cause;
      if ((cause as Error).name === "KafkaJSSASLAuthenticationError") {
        const sasl = this.sasl;
        const mechanism = sasl?.mechanism.toUpperCase() ?? "SASL";
        const user = sasl && "username" in sasl ? ` for user ${sasl.username}` : "";
        return new KafkaSecurityError(
          `SASL authentication failed${user} (${mechanism}): ${(cause as Error).message}; ` +
            "check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD(_FILE)",
          { cause: error },
        );
      }
      const tls = tlsFailure(cause, String((cause as { broker?: unknown }).broker ?? "?"));
      if (tls) return tls;
    }
    return error;
  }
}

class KafkaTransport implements Transport {
  readonly kind = "kafka" as const;
  private readonly client: KafkaClient;
  private readonly kafka: Kafka;
  private readonly options: KafkaTransportOptions;
  private readonly logger: KafkaTransportLogger;
  private producerConnection: Promise<Producer> | undefined;
  /** One transactional producer per writer (`sendAtomically`'s transactional id). */
  private readonly transactionalProducers = new Map<string, Promise<Producer>>();
  private adminConnection: Promise<Admin> | undefined;
  private readonly knownTopics = new Set<string>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closing: Promise<void> | undefined;

  constructor(options: KafkaTransportOptions) {
    this.options = options;
    this.logger = options.logger ?? stderrLogger;
    this.client = new KafkaClient({ ...options, logger: this.logger });
    this.kafka = this.client.kafka;
  }

  async createTopics(topics: TopicConfig[]): Promise<void> {
    const admin = await this.admin();
    const wanted = new Map(topics.map((topic) => [topic.name, topic]));
    const existing = new Set(await admin.listTopics());
    const missing = [...wanted.values()].filter((topic) => !existing.has(topic.name));
    if (missing.length > 0) {
      const { brokers } = await admin.describeCluster();
      const defaultReplicationFactor = Math.max(1, Math.min(3, brokers.length));
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: topic.replicationFactor ?? defaultReplicationFactor,
            configEntries: Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
      } catch (error) {
        // Another client may have created some of them meanwhile; only a topic still missing is a failure.
        const nowExisting = new Set(await admin.listTopics());
        const stillMissing = missing.filter((topic) => !nowExisting.has(topic.name)).map((t) => t.name);
        if (stillMissing.length > 0) {
          throw new Error(`Could not create Kafka topics ${stillMissing.join(", ")}: ${String(error)}`, {
            cause: error,
          });
        }
      }
    }
    if (missing.length > 0) await this.waitForLeaders(missing.map((topic) => topic.name));
    for (const name of wanted.keys()) this.knownTopics.add(name);
  }

  /**
   * `createTopics({ waitForLeaders })` returns once the controller has elected leaders, which
   * the broker serving a request may not know yet: reads and the first sends would then fail
   * with NOT_LEADER_OR_FOLLOWER. Wait until every partition's leader answers.
   */
  private async waitForLeaders(names: string[], timeoutMs = 15_000): Promise<void> {
    const admin = await this.admin();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        const ready = topics.every((topic) =>
          topic.partitions.every((partition) => partition.partitionErrorCode === 0 && partition.leader >= 0),
        );
        // A leader in the metadata is not yet a leader that serves: KRaft brokers answer
        // NOT_LEADER_OR_FOLLOWER for a moment after. A produce then fails on some partitions,
        // and kafkajs's idempotent producer mis-tracks sequences on that partial failure
        // (OUT_OF_ORDER_SEQUENCE_NUMBER next). ListOffsets reaches every partition's leader.
        if (ready && topics.length === names.length) {
          for (const name of names) await admin.fetchTopicOffsets(name);
          return;
        }
      } catch (error) {
        if ((error as { retriable?: unknown }).retriable !== true) throw error;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Kafka topics ${names.join(", ")} have no leader for every partition after ${timeoutMs} ms`,
        );
      }
      await sleep(100);
    }
  }

  private async resetProducer(broken: Producer): Promise<void> {
    const current = await this.producerConnection?.catch(() => undefined);
    if (current === broken) this.producerConnection = undefined;
    await broken.disconnect().catch(() => {});
  }

  async listTopics(): Promise<string[]> {
    const admin = await this.admin();
    return (await admin.listTopics()).filter((name) => !isInternalTopic(name)).sort();
  }

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // The idempotent producer retries an unknown topic forever, so a missing topic is caught up front.
    await this.requireTopics([topic]);
    const producer = await this.producer();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((message) => ({
          key: toBuffer(message.key),
          value: toBuffer(message.value),
          ...(message.headers !== undefined && { headers: { ...message.headers } }),
        })),
      });
    } catch (error) {
      if (errorType(error) === "UNKNOWN_TOPIC_OR_PARTITION") {
        this.knownTopics.delete(topic);
        throw missingTopicError(topic);
      }
      if (PRODUCER_STATE_ERRORS.has(errorType(error) ?? "")) {
        // kafkajs's idempotent producer can lose track of its sequence numbers after a retried
        // request (seen right after topic creation); every later send to that partition then
        // fails. A new producer gets a new producer id and fresh sequences; the caller retries.
        this.logger.warn({ err: error, topic }, "resetting the idempotent producer after a sequence error");
        await this.resetProducer(producer);
      }
      throw error;
    }
  }

  /** One transaction at a time per transactional id: Kafka refuses concurrent ones (batches of several partitions arrive at once). */
  private readonly atomicQueues = new Map<string, Promise<void>>();

  sendAtomically(
    batches: Array<{ topic: string; messages: OutgoingMessage[] }>,
    transactionalId: string,
  ): Promise<void> {
    const previous = this.atomicQueues.get(transactionalId) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(() => this.sendAtomicallyNow(batches, transactionalId))
      .catch((error: unknown) => {
        throw namedTransactionalId(error, transactionalId);
      });
    const settled = next.catch(() => {});
    this.atomicQueues.set(transactionalId, settled);
    void settled.then(() => {
      if (this.atomicQueues.get(transactionalId) === settled) this.atomicQueues.delete(transactionalId);
    });
    return next;
  }

  private async sendAtomicallyNow(
    batches: Array<{ topic: string; messages: OutgoingMessage[] }>,
    transactionalId: string,
  ): Promise<void> {
    const topicMessages = batches
      .filter(({ messages }) => messages.length > 0)
      .map(({ topic, messages }) => ({
        topic,
        messages: messages.map((message) => ({
          key: toBuffer(message.key),
          value: toBuffer(message.value),
          ...(message.headers !== undefined && { headers: { ...message.headers } }),
        })),
      }));
    const producer = await this.transactionalProducer(transactionalId);
    if (topicMessages.length === 0) {
      // Nothing to write: only take over the transactional id. Beginning a transaction registers
      // this producer (InitProducerId), which fences a crashed predecessor and aborts what it
      // left open, so read-committed readers are no longer held back by it.
      const transaction = await producer.transaction();
      await transaction.abort();
      return;
    }
    await this.requireTopics(topicMessages.map(({ topic }) => topic));
    const transaction = await producer.transaction();
    try {
      await transaction.sendBatch({ topicMessages, acks: -1 });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => {});
      // The producer may be fenced or in an unknown state; the next attempt starts a fresh one,
      // which aborts whatever this one left open.
      this.transactionalProducers.delete(transactionalId);
      await producer.disconnect().catch(() => {});
      throw error;
    }
  }

  private transactionalProducer(transactionalId: string): Promise<Producer> {
    this.assertOpen();
    let connection = this.transactionalProducers.get(transactionalId);
    if (!connection) {
      connection = (async () => {
        const producer = this.kafka.producer({
          transactionalId,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        await this.client.failFast(producer.connect());
        return producer;
      })();
      connection.catch(() => this.transactionalProducers.delete(transactionalId));
      this.transactionalProducers.set(transactionalId, connection);
    }
    return connection;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    await this.requireTopics(options.topics);
    const subscription = new KafkaSubscription(this.kafka.consumer(this.consumerConfig(options.groupId)), {
      ...options,
      logger: this.logger,
      initialDelayMs: this.options.redelivery?.initialDelayMs ?? 250,
      maxDelayMs: this.options.redelivery?.maxDelayMs ?? 5_000,
      onStopped: () => this.subscriptions.delete(subscription),
      onFailed: (error) => this.options.onConsumerFailed?.({ groupId: options.groupId, error }),
    });
    this.subscriptions.add(subscription);
    try {
      await this.client.failFast(subscription.start());
    } catch (error) {
      await subscription.stop();
      throw error;
    }
    return subscription;
  }

  async readAll(topic: string, options: ReadOptions = {}): Promise<ConsumedMessage[]> {
    this.assertOpen();
    await this.requireTopics([topic]);
    const admin = await this.admin();
    const untilEnd = options.untilEnd ?? true;

    // Partition -> offset the read must reach; a partition leaves the map once read up to it.
    const remaining = new Map<number, bigint>();
    const reachedOffsets = new Map<number, bigint>();
    const recordTargets = async () => {
      for (const { partition, high, low } of await retryRetriable(() => admin.fetchTopicOffsets(topic))) {
        const reached = reachedOffsets.get(partition) ?? BigInt(low);
        if (BigInt(high) > reached) remaining.set(partition, BigInt(high));
      }
    };
    await recordTargets();
    if (remaining.size === 0) return [];
    const limits = new Map(remaining);

    const groupId = `${this.options.groupPrefix ?? ""}vigil-read-all-${randomUUID()}`;
    const consumer = this.kafka.consumer(this.consumerConfig(groupId));
    const collected: ConsumedMessage[] = [];
    const { promise: finished, resolve, reject } = Promise.withResolvers<void>();

    const onProgress = async (partition: number, lastOffset: string) => {
      const reached = BigInt(lastOffset) + 1n;
      reachedOffsets.set(partition, reached);
      const target = remaining.get(partition);
      if (target === undefined || reached < target) return;
      remaining.delete(partition);
      if (remaining.size > 0) return;
      if (!untilEnd) {
        await recordTargets();
        for (const [p, target] of remaining) limits.set(p, target);
        if (remaining.size > 0) return;
      }
      resolve();
    };

    // END_BATCH_PROCESS also reports batches kafkajs filtered out entirely (transaction markers).
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
      onProgress(payload.partition, payload.lastOffset).catch(reject),
    );
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) reject(payload.error);
    });
    const timeoutMs = this.options.readAllTimeoutMs ?? 120_000;
    const timer = setTimeout(
      () => reject(new Error(`readAll("${topic}") did not reach the end offsets within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      await this.client.failFast(consumer.connect());
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const limit = limits.get(batch.partition) ?? 0n;
          for (const message of batch.messages) {
            if (BigInt(message.offset) < limit)
              collected.push(toConsumedMessage(topic, batch.partition, message));
          }
        },
      });
      await finished;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch((error: unknown) => {
        this.logger.warn({ err: error, groupId }, "readAll consumer did not disconnect cleanly");
      });
      await admin.deleteGroups([groupId]).catch((error: unknown) => {
        // Left behind it holds nothing (no offsets were committed) but lists forever: worth a warning.
        this.logger.warn({ err: error, groupId }, "could not delete the readAll consumer group");
      });
    }
    return collected.sort((a, b) => byPartition(a, b) || Number(BigInt(a.offset) - BigInt(b.offset)));
  }

  async endOffsets(topic: string): Promise<Array<{ partition: number; offset: string }>> {
    await this.requireTopics([topic]);
    const admin = await this.admin();
    const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
    return offsets.map(({ partition, high }) => ({ partition, offset: high })).sort(byPartition);
  }

  async committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: string }>> {
    await this.requireTopics([topic]);
    const admin = await this.admin();
    const topics = await retryRetriable(() => admin.fetchOffsets({ groupId, topics: [topic] }));
    const partitions = topics.find((entry) => entry.topic === topic)?.partitions ?? [];
    return partitions.map(({ partition, offset }) => ({ partition, offset })).sort(byPartition);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
      const producer = this.producerConnection?.catch(() => undefined);
      const admin = this.adminConnection?.catch(() => undefined);
      const transactional = [...this.transactionalProducers.values()].map((p) => p.catch(() => undefined));
      await Promise.all([
        (await producer)?.disconnect(),
        (await admin)?.disconnect(),
        ...(await Promise.all(transactional)).map((p) => p?.disconnect()),
      ]);
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error("The Kafka transport is closed");
  }

  private consumerConfig(groupId: string): ConsumerConfig {
    const settings = this.options.consumer ?? {};
    return {
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: settings.sessionTimeout ?? 15_000,
      heartbeatInterval: settings.heartbeatInterval ?? 1_500,
      rebalanceTimeout: settings.rebalanceTimeout ?? 30_000,
      maxWaitTimeInMs: settings.maxWaitTimeInMs ?? 250,
      ...(settings.maxBytesPerPartition !== undefined && {
        maxBytesPerPartition: settings.maxBytesPerPartition,
      }),
      ...(this.options.retry !== undefined && { retry: this.options.retry }),
    };
  }

  private async requireTopics(topics: string[]): Promise<void> {
    const unknown = topics.filter((topic) => !this.knownTopics.has(topic));
    if (unknown.length === 0) return;
    const existing = new Set(await (await this.admin()).listTopics());
    for (const topic of unknown) {
      if (!existing.has(topic)) throw missingTopicError(topic);
      this.knownTopics.add(topic);
    }
  }

  private producer(): Promise<Producer> {
    this.assertOpen();
    this.producerConnection ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        // kafkajs keeps idempotent sequence numbers in order only with one request in flight.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java clients' murmur2 partitioning, passed explicitly so kafkajs does not warn about it.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await this.client.failFast(producer.connect());
      return producer;
    })();
    this.producerConnection.catch(() => {
      this.producerConnection = undefined;
    });
    return this.producerConnection;
  }

  private admin(): Promise<Admin> {
    this.assertOpen();
    this.adminConnection ??= (async () => {
      const admin = this.kafka.admin();
      await this.client.failFast(admin.connect());
      return admin;
    })();
    this.adminConnection.catch(() => {
      this.adminConnection = undefined;
    });
    return this.adminConnection;
  }
}

/**
 * kafkajs says "Transactional Id authorization failed" without the id, and answers an id the user
 * may not even describe with "Failed to find group coordinator": the id is what an operator has to
 * grant (Write and Describe on it), so it is named; other errors pass unchanged.
 */
function namedTransactionalId(error: unknown, transactionalId: string): unknown {
  const { type, name, message } = error as { type?: unknown; name?: unknown; message?: unknown };
  const grant = `transactional id ${transactionalId} (grant Write and Describe on it)`;
  if (type === "TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
    return new Error(`${String(message)}: ${grant}`, { cause: error });
  if (name === "KafkaJSGroupCoordinatorNotFound")
    return new Error(
      `${String(message)} for ${grant}: a broker answers so when the user may not describe it`,
      {
        cause: error,
      },
    );
  return error;
}

/**
 * What a consumer's end says, with the likeliest cause where kafkajs names another: a broker
 * answers a group the user may not describe as if it had no coordinator (the authorization error
 * shows only in kafkajs' debug log).
 */
function consumerFailure(error: Error, groupId: string): Error {
  const hint =
    error.name === "KafkaJSGroupCoordinatorNotFound"
      ? "; a broker also answers so when the user may not use the group: check its ACLs (Describe and Read on the group)"
      : "";
  return new Error(`the consumer of group ${groupId} stopped for good: ${error.message}${hint}`, {
    cause: error,
  });
}

/** `oauthBearerProvider` supplies the tokens of an OAUTHBEARER configuration, or is the whole SASL configuration. */
function saslWithProvider(
  sasl: KafkaConfig["sasl"],
  provider: OauthBearerProvider | undefined,
): KafkaConfig["sasl"] {
  if (provider !== undefined && sasl !== undefined && sasl.mechanism !== "oauthbearer") {
    throw new Error(
      `oauthBearerProvider is given, but the SASL mechanism is ${sasl.mechanism}, not OAUTHBEARER`,
    );
  }
  const tokens = provider ?? (sasl && "oauthBearerProvider" in sasl ? sasl.oauthBearerProvider : undefined);
  if (tokens === undefined) return sasl;
  return { mechanism: "oauthbearer", authenticationProvider: oauthBearerAuthenticator(tokens) };
}

/**
 * SASL/OAUTHBEARER (RFC 7628) as kafkajs does it, plus reading the broker's answer: a rejected
 * token is answered with an error document (`{"status":"invalid_token"}`), which kafkajs 2.2.4
 * takes for success; its connections then fail later with "No brokers in the broker pool".
 */
function oauthBearerAuthenticator(tokens: OauthBearerProvider): Mechanism["authenticationProvider"] {
  return ({ saslAuthenticate }) => ({
    authenticate: async () => {
      const { value } = await tokens();
      const message = Buffer.from(`n,,\u0001auth=Bearer ${value}\u0001\u0001`);
      const length = Buffer.alloc(4);
      length.writeInt32BE(message.length);
      const answer = await saslAuthenticate<Buffer>({
        request: { encode: async () => Buffer.concat([length, message]) },
        response: { decode: async (raw: Buffer) => raw, parse: (data: Buffer) => data },
      });
      // The answer is length-prefixed bytes: empty when the token was accepted.
      const body = answer && answer.length > 4 ? answer.subarray(4).toString("utf8") : "";
      if (body !== "") {
        throw new KafkaSecurityError(
          `SASL authentication failed (OAUTHBEARER): the broker rejected the token: ${body}; ` +
            "check the token (KAFKA_SASL_OAUTHBEARER_TOKEN_FILE or the program's oauthBearerProvider)",
        );
      }
    },
  });
}

interface SubscriptionSettings extends SubscribeOptions {
  logger: KafkaTransportLogger;
  initialDelayMs: number;
  maxDelayMs: number;
  onStopped: () => void;
  onFailed: (error: Error) => void;
}

class KafkaSubscription implements Subscription {
  private readonly consumer: Consumer;
  private readonly settings: SubscriptionSettings;
  private readonly maxBatchSize: number;
  private assigned: Array<{ topic: string; partition: number }> = [];
  private paused = false;
  /** Consecutive failures per `topic|partition`, for the redelivery backoff. */
  private readonly failures = new Map<string, number>();
  private stopping: Promise<void> | undefined;

  constructor(consumer: Consumer, settings: SubscriptionSettings) {
    this.consumer = consumer;
    this.settings = settings;
    this.maxBatchSize = Math.max(1, settings.maxBatchSize ?? 500);
  }

  get groupId(): string {
    return this.settings.groupId;
  }

  /** Resolves once the consumer joined its group for the first time. */
  async start(): Promise<void> {
    const { consumer, settings } = this;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = Object.entries(payload.memberAssignment)
        .flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      // A consumer restarted after a crash has a new group state, which forgot the pause.
      if (this.paused) this.consumer.pause(this.topicList());
    });
    // kafkajs resolves a fetch it filtered out entirely (only markers or aborted records) without
    // calling eachBatch; its end-of-batch event is the one place that says the position moved.
    const onSkipped = settings.onSkipped;
    if (onSkipped) {
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize !== 0) return;
        onSkipped({
          topic: payload.topic,
          partition: payload.partition,
          nextOffset: nextOffset(payload.lastOffset),
        });
      });
    }
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      settings.logger.error(
        { err: payload.error, groupId: settings.groupId, restart: payload.restart },
        payload.restart ? "Kafka consumer crashed, restarting" : "Kafka consumer crashed and stopped",
      );
      if (payload.restart) return;
      this.assigned = [];
      settings.onFailed(consumerFailure(payload.error, settings.groupId));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: settings.topics, fromBeginning: settings.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  pause(): void {
    if (this.stopping) return;
    this.paused = true;
    this.consumer.pause(this.topicList());
  }

  resume(): void {
    if (this.stopping) return;
    this.paused = false;
    this.consumer.resume(this.topicList());
  }

  stop(): Promise<void> {
    // kafkajs' disconnect stops fetching, waits for the batch in flight (which commits what it
    // processed) and leaves the group before closing connections.
    this.stopping ??= this.consumer
      .disconnect()
      .catch((error: unknown) => {
        this.settings.logger.warn(
          { err: error, groupId: this.groupId },
          "Kafka consumer did not stop cleanly",
        );
      })
      .finally(() => {
        this.assigned = [];
        this.settings.onStopped();
      });
    return this.stopping;
  }

  assignment(): Array<{ topic: string; partition: number }> {
    return this.assigned.map((entry) => ({ ...entry }));
  }

  private topicList(): Array<{ topic: string }> {
    return this.settings.topics.map((topic) => ({ topic }));
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const messages = batch.messages;
    for (let start = 0; start < messages.length; start += this.maxBatchSize) {
      // Records not handled here were not resolved: the next fetch starts again from them.
      if (!payload.isRunning() || payload.isStale() || this.paused) return;
      const chunk = messages.slice(start, start + this.maxBatchSize);
      const first = chunk[0];
      const last = chunk.at(-1);
      if (first === undefined || last === undefined) return;
      // After the batch's last record, skip what kafkajs filtered out (transaction markers) too.
      const isBatchEnd = start + this.maxBatchSize >= messages.length;
      const commitOffset = nextOffset(isBatchEnd ? batch.lastOffset() : last.offset);
      try {
        await this.settings.eachBatch({
          topic,
          partition,
          messages: chunk.map((message) => toConsumedMessage(topic, partition, message)),
          nextOffset: commitOffset,
        });
      } catch (error) {
        await this.redeliverLater(payload, first.offset, error);
        return;
      }
      this.failures.delete(`${topic}|${partition}`);
      payload.resolveOffset(last.offset);
      // Not `consumer.commitOffsets`: it silently skips once stop() began, and stop() must commit.
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: commitOffset }] }],
      });
      await payload.heartbeat();
    }
  }

  private async redeliverLater(payload: EachBatchPayload, fromOffset: string, error: unknown): Promise<void> {
    const { topic, partition } = payload.batch;
    const key = `${topic}|${partition}`;
    const attempt = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, attempt);
    const delayMs = Math.min(this.settings.maxDelayMs, this.settings.initialDelayMs * 2 ** (attempt - 1));
    this.settings.logger.warn(
      { err: error, groupId: this.groupId, topic, partition, offset: fromOffset, attempt, delayMs },
      "Batch handler failed; the batch will be delivered again",
    );
    this.consumer.seek({ topic, partition, offset: fromOffset });
    // Sleep in short steps: heartbeats keep the partition assigned, and stop() need not wait it out.
    const deadline = Date.now() + delayMs;
    while (payload.isRunning()) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(left, 500));
      await payload.heartbeat();
    }
  }
}
