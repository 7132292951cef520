import { stat } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { byteSizeSchema, commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import {
  CheckpointError,
  checkpointedTail,
  FormatError,
  groupLines,
  IngestPublishError,
  type IngestSummary,
  InputError,
  type Line,
  openInput,
  type ParsedLine,
  publishTo,
  type RecordLines,
  readLines,
  runIngest,
  type TailLine,
  tailFile,
  watchDirectory,
} from "@vigil/ingest";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import {
  checkUpdateLogFormat,
  createUpdateLogParser,
  detectUpdateLogFormat,
  parseUtcOffset,
  UPDATE_LOG_EXPECTED,
  UPDATE_LOG_FORMATS,
  type UpdateLogFormat,
  updateLogContinues,
} from "@vigil/parsers";
import { topics, type UpdateEventV1, updateEventKey } from "@vigil/schema";
import type { Transport } from "@vigil/stream";
import { z } from "zod";

export const STAGE = "ingest-updates";
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_RECORD_BYTES = 256 * 1024;
/** Lines looked at to recognise (or check) the format before anything is published. */
export const SNIFF_LINES = 20;

export const cli = defineCli({
  name: "vigil-ingest-updates",
  version: "0.1.0",
  summary:
    "reads update-agent and update-server logs (WindowsUpdate.log, WSUS SoftwareDistribution.log, ConfigMgr Wsyncmgr.log, CBS.log) and publishes vigil.updates.agent events",
  usage:
    "vigil-ingest-updates [--file PATH [--follow --checkpoint PATH] | --dir PATH [--once] | < log] [--format FORMAT] [--host NAME] [options]",
  options: {
    ...commonOptions,
    file: {
      flag: "file",
      short: "f",
      env: "VIGIL_UPDATES_FILE",
      type: "string",
      description: "Log file to read; - reads stdin",
      schema: z.string().min(1, "a path or -").default("-"),
    },
    follow: {
      flag: "follow",
      env: "VIGIL_UPDATES_FOLLOW",
      type: "boolean",
      description:
        "Keep reading --file as the agent appends to it and follow its rotation (rename + create, copytruncate), like tail -F; stop with SIGTERM",
      schema: z.boolean().default(false),
    },
    checkpoint: {
      flag: "checkpoint",
      env: "VIGIL_UPDATES_CHECKPOINT",
      type: "string",
      description:
        "File keeping the position after the last line of the last acknowledged entry of --file (written atomically); a restart resumes there",
      schema: z.string().min(1).optional(),
    },
    dir: {
      flag: "dir",
      env: "VIGIL_UPDATES_DIR",
      type: "string",
      description:
        "Directory of logs, read recursively (*.log and rotated *.log.N; dot-files skipped): every file is processed once, its format detected per file, its host taken from --host or its folder's name",
      schema: z.string().min(1).optional(),
    },
    state: {
      flag: "state",
      env: "VIGIL_UPDATES_STATE",
      type: "string",
      description:
        "Where --dir remembers processed files, written atomically once a file's entries are acknowledged (default <dir>/.vigil-ingest-updates.json)",
      schema: z.string().min(1).optional(),
    },
    once: {
      flag: "once",
      env: "VIGIL_UPDATES_ONCE",
      type: "boolean",
      description: "With --dir: process the files there now and exit instead of polling for new ones",
      schema: z.boolean().default(false),
    },
    pollSeconds: {
      flag: "poll-seconds",
      env: "VIGIL_UPDATES_POLL_SECONDS",
      type: "string",
      description:
        "With --dir: seconds between scans; a file is taken once its size and mtime held for one scan",
      schema: z.coerce.number().positive().max(3600).default(10),
    },
    format: {
      flag: "format",
      env: "VIGIL_UPDATES_FORMAT",
      type: "string",
      description: `Log format: ${UPDATE_LOG_FORMATS.join(", ")}, or auto (recognised from the first ${SNIFF_LINES} lines)`,
      schema: z.enum([...UPDATE_LOG_FORMATS, "auto"]).default("auto"),
    },
    host: {
      flag: "host",
      env: "VIGIL_UPDATES_HOST",
      type: "string",
      description:
        "The machine the log came from (e.g. ws-0101.corp.example); used for every event, as the logs rarely name it",
      schema: z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/, "a host name or address")
        .optional(),
    },
    utcOffset: {
      flag: "utc-offset",
      env: "VIGIL_UPDATES_UTC_OFFSET",
      type: "string",
      description:
        "UTC offset of logs written in local time (+09:00, -0700, Z) when the log does not state it; without it such times are taken as UTC and flagged assumed-utc",
      schema: z
        .string()
        .refine((value) => parseUtcOffset(value) !== undefined, "an offset like +09:00, -0700 or Z")
        .optional(),
    },
    maxLineBytes: {
      flag: "max-line-bytes",
      env: "VIGIL_MAX_LINE_BYTES",
      type: "string",
      description: "Longest physical line accepted (e.g. 1048576, 512k, 4M); longer ones are dead-lettered",
      defaultText: "1M",
      schema: byteSizeSchema(1024, 256 * 1024 * 1024).default(DEFAULT_MAX_LINE_BYTES),
    },
    maxRecordBytes: {
      flag: "max-record-bytes",
      env: "VIGIL_MAX_RECORD_BYTES",
      type: "string",
      description:
        "Longest multi-line entry (a stack trace with its lines); longer entries are dead-lettered as oversized",
      defaultText: "256k",
      schema: byteSizeSchema(1024, 256 * 1024).default(DEFAULT_MAX_RECORD_BYTES),
    },
    dryRun: {
      flag: "dry-run",
      env: "VIGIL_DRY_RUN",
      type: "boolean",
      description:
        "Print normalized events as JSON lines on stdout and dead letters on stderr; publish nothing, need no Kafka",
      schema: z.boolean().default(false),
    },
    json: {
      flag: "json",
      env: "VIGIL_SUMMARY_JSON",
      type: "boolean",
      description: 'Print the final summary as JSON ({"summary": ...}) on stdout instead of a line on stderr',
      schema: z.boolean().default(false),
    },
  },
  epilog: `Writes vigil.updates.agent (keyed by the lower-case host name, else the update server, else the log
name) and vigil.dlq (entries that are not in the format: original bytes, reason, kind and <file>:<first line>).
A multi-line entry (a .NET stack trace, a SOAP fault block) is one event. Known problems carry a signature:
ms-954960-client-syncupdates-0x8024400e, ms-954960-server-duplicate-key, ms-954960-server-unfixed-version,
ms-954960-server-fix-installed, ms-954474-unexpected-deploymentaction, ms-954474-zero-processed-summary.
With --follow --checkpoint, a restart resumes after the last acknowledged entry: nothing lost, nothing twice
(except one batch if the process dies between Kafka's acknowledgement and the checkpoint's rename).
With --dir and no --host, a file's host is its folder's name when that is a dotted host name
(clients/ws-0101.corp.example/WindowsUpdate.log -> ws-0101.corp.example), else the host the log states.
Examples:
  vigil-ingest-updates --brokers 127.0.0.1:9092 --file examples/updates/clients/ws-0101.corp.example/WindowsUpdate.log --host ws-0101.corp.example
  vigil-ingest-updates --brokers 127.0.0.1:9092 --host ws-0101.corp.example --file 'C:/Windows/WindowsUpdate.log' --follow --checkpoint /var/lib/vigil/wu.ckpt
  vigil-ingest-updates --brokers 127.0.0.1:9092 --dir examples/updates --once
  vigil-ingest-updates --dry-run --format wsus --host wsus01.corp.example --file SoftwareDistribution.log | jq .signature
  vigil-ingest-updates --dry-run --json --file CBS.log --utc-offset +09:00
Exit codes: 0 the input was fully processed (dead letters included: the summary counts them),
1 publishing failed (the error says the last acknowledged line), 2 invalid configuration, unreadable input,
an input in another format than --format (or none recognised with auto), or missing topics.`,
});

export type IngestUpdatesCliValues = ParsedCli<typeof cli.definition.options>;
export type IngestUpdatesConfig = Pick<
  IngestUpdatesCliValues,
  "file" | "format" | "host" | "utcOffset" | "maxLineBytes" | "maxRecordBytes" | "dryRun" | "topicPrefix"
> &
  Partial<Pick<IngestUpdatesCliValues, "follow" | "checkpoint" | "dir" | "state" | "once" | "pollSeconds">>;

/** What a run did; with --dir the counts are over every file, `format` is absent and `files` counts them. */
export type UpdatesSummary = IngestSummary & {
  format?: UpdateLogFormat;
  /** --dir: files processed, and files refused as a whole (not an update log). */
  files?: number;
  filesRefused?: number;
};

/** An entry is complete once no continuation line has followed for this long (a tailed log). */
export const FLUSH_AFTER_MS = 500;

export interface IngestUpdatesDeps {
  transport?: Transport | undefined;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: IngestUpdatesConfig;
  stdin?: Readable;
  out?: Writable;
  errOut?: Writable;
  signal?: AbortSignal;
  now?: () => Date;
}

/** Reads the first lines, then hands back an iterator that yields them again followed by the rest. */
async function peekLines(
  lines: AsyncGenerator<Line>,
  count: number,
): Promise<{ head: Line[]; all: AsyncGenerator<Line> }> {
  const head: Line[] = [];
  while (head.length < count) {
    const next = await lines.next();
    if (next.done) break;
    head.push(next.value);
  }
  async function* all(): AsyncGenerator<Line> {
    yield* head;
    yield* lines;
  }
  return { head, all: all() };
}

/** Decides the format from the first lines, or refuses the input naming what it expected and found. */
export function resolveFormat(requested: UpdateLogFormat | "auto", head: readonly string[], source: string) {
  if (requested === "auto") {
    const detected = detectUpdateLogFormat(head);
    if (detected.format === undefined)
      throw new FormatError(
        `${source} is not a recognised update log (expected one of: ${UPDATE_LOG_FORMATS.map((format) => UPDATE_LOG_EXPECTED[format]).join("; ")}); found ${detected.found}`,
      );
    return detected.format;
  }
  const problem = checkUpdateLogFormat(requested, head);
  if (problem !== undefined) throw new FormatError(`${source} is not --format ${requested}: ${problem}`);
  return requested;
}

/** Reads the input (until EOF, or `signal` when following or watching) and returns what became of each entry. */
export async function runIngestUpdates(deps: IngestUpdatesDeps): Promise<UpdatesSummary> {
  const { config } = deps;
  if (config.dir !== undefined) {
    if (config.file !== "-" || config.follow || config.checkpoint !== undefined)
      throw new InputError("--dir reads a directory: give it without --file, --follow or --checkpoint");
    return ingestDirectory(deps, config.dir);
  }
  if (config.follow || config.checkpoint !== undefined) return followFile(deps);
  const { stream, source } = await openInput(config.file, deps.stdin);
  const physical = readLines(stream, {
    maxLineBytes: config.maxLineBytes,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const { head, all } = await peekLines(physical, SNIFF_LINES);
  let format: UpdateLogFormat;
  try {
    format = resolveFormat(config.format, sniffed(head), source);
  } catch (error) {
    stream.destroy();
    throw error;
  }
  // stdin may be a tail: an entry is complete once no continuation line follows for a moment.
  return ingestEntries(deps, {
    lines: all,
    source,
    format,
    host: config.host,
    ...(source === "stdin" ? { flushAfterMs: FLUSH_AFTER_MS } : {}),
  });
}

function sniffed(head: readonly Line[]): string[] {
  return head.filter((line) => !line.oversized).map((line) => line.bytes.toString("latin1"));
}

/** Groups physical lines into entries, parses and publishes them; `onAcknowledged` gets the last acknowledged entry. */
async function ingestEntries<L extends Line>(
  deps: IngestUpdatesDeps,
  input: {
    lines: AsyncIterable<L>;
    source: string;
    format: UpdateLogFormat;
    host: string | undefined;
    flushAfterMs?: number;
    onAcknowledged?: (entry: RecordLines<L>) => Promise<void>;
  },
): Promise<UpdatesSummary & { format: UpdateLogFormat }> {
  const { config, logger } = deps;
  const { source, format, host } = input;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  logger.info(
    { source, format, requested: config.format, host, dryRun: config.dryRun },
    "ingest-updates reading",
  );
  const parseRecord = createUpdateLogParser(format, {
    ...(host !== undefined ? { host } : {}),
    ...(config.utcOffset !== undefined ? { utcOffset: config.utcOffset } : {}),
    file: source,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const records = groupLines(input.lines, {
    continues: updateLogContinues(format),
    maxRecordBytes: config.maxRecordBytes,
    ...(input.flushAfterMs !== undefined ? { flushAfterMs: input.flushAfterMs } : {}),
  });
  const summary = await runIngest<UpdateEventV1, RecordLines<L>>({
    transport: deps.transport,
    lines: records,
    parse: (bytes, record): ParsedLine<UpdateEventV1> =>
      parseRecord(bytes, { line: record.lineNumber, lastLine: record.lastLineNumber }),
    encode: publishTo(topics.updatesAgent, (event) => updateEventKey(event)),
    topicPrefix: config.topicPrefix,
    stage: STAGE,
    source,
    logger,
    metrics,
    dryRun: config.dryRun,
    maxLineBytes: config.maxRecordBytes,
    ...(input.onAcknowledged ? { onAcknowledged: input.onAcknowledged } : {}),
    ...(deps.out ? { out: deps.out } : {}),
    ...(deps.errOut ? { errOut: deps.errOut } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  return { ...summary, format };
}

const emptySummary = (): IngestSummary => ({
  read: 0,
  published: 0,
  ignored: 0,
  deadLettered: 0,
  deadLetteredByKind: {},
  lastAckedLine: 0,
  aborted: false,
});

/** The first lines of the file (from its beginning, whatever the checkpoint), waiting for some when it is empty. */
async function sniffFile(path: string, deps: IngestUpdatesDeps): Promise<string[] | undefined> {
  for (;;) {
    const head: Line[] = [];
    for await (const line of tailFile({ path, maxLineBytes: deps.config.maxLineBytes, follow: false })) {
      head.push(line);
      if (head.length >= SNIFF_LINES) break;
    }
    if (head.length > 0) return sniffed(head);
    if (!deps.config.follow) return [];
    try {
      await sleep(FOLLOW_POLL_MS, undefined, deps.signal ? { signal: deps.signal } : {});
    } catch {
      return undefined;
    }
  }
}

const FOLLOW_POLL_MS = 250;

/**
 * --follow / --checkpoint: tails the file; the checkpoint moves to the end of the last physical line
 * of the last acknowledged entry, so an entry still being written (or not yet acknowledged) is read
 * again, whole, after a restart.
 */
async function followFile(deps: IngestUpdatesDeps): Promise<UpdatesSummary> {
  const { config, logger } = deps;
  if (config.file === "-") throw new InputError("--follow and --checkpoint need --file PATH, not stdin");
  await openInput(config.file).then(({ stream }) => stream.destroy());
  const head = await sniffFile(config.file, deps);
  if (head === undefined) return { ...emptySummary(), aborted: true };
  const format = resolveFormat(config.format, head, config.file);
  let tail: Awaited<ReturnType<typeof checkpointedTail>>;
  try {
    tail = await checkpointedTail({
      path: config.file,
      checkpointPath: config.checkpoint,
      follow: config.follow ?? false,
      maxLineBytes: config.maxLineBytes,
      dryRun: config.dryRun,
      pollIntervalMs: FOLLOW_POLL_MS,
      signal: deps.signal,
      onEvent: (event) => logger.info(event, `tail ${event.kind}`),
    });
  } catch (error) {
    if (error instanceof CheckpointError) throw new InputError(error.message);
    throw error;
  }
  const { lines, save, start } = tail;
  logger.info(
    { source: config.file, follow: config.follow ?? false, checkpoint: config.checkpoint, start },
    "ingest-updates tailing",
  );
  return ingestEntries<TailLine>(deps, {
    lines,
    source: config.file,
    format,
    host: config.host,
    ...(config.follow ? { flushAfterMs: FLUSH_AFTER_MS } : {}),
    ...(save !== undefined
      ? { onAcknowledged: (entry: RecordLines<TailLine>) => save(entry.last.position) }
      : {}),
  });
}

/** A folder name that is a dotted host name (ws-0101.corp.example) or an IPv4 address. */
const HOST_FOLDER =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

/** The host a file in a --dir belongs to, by its folder's name (`clients/ws-0101.corp.example/WindowsUpdate.log`). */
export function hostFromPath(name: string): string | undefined {
  const folder = posix.basename(posix.dirname(name));
  return HOST_FOLDER.test(folder) ? folder.toLowerCase() : undefined;
}

/** Update logs and their rotations: WindowsUpdate.log, CBS.log, WindowsUpdate.log.1. */
export const isUpdateLogName = (name: string) => /\.log(\.\d+)?$/i.test(name);

export function statePathFor(config: Pick<IngestUpdatesConfig, "dir" | "state">): string {
  return config.state ?? join(config.dir!, ".vigil-ingest-updates.json");
}

/** --dir: every log once, its format detected per file; a file that is no update log is logged, counted and skipped. */
async function ingestDirectory(deps: IngestUpdatesDeps, dir: string): Promise<UpdatesSummary> {
  const { config, logger } = deps;
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError(`--dir ${dir} is not a readable directory`);
  const total: UpdatesSummary = { ...emptySummary(), files: 0, filesRefused: 0 };
  try {
    await watchDirectory({
      dir,
      statePath: statePathFor(config),
      // A dry run publishes nothing, so it must not keep a later real run from publishing.
      persist: !config.dryRun,
      recursive: true,
      accept: isUpdateLogName,
      once: config.once ?? false,
      pollMs: (config.pollSeconds ?? 10) * 1000,
      ...(deps.signal ? { signal: deps.signal } : {}),
      process: async (file) => {
        const host = config.host ?? hostFromPath(file.name);
        let summary: UpdatesSummary;
        try {
          summary = await runIngestUpdates({
            ...deps,
            config: {
              ...config,
              dir: undefined,
              file: file.path,
              host,
              follow: false,
              checkpoint: undefined,
            },
          });
        } catch (error) {
          if (!(error instanceof FormatError || error instanceof InputError)) throw error;
          logger.error({ file: file.path, err: error }, "file skipped");
          total.filesRefused! += 1;
          return;
        }
        total.files! += 1;
        total.read += summary.read;
        total.published += summary.published;
        total.ignored += summary.ignored;
        total.deadLettered += summary.deadLettered;
        for (const [kind, count] of Object.entries(summary.deadLetteredByKind))
          total.deadLetteredByKind[kind] = (total.deadLetteredByKind[kind] ?? 0) + count;
        // Stopped half-way: the file is not remembered, a restart reads it again.
        return !summary.aborted;
      },
    });
  } catch (error) {
    if (error instanceof CheckpointError) throw new InputError(`--${error.message}`);
    throw error;
  }
  total.aborted = deps.signal?.aborted ?? false;
  return total;
}

/** One human line: what was read and what became of it. */
export function describeSummary(summary: UpdatesSummary, source: string): string {
  const kinds = Object.entries(summary.deadLetteredByKind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  const parts = [
    `read ${summary.read} entries from ${summary.files !== undefined ? `${summary.files} file(s) in ` : ""}${source}${summary.format ? ` (${summary.format})` : ""}`,
    `${summary.published} events published`,
    `${summary.deadLettered} dead-lettered${kinds ? ` (${kinds})` : ""}`,
    ...(summary.filesRefused ? [`${summary.filesRefused} file(s) refused (not an update log)`] : []),
  ];
  const end =
    summary.files !== undefined
      ? summary.aborted
        ? "stopped early; files not finished are read again next time"
        : "every file processed"
      : summary.aborted
        ? `stopped early; lines 1-${summary.lastAckedLine} done`
        : "input fully processed";
  return `${parts.join(", ")}; ${end}`;
}

export { FormatError, InputError, openInput } from "@vigil/ingest";
export { IngestPublishError };
