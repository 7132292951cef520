import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import { CheckpointError, InputError, watchDirectory } from "@vigil/ingest";
import { AssetTable, auditRecord } from "@vigil/inventory";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import {
  ExportMapping,
  type InventoryParse,
  parseAdComputersCsv,
  parseBindZone,
  parseDhcpLeases,
  parseInventoryExport,
  parseLdif,
  parseOsqueryResults,
} from "@vigil/parsers";
import { type AuditV1, HostV1, type InventorySource, Timestamp, topicName, topics } from "@vigil/schema";
import {
  deadLetterMessage,
  deadLetterTopic,
  decodeValue,
  type OutgoingMessage,
  output,
  type Transport,
  withRetry,
} from "@vigil/stream";
import { z } from "zod";

export const STAGE = "ingest-inventory";
export const FORMATS = [
  "osquery",
  "inventory-csv",
  "inventory-json",
  "ad-csv",
  "ldif",
  "bind-zone",
  "dhcp-leases",
] as const;
export type InventoryFormat = (typeof FORMATS)[number];

export const SOURCE_OF_FORMAT: Record<InventoryFormat, InventorySource> = {
  osquery: "osquery",
  "inventory-csv": "inventory",
  "inventory-json": "inventory",
  "ad-csv": "directory",
  ldif: "directory",
  "bind-zone": "dns",
  "dhcp-leases": "dhcp",
};

/** Inputs are read whole (CSV, LDIF, zone files and leases are multi-line records): bounded. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

export const cli = defineCli({
  name: "vigil-ingest-inventory",
  version: "0.1.0",
  summary:
    "reads host inventory (osquery results, management exports, AD, DNS zones, DHCP leases), merges it into one record per asset and publishes vigil.inventory.hosts and vigil.inventory.audits",
  usage: "vigil-ingest-inventory --format FORMAT [--file PATH | --dir PATH | < input] [options]",
  options: {
    ...commonOptions,
    format: {
      flag: "format",
      env: "VIGIL_INVENTORY_FORMAT",
      type: "string",
      description: `Input format: ${FORMATS.join(", ")}`,
      schema: z.enum(FORMATS),
    },
    file: {
      flag: "file",
      short: "f",
      env: "VIGIL_INVENTORY_FILE",
      type: "string",
      description: "File to read; - reads stdin (the default without --dir)",
      schema: z.string().min(1).default("-"),
    },
    dir: {
      flag: "dir",
      env: "VIGIL_INVENTORY_DIR",
      type: "string",
      description:
        "Watched directory: every new file is processed once (one audit each); processed files are remembered in --state",
      schema: z.string().min(1).optional(),
    },
    state: {
      flag: "state",
      env: "VIGIL_INVENTORY_STATE",
      type: "string",
      description: "Where --dir remembers processed files (default <dir>/.vigil-ingest-inventory.json)",
      schema: z.string().min(1).optional(),
    },
    once: {
      flag: "once",
      env: "VIGIL_INVENTORY_ONCE",
      type: "boolean",
      description: "With --dir: process the files there now and exit instead of watching",
      schema: z.boolean().default(false),
    },
    pollSeconds: {
      flag: "poll-seconds",
      env: "VIGIL_INVENTORY_POLL_SECONDS",
      type: "string",
      description:
        "With --dir: seconds between scans; a file is taken once its size and mtime held for one scan",
      schema: z.coerce.number().positive().max(3600).default(10),
    },
    mapping: {
      flag: "mapping",
      env: "VIGIL_INVENTORY_MAPPING",
      type: "string",
      description: "Column mapping (JSON) for inventory-csv / inventory-json: see the README",
      schema: z.string().min(1).optional(),
    },
    origin: {
      flag: "origin",
      env: "VIGIL_ZONE_ORIGIN",
      type: "string",
      description: "bind-zone: the zone's origin when the file has no $ORIGIN",
      schema: z.string().min(1).optional(),
    },
    domain: {
      flag: "domain",
      env: "VIGIL_DHCP_DOMAIN",
      type: "string",
      description: "dhcp-leases: DNS domain of the clients' short host names (e.g. corp.example)",
      schema: z.string().min(1).optional(),
    },
    asOf: {
      flag: "as-of",
      env: "VIGIL_INVENTORY_AS_OF",
      type: "string",
      description: "Time of records that carry none (zone, directory export); default the file's mtime",
      schema: Timestamp.optional(),
    },
    maxFileBytes: {
      flag: "max-file-bytes",
      env: "VIGIL_MAX_FILE_BYTES",
      type: "string",
      description: "Largest input accepted, in bytes (inputs are parsed whole)",
      defaultText: "268435456",
      schema: z.coerce.number().int().min(1024).default(DEFAULT_MAX_FILE_BYTES),
    },
    dryRun: {
      flag: "dry-run",
      env: "VIGIL_DRY_RUN",
      type: "boolean",
      description:
        "Print the merged hosts and the audit as JSON lines on stdout, dead letters on stderr; publish nothing, need no Kafka (the table starts empty)",
      schema: z.boolean().default(false),
    },
    json: {
      flag: "json",
      env: "VIGIL_SUMMARY_JSON",
      type: "boolean",
      description: 'Print the final summary as JSON ({"summary": ...}) on stdout',
      schema: z.boolean().default(false),
    },
  },
  epilog: `Reads vigil.inventory.hosts from the beginning at start (the asset table), so records merge with what
earlier runs published; writes the full state of every asset that changed to vigil.inventory.hosts (key: asset
id), one audit record per run to vigil.inventory.audits (key: source), and records it cannot use to vigil.dlq
(original bytes, reason, kind and <file>:<line> in headers).
Examples:
  vigil-ingest-inventory --format osquery --file /var/log/osquery/osqueryd.results.log
  vigil-ingest-inventory --format ad-csv --file computers.csv --json
  vigil-ingest-inventory --format inventory-csv --mapping examples/inventory/configmgr/hardware.mapping.json --file examples/inventory/configmgr/hardware.csv
  vigil-ingest-inventory --format dhcp-leases --domain corp.example --dir /srv/exports/dhcp
  vigil-ingest-inventory --format bind-zone --file examples/inventory/dns/corp.example.zone --dry-run
Exit codes: 0 the input was fully processed (dead letters included: the summary counts them),
1 publishing failed, 2 invalid configuration, unreadable input or an input in the wrong format.`,
});

export type IngestInventoryConfig = Pick<
  ParsedCli<typeof cli.definition.options>,
  | "format"
  | "file"
  | "dir"
  | "state"
  | "once"
  | "pollSeconds"
  | "mapping"
  | "origin"
  | "domain"
  | "asOf"
  | "maxFileBytes"
  | "dryRun"
  | "topicPrefix"
>;

export interface InventorySummary {
  /** Records read (rows, lines, blocks), over every input. */
  read: number;
  /** Host records published (assets whose state changed). */
  published: number;
  ignored: number;
  deadLettered: number;
  deadLetteredByKind: Record<string, number>;
  /** Distinct assets the inputs reported. */
  hosts: number;
  /** Assets restored from vigil.inventory.hosts at start. */
  restored: number;
  audits: number;
  /** Inputs processed, and inputs refused as a whole (wrong format: in --dir mode they are dead-lettered). */
  files: number;
  filesRefused: number;
}

export interface IngestInventoryDeps {
  transport?: Transport | undefined;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: IngestInventoryConfig;
  stdin?: Readable;
  out?: Writable;
  errOut?: Writable;
  signal?: AbortSignal;
  /** Clock for audits. */
  now?: () => Date;
}

export async function loadMapping(path: string): Promise<ExportMapping> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(
      `cannot read --mapping ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`--mapping ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const result = ExportMapping.safeParse(json);
  if (!result.success)
    throw new InputError(
      `--mapping ${path}: ${result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ")}`,
    );
  return result.data;
}

/** Checks the configuration that the schema alone cannot (combinations, the mapping file). */
export async function checkConfig(config: IngestInventoryConfig): Promise<ExportMapping | undefined> {
  const needsMapping = config.format === "inventory-csv" || config.format === "inventory-json";
  if (needsMapping && config.mapping === undefined)
    throw new InputError(`--format ${config.format} needs --mapping FILE`);
  if (!needsMapping && config.mapping !== undefined)
    throw new InputError(`--mapping only applies to inventory-csv and inventory-json`);
  if (config.dir !== undefined && config.file !== "-") throw new InputError("give --file or --dir, not both");
  if (config.dir !== undefined) {
    const info = await stat(config.dir).catch(() => undefined);
    if (!info?.isDirectory()) throw new InputError(`--dir ${config.dir} is not a readable directory`);
  } else if (config.file !== "-") {
    const info = await stat(config.file).catch((error: NodeJS.ErrnoException) => {
      throw new InputError(`cannot read --file ${config.file}: ${error.code ?? error.message}`);
    });
    if (info.isDirectory())
      throw new InputError(`--file ${config.file} is a directory (use --dir to watch it)`);
  }
  return needsMapping ? loadMapping(config.mapping!) : undefined;
}

export function parseInput(
  format: InventoryFormat,
  bytes: Buffer,
  options: {
    file: string;
    fileTime: string;
    mapping?: ExportMapping | undefined;
    origin?: string | undefined;
    domain?: string | undefined;
  },
): InventoryParse {
  const base = { file: options.file, fileTime: options.fileTime };
  switch (format) {
    case "osquery":
      return parseOsqueryResults(bytes, base);
    case "inventory-csv":
    case "inventory-json":
      return parseInventoryExport(bytes, options.mapping!, format === "inventory-csv" ? "csv" : "json", base);
    case "ad-csv":
      return parseAdComputersCsv(bytes, base);
    case "ldif":
      return parseLdif(bytes, base);
    case "bind-zone":
      return parseBindZone(bytes, { ...base, ...(options.origin ? { origin: options.origin } : {}) });
    case "dhcp-leases":
      return parseDhcpLeases(bytes, { ...base, ...(options.domain ? { domain: options.domain } : {}) });
  }
}

async function readAllBytes(stream: Readable, limit: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new InputError(`${name} is larger than --max-file-bytes ${limit}`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

/** Restores the asset table from the compacted hosts topic (later records of a key win). */
export async function restoreTable(
  transport: Transport,
  prefix: string,
  logger: Logger,
): Promise<{ table: AssetTable; restored: number }> {
  const latest = new Map<string, HostV1>();
  // A freshly created or just-moved partition answers "not the leader" for a moment: retried.
  const messages = await withRetry(() => transport.readAll(topicName(topics.inventoryHosts, prefix)), {
    onRetry: (error, attempt, delayMs) =>
      logger.warn({ err: error, attempt, delayMs }, "restore failed; retrying"),
  });
  for (const message of messages) {
    if (message.value === null) {
      if (message.key) latest.delete(message.key.toString());
      continue;
    }
    try {
      const host = decodeValue(HostV1, message);
      latest.set(host.id, host);
    } catch (error) {
      logger.warn(
        { err: error, partition: message.partition, offset: message.offset },
        "unreadable host record skipped on restore",
      );
    }
  }
  const table = new AssetTable();
  table.load(latest.values());
  return { table, restored: latest.size };
}

interface Input {
  name: string;
  bytes: Buffer;
  fileTime: string;
}

/**
 * One ingest session: restores the table (unless dry run), processes each input as one audit run,
 * and publishes per input: dead letters, then every changed asset's full state, then the audit.
 */
export class InventoryIngest {
  readonly summary: InventorySummary = {
    read: 0,
    published: 0,
    ignored: 0,
    deadLettered: 0,
    deadLetteredByKind: {},
    hosts: 0,
    restored: 0,
    audits: 0,
    files: 0,
    filesRefused: 0,
  };
  #table = new AssetTable();
  readonly #seen = new Set<string>();
  readonly #deps: IngestInventoryDeps;
  readonly #mapping: ExportMapping | undefined;

  constructor(deps: IngestInventoryDeps, mapping: ExportMapping | undefined) {
    this.#deps = deps;
    this.#mapping = mapping;
  }

  get table(): AssetTable {
    return this.#table;
  }

  async start(): Promise<void> {
    const { transport, config, logger } = this.#deps;
    if (config.dryRun) return;
    if (!transport) throw new Error("a transport is needed unless dryRun is set");
    const { table, restored } = await restoreTable(transport, config.topicPrefix, logger);
    this.#table = table;
    this.summary.restored = restored;
    logger.info({ restored }, "asset table restored");
  }

  /** Processes one input; `refuseAsWhole` dead-letters a wrong-format input instead of throwing. */
  async process(input: Input, refuseAsWhole: boolean): Promise<AuditV1 | undefined> {
    const { config, logger, transport } = this.#deps;
    const now = this.#deps.now ?? (() => new Date());
    const prefix = config.topicPrefix;
    const started = now().toISOString();
    const parsed = parseInput(config.format, input.bytes, {
      file: input.name,
      fileTime: config.asOf ?? input.fileTime,
      mapping: this.#mapping,
      origin: config.origin,
      domain: config.domain,
    });
    this.summary.files += 1;
    const deadLetters: OutgoingMessage[] = [];
    const deadLetter = async (kind: string, reason: string, raw: Buffer, location: string) => {
      this.summary.deadLettered += 1;
      this.summary.deadLetteredByKind[kind] = (this.summary.deadLetteredByKind[kind] ?? 0) + 1;
      this.#deps.metrics?.recordDeadLetter(input.name, kind);
      logger.warn({ location, kind, reason }, "dead-lettered");
      if (config.dryRun) {
        if (this.#deps.errOut)
          await write(
            this.#deps.errOut,
            `${JSON.stringify({ dead_letter: { location, kind, reason, bytes: raw.length, preview: raw.subarray(0, 200).toString("utf8") } })}\n`,
          );
        return;
      }
      deadLetters.push(
        deadLetterMessage({
          reason: `${location}: ${reason}`,
          kind,
          stage: STAGE,
          value: raw.subarray(0, 512 * 1024),
          location,
        }),
      );
    };
    if (!parsed.ok) {
      if (!refuseAsWhole) throw new InputError(`${input.name}: ${parsed.error}`);
      this.summary.filesRefused += 1;
      await deadLetter("format", parsed.error, input.bytes, input.name);
      await this.#send(deadLetterTopic(prefix), deadLetters);
      return undefined;
    }
    const hostIds = new Set<string>();
    const changed = new Set<string>();
    let invalidCount = 0;
    for (const record of parsed.records) {
      this.summary.read += 1;
      this.#deps.metrics?.recordIn(input.name);
      if (record.status === "ignored") this.summary.ignored += 1;
      else if (record.status === "invalid") {
        invalidCount += 1;
        await deadLetter(record.kind, record.reason, Buffer.from(record.raw), `${input.name}:${record.line}`);
      } else {
        const result = this.#table.apply(record.observation);
        hostIds.add(result.id);
        this.#seen.add(result.id);
        for (const id of result.changed) changed.add(id);
      }
    }
    const finished = now().toISOString();
    const audit = auditRecord({
      source: SOURCE_OF_FORMAT[config.format],
      format: config.format,
      inputs: [input.name],
      started,
      finished,
      // A dated export describes the estate at that date, whenever it is read.
      time: config.asOf,
      hostIds,
      recordsRead: parsed.records.length,
      recordsInvalid: invalidCount,
    });
    const ceSource = `vigil/${STAGE}`;
    const hosts = [...changed].sort().map((id) => this.#table.get(id)!);
    if (config.dryRun) {
      const out = this.#deps.out!;
      for (const host of hosts) await write(out, `${JSON.stringify(HostV1.parse(host))}\n`);
      await write(out, `${JSON.stringify(audit)}\n`);
    } else {
      if (!transport) throw new Error("a transport is needed unless dryRun is set");
      await this.#send(deadLetterTopic(prefix), deadLetters);
      const hostMessages = hosts.map(
        (host) => output(topics.inventoryHosts, host, { key: host.id, source: ceSource, prefix }).message,
      );
      await this.#send(topicName(topics.inventoryHosts, prefix), hostMessages);
      await this.#send(topicName(topics.inventoryAudits, prefix), [
        output(topics.inventoryAudits, audit, { key: audit.source, source: ceSource, prefix }).message,
      ]);
    }
    this.summary.published += hosts.length;
    this.summary.audits += 1;
    this.summary.hosts = this.#seen.size;
    logger.info(
      {
        input: input.name,
        records: parsed.records.length,
        hosts: hostIds.size,
        changed: hosts.length,
        invalid: invalidCount,
      },
      "inventory input processed",
    );
    return audit;
  }

  async #send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const transport = this.#deps.transport;
    if (!transport || messages.length === 0) return;
    // Batches well under Kafka's 1 MB request limit per partition: a host record can be tens of KB.
    for (let index = 0; index < messages.length; index += 20) {
      const batch = messages.slice(index, index + 20);
      await withRetry(() => transport.send(topic, batch), {
        onRetry: (error, attempt, delayMs) =>
          this.#deps.logger.warn({ err: error, topic, attempt, delayMs }, "send failed; retrying"),
      });
      if (!topic.endsWith(topics.dlq.name)) this.#deps.metrics?.recordOut(topic, batch.length);
    }
  }
}

async function inputFromFile(path: string, limit: number): Promise<Input> {
  const info = await stat(path);
  if (info.size > limit) throw new InputError(`${path} is larger than --max-file-bytes ${limit}`);
  return {
    name: path,
    bytes: await readAllBytes(createReadStream(path), limit, path),
    fileTime: info.mtime.toISOString(),
  };
}

export function statePathFor(config: Pick<IngestInventoryConfig, "dir" | "state">): string {
  return config.state ?? join(config.dir!, ".vigil-ingest-inventory.json");
}

/** Runs the whole ingest: one input (file or stdin), or a watched directory. */
export async function runInventoryIngest(deps: IngestInventoryDeps): Promise<InventorySummary> {
  const { config, logger } = deps;
  const mapping = await checkConfig(config);
  const ingest = new InventoryIngest(deps, mapping);
  await ingest.start();
  if (config.dir === undefined) {
    const input =
      config.file === "-"
        ? {
            name: "stdin",
            bytes: await readAllBytes(deps.stdin ?? process.stdin, config.maxFileBytes, "stdin"),
            fileTime: new Date().toISOString(),
          }
        : await inputFromFile(config.file, config.maxFileBytes);
    await ingest.process(input, false);
    return ingest.summary;
  }
  await mkdir(config.dir, { recursive: true });
  try {
    await watchDirectory({
      dir: config.dir,
      statePath: statePathFor(config),
      once: config.once,
      // A dry run publishes nothing, so it must not mark files as done for the real run.
      persist: !config.dryRun,
      pollMs: config.pollSeconds * 1000,
      ...(deps.signal ? { signal: deps.signal } : {}),
      process: async (file) => {
        try {
          await ingest.process(await inputFromFile(file.path, config.maxFileBytes), true);
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          logger.error({ file: file.path, err: error }, "file skipped");
          ingest.summary.filesRefused += 1;
        }
      },
    });
  } catch (error) {
    if (error instanceof CheckpointError) throw new InputError(`--${error.message}`);
    throw error;
  }
  return ingest.summary;
}

export function describeSummary(summary: InventorySummary): string {
  const kinds = Object.entries(summary.deadLetteredByKind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  return [
    `read ${summary.read} records from ${summary.files} input(s)`,
    `${summary.hosts} hosts reported`,
    `${summary.published} host records published`,
    `${summary.audits} audit(s)`,
    `${summary.ignored} ignored`,
    `${summary.deadLettered} dead-lettered${kinds ? ` (${kinds})` : ""}`,
    ...(summary.filesRefused > 0 ? [`${summary.filesRefused} file(s) refused`] : []),
    `${summary.restored} assets restored at start`,
  ].join(", ");
}

export { InputError } from "@vigil/ingest";
export { PipelineMetrics };
