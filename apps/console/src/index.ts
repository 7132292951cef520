import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import type { IncidentStoreBackend } from "@vigil/incident-store";
import type { Logger } from "@vigil/observability";
import { ReferenceTableSet } from "@vigil/rules";
import {
  AdvisoryV1,
  HostV1,
  IncidentEventV1,
  IncidentV1,
  ReferenceDocumentV1,
  type TopicSpec,
  topicName,
  topics,
} from "@vigil/schema";
import { followGlobalTable, type Transport } from "@vigil/stream";
import { z } from "zod";
import { Authenticator, type TokenEntry } from "./auth.ts";
import { createHandler, EventHub } from "./server.ts";
import type { ConsoleTables } from "./views.ts";

export {
  Authenticator,
  loadTokens,
  MIN_TOKEN_LENGTH,
  type Principal,
  parseTokens,
  parseTokensEnv,
  type Role,
  TokenEntry,
  TokensError,
} from "./auth.ts";
export { CSRF_HEADER, queueOrder, SESSION_COOKIE } from "./server.ts";
export {
  type AssetCard,
  assetCard,
  type ComplianceRow,
  type ConsoleTables,
  compliance,
  overTime,
} from "./views.ts";

export const STAGE = "console";
export const DEFAULT_LISTEN = "127.0.0.1:8080";

const listenSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "host:port (e.g. 127.0.0.1:8080)");

export const cli = defineCli({
  name: "vigil-console",
  version: "0.1.0",
  summary: "the SOC analysts' web console: live incident queue, incident pages, assets, actions",
  options: {
    ...commonOptions,
    listen: {
      flag: "listen",
      env: "VIGIL_CONSOLE_LISTEN",
      type: "string",
      description: "Address and port to serve on (loopback by default; put a TLS proxy in front for more)",
      schema: listenSchema.default(DEFAULT_LISTEN),
    },
    tokens: {
      flag: "tokens",
      env: "VIGIL_CONSOLE_TOKENS_FILE",
      type: "string",
      description:
        "API tokens file (YAML/JSON: tokens: [{ token, name, role: viewer|analyst }]); or VIGIL_CONSOLE_TOKENS=token=name:role,...",
      schema: z.string().min(1).optional(),
    },
    consoleUrl: {
      flag: "console-url",
      env: "VIGIL_CONSOLE_URL",
      type: "string",
      description: "The address browsers use (https:// marks the session cookie Secure)",
      schema: z.url().optional(),
    },
    priorityList: {
      flag: "priority-list",
      env: "VIGIL_PRIORITY_LIST",
      type: "string",
      multiple: true,
      description:
        "Priority list (YAML) for asset cards, besides those published on vigil.reference (repeatable)",
      schema: z.array(z.string().min(1)).default([]),
    },
    baselines: {
      flag: "baselines",
      env: "VIGIL_BASELINES",
      type: "string",
      multiple: true,
      description:
        "Baselines file (YAML) for asset cards and compliance, besides vigil.reference (repeatable)",
      schema: z.array(z.string().min(1)).default([]),
    },
    exceptions: {
      flag: "exceptions",
      env: "VIGIL_EXCEPTIONS",
      type: "string",
      multiple: true,
      description: "Exceptions file (YAML), besides those published on vigil.reference (repeatable)",
      schema: z.array(z.string().min(1)).default([]),
    },
    databaseUrl: {
      flag: "database-url",
      env: "DATABASE_URL",
      type: "string",
      description:
        "PostgreSQL incident store the sink writes; without it the console mirrors vigil.incidents into memory",
      defaultText: "a mirror in memory",
      schema: z.string().min(1).optional(),
    },
  },
  epilog: `Serves the web console and its JSON API (see apps/console/README.md). Reads the incident store (the sink's
PostgreSQL with --database-url, else a mirror it builds from vigil.incidents and vigil.incident-events), follows
vigil.incidents and vigil.incident-events live for its server-sent events, and publishes analysts' actions to
vigil.incident-commands (keyed by incident id); the sink applies them.
Example: VIGIL_CONSOLE_TOKENS=$(openssl rand -hex 24)=alice:analyst vigil-console --brokers 127.0.0.1:9092 \\
  --database-url postgres://vigil@127.0.0.1/vigil
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 invalid configuration or missing topics.`,
});

export type ConsoleCliValues = ParsedCli<typeof cli.definition.options>;

export interface ConsoleConfig {
  /** `host:port`; default 127.0.0.1:8080. Port 0 picks a free port. */
  listen?: string;
  tokens: readonly TokenEntry[];
  topicPrefix: string;
  /** The address browsers use; `https://` makes the session cookie `Secure`. */
  consoleUrl?: string | undefined;
}

/** Every topic the console reads or writes: what `prepareApp` checks exists. */
export const consoleTopics: TopicSpec[] = [
  topics.incidents,
  topics.incidentEvents,
  topics.incidentCommands,
  topics.reference,
  topics.inventoryHosts,
  topics.advisories,
];

/**
 * The reference tables for asset cards and compliance: local files, then vigil.reference, the
 * inventory's hosts and the advisories held whole and followed live, as the rules engine does.
 */
export async function followReferenceTables(options: {
  transport: Transport;
  logger: Logger;
  topicPrefix: string;
  files?: { baselines?: string[]; priorityLists?: string[]; exceptions?: string[] };
}): Promise<{ tables: ReferenceTableSet; stop(): Promise<void> }> {
  const { transport, logger, topicPrefix: prefix } = options;
  const tables = new ReferenceTableSet();
  await tables.loadFiles(options.files ?? {});
  const reference = topicName(topics.reference, prefix);
  const hosts = topicName(topics.inventoryHosts, prefix);
  const follower = await followGlobalTable({
    transport,
    topics: [reference, hosts, topicName(topics.advisories, prefix)],
    groupPrefix: `${prefix}vigil-console.tables`,
    logger,
    apply: (message) => {
      const key = message.key === null ? "" : String(message.key);
      const value: unknown = message.value === null ? null : JSON.parse(String(message.value));
      if (message.topic === reference) {
        const [kind, ...rest] = key.split("/");
        if (value === null) tables.removeDocument(kind as ReferenceDocumentV1["kind"], rest.join("/"));
        else tables.setDocument(ReferenceDocumentV1.parse(value));
      } else if (message.topic === hosts) {
        if (value === null) tables.removeHost(key);
        else tables.applyHost(HostV1.parse(value));
      } else if (value === null) tables.removeAdvisory(key);
      else tables.applyAdvisory(AdvisoryV1.parse(value));
    },
  });
  await follower.ready;
  logger.info({ tables: tables.sizes() }, "console reference tables restored");
  return { tables, stop: () => follower.stop() };
}

export interface ConsoleDeps {
  transport: Transport;
  store: IncidentStoreBackend;
  /** The reference tables (asset cards, compliance, unmanaged hosts); optional. */
  tables?: ConsoleTables | undefined;
  logger: Logger;
  config: ConsoleConfig;
  /**
   * Write what the console reads from vigil.incidents and vigil.incident-events into `store`: for a
   * console of its own (no shared database). Leave off when the sink writes the store.
   */
  mirror?: boolean;
  now?: () => Date;
}

export interface RunningConsole {
  url: string;
  /** Server-sent-event clients connected now. */
  clients(): number;
  stop(): Promise<void>;
}

export class ConsoleConfigError extends Error {}

/**
 * Serves the console. Stateless but for browser sessions: the queue and pages come from the
 * store, live changes from vigil.incidents and vigil.incident-events read with a throwaway
 * consumer group, and actions go to vigil.incident-commands for the sink to apply.
 */
export async function startConsole(deps: ConsoleDeps): Promise<RunningConsole> {
  const { transport, logger, config, store } = deps;
  if (config.tokens.length === 0) {
    throw new ConsoleConfigError(
      "no API tokens: give --tokens FILE or VIGIL_CONSOLE_TOKENS=token=name:role (nobody could log in)",
    );
  }
  const listen = listenSchema.parse(config.listen ?? DEFAULT_LISTEN);
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(colon + 1));
  const auth = new Authenticator(config.tokens);
  const hub = new EventHub();
  const prefix = config.topicPrefix;
  const incidentsTopic = topicName(topics.incidents, prefix);
  const eventsTopic = topicName(topics.incidentEvents, prefix);

  // The sink writes both topics in transactions: followGlobalTable's "caught up" never comes
  // (the last offset is a commit marker), so history is read with readAll and the live part with
  // a throwaway group of our own.
  const decode = (topic: string, value: Buffer): IncidentV1 | IncidentEventV1 => {
    const parsed: unknown = JSON.parse(String(value));
    return topic === incidentsTopic ? IncidentV1.parse(parsed) : IncidentEventV1.parse(parsed);
  };
  if (deps.mirror) {
    for (const topic of [incidentsTopic, eventsTopic]) {
      for (const record of await transport.readAll(topic)) {
        if (record.value === null) continue;
        try {
          const value = decode(topic, record.value);
          if (topic === incidentsTopic) await store.upsert(value as IncidentV1);
          else await store.appendEvents([value as IncidentEventV1]);
        } catch (error) {
          logger.warn({ err: error, topic, offset: record.offset }, "skipping an unreadable record");
        }
      }
    }
  }
  // What existed at start is history (the store has it): only later records are pushed live.
  // Reading from the beginning and skipping up to these offsets (instead of starting "at the end")
  // loses nothing written while the throwaway group is still joining.
  const startedAt = new Map<string, bigint>();
  if (!deps.mirror) {
    for (const topic of [incidentsTopic, eventsTopic]) {
      for (const { partition, offset } of await transport.endOffsets(topic)) {
        startedAt.set(`${topic}/${partition}`, BigInt(offset));
      }
    }
  }
  const subscription = await transport.subscribe({
    groupId: `${prefix}vigil-console.live.${randomUUID()}`,
    topics: [incidentsTopic, eventsTopic],
    // Mirroring: the store drops what it already has, and only what changed is pushed.
    fromBeginning: true,
    eachBatch: async (batch) => {
      const from = startedAt.get(`${batch.topic}/${batch.partition}`) ?? 0n;
      for (const message of batch.messages) {
        if (message.value === null || BigInt(message.offset) < from) continue;
        let value: IncidentV1 | IncidentEventV1;
        try {
          value = decode(message.topic, message.value);
        } catch (error) {
          logger.warn(
            { err: error, topic: message.topic, offset: message.offset },
            "skipping an unreadable record",
          );
          continue;
        }
        if (message.topic === incidentsTopic) {
          const incident = value as IncidentV1;
          if (deps.mirror && !(await store.upsert(incident)).changed) continue;
          hub.publish("incident", incident);
        } else {
          const event = value as IncidentEventV1;
          if (deps.mirror && (await store.appendEvents([event])) === 0) continue;
          hub.publish("incident-event", event);
        }
      }
    },
  });

  const server = createServer(
    createHandler({
      transport,
      store,
      tables: deps.tables,
      logger,
      auth,
      topicPrefix: prefix,
      secureCookie: config.consoleUrl?.startsWith("https://") ?? false,
      now: deps.now ?? (() => new Date()),
      stream: hub,
    }),
  );
  // Keep-alive comments stop proxies and browsers from closing a quiet stream.
  const heartbeat = setInterval(() => hub.publishComment(), 25_000);
  heartbeat.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, tokens: auth.size, store: store.kind, tables: !!deps.tables }, "console serving");
  return {
    url,
    clients: () => hub.size,
    stop: async () => {
      clearInterval(heartbeat);
      hub.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await subscription.stop();
    },
  };
}
