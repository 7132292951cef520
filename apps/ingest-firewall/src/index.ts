import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { byteSizeSchema, commonOptions, defineCli, durationSchema, type ParsedCli } from "@vigil/config";
import {
  checkReadableFile,
  IngestPublishError,
  type IngestSummary,
  InputError,
  type Line,
  type ParsedLine,
  publishTo,
  readLines,
  runIngest,
  type SyslogMessage,
  SyslogServer,
  type SyslogServerStats,
  tailFile,
} from "@vigil/ingest";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import {
  DEFAULT_HOME_NETS,
  FIREWALL_FORMATS,
  firewallEventKey,
  homeNetsSchema,
  NetworkSet,
  parseFirewallLine,
} from "@vigil/parsers";
import { type FirewallEventV1, topics } from "@vigil/schema";
import type { Transport } from "@vigil/stream";
import { z } from "zod";

export const STAGE = "ingest-firewall";
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/, "HOST:PORT (IPv6 as [::1]:514)")
  .transform((text) => {
    const colon = text.lastIndexOf(":");
    return { host: text.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(text.slice(colon + 1)) };
  })
  .refine((value) => value.port <= 65535, "port must be 0-65535");

export const cli = defineCli({
  name: "vigil-ingest-firewall",
  version: "0.1.0",
  summary:
    "receives syslog (UDP/TCP/TLS) or reads files/stdin of iptables, pfSense, Cisco ASA/FTD, PAN-OS and CEF logs, and publishes firewall events to vigil.firewall.events",
  usage:
    "vigil-ingest-firewall [--listen-udp HOST:PORT] [--listen-tcp HOST:PORT] | [--file PATH [--follow]] | < log [options]",
  options: {
    ...commonOptions,
    listenUdp: {
      flag: "listen-udp",
      env: "VIGIL_FW_LISTEN_UDP",
      type: "string",
      description: "Receive syslog datagrams on HOST:PORT (e.g. 0.0.0.0:514)",
      schema: hostPort.optional(),
    },
    listenTcp: {
      flag: "listen-tcp",
      env: "VIGIL_FW_LISTEN_TCP",
      type: "string",
      description: "Receive syslog over TCP on HOST:PORT (newline or octet-counting framing, RFC 6587)",
      schema: hostPort.optional(),
    },
    tlsCert: {
      flag: "tls-cert",
      env: "VIGIL_FW_TLS_CERT",
      type: "string",
      description: "PEM certificate file: --listen-tcp then speaks TLS (RFC 5425)",
      schema: z.string().min(1).optional(),
    },
    tlsKey: {
      flag: "tls-key",
      env: "VIGIL_FW_TLS_KEY",
      type: "string",
      description: "PEM private key file for --tls-cert",
      schema: z.string().min(1).optional(),
    },
    file: {
      flag: "file",
      short: "f",
      env: "VIGIL_FW_FILE",
      type: "string",
      description: "Log file to read, one message per line; - reads stdin (the default without listeners)",
      schema: z.string().min(1, "a path or -").default("-"),
    },
    follow: {
      flag: "follow",
      env: "VIGIL_FW_FOLLOW",
      type: "boolean",
      description: "With --file: keep reading new lines and follow rotation (like tail -F)",
      schema: z.boolean().default(false),
    },
    format: {
      flag: "format",
      env: "VIGIL_FW_FORMAT",
      type: "string",
      description: `Input format: auto (detected per line), ${FIREWALL_FORMATS.join(", ")}`,
      schema: z.enum(["auto", ...FIREWALL_FORMATS]).default("auto"),
    },
    yearOf: {
      flag: "year-of",
      env: "VIGIL_FW_YEAR_OF",
      type: "string",
      description:
        "A date (RFC 3339) the log was written around: RFC 3164 timestamps have no year, so replaying an old file needs it (default: the receive time)",
      schema: z.iso
        .datetime({ offset: true, error: "an RFC 3339 date-time like 2024-03-12T00:00:00Z" })
        .or(z.iso.date({ error: "a date like 2024-03-12" }))
        .transform((text) => Date.parse(text))
        .optional(),
    },
    homeNets: {
      flag: "home-net",
      env: "VIGIL_HOME_NETS",
      type: "string",
      multiple: true,
      description:
        "Protected networks as CIDR, repeatable or comma-separated; they decide asset_ip (the key) and direction",
      defaultText: DEFAULT_HOME_NETS.join(","),
      schema: homeNetsSchema,
    },
    maxLineBytes: {
      flag: "max-line-bytes",
      env: "VIGIL_MAX_LINE_BYTES",
      type: "string",
      description:
        "Longest line or syslog message accepted (e.g. 65536, 64k); longer ones are dead-lettered as oversized",
      defaultText: "64k",
      schema: byteSizeSchema(1024, 16 * 1024 * 1024).default(DEFAULT_MAX_LINE_BYTES),
    },
    maxConnections: {
      flag: "max-connections",
      env: "VIGIL_FW_MAX_CONNECTIONS",
      type: "string",
      description: "Concurrent TCP/TLS syslog connections; more are refused",
      defaultText: "512",
      schema: z.coerce.number().int().min(1).max(65_535).default(512),
    },
    idleTimeout: {
      flag: "idle-timeout",
      env: "VIGIL_FW_IDLE_TIMEOUT",
      type: "string",
      description: "Close a TCP connection silent this long (e.g. 300s, 5m)",
      defaultText: "5m",
      schema: durationSchema(100, 24 * 3_600_000).default(300_000),
    },
    queueCapacity: {
      flag: "queue-capacity",
      env: "VIGIL_FW_QUEUE_CAPACITY",
      type: "string",
      description:
        "Messages held between the listeners and Kafka; when full TCP reads pause and UDP datagrams are counted as dropped",
      defaultText: "10000",
      schema: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
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
  epilog: `Writes vigil.firewall.events (OCSF Network Activity, keyed by asset_ip: the home-net side) and vigil.dlq
(lines no parser accepts: original bytes, reason, kind and the peer or <file>:<line> in headers). Recognised
messages that carry no traffic (ASA failover, PAN-OS SYSTEM) are counted as ignored.
Examples:
  vigil-ingest-firewall --brokers 127.0.0.1:9092 --listen-udp 0.0.0.0:514 --listen-tcp 0.0.0.0:601 --home-net 10.20.0.0/16,172.16.10.0/24
  vigil-ingest-firewall --brokers 127.0.0.1:9092 --file /var/log/ufw.log --follow
  vigil-ingest-firewall --dry-run --file examples/firewall/asa.log | jq .action
Exit codes: 0 input fully processed or listener stopped by SIGTERM (dead letters included: the summary counts
them), 1 publishing failed, 2 invalid configuration, unreadable input or missing topics.`,
});

export type IngestFirewallCliValues = ParsedCli<typeof cli.definition.options>;
export type IngestFirewallConfig = Pick<
  IngestFirewallCliValues,
  | "listenUdp"
  | "listenTcp"
  | "tlsCert"
  | "tlsKey"
  | "file"
  | "follow"
  | "format"
  | "homeNets"
  | "maxLineBytes"
  | "maxConnections"
  | "idleTimeout"
  | "queueCapacity"
  | "dryRun"
  | "topicPrefix"
> &
  // Optional so that callers replaying current logs need not say it.
  Partial<Pick<IngestFirewallCliValues, "yearOf">>;

export interface IngestFirewallDeps {
  transport?: Transport | undefined;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: IngestFirewallConfig;
  stdin?: Readable;
  out?: Writable;
  errOut?: Writable;
  /** Stops reading (listeners stop accepting); what was received is still published. */
  signal?: AbortSignal;
  /** Called once the listeners are bound (tests read the ports here). */
  onListening?: (server: SyslogServer) => void;
}

export interface FirewallSummary extends IngestSummary {
  /** Listener counters (received, udpDropped, connections, ...) when syslog was the source. */
  syslog?: SyslogServerStats;
}

export async function checkInput(
  config: Pick<IngestFirewallConfig, "file" | "listenUdp" | "listenTcp" | "tlsCert" | "tlsKey">,
): Promise<void> {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined))
    throw new InputError("--tls-cert and --tls-key go together");
  if (config.tlsCert !== undefined && config.listenTcp === undefined)
    throw new InputError("--tls-cert needs --listen-tcp");
  for (const [flag, path] of [
    ["--tls-cert", config.tlsCert],
    ["--tls-key", config.tlsKey],
    ...(config.listenUdp || config.listenTcp || config.file === "-" ? [] : [["--file", config.file]]),
  ] as const) {
    if (path !== undefined) await checkReadableFile(flag, path);
  }
}

/** Runs until the input ends (file, stdin) or `signal` (listeners, --follow); returns what became of each line. */
export async function runIngestFirewall(deps: IngestFirewallDeps): Promise<FirewallSummary> {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  await checkInput(config);
  const home = new NetworkSet(config.homeNets);
  const listening = config.listenUdp !== undefined || config.listenTcp !== undefined;
  let server: SyslogServer | undefined;
  let lines: AsyncIterable<Line>;
  let source: string;
  if (listening) {
    const tls =
      config.tlsCert !== undefined && config.tlsKey !== undefined
        ? { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) }
        : undefined;
    server = await SyslogServer.start({
      udp: config.listenUdp,
      tcp: config.listenTcp,
      tls,
      maxMessageBytes: config.maxLineBytes,
      maxConnections: config.maxConnections,
      idleTimeoutMs: config.idleTimeout,
      queueCapacity: config.queueCapacity,
      logger,
    });
    const bound = server.addresses;
    source = "syslog";
    logger.info(
      {
        udp: bound.udp && `${bound.udp.address}:${bound.udp.port}`,
        tcp: bound.tcp && `${bound.tcp.address}:${bound.tcp.port}`,
        tls: tls !== undefined,
      },
      "ingest-firewall listening",
    );
    deps.onListening?.(server);
    const running = server;
    deps.signal?.addEventListener("abort", () => void running.close(), { once: true });
    if (deps.signal?.aborted) await running.close();
    lines = running.messages();
  } else if (config.file !== "-" && config.follow) {
    source = config.file;
    lines = tailFile({
      path: config.file,
      maxLineBytes: config.maxLineBytes,
      follow: true,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
  } else {
    let stream: Readable;
    if (config.file === "-") {
      if (!deps.stdin) throw new InputError("--file - reads stdin, but no stdin was given");
      stream = deps.stdin;
      source = "stdin";
    } else {
      stream = createReadStream(config.file, { highWaterMark: 64 * 1024 });
      source = config.file;
    }
    lines = readLines(stream, {
      maxLineBytes: config.maxLineBytes,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
  }
  logger.info(
    {
      source,
      format: config.format,
      homeNets: config.homeNets.map((cidr) => `${cidr.address}/${cidr.prefix}`),
      dryRun: config.dryRun,
      maxLineBytes: config.maxLineBytes,
    },
    "ingest-firewall reading",
  );
  const progress = server
    ? setInterval(() => logger.info({ syslog: server.stats }, "syslog listener"), 10_000).unref()
    : undefined;
  try {
    const summary: FirewallSummary = await runIngest<FirewallEventV1, Line>({
      transport: deps.transport,
      lines,
      parse: (bytes, line): ParsedLine<FirewallEventV1> => {
        const peer = (line as Partial<SyslogMessage>).peerAddress;
        const result = parseFirewallLine(bytes, {
          homeNets: home,
          format: config.format,
          maxBytes: config.maxLineBytes,
          ...(config.yearOf !== undefined ? { yearReference: config.yearOf } : {}),
          ...(peer !== undefined ? { peer } : {}),
        });
        return result.status === "ignored" ? { status: "ignored", eventType: result.eventType } : result;
      },
      encode: publishTo(topics.firewallEvents, (event) => firewallEventKey(event)),
      locate: (line) => {
        const peer = (line as Partial<SyslogMessage>).peer;
        return peer !== undefined ? `${peer}#${line.lineNumber}` : `${source}:${line.lineNumber}`;
      },
      topicPrefix: config.topicPrefix,
      stage: STAGE,
      source,
      logger,
      metrics,
      dryRun: config.dryRun,
      maxLineBytes: config.maxLineBytes,
      ...(deps.out ? { out: deps.out } : {}),
      ...(deps.errOut ? { errOut: deps.errOut } : {}),
      // A listener ends when it is closed and drained: the run must not stop at the signal before that.
      ...(deps.signal && !server ? { signal: deps.signal } : {}),
    });
    if (server) {
      await server.close();
      summary.syslog = { ...server.stats };
      if (deps.signal?.aborted) summary.aborted = true;
    }
    return summary;
  } finally {
    if (progress) clearInterval(progress);
    await server?.close();
  }
}

/** One human line: what was received and what became of it. */
export function describeSummary(summary: FirewallSummary, source: string): string {
  const kinds = Object.entries(summary.deadLetteredByKind)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  const parts = [
    `received ${summary.read} lines from ${source}`,
    `${summary.published} events published`,
    `${summary.ignored} non-traffic messages ignored`,
    `${summary.deadLettered} dead-lettered${kinds ? ` (${kinds})` : ""}`,
  ];
  if (summary.syslog) {
    parts.push(
      `${summary.syslog.udpDropped} UDP datagrams dropped while the queue was full`,
      `${summary.syslog.connectionsRefused} connections refused`,
    );
  }
  const end = summary.aborted ? "stopped" : "input fully processed";
  return `${parts.join(", ")}; ${end}`;
}

export { InputError } from "@vigil/ingest";
export { IngestPublishError };
