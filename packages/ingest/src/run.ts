import { once } from "node:events";
import type { Writable } from "node:stream";
import { inSpan, type Logger, type PipelineMetrics, SpanKind } from "@vigil/observability";
import type { TopicSpec } from "@vigil/schema";
import {
  deadLetterMessage,
  deadLetterTopic,
  defaultRetryPolicy,
  type Output,
  output,
  type RetryPolicy,
  type Transport,
  withRetry,
} from "@vigil/stream";
import type { z } from "zod";
import type { Line } from "./lines.ts";

/** What a parser makes of one line. */
export type ParsedLine<T> =
  | { status: "record"; value: T }
  /** Well-formed, but not something this ingest publishes (e.g. an EVE `flow` record). */
  | { status: "ignored"; eventType: string }
  | { status: "invalid"; kind: string; reason: string };

/** Turns a normalized record into what is published: topic, key, CloudEvents headers. */
export type Encoder<T> = (value: T, context: { prefix: string; source: string }) => Output;

/** The usual encoder: a registry topic and a key taken from the record. */
export function publishTo<S extends z.ZodType>(
  spec: TopicSpec<S>,
  keyOf: (value: z.input<S>) => string | null,
  /** CloudEvents `ce_time` when the record's `time` is not an RFC 3339 string (OCSF's epoch ms). */
  timeOf?: (value: z.input<S>) => string | undefined,
): Encoder<z.input<S>> {
  return (value, { prefix, source }) => {
    const time = timeOf?.(value);
    return output(spec, value, {
      key: keyOf(value),
      source,
      prefix,
      ...(time !== undefined ? { time } : {}),
    });
  };
}

export interface IngestSummary {
  /** Non-blank lines read. */
  read: number;
  published: number;
  ignored: number;
  deadLettered: number;
  deadLetteredByKind: Record<string, number>;
  /** Every line up to this one is published, ignored or dead-lettered and acknowledged. */
  lastAckedLine: number;
  /** The run ended early on its abort signal. */
  aborted: boolean;
}

export interface IngestOptions<T, L extends Line = Line> {
  /** Not needed for a dry run. */
  transport?: Transport | undefined;
  lines: AsyncIterable<L>;
  /** `line` gives stateful parsers (a Zeek TSV header) the line's number and, for a tail, its file. */
  parse: (bytes: Buffer, line: L) => ParsedLine<T>;
  encode: Encoder<T>;
  topicPrefix?: string;
  /** Names the stage in logs and dead letters, e.g. `ingest-ids`. */
  stage: string;
  /** Where the lines come from (a path or `stdin`): dead letters say `<source>:<line>`. */
  source: string;
  /** CloudEvents `ce_source`; default `vigil/<stage>`. */
  ceSource?: string;
  logger: Logger;
  metrics?: PipelineMetrics | undefined;
  /** Publish nothing: records go to `out` as JSON lines, dead letters to `errOut`. */
  dryRun?: boolean;
  out?: Writable;
  errOut?: Writable;
  /** Records per send (default 500). */
  batchSize?: number;
  /** Bytes per send (default 512 KiB): a partition's share of a send must fit Kafka's 1 MB message limit. */
  maxBatchBytes?: number;
  /** A batch waits at most this long for more records (default 50 ms). */
  lingerMs?: number;
  /** The line limit the reader used, for the oversized reason. */
  maxLineBytes?: number;
  /** Longest dead-letter value (default 512 KiB): longer lines are kept as a prefix, and the reason says so. */
  maxDeadLetterBytes?: number;
  sendRetry?: RetryPolicy;
  /** A progress log line every this many lines (default 10 000) ... */
  progressEveryLines?: number;
  /** ... or this often (default 5 s), whichever comes first. */
  progressIntervalMs?: number;
  signal?: AbortSignal;
  /**
   * Called (and awaited, before the next batch is sent) with the last line of each acknowledged
   * batch: every line up to it is published, ignored or dead-lettered and acknowledged. A file
   * tail saves its checkpoint here. Not called on a dry run. A rejection stops the run like a
   * failed send.
   */
  onAcknowledged?: (lastLine: L) => void | Promise<void>;
  /** Where a line came from, for dead letters and logs (default `<source>:<lineNumber>`; a syslog listener names the peer). */
  locate?: (line: L) => string;
  /**
   * Exactly once for resumable sources: each batch's records and dead letters are written in one
   * Kafka transaction (`Transport.sendAtomically`, one `transactionalId` per source) together with
   * `checkpoint(lastLine)`, the source's position after the batch. A crash leaves either both or
   * neither, so a restart that resumes from the committed checkpoint repeats nothing.
   */
  atomicCheckpoint?: { transactionalId: string; checkpoint: (lastLine: L) => Output };
}

/** Publishing failed for good; `summary.lastAckedLine` says where a rerun can resume. */
export class IngestPublishError extends Error {
  override name = "IngestPublishError";
  readonly summary: IngestSummary;
  constructor(message: string, summary: IngestSummary, cause: unknown) {
    super(message, { cause });
    this.summary = summary;
  }
}

interface Pending<L> {
  outputs: Output[];
  bytes: number;
  /** Lines handled when the batch was cut: acknowledged once it is. */
  upToLine: number;
  /** The last line handled when the batch was cut. */
  lastLine: L | undefined;
  records: number;
}

/**
 * Reads lines, parses each, and publishes records and dead letters in acknowledged batches.
 * Every non-blank line ends up published, ignored (counted) or in the dead-letter topic with its
 * bytes, reason and `<source>:<line>`; a send that fails past its retries throws with the last
 * fully acknowledged line. Nothing is dropped silently.
 */
export async function runIngest<T, L extends Line = Line>(
  options: IngestOptions<T, L>,
): Promise<IngestSummary> {
  const { logger, metrics, stage, source } = options;
  const dryRun = options.dryRun ?? false;
  if (!dryRun && options.transport === undefined)
    throw new Error("runIngest needs a transport unless dryRun is set");
  if (dryRun && options.out === undefined) throw new Error("a dry run needs `out` to write records to");
  const prefix = options.topicPrefix ?? "";
  const ceSource = options.ceSource ?? `vigil/${stage}`;
  const dlqTopic = deadLetterTopic(prefix);
  const batchSize = options.batchSize ?? 500;
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const lingerMs = options.lingerMs ?? 50;
  const maxDeadLetterBytes = options.maxDeadLetterBytes ?? 512 * 1024;
  const policy = options.sendRetry ?? defaultRetryPolicy;
  const progressEvery = options.progressEveryLines ?? 10_000;
  const progressIntervalMs = options.progressIntervalMs ?? 5_000;

  const summary: IngestSummary = {
    read: 0,
    published: 0,
    ignored: 0,
    deadLettered: 0,
    deadLetteredByKind: {},
    lastAckedLine: 0,
    aborted: false,
  };
  let lineNumber = 0;
  let lastLine: L | undefined;
  let previousLineNumber = 0;
  let previousLine: L | undefined;
  let pending: Pending<L> = emptyBatch(0);
  let sending: Promise<void> = Promise.resolve();
  let sendError: IngestPublishError | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  const started = Date.now();
  let lastProgressAt = started;

  function emptyBatch(upToLine: number): Pending<L> {
    return { outputs: [], bytes: 0, upToLine, lastLine, records: 0 };
  }

  function messageBytes(item: Output): number {
    const { key, value, headers } = item.message;
    let size = (key?.length ?? 0) + (value?.length ?? 0);
    for (const [name, text] of Object.entries(headers ?? {})) size += name.length + text.length;
    return size;
  }

  /**
   * Hands the current batch to the (serial) sender; sends stay in line order. `beforeCurrentLine`:
   * the line being handled goes into the next batch (its output did not fit), so this batch only
   * covers the lines before it.
   */
  function cutBatch(beforeCurrentLine = false): Promise<void> {
    if (lingerTimer) clearTimeout(lingerTimer);
    lingerTimer = undefined;
    const batch = pending;
    batch.upToLine = beforeCurrentLine ? previousLineNumber : lineNumber;
    batch.lastLine = beforeCurrentLine ? previousLine : lastLine;
    pending = emptyBatch(batch.upToLine);
    sending = sending.then(() => (sendError ? undefined : sendBatch(batch)));
    return sending;
  }

  async function sendBatch(batch: Pending<L>): Promise<void> {
    // Held back (not ready) from the first failed send until the batch is through (or the run fails).
    let release: (() => void) | undefined;
    try {
      await sendBatchOnce(batch, () => {
        release ??= metrics?.holdBack("send retrying");
      });
    } finally {
      release?.();
    }
  }

  async function sendBatchOnce(batch: Pending<L>, holdBack: () => void): Promise<void> {
    const byTopic = new Map<string, Output["message"][]>();
    for (const item of batch.outputs) {
      const list = byTopic.get(item.topic) ?? [];
      list.push(item.message);
      byTopic.set(item.topic, list);
    }
    const atomic = options.atomicCheckpoint;
    if (atomic !== undefined && batch.lastLine !== undefined) {
      const checkpoint = atomic.checkpoint(batch.lastLine);
      const batches = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      batches.push({ topic: checkpoint.topic, messages: [checkpoint.message] });
      try {
        await withRetry(() => options.transport!.sendAtomically(batches, atomic.transactionalId), {
          policy,
          onRetry: (error, attempt, delayMs) => {
            holdBack();
            metrics?.recordRetry("send");
            logger.warn({ err: error, attempt, delayMs }, "transactional send failed; retrying");
          },
        });
      } catch (error) {
        sendError = new IngestPublishError(
          `publishing a batch with its checkpoint failed after ${policy.attempts} attempts (${(error as Error).message}); ` +
            `lines 1-${summary.lastAckedLine} of ${source} are published and checkpointed`,
          { ...summary, deadLetteredByKind: { ...summary.deadLetteredByKind } },
          error,
        );
        throw sendError;
      }
      for (const [topic, messages] of byTopic)
        if (topic !== dlqTopic) metrics?.recordOut(topic, messages.length);
      byTopic.clear();
    }
    for (const [topic, messages] of byTopic) {
      try {
        await withRetry(() => options.transport!.send(topic, messages), {
          policy,
          onRetry: (error, attempt, delayMs) => {
            holdBack();
            metrics?.recordRetry("send");
            logger.warn({ err: error, topic, attempt, delayMs }, "send failed; retrying");
          },
        });
      } catch (error) {
        sendError = new IngestPublishError(
          `publishing to ${topic} failed after ${policy.attempts} attempts (${(error as Error).message}); ` +
            `lines 1-${summary.lastAckedLine} of ${source} are fully acknowledged, a rerun can resume after line ${summary.lastAckedLine}`,
          { ...summary, deadLetteredByKind: { ...summary.deadLetteredByKind } },
          error,
        );
        throw sendError;
      }
      if (topic === dlqTopic) continue;
      metrics?.recordOut(topic, messages.length);
    }
    summary.published += batch.records;
    summary.lastAckedLine = batch.upToLine;
    if (options.onAcknowledged !== undefined && batch.lastLine !== undefined) {
      try {
        await options.onAcknowledged(batch.lastLine);
      } catch (error) {
        sendError = new IngestPublishError(
          `recording progress after line ${batch.upToLine} of ${source} failed (${(error as Error).message}); ` +
            `lines 1-${summary.lastAckedLine} are published and acknowledged`,
          { ...summary, deadLetteredByKind: { ...summary.deadLetteredByKind } },
          error,
        );
        throw sendError;
      }
    }
  }

  /** A batch is sent at the latest `lingerMs` after its first entry (or, with progress to record, after an ignored line). */
  function armLinger(): void {
    if (lingerTimer !== undefined) return;
    lingerTimer = setTimeout(() => {
      lingerTimer = undefined;
      // Errors surface where the loop awaits `sending`; this branch only starts the send.
      cutBatch().catch(() => {});
    }, lingerMs);
  }

  async function add(item: Output, isRecord: boolean): Promise<void> {
    if (dryRun) return;
    const size = messageBytes(item);
    if (pending.outputs.length > 0 && pending.bytes + size > maxBatchBytes) await cutBatch(true);
    pending.outputs.push(item);
    pending.bytes += size;
    if (isRecord) pending.records += 1;
    if (pending.outputs.length >= batchSize) {
      await cutBatch();
    } else {
      armLinger();
    }
  }

  async function write(stream: Writable, text: string): Promise<void> {
    if (!stream.write(text)) await once(stream, "drain");
  }

  async function deadLetter(line: L, kind: string, reason: string): Promise<void> {
    summary.deadLettered += 1;
    summary.deadLetteredByKind[kind] = (summary.deadLetteredByKind[kind] ?? 0) + 1;
    metrics?.recordDeadLetter(source, kind);
    const location = options.locate?.(line) ?? `${source}:${line.lineNumber}`;
    let value = line.bytes;
    let fullReason = reason;
    if (value.length > maxDeadLetterBytes) {
      value = value.subarray(0, maxDeadLetterBytes);
      fullReason += ` (the value holds the first ${maxDeadLetterBytes} of ${line.length} bytes)`;
    } else if (line.oversized) {
      fullReason += ` (the value holds the first ${value.length} of ${line.length} bytes)`;
    }
    logger.warn({ location, kind, reason: fullReason }, "dead-lettered");
    if (dryRun) {
      if (options.errOut) {
        const preview = value.subarray(0, 200).toString("utf8");
        await write(
          options.errOut,
          `${JSON.stringify({ dead_letter: { location, kind, reason: fullReason, bytes: line.length, preview } })}\n`,
        );
      }
      return;
    }
    // A copy: the line's bytes may be a view into a large read chunk.
    const message = deadLetterMessage({
      reason: fullReason,
      kind,
      stage,
      value: Buffer.from(value),
      location,
    });
    await add({ topic: dlqTopic, message }, false);
  }

  function logProgress(final: boolean): void {
    const elapsedMs = Date.now() - started;
    logger.info(
      {
        source,
        read: summary.read,
        published: summary.published,
        ignored: summary.ignored,
        deadLettered: summary.deadLettered,
        lastAckedLine: summary.lastAckedLine,
        linesPerSecond: elapsedMs > 0 ? Math.round((summary.read * 1000) / elapsedMs) : summary.read,
      },
      final ? `${stage} finished` : `${stage} progress`,
    );
  }

  try {
    for await (const line of options.lines) {
      if (sendError) throw sendError;
      if (options.signal?.aborted) {
        summary.aborted = true;
        break;
      }
      previousLineNumber = lineNumber;
      previousLine = lastLine;
      lineNumber = line.lineNumber;
      lastLine = line;
      summary.read += 1;
      metrics?.recordIn(source);

      if (line.oversized) {
        const limit = options.maxLineBytes !== undefined ? ` of ${options.maxLineBytes} bytes` : "";
        await deadLetter(
          line,
          "oversized",
          `line of ${line.length} bytes exceeds the line size limit${limit}`,
        );
      } else {
        const parsed = options.parse(line.bytes, line);
        if (parsed.status === "ignored") {
          summary.ignored += 1;
          // A follower of a quiet stream of ignored lines still moves its checkpoint on.
          if (!dryRun && options.onAcknowledged !== undefined) armLinger();
        } else if (parsed.status === "invalid") {
          await deadLetter(line, parsed.kind, parsed.reason);
        } else {
          let encoded: Output | undefined;
          try {
            // Each ingested record starts its trace here; the record carries it on in `traceparent`.
            const value = parsed.value;
            encoded = inSpan(
              `${options.stage} publish`,
              {
                kind: SpanKind.PRODUCER,
                attributes: { "vigil.source": `${options.source}:${line.lineNumber}` },
              },
              () => options.encode(value, { prefix, source: ceSource }),
            );
          } catch (error) {
            // A parser bug must not stop the run nor publish a malformed record: park the line.
            await deadLetter(line, "schema", `normalized record refused: ${(error as Error).message}`);
          }
          if (encoded !== undefined) {
            if (dryRun) {
              summary.published += 1;
              await write(options.out!, `${encoded.message.value?.toString() ?? "null"}\n`);
            } else {
              await add(encoded, true);
            }
          }
        }
      }
      if (dryRun) summary.lastAckedLine = line.lineNumber;

      const now = Date.now();
      if (summary.read % progressEvery === 0 || now - lastProgressAt >= progressIntervalMs) {
        lastProgressAt = now;
        logProgress(false);
      }
    }
    // The reader ends quietly on abort: the loop may not have seen the signal itself.
    if (options.signal?.aborted) summary.aborted = true;
    if (!dryRun) {
      if (sendError) throw sendError;
      await cutBatch();
    } else if (!summary.aborted) {
      summary.lastAckedLine = lineNumber;
    }
  } catch (error) {
    if (lingerTimer) clearTimeout(lingerTimer);
    // What was read before a read failure is still published, so the summary can say how far it got.
    if (!dryRun && !sendError) await cutBatch().catch(() => {});
    await sending.catch(() => {});
    if (sendError) throw sendError;
    throw new Error(
      `${stage} stopped reading ${source} after line ${lineNumber} (${(error as Error).message}); ` +
        `lines 1-${summary.lastAckedLine} are fully acknowledged`,
      { cause: error },
    );
  }
  logProgress(true);
  return summary;
}
