import { createReadStream } from "node:fs";
import { access, constants, stat } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import {
  groupLines,
  IngestPublishError,
  type IngestSummary,
  type Line,
  type ParsedLine,
  publishTo,
  type RecordLines,
  readLines,
  runIngest,
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

const SIZE = /^(\d+)\s*(k|kb|kib|m|mb|mib)?$/i;
const byteSize = (min: number, max: number) =>
  z
    .string()
    .regex(SIZE, "a whole number of bytes, optionally with a k or M suffix")
    .transform((text) => {
      const [, digits, unit] = SIZE.exec(text.trim())!;
      const factor = unit === undefined ? 1 : unit.toLowerCase().startsWith("k") ? 1024 : 1024 * 1024;
      return Number(digits) * factor;
    })
    .pipe(z.number().int().min(min, `at least ${min} bytes`).max(max, `at most ${max} bytes`));

export const cli = defineCli({
  name: "vigil-ingest-updates",
  version: "0.1.0",
  summary:
    "reads update-agent and update-server logs (WindowsUpdate.log, WSUS SoftwareDistribution.log, ConfigMgr Wsyncmgr.log, CBS.log) and publishes vigil.updates.agent events",
  usage: "vigil-ingest-updates [--file PATH | < log] [--format FORMAT] [--host NAME] [options]",
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
      schema: byteSize(1024, 256 * 1024 * 1024).default(DEFAULT_MAX_LINE_BYTES),
    },
    maxRecordBytes: {
      flag: "max-record-bytes",
      env: "VIGIL_MAX_RECORD_BYTES",
      type: "string",
      description:
        "Longest multi-line entry (a stack trace with its lines); longer entries are dead-lettered as oversized",
      defaultText: "256k",
      schema: byteSize(1024, 256 * 1024).default(DEFAULT_MAX_RECORD_BYTES),
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
Examples:
  vigil-ingest-updates --brokers 127.0.0.1:9092 --file examples/updates/clients/ws-0101.corp.example/WindowsUpdate.log --host ws-0101.corp.example
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
>;

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

/** The input cannot be read (missing file, a directory, no permission): a configuration problem. */
export class InputError extends Error {
  override name = "InputError";
}

/** The input is not (recognisably) in the format: nothing was published from it. */
export class FormatError extends Error {
  override name = "FormatError";
}

export async function openInput(
  file: string,
  stdin?: Readable,
): Promise<{ stream: Readable; source: string }> {
  if (file === "-") {
    if (!stdin) throw new InputError("--file - reads stdin, but no stdin was given");
    return { stream: stdin, source: "stdin" };
  }
  try {
    await access(file, constants.R_OK);
    if ((await stat(file)).isDirectory()) throw new InputError(`--file ${file} is a directory`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `cannot read --file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return { stream: createReadStream(file, { highWaterMark: 64 * 1024 }), source: file };
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

/** Reads the whole input (until EOF or `signal`) and returns what became of each entry. */
export async function runIngestUpdates(
  deps: IngestUpdatesDeps,
): Promise<IngestSummary & { format: UpdateLogFormat }> {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const { stream, source } = await openInput(config.file, deps.stdin);
  const physical = readLines(stream, {
    maxLineBytes: config.maxLineBytes,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const { head, all } = await peekLines(physical, SNIFF_LINES);
  let format: UpdateLogFormat;
  try {
    format = resolveFormat(
      config.format,
      head.filter((line) => !line.oversized).map((line) => line.bytes.toString("latin1")),
      source,
    );
  } catch (error) {
    stream.destroy();
    throw error;
  }
  logger.info(
    { source, format, requested: config.format, host: config.host, dryRun: config.dryRun },
    "ingest-updates reading",
  );

  const parseRecord = createUpdateLogParser(format, {
    ...(config.host !== undefined ? { host: config.host } : {}),
    ...(config.utcOffset !== undefined ? { utcOffset: config.utcOffset } : {}),
    file: source,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const records = groupLines(all, {
    continues: updateLogContinues(format),
    maxRecordBytes: config.maxRecordBytes,
    // stdin may be a tail: an entry is complete once no continuation line follows for a moment.
    ...(source === "stdin" ? { flushAfterMs: 500 } : {}),
  });
  // runIngest parses each record as soon as it has read it, so the record being parsed is the last one read.
  let current: RecordLines | undefined;
  async function* tracked(): AsyncGenerator<RecordLines> {
    for await (const record of records) {
      current = record;
      yield record;
    }
  }

  const summary = await runIngest<UpdateEventV1>({
    transport: deps.transport,
    lines: tracked(),
    parse: (bytes): ParsedLine<UpdateEventV1> => {
      const result = parseRecord(
        bytes,
        current ? { line: current.lineNumber, lastLine: current.lastLineNumber } : undefined,
      );
      return result;
    },
    encode: publishTo(topics.updatesAgent, (event) => updateEventKey(event)),
    topicPrefix: config.topicPrefix,
    stage: STAGE,
    source,
    logger,
    metrics,
    dryRun: config.dryRun,
    maxLineBytes: config.maxRecordBytes,
    ...(deps.out ? { out: deps.out } : {}),
    ...(deps.errOut ? { errOut: deps.errOut } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  return { ...summary, format };
}

/** One human line: what was read and what became of it. */
export function describeSummary(summary: IngestSummary & { format?: string }, source: string): string {
  const kinds = Object.entries(summary.deadLetteredByKind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  const parts = [
    `read ${summary.read} entries from ${source}${summary.format ? ` (${summary.format})` : ""}`,
    `${summary.published} events published`,
    `${summary.deadLettered} dead-lettered${kinds ? ` (${kinds})` : ""}`,
  ];
  const end = summary.aborted
    ? `stopped early; lines 1-${summary.lastAckedLine} done`
    : "input fully processed";
  return `${parts.join(", ")}; ${end}`;
}

export { IngestPublishError };
