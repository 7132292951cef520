import { createReadStream } from "node:fs";
import { access, constants, stat } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import {
  IngestPublishError,
  type IngestSummary,
  type ParsedLine,
  publishTo,
  readLines,
  runIngest,
} from "@vigil/ingest";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import { type Cidr, DEFAULT_HOME_NETS, NetworkSet, parseCidr, parseSuricataEve } from "@vigil/parsers";
import { type IdsAlertV1, topics } from "@vigil/schema";
import type { Transport } from "@vigil/stream";
import { z } from "zod";

export const STAGE = "ingest-ids";
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const SIZE = /^(\d+)\s*(k|kb|kib|m|mb|mib)?$/i;

/** `1048576`, `512k`, `1MiB`: binary multiples, as line limits usually are. */
const byteSize = z
  .string()
  .regex(SIZE, "a whole number of bytes, optionally with a k or M suffix")
  .transform((text) => {
    const [, digits, unit] = SIZE.exec(text.trim())!;
    const factor = unit === undefined ? 1 : unit.toLowerCase().startsWith("k") ? 1024 : 1024 * 1024;
    return Number(digits) * factor;
  })
  .pipe(
    z
      .number()
      .int()
      .min(1024, "at least 1024 bytes")
      .max(256 * 1024 * 1024, "at most 256 MiB"),
  );

const homeNets = z
  .array(z.string())
  .optional()
  .transform((values, ctx): Cidr[] => {
    const texts = (values ?? [])
      .flatMap((value) => value.split(","))
      .map((value) => value.trim())
      .filter(Boolean);
    const parsed: Cidr[] = [];
    for (const text of texts.length > 0 ? texts : DEFAULT_HOME_NETS) {
      try {
        parsed.push(parseCidr(text));
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
      }
    }
    return parsed;
  });

export const cli = defineCli({
  name: "vigil-ingest-ids",
  version: "0.1.0",
  summary: "reads Suricata EVE JSON and publishes normalized IDS alerts to vigil.ids.alerts",
  usage: "vigil-ingest-ids [--file PATH | < eve.json] [options]",
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
      description: "Input format: suricata-eve",
      schema: z.enum(["suricata-eve"]).default("suricata-eve"),
    },
    homeNets: {
      flag: "home-net",
      env: "VIGIL_HOME_NETS",
      type: "string",
      multiple: true,
      description:
        "Protected networks as CIDR, repeatable or comma-separated; they decide asset_ip and direction",
      defaultText: DEFAULT_HOME_NETS.join(","),
      schema: homeNets,
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
      schema: byteSize.default(DEFAULT_MAX_LINE_BYTES),
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
  epilog: `Writes vigil.ids.alerts (keyed by asset_ip, the home-net side of the flow) and vigil.dlq (lines that
are not valid EVE records: original bytes, reason, kind and <file>:<line> in headers). Other EVE event types
(flow, dns, http, tls, stats, ...) are counted and skipped.
Examples:
  vigil-ingest-ids --brokers 127.0.0.1:9092 --file examples/suricata/eve.json --home-net 10.20.0.0/16,172.16.10.0/24
  tail -F /var/log/suricata/eve.json | vigil-ingest-ids --brokers 127.0.0.1:9092 --sensor edge-1
  vigil-ingest-ids --dry-run --file examples/suricata/eve.json | jq .severity
Exit codes: 0 the input was fully processed (dead letters included: the summary counts them),
1 publishing failed (the error says the last acknowledged line), 2 invalid configuration, unreadable input
or missing topics.`,
});

export type IngestIdsCliValues = ParsedCli<typeof cli.definition.options>;
export type IngestIdsConfig = Pick<
  IngestIdsCliValues,
  "file" | "format" | "homeNets" | "sensor" | "maxLineBytes" | "dryRun" | "topicPrefix"
>;

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

/** The input cannot be read (missing file, a directory, no permission): a configuration problem. */
export class InputError extends Error {
  override name = "InputError";
}

/** Checks the input before anything is published, so a typo fails fast and clearly. */
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

/** Reads the whole input (until EOF or `signal`) and returns what became of each line. */
export async function runIngestIds(deps: IngestIdsDeps): Promise<IngestSummary> {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const { stream, source } = await openInput(config.file, deps.stdin);
  const home = new NetworkSet(config.homeNets);
  const parseOptions = { homeNets: home, ...(config.sensor !== undefined ? { sensor: config.sensor } : {}) };
  logger.info(
    {
      source,
      format: config.format,
      homeNets: config.homeNets.map((cidr) => `${cidr.address}/${cidr.prefix}`),
      dryRun: config.dryRun,
      maxLineBytes: config.maxLineBytes,
    },
    "ingest-ids reading",
  );
  return runIngest<IdsAlertV1>({
    transport: deps.transport,
    lines: readLines(stream, {
      maxLineBytes: config.maxLineBytes,
      ...(deps.signal ? { signal: deps.signal } : {}),
    }),
    parse: (bytes): ParsedLine<IdsAlertV1> => {
      const result = parseSuricataEve(bytes, parseOptions);
      return result.status === "alert" ? { status: "record", value: result.alert } : result;
    },
    encode: publishTo(topics.idsAlerts, (alert) => alert.asset_ip),
    topicPrefix: config.topicPrefix,
    stage: STAGE,
    source,
    logger,
    metrics,
    dryRun: config.dryRun,
    maxLineBytes: config.maxLineBytes,
    ...(deps.out ? { out: deps.out } : {}),
    ...(deps.errOut ? { errOut: deps.errOut } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
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
    `${summary.published} alerts published`,
    `${summary.ignored} other events ignored`,
    `${summary.deadLettered} dead-lettered${kinds ? ` (${kinds})` : ""}`,
  ];
  const end = summary.aborted
    ? `stopped early; lines 1-${summary.lastAckedLine} done`
    : "input fully processed";
  return `${parts.join(", ")}; ${end}`;
}

export { IngestPublishError };
