import type { Readable, Writable } from "node:stream";
import { byteSizeSchema, commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import {
  atomicCheckpointFor,
  CheckpointError,
  checkpointedTail,
  IngestPublishError,
  type IngestSummary,
  InputError,
  type Line,
  listenUnixSocket,
  loadCommittedPosition,
  openInput,
  type ParsedLine,
  publishTo,
  readLines,
  runIngest,
  type TailLine,
  tailFile,
} from "@vigil/ingest";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import {
  DEFAULT_HOME_NETS,
  homeNetsSchema,
  NetworkSet,
  parseSnortAlertJson,
  parseSuricataEve,
  ZeekNoticeParser,
} from "@vigil/parsers";
import { type IdsAlertV1, type IdsContextV1, idsRecordKey, topics } from "@vigil/schema";
import type { Transport } from "@vigil/stream";
import { z } from "zod";

export const STAGE = "ingest-ids";
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export const cli = defineCli({
  name: "vigil-ingest-ids",
  version: "0.1.0",
  summary:
    "reads Suricata EVE JSON, Snort 3 alert_json or Zeek notice.log and publishes normalized IDS alerts and context events",
  usage:
    "vigil-ingest-ids [--file PATH [--follow --checkpoint PATH] | --unix-socket PATH | < eve.json] [options]",
  options: {
    ...commonOptions,
    file: {
      flag: "file",
      short: "f",
      env: "VIGIL_IDS_FILE",
      type: "string",
      description: "EVE JSON file to read, one record per line; - reads stdin",
      schema: z.string().min(1, "a path or -").default("-"),
    },
    format: {
      flag: "format",
      env: "VIGIL_IDS_FORMAT",
      type: "string",
      description:
        "Input format: suricata-eve, snort-json (Snort 3 alert_json), zeek-notice (notice.log, JSON or TSV), or auto (decided on the first line)",
      schema: z.enum(["auto", "suricata-eve", "snort-json", "zeek-notice"]).default("auto"),
    },
    follow: {
      flag: "follow",
      env: "VIGIL_IDS_FOLLOW",
      type: "boolean",
      description:
        "Keep reading --file as it grows and follow its rotation (rename + create, copytruncate), like tail -F; stop with SIGTERM",
      schema: z.boolean().default(false),
    },
    checkpoint: {
      flag: "checkpoint",
      env: "VIGIL_IDS_CHECKPOINT",
      type: "string",
      description:
        "File keeping the position of the last acknowledged line of --file (written atomically after each acknowledged batch); a restart resumes there",
      schema: z.string().min(1).optional(),
    },
    unixSocket: {
      flag: "unix-socket",
      env: "VIGIL_IDS_UNIX_SOCKET",
      type: "string",
      description:
        "Listen on this unix stream socket for Suricata's EVE output (eve-log filetype: unix_stream) instead of reading --file",
      schema: z.string().min(1).optional(),
    },
    context: {
      flag: "context",
      env: "VIGIL_IDS_CONTEXT",
      type: "boolean",
      description:
        "Publish Suricata flow, http, dns, tls, ssh and fileinfo events to vigil.ids.context (--no-context counts them as ignored)",
      schema: z.boolean().default(true),
    },
    homeNets: {
      flag: "home-net",
      env: "VIGIL_HOME_NETS",
      type: "string",
      multiple: true,
      description:
        "Protected networks as CIDR, repeatable or comma-separated; they decide asset_ip and direction",
      defaultText: DEFAULT_HOME_NETS.join(","),
      schema: homeNetsSchema,
    },
    sensor: {
      flag: "sensor",
      env: "VIGIL_SENSOR",
      type: "string",
      description: "Sensor name for records without EVE's `host` field",
      schema: z.string().min(1).max(256).optional(),
    },
    maxLineBytes: {
      flag: "max-line-bytes",
      env: "VIGIL_MAX_LINE_BYTES",
      type: "string",
      description:
        "Longest line accepted (e.g. 1048576, 512k, 4M); longer lines are dead-lettered as oversized",
      defaultText: "1M",
      schema: byteSizeSchema(1024, 256 * 1024 * 1024).default(DEFAULT_MAX_LINE_BYTES),
    },
    dryRun: {
      flag: "dry-run",
      env: "VIGIL_DRY_RUN",
      type: "boolean",
      description:
        "Print normalized alerts as JSON lines on stdout and dead letters on stderr; publish nothing, need no Kafka",
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
  epilog: `Writes vigil.ids.alerts (alerts and Suricata anomalies as OCSF Detection Findings, keyed by asset_ip, the
home-net side of the flow), vigil.ids.context (Suricata flow, http, dns, tls, ssh, fileinfo events, same key)
and vigil.dlq (lines that are not valid records: original bytes, reason, kind and <source>:<line> in headers).
Other EVE event types (stats, smb, ...) and Zeek TSV header lines are counted as ignored.
With --follow --checkpoint, each batch and its position are one Kafka transaction (vigil.ingest.checkpoints):
a restart, even after SIGKILL, resumes exactly after the last committed line: nothing lost, nothing twice.
Examples:
  vigil-ingest-ids --brokers 127.0.0.1:9092 --file examples/suricata/eve.json --home-net 10.20.0.0/16,172.16.10.0/24
  vigil-ingest-ids --brokers 127.0.0.1:9092 --file /var/log/suricata/eve.json --follow --checkpoint /var/lib/vigil/eve.ckpt
  vigil-ingest-ids --brokers 127.0.0.1:9092 --unix-socket /run/suricata/eve.sock --sensor edge-1
  vigil-ingest-ids --dry-run --format zeek-notice --file examples/ids/zeek-notice.log --sensor zeek-core
  vigil-ingest-ids --dry-run --file examples/suricata/eve.json | jq .severity
Exit codes: 0 the input was fully processed (dead letters included: the summary counts them),
1 publishing failed (the error says the last acknowledged line), 2 invalid configuration, unreadable input
or missing topics.`,
});

export type IngestIdsCliValues = ParsedCli<typeof cli.definition.options>;
export type IngestIdsConfig = Pick<
  IngestIdsCliValues,
  "file" | "format" | "homeNets" | "sensor" | "maxLineBytes" | "dryRun" | "topicPrefix"
> &
  Partial<Pick<IngestIdsCliValues, "follow" | "checkpoint" | "unixSocket" | "context">>;

export type IdsRecord = IdsAlertV1 | IdsContextV1;
export type IdsFormat = IngestIdsConfig["format"];

export interface IngestIdsDeps {
  /** Not needed for a dry run. */
  transport?: Transport | undefined;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: IngestIdsConfig;
  /** What `--file -` reads; the process passes its stdin. */
  stdin?: Readable;
  /** Dry-run records go here (the process passes stdout). */
  out?: Writable;
  /** Dry-run dead letters go here (the process passes stderr). */
  errOut?: Writable;
  /** Stops reading; what was read is still published and the summary returned. */
  signal?: AbortSignal;
}

/** The format of a line, when `--format auto`: cheap checks on the first non-blank line. */
export function detectFormat(bytes: Buffer): Exclude<IdsFormat, "auto"> {
  const text = bytes.subarray(0, 4096).toString("utf8");
  if (text.startsWith("#")) return "zeek-notice";
  if (/"event_type"\s*:/.test(text)) return "suricata-eve";
  if (/"note"\s*:/.test(text) && /"ts"\s*:/.test(text)) return "zeek-notice";
  if (/"(sid|rule|msg|src_ap)"\s*:/.test(text)) return "snort-json";
  return "suricata-eve";
}

/** One parser per run: Zeek TSV keeps its header, `auto` its decision. */
export function createIdsParser(
  config: Pick<IngestIdsConfig, "format" | "homeNets" | "sensor"> & { context?: boolean | undefined },
): (bytes: Buffer, line?: Line) => ParsedLine<IdsRecord> {
  const home = new NetworkSet(config.homeNets);
  const options = { homeNets: home, ...(config.sensor !== undefined ? { sensor: config.sensor } : {}) };
  const zeek = new ZeekNoticeParser(options);
  let format: IdsFormat = config.format;
  let lastFile: string | undefined;
  return (bytes, line) => {
    if (format === "auto") format = detectFormat(bytes);
    switch (format) {
      case "snort-json": {
        const result = parseSnortAlertJson(bytes, options);
        return result.status === "alert" ? { status: "record", value: result.alert } : result;
      }
      case "zeek-notice": {
        // A rotated file starts with its own header.
        const file =
          line !== undefined && "position" in line
            ? `${(line as TailLine).position.dev}:${(line as TailLine).position.ino}`
            : undefined;
        if (file !== lastFile) {
          if (lastFile !== undefined) zeek.reset();
          lastFile = file;
        }
        const result = zeek.parse(bytes);
        return result.status === "alert" ? { status: "record", value: result.alert } : result;
      }
      default: {
        const result = parseSuricataEve(bytes, { ...options, context: config.context ?? true });
        if (result.status === "alert") return { status: "record", value: result.alert };
        if (result.status === "context") return { status: "record", value: result.event };
        return result;
      }
    }
  };
}

const encodeAlert = publishTo(topics.idsAlerts, idsRecordKey, (record) => record.time_dt);
const encodeContext = publishTo(topics.idsContext, idsRecordKey, (record) => record.time_dt);

/** Alerts to vigil.ids.alerts, context events to vigil.ids.context, both keyed by asset. */
export function encodeIdsRecord(record: IdsRecord, context: { prefix: string; source: string }) {
  return record.schema === "vigil.ids.alert/v1"
    ? encodeAlert(record, context)
    : encodeContext(record, context);
}

/**
 * Reads the TSV header of a Zeek file that a checkpoint resumes in the middle of: the rows after
 * the checkpoint need it, and it is not re-read otherwise.
 */
async function primeZeekHeader(
  parse: (bytes: Buffer) => unknown,
  path: string,
  maxLineBytes: number,
): Promise<void> {
  for await (const line of tailFile({ path, maxLineBytes, follow: false })) {
    if (line.bytes[0] !== 0x23) break;
    parse(line.bytes);
  }
}

/** Reads the whole input (until EOF or `signal`; with --follow or --unix-socket until `signal`). */
export async function runIngestIds(deps: IngestIdsDeps): Promise<IngestSummary> {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const parse = createIdsParser(config);
  const common = {
    transport: deps.transport,
    parse,
    encode: encodeIdsRecord,
    topicPrefix: config.topicPrefix,
    stage: STAGE,
    logger,
    metrics,
    dryRun: config.dryRun,
    maxLineBytes: config.maxLineBytes,
    ...(deps.out ? { out: deps.out } : {}),
    ...(deps.errOut ? { errOut: deps.errOut } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  };
  const described = {
    format: config.format,
    homeNets: config.homeNets.map((cidr) => `${cidr.address}/${cidr.prefix}`),
    dryRun: config.dryRun,
    maxLineBytes: config.maxLineBytes,
  };

  if (config.unixSocket !== undefined) {
    const source = `unix:${config.unixSocket}`;
    logger.info({ source, ...described }, "ingest-ids listening");
    return runIngest<IdsRecord>({
      ...common,
      source,
      lines: listenUnixSocket({
        path: config.unixSocket,
        maxLineBytes: config.maxLineBytes,
        ...(deps.signal ? { signal: deps.signal } : {}),
        onEvent: (event) => logger.info(event, `unix socket ${event.kind}`),
      }),
    });
  }

  if (config.follow || config.checkpoint !== undefined) {
    if (config.file === "-") throw new InputError("--follow and --checkpoint need --file PATH, not stdin");
    await openInput(config.file).then(({ stream }) => stream.destroy());
    // With Kafka and a checkpoint, the position is committed in the same transaction as the
    // records it covers: a restart after a crash repeats nothing.
    const committedSource =
      deps.transport !== undefined && !config.dryRun && config.checkpoint !== undefined
        ? {
            transport: deps.transport,
            topicPrefix: config.topicPrefix,
            stage: STAGE,
            path: config.file,
            checkpointPath: config.checkpoint,
          }
        : undefined;
    let tail: Awaited<ReturnType<typeof checkpointedTail>>;
    try {
      tail = await checkpointedTail({
        path: config.file,
        checkpointPath: config.checkpoint,
        committed: committedSource ? await loadCommittedPosition(committedSource) : undefined,
        follow: config.follow ?? false,
        maxLineBytes: config.maxLineBytes,
        dryRun: config.dryRun,
        signal: deps.signal,
        onEvent: (event) => logger.info(event, `tail ${event.kind}`),
      });
    } catch (error) {
      if (error instanceof CheckpointError) throw new InputError(error.message);
      throw error;
    }
    const { start, lines, save } = tail;
    if (
      start !== undefined &&
      start.offset > 0 &&
      config.format !== "snort-json" &&
      config.format !== "suricata-eve"
    )
      await primeZeekHeader(parse, config.file, config.maxLineBytes);
    logger.info(
      {
        source: config.file,
        follow: config.follow ?? false,
        checkpoint: config.checkpoint,
        start,
        ...described,
      },
      "ingest-ids tailing",
    );
    return runIngest<IdsRecord, TailLine>({
      ...common,
      source: config.file,
      lines,
      ...(save !== undefined ? { onAcknowledged: (line: TailLine) => save(line.position) } : {}),
      ...(committedSource ? { atomicCheckpoint: atomicCheckpointFor<TailLine>(committedSource) } : {}),
    });
  }

  const { stream, source } = await openInput(config.file, deps.stdin);
  logger.info({ source, ...described }, "ingest-ids reading");
  return runIngest<IdsRecord>({
    ...common,
    source,
    lines: readLines(stream, {
      maxLineBytes: config.maxLineBytes,
      ...(deps.signal ? { signal: deps.signal } : {}),
    }),
  });
}

export interface RunningIngestIds {
  /** Resolves with the summary when the input ends (or `stop` was called). */
  done: Promise<IngestSummary>;
  /** Stops reading, publishes what was read, resolves when acknowledged. */
  stop(): Promise<void>;
}

/** `runIngestIds` with a handle, for hosts that run several apps and stop them together. */
export function startIngestIds(deps: Omit<IngestIdsDeps, "signal">): RunningIngestIds {
  const controller = new AbortController();
  const done = runIngestIds({ ...deps, signal: controller.signal });
  return {
    done,
    stop: async () => {
      controller.abort();
      await done.catch(() => {});
    },
  };
}

/** One human line: what was read and what became of it. */
export function describeSummary(summary: IngestSummary, source: string): string {
  const kinds = Object.entries(summary.deadLetteredByKind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  const parts = [
    `read ${summary.read} lines from ${source}`,
    `${summary.published} records published`,
    `${summary.ignored} other events ignored`,
    `${summary.deadLettered} dead-lettered${kinds ? ` (${kinds})` : ""}`,
  ];
  const end = summary.aborted
    ? `stopped early; lines 1-${summary.lastAckedLine} done`
    : "input fully processed";
  return `${parts.join(", ")}; ${end}`;
}

export { InputError, openInput } from "@vigil/ingest";
export { IngestPublishError };
