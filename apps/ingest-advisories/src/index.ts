import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Readable, Writable } from "node:stream";
import { commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import {
  FormatError,
  IngestPublishError,
  type IngestRecord,
  type IngestSummary,
  InputError,
  publishTo,
  runRecordIngest,
} from "@vigil/ingest";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import {
  type AdvisoryFormat,
  describeRelease,
  nextRelease,
  parseAdvisoryDocument,
  previousRelease,
  type ReleaseWindow,
} from "@vigil/parsers";
import { type AdvisoryV1, advisoryKey, topics } from "@vigil/schema";
import type { Transport } from "@vigil/stream";
import { z } from "zod";

export const STAGE = "ingest-advisories";
/** A KEV catalog is ~1.5 MB and an NVD page of 2 000 CVEs ~10 MB; this bounds a runaway input. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
const FORMATS = ["auto", "kev-json", "kev-csv", "nvd-json", "csaf"] as const;

export const cli = defineCli({
  name: "vigil-ingest-advisories",
  version: "0.1.0",
  summary:
    "reads CISA KEV (JSON, CSV), NVD CVE API 2.0 pages and CSAF 2.0 advisories and publishes vigil.advisories",
  usage: "vigil-ingest-advisories [--file PATH | --dir DIR | < file] [--format F] [options]",
  options: {
    ...commonOptions,
    file: {
      flag: "file",
      short: "f",
      env: "VIGIL_ADVISORIES_FILE",
      type: "string",
      description: "One document to read (a KEV catalog, an NVD page, a CSAF file); - reads stdin",
      schema: z.string().min(1, "a path or -").default("-"),
    },
    dir: {
      flag: "dir",
      env: "VIGIL_ADVISORIES_DIR",
      type: "string",
      description: "A directory of documents (e.g. a CSAF provider mirror): every *.json and *.csv below it",
      schema: z.string().min(1).optional(),
    },
    format: {
      flag: "format",
      env: "VIGIL_ADVISORIES_FORMAT",
      type: "string",
      description: `Input format: ${FORMATS.join(", ")} (auto: recognized by content)`,
      schema: z.enum(FORMATS).default("auto"),
    },
    dryRun: {
      flag: "dry-run",
      env: "VIGIL_DRY_RUN",
      type: "boolean",
      description:
        "Print normalized advisories as JSON lines on stdout and dead letters on stderr; publish nothing, need no Kafka",
      schema: z.boolean().default(false),
    },
    json: {
      flag: "json",
      env: "VIGIL_SUMMARY_JSON",
      type: "boolean",
      description:
        'Print the final summary as JSON ({"summary": ...}) on stdout; with --next-release, the release as JSON',
      schema: z.boolean().default(false),
    },
    nextRelease: {
      flag: "next-release",
      env: "VIGIL_NEXT_RELEASE",
      type: "boolean",
      description:
        "Print Microsoft's next and previous regular release (second Tuesday, 10:00 Pacific) and exit",
      schema: z.boolean().default(false),
    },
    at: {
      flag: "at",
      env: "VIGIL_AT",
      type: "string",
      description: "With --next-release: the instant to count from (RFC 3339; default now)",
      schema: z.iso.datetime({ offset: true, error: "an RFC 3339 date-time" }).optional(),
    },
  },
  epilog: `Writes vigil.advisories (compacted; key <source>/<id>, e.g. cisa-kev/CVE-2021-44228, nvd/CVE-2021-44228,
csaf:msrc.microsoft.com/msrc_CVE-2020-1472) and vigil.dlq (entries that are not valid: the entry's bytes, the
reason naming the path, and <file>#<path> in headers). A file that is not in the format at all stops the run
with an error naming the expected format and what was found.
Examples:
  vigil-ingest-advisories --brokers 127.0.0.1:9092 --file known_exploited_vulnerabilities.json
  vigil-ingest-advisories --brokers 127.0.0.1:9092 --dir /srv/csaf/msrc.microsoft.com --format csaf
  curl -s 'https://services.nvd.nist.gov/rest/json/cves/2.0?cveId=CVE-2021-44228' | vigil-ingest-advisories --dry-run
  vigil-ingest-advisories --next-release --json
Exit codes: 0 the input was fully processed (dead letters included: the summary counts them),
1 publishing failed, 2 invalid configuration, unreadable input, a file in the wrong format, or missing topics.`,
});

export type IngestAdvisoriesCliValues = ParsedCli<typeof cli.definition.options>;
export type IngestAdvisoriesConfig = Pick<
  IngestAdvisoriesCliValues,
  "file" | "dir" | "format" | "dryRun" | "topicPrefix"
>;

export interface IngestAdvisoriesDeps {
  transport?: Transport | undefined;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: IngestAdvisoriesConfig;
  stdin?: Readable;
  out?: Writable;
  errOut?: Writable;
  signal?: AbortSignal;
}

export interface AdvisoriesSummary extends IngestSummary {
  files: number;
  /** Document-level problems that did not stop the run (a KEV catalog's count that does not match). */
  warnings: string[];
}

async function readBounded(stream: Readable, source: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > MAX_FILE_BYTES) throw new InputError(`${source} is larger than ${MAX_FILE_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Checks the input before anything is published, so a typo fails fast and clearly. */
export async function listInputs(config: Pick<IngestAdvisoriesConfig, "file" | "dir">): Promise<string[]> {
  if (config.dir !== undefined) {
    if (config.file !== "-") throw new InputError("give --file or --dir, not both");
    let entries: string[];
    try {
      if (!(await stat(config.dir)).isDirectory())
        throw new InputError(`--dir ${config.dir} is not a directory`);
      entries = await readdir(config.dir, { recursive: true });
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(
        `cannot read --dir ${config.dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    const files: string[] = [];
    for (const entry of entries.sort()) {
      if (!/\.(json|csv)$/i.test(entry)) continue;
      const path = join(config.dir, entry);
      if ((await stat(path)).isFile()) files.push(path);
    }
    if (files.length === 0) throw new InputError(`--dir ${config.dir} holds no *.json or *.csv files`);
    return files;
  }
  if (config.file === "-") return ["-"];
  try {
    const info = await stat(config.file);
    if (info.isDirectory()) throw new InputError(`--file ${config.file} is a directory (use --dir)`);
    if (info.size > MAX_FILE_BYTES)
      throw new InputError(`--file ${config.file} is larger than ${MAX_FILE_BYTES} bytes`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `cannot read --file ${config.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return [config.file];
}

/** Reads every input document and publishes one advisory per entry. */
export async function runIngestAdvisories(deps: IngestAdvisoriesDeps): Promise<AdvisoriesSummary> {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const files = await listInputs(config);
  const warnings: string[] = [];
  const source = config.dir ?? (config.file === "-" ? "stdin" : config.file);
  const format = config.format as AdvisoryFormat | "auto";

  // A single file in the wrong format is an error before anything is published.
  let single: IngestRecord<AdvisoryV1>[] | undefined;
  if (config.dir === undefined) {
    const path = files[0]!;
    const name = path === "-" ? "stdin" : path;
    if (path === "-" && deps.stdin === undefined)
      throw new InputError("--file - reads stdin, but no stdin was given");
    const bytes = path === "-" ? await readBounded(deps.stdin!, "stdin") : await readFile(path);
    const document = parseAdvisoryDocument(bytes, format);
    if (document.status === "wrong-format")
      throw new FormatError(`${name}: expected ${document.expected}; found ${document.found}`);
    for (const warning of document.warnings) warnings.push(`${name}: ${warning}`);
    single = document.entries.map((entry) => ({
      result: entry.result,
      bytes: entry.bytes,
      location: `${name}#${entry.path}`,
    }));
  }

  async function* fromDirectory(): AsyncGenerator<IngestRecord<AdvisoryV1>> {
    for (const path of files) {
      if (deps.signal?.aborted) return;
      const name = relative(config.dir!, path);
      const bytes = await readFile(path);
      const document = parseAdvisoryDocument(bytes, format);
      if (document.status === "wrong-format") {
        // In a directory, one stray file is a dead letter, not the end of the run.
        yield {
          result: {
            status: "invalid",
            kind: "format",
            reason: `expected ${document.expected}; found ${document.found}`,
          },
          bytes,
          location: path,
        };
        continue;
      }
      for (const warning of document.warnings) warnings.push(`${name}: ${warning}`);
      for (const entry of document.entries)
        yield {
          result: entry.result,
          bytes: entry.bytes,
          location: entry.path === "/" ? path : `${path}#${entry.path}`,
        };
    }
  }

  for (const warning of warnings) logger.warn({ warning }, "document warning");
  logger.info({ source, files: files.length, format, dryRun: config.dryRun }, "ingest-advisories reading");
  const summary = await runRecordIngest<AdvisoryV1>({
    transport: deps.transport,
    records: single ?? fromDirectory(),
    encode: publishTo(topics.advisories, advisoryKey),
    topicPrefix: config.topicPrefix,
    stage: STAGE,
    source,
    logger,
    metrics,
    dryRun: config.dryRun,
    ...(deps.out ? { out: deps.out } : {}),
    ...(deps.errOut ? { errOut: deps.errOut } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  return { ...summary, files: files.length, warnings };
}

/** One human line: what was read and what became of it. */
export function describeSummary(summary: AdvisoriesSummary, source: string): string {
  const kinds = Object.entries(summary.deadLetteredByKind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  const parts = [
    `read ${summary.read} entries from ${summary.files} file${summary.files === 1 ? "" : "s"} (${source})`,
    `${summary.published} advisories published`,
    `${summary.deadLettered} dead-lettered${kinds ? ` (${kinds})` : ""}`,
  ];
  if (summary.warnings.length > 0) parts.push(`${summary.warnings.length} document warnings`);
  const end = summary.aborted
    ? `stopped early; entries 1-${summary.lastAckedLine} done`
    : "input fully processed";
  return `${parts.join(", ")}; ${end}`;
}

export interface ReleaseReport {
  now: string;
  next: ReleaseWindow;
  previous: ReleaseWindow;
}

export function releaseReport(now: Date): ReleaseReport {
  return { now: now.toISOString(), next: nextRelease(now), previous: previousRelease(now) };
}

export function describeReleaseReport(report: ReleaseReport): string {
  return `next Microsoft release: ${describeRelease(report.next)}\nprevious: ${describeRelease(report.previous)}\n`;
}

export { FormatError, InputError } from "@vigil/ingest";
export { IngestPublishError };
