import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ConfigError, commonOptions, defineCli, type OptionSpec } from "@vigil/config";
import { createIncidentStore, type IncidentStoreBackend, openEmbeddedStore } from "@vigil/incident-store";
import {
  type IncidentCommandV1,
  IncidentEventV1,
  IncidentStatus,
  IncidentV1,
  severityRank,
  topicName,
  topics,
  Urgency,
  urgencyRank,
  Verdict,
} from "@vigil/schema";
import {
  type ConsumedMessage,
  createKafkaTransport,
  encodeValue,
  type KafkaSecurity,
  KafkaSecurityConfigError,
  kafkaSecurityFromEnv,
  type Transport,
} from "@vigil/stream";
import { z } from "zod";
import { latestIncidents } from "./present.ts";

const VERSION = "0.1.0";
const openStatuses = ["new", "in_progress", "on_hold"] as const;

const statusList = z
  .array(z.string())
  .transform((values) =>
    values
      .flatMap((value) => value.split(","))
      .map((value) => value.trim())
      .filter(Boolean)
      .flatMap((value) => (value === "open" ? [...openStatuses] : [value])),
  )
  .pipe(z.array(IncidentStatus).min(1))
  .optional();
const urgencyList = z
  .array(z.string())
  .transform((values) =>
    values
      .flatMap((value) => value.split(","))
      .map((value) => value.trim())
      .filter(Boolean),
  )
  .pipe(z.array(Urgency).min(1))
  .optional();

const sourceOptions = {
  brokers: commonOptions.brokers,
  topicPrefix: commonOptions.topicPrefix,
  clientId: commonOptions.clientId,
  databaseUrl: {
    flag: "database-url",
    env: "DATABASE_URL",
    type: "string",
    description: "Read the PostgreSQL incident store instead of the topics",
    defaultText: "none",
    schema: z.string().min(1).optional(),
  },
  storeFile: {
    flag: "store-file",
    env: "VIGIL_STORE_FILE",
    type: "string",
    description: "Read the embedded store's JSON-lines file (the sink's --store-file) instead of the topics",
    schema: z.string().min(1).optional(),
  },
} satisfies Record<string, OptionSpec>;

const jsonOption = {
  flag: "json",
  type: "boolean",
  description: "Print JSON lines instead of the readable output",
  schema: z.boolean().default(false),
} satisfies OptionSpec;

const listOptions = {
  ...sourceOptions,
  status: {
    flag: "status",
    type: "string",
    multiple: true,
    description: `Only these statuses (repeat or comma-separate; 'open' is ${openStatuses.join(",")}): ${IncidentStatus.options.join(", ")}`,
    schema: statusList,
  },
  urgency: {
    flag: "urgency",
    type: "string",
    multiple: true,
    description: `Only these urgencies (repeat or comma-separate): ${Urgency.options.join(", ")}`,
    schema: urgencyList,
  },
  asset: {
    flag: "asset",
    type: "string",
    description: "Only this asset id (exact)",
    schema: z.string().min(1).optional(),
  },
  organisation: {
    flag: "organisation",
    type: "string",
    description: "Only incidents owned by this organisation (exact)",
    schema: z.string().min(1).optional(),
  },
  rule: {
    flag: "rule",
    type: "string",
    description: "Only incidents raised by this rule id (exact)",
    schema: z.string().min(1).optional(),
  },
  search: {
    flag: "search",
    type: "string",
    description: "Every word must occur (any case) in the title, the asset or the description",
    schema: z.string().min(1).optional(),
  },
  limit: {
    flag: "limit",
    type: "string",
    description: "How many incidents to print, most urgent first (0: all)",
    schema: z
      .string()
      .regex(/^\d+$/, "a whole number")
      .transform(Number)
      .pipe(z.number().int().min(0).max(1_000_000))
      .default(50),
  },
  json: jsonOption,
} satisfies Record<string, OptionSpec>;

const sources = `Source: the incident store with --database-url / DATABASE_URL or --store-file / VIGIL_STORE_FILE,
else the topics on Kafka (--brokers / KAFKA_BROKERS, --topic-prefix / VIGIL_TOPIC_PREFIX).`;

export const incidentsListCli = defineCli({
  name: "vigil incidents list",
  version: VERSION,
  summary: "lists incidents, most urgent first",
  usage:
    "vigil incidents list [--status S] [--urgency U] [--asset ID] [--organisation O] [--rule ID] [--search TEXT] [--limit N] [--json]",
  options: listOptions,
  epilog: `${sources}
Exit codes: 0 listed (possibly none), 1 the source failed, 2 usage error.`,
});

export const incidentsShowCli = defineCli({
  name: "vigil incidents show",
  version: VERSION,
  summary: "shows one incident: why it was raised, the evidence, the asset, the ladder, the timeline",
  usage: "vigil incidents show ID [--json]",
  options: { ...sourceOptions, json: jsonOption },
  epilog: `${sources}
--json prints one object: { "incident": ..., "events": [...] }.
Exit codes: 0 shown, 1 the source failed, 2 usage error or no such incident.`,
});

export const incidentsTailCli = defineCli({
  name: "vigil incidents tail",
  version: VERSION,
  summary: "follows vigil.incidents and vigil.incident-events live, printing each change as it comes",
  usage: "vigil incidents tail [--json]",
  options: {
    brokers: commonOptions.brokers,
    topicPrefix: commonOptions.topicPrefix,
    clientId: commonOptions.clientId,
    json: jsonOption,
  },
  epilog: `Starts at the end of the topics (only what changes from now on) with a throwaway consumer group;
Ctrl-C (SIGINT) or SIGTERM stops it. --json prints the records as they are (their 'schema' field tells
an incident from an event).
Exit codes: 0 stopped, 1 Kafka failure, 2 usage error.`,
});

const commandOptions = {
  ...sourceOptions,
  actor: {
    flag: "actor",
    env: "USER",
    type: "string",
    description: "Who is acting (the analyst)",
    defaultText: "$USER",
    schema: z.string().trim().min(1).max(200),
  },
  json: {
    flag: "json",
    type: "boolean",
    description: "Print the published command as JSON instead of its id",
    schema: z.boolean().default(false),
  },
} satisfies Record<string, OptionSpec>;

const commandEpilog = `The command goes to vigil.incident-commands (key: the incident id); the incident sink applies it
and the change shows on vigil.incidents and vigil.incident-events. The incident is looked up first in
the store (--database-url / --store-file) or else on vigil.incidents: an unknown id is refused.
Exit codes: 0 published (the command id is printed), 1 Kafka or store failure, 2 usage error or unknown incident.`;

export const incidentsAckCli = defineCli({
  name: "vigil incidents ack",
  version: VERSION,
  summary: "acknowledges an incident (stops its escalation clock)",
  usage: "vigil incidents ack ID [--note TEXT] [--actor NAME]",
  options: {
    ...commandOptions,
    note: {
      flag: "note",
      type: "string",
      description: "A note kept with the acknowledgment",
      schema: z.string().max(2000).optional(),
    },
  },
  epilog: commandEpilog,
});

export const incidentsResolveCli = defineCli({
  name: "vigil incidents resolve",
  version: VERSION,
  summary: "resolves an incident",
  usage: "vigil incidents resolve ID [--reason TEXT] [--verdict V] [--actor NAME]",
  options: {
    ...commandOptions,
    reason: {
      flag: "reason",
      type: "string",
      description: "Why it is resolved (the resolution summary)",
      defaultText: "resolved from the command line",
      schema: z.string().trim().min(1).max(2000).default("resolved from the command line"),
    },
    verdict: {
      flag: "verdict",
      type: "string",
      description: `The analyst's verdict: ${Verdict.options.join(", ")}`,
      schema: Verdict.optional(),
    },
  },
  epilog: commandEpilog,
});

const overview = `vigil incidents ${VERSION}: the incidents, from the terminal

Usage: vigil incidents <command> [options]

Commands:
  list               list incidents, most urgent first (filters: status, urgency, asset, organisation, rule, search)
  show ID            one incident: why it was raised, evidence, asset, CVEs, ladder, SLA, timeline
  tail               follow incidents and their changes live
  ack ID             acknowledge an incident (publishes a command)
  resolve ID         resolve an incident (publishes a command)

Run 'vigil incidents <command> --help' for its options.
${sources}
`;

export interface IncidentsIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Where KAFKA_BROKERS, DATABASE_URL, USER, ... come from (default: the process's). */
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** Stops `tail`; without it SIGINT and SIGTERM do. */
  signal?: AbortSignal;
}

class UsageError extends Error {}
class HelpShown extends Error {}

type ParseIo = { out: (text: string) => void; exit: (code: number) => never };

function parseWith<R>(
  cli: { parse: (argv: readonly string[], env: NodeJS.ProcessEnv, io: ParseIo) => R },
  argv: string[],
  io: IncidentsIo,
): R {
  const parseIo: ParseIo = {
    out: (text) => {
      io.stdout.write(text);
    },
    exit: () => {
      throw new HelpShown();
    },
  };
  try {
    return cli.parse(argv, io.env ?? process.env, parseIo);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** `vigil incidents tail|list|show|ack|resolve`: the SOC's incidents without a raw topic. */
export async function incidentsCommand(argv: string[], io: IncidentsIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === "--help" || action === "-h") {
    io.stdout.write(overview);
    return action === undefined ? 2 : 0;
  }
  try {
    switch (action) {
      case "list":
        return await listAction(rest, io);
      case "show":
        return await showAction(rest, io);
      case "tail":
        return await tailAction(rest, io);
      case "ack":
      case "resolve":
        return await commandAction(action, rest, io);
      default:
        throw new UsageError(
          `unknown command '${printable(action)}' (expected tail, list, show, ack or resolve)`,
        );
    }
  } catch (error) {
    if (error instanceof HelpShown) return 0;
    if (error instanceof UsageError) {
      io.stderr.write(`vigil incidents: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`vigil incidents ${action}: ${printable((error as Error).message ?? String(error))}\n`);
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Sources

interface SourceValues {
  brokers?: string[] | undefined;
  topicPrefix: string;
  clientId?: string | undefined;
  databaseUrl?: string | undefined;
  storeFile?: string | undefined;
}

interface Reader {
  /** Every incident passing the filter, in queue order, at most `limit` (0: all). */
  list(filter: Filter, limit: number): Promise<{ incidents: IncidentV1[]; more: boolean }>;
  get(id: string): Promise<IncidentV1 | undefined>;
  events(id: string): Promise<IncidentEventV1[]>;
  close(): Promise<void>;
}

interface Filter {
  status?: IncidentStatus[] | undefined;
  urgency?: Urgency[] | undefined;
  asset?: string | undefined;
  organisation?: string | undefined;
  rule?: string | undefined;
  search?: string | undefined;
}

function hasStore(values: SourceValues): boolean {
  return values.databaseUrl !== undefined || values.storeFile !== undefined;
}

function requireBrokers(values: SourceValues, what: string): string[] {
  if (!values.brokers) {
    throw new UsageError(`${what}: no Kafka brokers: set --brokers or KAFKA_BROKERS`);
  }
  return values.brokers;
}

function kafka(values: SourceValues, io: IncidentsIo): Transport {
  let security: KafkaSecurity;
  try {
    security = kafkaSecurityFromEnv(io.env ?? process.env);
  } catch (error) {
    // An invalid TLS / SASL setting is a configuration error (exit 2).
    if (error instanceof KafkaSecurityConfigError) throw new UsageError(error.message);
    throw error;
  }
  return createKafkaTransport({
    brokers: values.brokers ?? [],
    clientId: values.clientId ?? "vigil-cli",
    security,
  });
}

async function openReader(values: SourceValues, what: string, io: IncidentsIo): Promise<Reader> {
  if (values.databaseUrl !== undefined)
    return storeReader(await createIncidentStore({ databaseUrl: values.databaseUrl }));
  if (values.storeFile !== undefined) return storeReader(await loadStoreFile(values.storeFile));
  requireBrokers(values, `${what} (or give --database-url / --store-file)`);
  return topicReader(kafka(values, io), values.topicPrefix);
}

/**
 * The embedded store's file, read into memory. Opening it with the store itself would compact
 * and replace the file, pulling it from under a sink that is appending to it.
 */
async function loadStoreFile(file: string): Promise<IncidentStoreBackend> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`--store-file: cannot read ${file}: ${(error as Error).message}`);
  }
  const store = await openEmbeddedStore();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const entry = JSON.parse(line) as { kind?: unknown; incident?: IncidentV1; event?: IncidentEventV1 };
      if (entry.kind === "incident" && entry.incident) await store.upsert(entry.incident);
      else if (entry.kind === "event" && entry.event) await store.appendEvents([entry.event]);
    } catch {
      // A torn last line (the writer crashed mid-write) or a record this version cannot read.
    }
  }
  return store;
}

function storeReader(store: IncidentStoreBackend): Reader {
  return {
    async list(filter, limit) {
      const incidents: IncidentV1[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.list({
          ...(filter.status ? { status: filter.status } : {}),
          ...(filter.urgency ? { urgency: filter.urgency } : {}),
          ...(filter.asset !== undefined ? { asset: filter.asset } : {}),
          ...(filter.organisation !== undefined ? { organisation: filter.organisation } : {}),
          ...(filter.search !== undefined ? { text: filter.search } : {}),
          limit: 500,
          ...(cursor !== undefined ? { cursor } : {}),
        });
        // The store does not index the rule: filter it here.
        for (const incident of page.incidents) {
          if (filter.rule !== undefined && incident.rule_id !== filter.rule) continue;
          if (limit > 0 && incidents.length === limit) return { incidents, more: true };
          incidents.push(incident);
        }
        if (page.nextCursor === undefined) return { incidents, more: false };
        cursor = page.nextCursor;
      }
    },
    get: (id) => store.get(id),
    events: (id) => store.events(id),
    close: () => store.close(),
  };
}

function topicReader(transport: Transport, prefix: string): Reader {
  let cached: Promise<IncidentV1[]> | undefined;
  const all = () => {
    cached ??= transport.readAll(topicName(topics.incidents, prefix)).then(compactIncidents);
    return cached;
  };
  return {
    async list(filter, limit) {
      const matching = (await all()).filter(matches(filter)).sort(queueOrder);
      if (limit > 0 && matching.length > limit) return { incidents: matching.slice(0, limit), more: true };
      return { incidents: matching, more: false };
    },
    async get(id) {
      return (await all()).find((incident) => incident.id === id);
    },
    async events(id) {
      const records = await transport.readAll(topicName(topics.incidentEvents, prefix));
      const byId = new Map<string, IncidentEventV1>();
      for (const record of records) {
        if (record.key?.toString("utf8") !== id) continue;
        const event = decode(IncidentEventV1, record);
        if (event?.incident_id === id) byId.set(event.id, event);
      }
      return [...byId.values()].sort(
        (a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
    },
    close: () => transport.close(),
  };
}

function decode<S extends z.ZodType>(schema: S, record: ConsumedMessage): z.output<S> | undefined {
  if (record.value === null) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(record.value.toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The compacted topic's table: the last record per key, a tombstone deleting it. */
function compactIncidents(records: ConsumedMessage[]): IncidentV1[] {
  const byKey = new Map<string, ConsumedMessage>();
  for (const record of records) {
    const key = record.key?.toString("utf8");
    if (key === undefined) continue;
    if (record.value === null) byKey.delete(key);
    else byKey.set(key, record);
  }
  const incidents: IncidentV1[] = [];
  for (const record of byKey.values()) {
    const incident = decode(IncidentV1, record);
    if (incident) incidents.push(incident);
  }
  return latestIncidents(incidents);
}

function organisationOf(incident: IncidentV1): string | undefined {
  return incident.owner?.organisation ?? incident.asset.owner;
}

/** The store's filter semantics, for incidents read from the topic. */
function matches(filter: Filter): (incident: IncidentV1) => boolean {
  const terms = (filter.search ?? "")
    .toLowerCase()
    .split(/\s+/)
    .filter((term) => term.length > 0);
  return (incident) => {
    const text = [
      incident.title,
      incident.asset.id,
      incident.asset.hostname,
      incident.asset.ip,
      incident.description,
    ]
      .filter((part) => part !== undefined)
      .join("\n")
      .toLowerCase();
    return (
      (filter.status === undefined || filter.status.includes(incident.status)) &&
      (filter.urgency === undefined ||
        (incident.urgency !== undefined && filter.urgency.includes(incident.urgency))) &&
      (filter.asset === undefined || incident.asset.id === filter.asset) &&
      (filter.organisation === undefined || organisationOf(incident) === filter.organisation) &&
      (filter.rule === undefined || incident.rule_id === filter.rule) &&
      terms.every((term) => text.includes(term))
    );
  };
}

/** The store's order: urgency, severity, last seen (newest first), id (descending). */
function queueOrder(a: IncidentV1, b: IncidentV1): number {
  return (
    (b.urgency ? urgencyRank[b.urgency] : 0) - (a.urgency ? urgencyRank[a.urgency] : 0) ||
    severityRank[b.severity] - severityRank[a.severity] ||
    Date.parse(b.last_seen) - Date.parse(a.last_seen) ||
    (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
  );
}

// ---------------------------------------------------------------------------------------------
// list, show

async function listAction(argv: string[], io: IncidentsIo): Promise<number> {
  const { values, positionals } = parseWith(incidentsListCli, argv, io);
  if (positionals.length > 0) {
    throw new UsageError(
      `list: unexpected argument '${printable(positionals[0] ?? "")}' (filters are flags: --search TEXT)`,
    );
  }
  const reader = await openReader(values, "list", io);
  try {
    const { incidents, more } = await reader.list(values, values.limit);
    if (values.json) {
      for (const incident of incidents) io.stdout.write(`${jsonLine(incident)}\n`);
    } else {
      io.stdout.write(incidents.length === 0 ? "no incidents\n" : `${incidentTable(incidents)}\n`);
    }
    if (more) {
      io.stderr.write(`showing the first ${values.limit}; --limit 0 lists all\n`);
    }
    return 0;
  } finally {
    await reader.close();
  }
}

async function showAction(argv: string[], io: IncidentsIo): Promise<number> {
  const { values, positionals } = parseWith(incidentsShowCli, argv, io);
  const id = singleId(positionals, "show");
  const reader = await openReader(values, "show", io);
  try {
    const incident = await reader.get(id);
    if (!incident) {
      io.stderr.write(`vigil incidents show: no incident ${printable(id)}\n`);
      return 2;
    }
    const events = await reader.events(id);
    if (values.json) io.stdout.write(`${jsonLine({ incident, events })}\n`);
    else io.stdout.write(`${incidentPage(incident, events)}\n`);
    return 0;
  } finally {
    await reader.close();
  }
}

function singleId(positionals: string[], action: string): string {
  const [id, extra] = positionals;
  if (id === undefined || id.trim() === "") throw new UsageError(`${action}: name the incident (ID)`);
  if (extra !== undefined)
    throw new UsageError(`${action}: one incident at a time (unexpected '${printable(extra)}')`);
  return id;
}

// ---------------------------------------------------------------------------------------------
// ack, resolve

async function commandAction(action: "ack" | "resolve", argv: string[], io: IncidentsIo): Promise<number> {
  let values: SourceValues & { actor: string; json: boolean };
  let positionals: string[];
  let note: string | undefined;
  let reason = "";
  let verdict: Verdict | undefined;
  if (action === "ack") {
    const parsed = parseWith(incidentsAckCli, argv, io);
    ({ values, positionals } = parsed);
    note = parsed.values.note;
  } else {
    const parsed = parseWith(incidentsResolveCli, argv, io);
    ({ values, positionals } = parsed);
    reason = parsed.values.reason;
    verdict = parsed.values.verdict;
  }
  const id = singleId(positionals, action);
  requireBrokers(values, action);
  const transport = kafka(values, io);
  try {
    const reader = hasStore(values)
      ? await openReader(values, action, io)
      : topicReader(transport, values.topicPrefix);
    try {
      if (!(await reader.get(id))) {
        io.stderr.write(`vigil incidents ${action}: no incident ${printable(id)}; nothing published\n`);
        return 2;
      }
    } finally {
      // The topic reader shares the transport, which is closed below.
      if (hasStore(values)) await reader.close();
    }
    const common = {
      schema: "vigil.incident-command/v1" as const,
      id: randomUUID(),
      incident_id: id,
      time: (io.now?.() ?? new Date()).toISOString(),
      actor: values.actor,
    };
    const command: IncidentCommandV1 =
      action === "ack"
        ? { ...common, type: "acknowledge", ...(note !== undefined ? { note } : {}) }
        : { ...common, type: "resolve", summary: reason, ...(verdict !== undefined ? { verdict } : {}) };
    await transport.send(topicName(topics.incidentCommands, values.topicPrefix), [
      encodeValue(topics.incidentCommands, command, { key: id, source: "vigil/cli" }),
    ]);
    io.stdout.write(values.json ? `${jsonLine(command)}\n` : `${command.id}\n`);
    io.stderr.write(
      `vigil incidents ${action}: published ${command.type} of ${printable(id)} by ${printable(command.actor)} on ${topicName(topics.incidentCommands, values.topicPrefix)}\n`,
    );
    return 0;
  } finally {
    await transport.close();
  }
}

// ---------------------------------------------------------------------------------------------
// tail

async function tailAction(argv: string[], io: IncidentsIo): Promise<number> {
  const { values, positionals } = parseWith(incidentsTailCli, argv, io);
  if (positionals.length > 0)
    throw new UsageError(`tail: unexpected argument '${printable(positionals[0] ?? "")}'`);
  requireBrokers(values, "tail");
  const signal = io.signal ?? signalOnShutdown();
  const transport = kafka(values, io);
  const incidentsTopic = topicName(topics.incidents, values.topicPrefix);
  const eventsTopic = topicName(topics.incidentEvents, values.topicPrefix);
  try {
    const stopped = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    if (signal.aborted) return 0;
    const subscription = await transport.subscribe({
      groupId: `vigil-cli-tail-${randomUUID()}`,
      topics: [incidentsTopic, eventsTopic],
      fromBeginning: false,
      eachBatch: async (batch) => {
        for (const record of batch.messages) {
          const line =
            batch.topic === incidentsTopic
              ? incidentLine(record, values.json)
              : eventLine(record, values.json);
          if (line !== undefined) io.stdout.write(`${line}\n`);
        }
      },
    });
    io.stderr.write(`following ${incidentsTopic} and ${eventsTopic} (Ctrl-C to stop)\n`);
    await stopped;
    await subscription.stop();
    return 0;
  } finally {
    await transport.close();
  }
}

function signalOnShutdown(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  controller.signal.addEventListener("abort", () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  });
  return controller.signal;
}

function incidentLine(record: ConsumedMessage, json: boolean): string | undefined {
  if (record.value === null) {
    return json
      ? jsonLine({ deleted: record.key?.toString("utf8") ?? null })
      : `${clock(Number(record.timestamp))}  deleted   ${printable(record.key?.toString("utf8") ?? "")}`;
  }
  const incident = decode(IncidentV1, record);
  if (!incident)
    return json
      ? undefined
      : `${clock(Number(record.timestamp))}  (an incident record that does not match vigil.incident/v1)`;
  if (json) return jsonLine(incident);
  return [
    clock(Date.parse(incident.updated_at)),
    "incident",
    (incident.urgency ?? "-").toUpperCase().padEnd(8),
    incident.status.padEnd(11),
    `L${incident.escalation?.level ?? 0}`,
    clip(printable(incident.title), 70),
    `on ${printable(assetName(incident))}`,
    `${printable(incident.id)} v${incident.version}`,
  ].join("  ");
}

function eventLine(record: ConsumedMessage, json: boolean): string | undefined {
  const event = decode(IncidentEventV1, record);
  if (!event)
    return json
      ? undefined
      : `${clock(Number(record.timestamp))}  (an event record that does not match vigil.incident-event/v1)`;
  if (json) return jsonLine(event);
  return [
    clock(Date.parse(event.time)),
    "event   ",
    event.type.padEnd(16),
    printable(event.incident_id),
    `by ${printable(event.actor)}:`,
    clip(printable(event.summary), 100),
  ].join("  ");
}

// ---------------------------------------------------------------------------------------------
// Presentation

/**
 * Text from records made readable and harmless on a terminal: control characters (escape
 * sequences, new lines, carriage returns) and bidirectional overrides are shown escaped.
 */
export function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => {
      if (c === "\n") return "\\n";
      if (c === "\r") return "\\r";
      if (c === "\t") return "\\t";
      const code = c.codePointAt(0) ?? 0;
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`;
    },
  );
}

/** JSON, with the characters JSON leaves raw but a terminal or a line reader may act on escaped too. */
function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}

const clip = (text: string, width: number): string =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text;

function clock(millis: number): string {
  return Number.isFinite(millis) ? new Date(millis).toISOString().slice(0, 19).replace("T", " ") : "-";
}

const minute = (iso: string): string => iso.slice(0, 16).replace("T", " ");

function assetName(incident: IncidentV1): string {
  const name = incident.asset.hostname ?? incident.asset.ip ?? incident.asset.id;
  return incident.asset.hostname && incident.asset.ip ? `${name} (${incident.asset.ip})` : name;
}

/** One line per incident, columns aligned; every value from the record made printable first. */
export function incidentTable(incidents: IncidentV1[]): string {
  const header = ["URGENCY", "SEVERITY", "STATUS", "LVL", "TITLE", "ASSET", "OWNER", "LAST SEEN", "ID"];
  const rows = incidents.map((incident) => [
    incident.urgency ?? "-",
    incident.severity,
    incident.status,
    incident.escalation ? `L${incident.escalation.level}` : "-",
    clip(printable(incident.title), 60),
    clip(printable(assetName(incident)), 36),
    clip(printable(organisationOf(incident) ?? "-"), 24),
    minute(printable(incident.last_seen)),
    printable(incident.id),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join("  "),
    )
    .join("\n");
}

const actionText = {
  notify_owner: "notify the owner",
  disable_default_accounts: "disable default accounts",
  remove_from_network: "remove from the network",
} as const;

/** The incident page: what it is, why it was raised, what it is about, what happens next, what happened. */
export function incidentPage(incident: IncidentV1, events: IncidentEventV1[]): string {
  const p = printable;
  const lines: string[] = [];
  const field = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "") lines.push(`${`${name}:`.padEnd(13)}${value}`);
  };
  lines.push(p(incident.title), "");
  field("id", `${p(incident.id)} (version ${incident.version})`);
  field(
    "urgency",
    `${incident.urgency ?? "-"}, severity ${incident.severity}, asset priority ${incident.asset.priority}`,
  );
  field(
    "status",
    `${incident.status}${incident.verdict ? `, verdict ${incident.verdict}` : ""}${incident.assignee ? `, assigned to ${p(incident.assignee)}` : ""}`,
  );
  field("rule", p(incident.rule_id));
  field(
    "seen",
    `${minute(p(incident.first_seen))} to ${minute(p(incident.last_seen))} UTC, ${incident.finding_count} finding${incident.finding_count === 1 ? "" : "s"}`,
  );
  lines.push("", "Why", `  ${p(incident.explanation)}`);
  if (incident.description && incident.description !== incident.explanation)
    lines.push(`  ${p(incident.description)}`);
  if (incident.evidence.length > 0) {
    lines.push("", "Evidence");
    for (const evidence of incident.evidence) {
      lines.push(
        `  ${minute(p(evidence.time))}  ${p(evidence.topic)}  ${p(evidence.summary)}  (${p(evidence.id)})`,
      );
    }
  }
  lines.push("", "Asset");
  const asset = incident.asset;
  lines.push(`  ${p(assetName(incident))}  id ${p(asset.id)}${asset.known ? "" : " (not in the inventory)"}`);
  lines.push(`  priority ${asset.priority}: ${p(asset.priority_reason)}`);
  if (asset.tags.length > 0) lines.push(`  tags ${asset.tags.map(p).join(", ")}`);
  const organisation = organisationOf(incident);
  if (organisation) lines.push(`  owner ${p(organisation)}`);
  for (const contact of incident.owner?.contacts ?? []) {
    const parts = [contact.name, contact.role, contact.email, contact.phone].filter(
      (part) => part !== undefined,
    );
    if (parts.length > 0) lines.push(`    contact ${parts.map(p).join(", ")}`);
  }
  if (incident.cves.length > 0 || incident.attack.length > 0) {
    lines.push("", "Advisories and techniques");
    if (incident.cves.length > 0) lines.push(`  CVEs ${incident.cves.map(p).join(", ")}`);
    if (incident.attack.length > 0) lines.push(`  ATT&CK ${incident.attack.map(p).join(", ")}`);
  }
  const escalation = incident.escalation;
  if (escalation || incident.sla) {
    lines.push("", "Escalation");
    if (escalation) {
      lines.push(`  level ${escalation.level}, clock started ${minute(p(escalation.started_at))}`);
      for (const step of escalation.plan) {
        const state = step.level <= escalation.level ? "done" : `due ${minute(p(step.at))}`;
        lines.push(`  L${step.level} ${actionText[step.action]}: ${state}`);
      }
      if (escalation.acknowledged_by) {
        lines.push(
          `  acknowledged by ${p(escalation.acknowledged_by)}${escalation.acknowledged_at ? ` at ${minute(p(escalation.acknowledged_at))}` : ""}: the clock is stopped`,
        );
      }
      if (escalation.next_level !== undefined && escalation.next_at !== undefined) {
        const next = escalation.plan.find((step) => step.level === escalation.next_level);
        lines.push(
          `  next: L${escalation.next_level}${next ? ` ${actionText[next.action]}` : ""} at ${minute(p(escalation.next_at))}`,
        );
      } else if (!escalation.acknowledged_by) {
        lines.push("  next: nothing (the ladder is done or the clock is stopped)");
      }
    }
    if (incident.sla) {
      lines.push(
        `  SLA: resolve by ${minute(p(incident.sla.due))}${incident.sla.breached ? " (BREACHED)" : ""}`,
      );
    }
  }
  if (incident.resolution) {
    const resolution = incident.resolution;
    lines.push(
      "",
      "Resolution",
      `  ${minute(p(resolution.time))} ${resolution.reason} by ${p(resolution.actor)}: ${p(resolution.summary)}`,
    );
  }
  // The events topic is the full changelog; the record's own timeline is bounded (the latest entries).
  const timeline =
    events.length > 0
      ? events.map((event) => ({
          time: event.time,
          type: event.type,
          actor: event.actor,
          summary: event.summary,
        }))
      : (incident.timeline ?? []);
  if (timeline.length > 0) {
    lines.push("", "Timeline");
    for (const entry of timeline) {
      lines.push(
        `  ${minute(p(entry.time))}  ${entry.type.padEnd(16)}  ${p(entry.actor)}: ${p(entry.summary)}`,
      );
    }
  }
  return lines.join("\n");
}
