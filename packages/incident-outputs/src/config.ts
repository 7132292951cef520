/**
 * The outputs configuration file (YAML), validated by zod. Every problem names the file, line,
 * column and key. Secrets are never written in the file: it names environment variables
 * (`secret_env: VIGIL_WEBHOOK_SECRET`) whose values are read at load and never logged.
 */
import { readFile } from "node:fs/promises";
import { IncidentEventType } from "@vigil/schema";
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { z } from "zod";
import type { Delivery, IncidentOutput } from "./delivery.ts";
import type { DispatcherOptions } from "./dispatcher.ts";
import { emailOutput } from "./outputs/email.ts";
import { jsonLinesOutput } from "./outputs/jsonl-file.ts";
import { slackOutput } from "./outputs/slack.ts";
import { theHiveOutput } from "./outputs/thehive.ts";
import { webhookOutput } from "./outputs/webhook.ts";

const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name (letters, digits, _)");
const HttpUrl = z.url({ protocol: /^https?$/, error: "an http(s) URL" });
const ConsoleUrl = z
  .string()
  .regex(/^https?:\/\/\S+$/, "an http(s) URL template, {id} is replaced by the incident id");
const Name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "1-64 letters, digits, _ . -");
const TimeoutMs = z.number().int().min(100).max(600_000);

const common = {
  name: Name.optional(),
  /** Only these incident event types (`created`, `escalated`, ...); default all. */
  events: z.array(IncidentEventType).min(1).optional(),
};

const WebhookConfig = z.strictObject({
  type: z.literal("webhook"),
  ...common,
  url: HttpUrl.optional(),
  url_env: EnvName.optional(),
  secret_env: EnvName,
  timeout_ms: TimeoutMs.optional(),
});
const SlackConfig = z.strictObject({
  type: z.literal("slack"),
  ...common,
  url: HttpUrl.optional(),
  url_env: EnvName.optional(),
  console_url: ConsoleUrl.optional(),
  timeout_ms: TimeoutMs.optional(),
});
const EmailConfig = z.strictObject({
  type: z.literal("email"),
  ...common,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(587),
  secure: z.boolean().optional(),
  require_tls: z.boolean().optional(),
  user: z.string().min(1).optional(),
  password_env: EnvName.optional(),
  from: z.email(),
  to: z.array(z.email()).min(1),
  message_id_domain: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/)
    .optional(),
  console_url: ConsoleUrl.optional(),
  timeout_ms: TimeoutMs.optional(),
});
const TheHiveConfig = z.strictObject({
  type: z.literal("thehive"),
  ...common,
  base_url: HttpUrl,
  api_key_env: EnvName,
  organisation: z.string().min(1).optional(),
  alert_type: z.string().min(1).optional(),
  tlp: z.number().int().min(0).max(4).optional(),
  pap: z.number().int().min(0).max(3).optional(),
  tags: z.array(z.string().min(1)).optional(),
  console_url: ConsoleUrl.optional(),
  timeout_ms: TimeoutMs.optional(),
});
const JsonLinesConfig = z.strictObject({
  type: z.literal("jsonl"),
  ...common,
  path: z.string().min(1),
});

export const OutputConfig = z.discriminatedUnion("type", [
  WebhookConfig,
  SlackConfig,
  EmailConfig,
  TheHiveConfig,
  JsonLinesConfig,
]);
export type OutputConfig = z.infer<typeof OutputConfig>;

export const OutputsConfig = z.strictObject({
  /** Default console link template for the outputs that show one. */
  console_url: ConsoleUrl.optional(),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(100).optional(),
      initial_delay_ms: z.number().int().min(1).optional(),
      max_delay_ms: z.number().int().min(1).optional(),
    })
    .optional(),
  queue_capacity: z.number().int().min(1).max(1_000_000).optional(),
  outputs: z.array(OutputConfig),
});
export type OutputsConfig = z.infer<typeof OutputsConfig>;

export interface ConfigProblem {
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export class OutputsConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(origin: string, problems: ConfigProblem[]) {
    super(
      `${origin}: invalid outputs configuration\n${problems.map((problem) => `  ${formatProblem(origin, problem)}`).join("\n")}`,
    );
    this.name = "OutputsConfigError";
    this.problems = problems;
  }
}

export function formatProblem(origin: string, problem: ConfigProblem): string {
  const at =
    problem.line === undefined
      ? ""
      : `:${problem.line}${problem.column === undefined ? "" : `:${problem.column}`}`;
  return `${origin}${at}: ${problem.path}: ${problem.message}`;
}

export interface LoadedOutputs {
  outputs: IncidentOutput[];
  /** For `createDispatcher`. */
  retry: NonNullable<DispatcherOptions["retry"]>;
  queueCapacity: number | undefined;
  /** What to log at start: types, names and hosts, no secrets. */
  summary: Array<{ name: string; type: string; target: string }>;
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  /** `--console-url`: overrides the file's `console_url` default (not an output's own). */
  consoleUrl?: string;
}

export async function loadOutputsConfig(path: string, options: LoadOptions = {}): Promise<LoadedOutputs> {
  return parseOutputsConfig(await readFile(path, "utf8"), path, options);
}

/** Parses, validates and builds the outputs; throws an `OutputsConfigError` listing every problem. */
export function parseOutputsConfig(text: string, origin: string, options: LoadOptions = {}): LoadedOutputs {
  const env = options.env ?? process.env;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new OutputsConfigError(
      origin,
      document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return {
          path: "(document)",
          line,
          column: col,
          message: error.message.split("\n")[0] ?? "invalid YAML",
        };
      }),
    );
  }
  const at = (path: ReadonlyArray<PropertyKey>, preferKey = false) => {
    const node = locate(document.contents, path, preferKey);
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new OutputsConfigError(origin, [{ path: "(document)", message: (error as Error).message }]);
  }
  const parsed = OutputsConfig.safeParse(value);
  if (!parsed.success) {
    throw new OutputsConfigError(
      origin,
      parsed.error.issues.map((issue) => {
        if (issue.code === "unrecognized_keys") {
          return {
            path: formatPath(issue.path),
            ...at([...issue.path, issue.keys[0] ?? ""], true),
            message: `unexpected field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`,
          };
        }
        return { path: formatPath(issue.path), ...at(issue.path), message: issue.message };
      }),
    );
  }
  const config = parsed.data;
  const problems: ConfigProblem[] = [];
  const problem = (path: PropertyKey[], message: string, preferKey = false) =>
    problems.push({ path: formatPath(path), ...at(path, preferKey), message });
  const secret = (path: PropertyKey[], name: string): string => {
    const found = env[name];
    // The variable's name is safe to report; its value never is.
    if (found === undefined || found === "") problem(path, `environment variable ${name} is not set`);
    return found ?? "";
  };

  const outputs: IncidentOutput[] = [];
  const summary: LoadedOutputs["summary"] = [];
  const names = new Map<string, number>();
  config.outputs.forEach((output, index) => {
    const path = (key: string): PropertyKey[] => ["outputs", index, key];
    const name = output.name ?? output.type;
    if (names.has(name)) {
      problem(
        output.name ? path("name") : path("type"),
        `a second output named ${name}: give each a distinct name`,
      );
    }
    names.set(name, index);
    const consoleUrl =
      ("console_url" in output ? output.console_url : undefined) ?? options.consoleUrl ?? config.console_url;
    const timeout =
      "timeout_ms" in output && output.timeout_ms !== undefined ? { timeoutMs: output.timeout_ms } : {};
    const url = (entry: { url?: string | undefined; url_env?: string | undefined }): string => {
      if ((entry.url === undefined) === (entry.url_env === undefined)) {
        problem(path("type"), "give exactly one of url and url_env");
        return "";
      }
      if (entry.url !== undefined) return entry.url;
      const fromEnv = secret(path("url_env"), entry.url_env ?? "");
      if (fromEnv !== "" && !HttpUrl.safeParse(fromEnv).success) {
        problem(path("url_env"), `environment variable ${entry.url_env} is not an http(s) URL`);
      }
      return fromEnv;
    };
    let built: IncidentOutput;
    let target: string;
    switch (output.type) {
      case "webhook": {
        const endpoint = url(output);
        built = webhookOutput({
          name,
          url: endpoint,
          secret: secret(path("secret_env"), output.secret_env),
          ...timeout,
        });
        target = originOf(endpoint);
        break;
      }
      case "slack": {
        const endpoint = url(output);
        built = slackOutput({ name, url: endpoint, ...(consoleUrl ? { consoleUrl } : {}), ...timeout });
        target = originOf(endpoint);
        break;
      }
      case "email": {
        if (output.password_env !== undefined && output.user === undefined) {
          problem(path("password_env"), "password_env needs user");
        }
        const password =
          output.password_env === undefined ? undefined : secret(path("password_env"), output.password_env);
        built = emailOutput({
          name,
          host: output.host,
          port: output.port,
          from: output.from,
          to: output.to,
          ...(output.secure !== undefined ? { secure: output.secure } : {}),
          ...(output.require_tls !== undefined ? { requireTls: output.require_tls } : {}),
          ...(output.user !== undefined ? { user: output.user } : {}),
          ...(password !== undefined ? { password } : {}),
          ...(output.message_id_domain !== undefined ? { messageIdDomain: output.message_id_domain } : {}),
          ...(consoleUrl ? { consoleUrl } : {}),
          ...timeout,
        });
        target = `smtp://${output.host}:${output.port}`;
        break;
      }
      case "thehive":
        built = theHiveOutput({
          name,
          baseUrl: output.base_url,
          apiKey: secret(path("api_key_env"), output.api_key_env),
          ...(output.organisation !== undefined ? { organisation: output.organisation } : {}),
          ...(output.alert_type !== undefined ? { alertType: output.alert_type } : {}),
          ...(output.tlp !== undefined ? { tlp: output.tlp } : {}),
          ...(output.pap !== undefined ? { pap: output.pap } : {}),
          ...(output.tags !== undefined ? { tags: output.tags } : {}),
          ...(consoleUrl ? { consoleUrl } : {}),
          ...timeout,
        });
        target = originOf(output.base_url);
        break;
      case "jsonl":
        built = jsonLinesOutput({ name, path: output.path });
        target = output.path;
        break;
    }
    outputs.push(output.events ? onlyEvents(built, output.events) : built);
    summary.push({ name, type: output.type, target });
  });
  if (problems.length > 0) {
    problems.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
    throw new OutputsConfigError(origin, problems);
  }
  const retry = config.retry ?? {};
  return {
    outputs,
    retry: {
      ...(retry.attempts !== undefined ? { attempts: retry.attempts } : {}),
      ...(retry.initial_delay_ms !== undefined ? { initialDelayMs: retry.initial_delay_ms } : {}),
      ...(retry.max_delay_ms !== undefined ? { maxDelayMs: retry.max_delay_ms } : {}),
    },
    queueCapacity: config.queue_capacity,
    summary,
  };
}

/** An output that skips (as delivered) the event types it was not configured for. */
export function onlyEvents(output: IncidentOutput, events: readonly IncidentEventType[]): IncidentOutput {
  const wanted = new Set<string>(events);
  return {
    name: output.name,
    deliver: (delivery: Delivery) =>
      wanted.has(delivery.event.type) ? output.deliver(delivery) : Promise.resolve(),
    ...(output.close ? { close: () => output.close?.() ?? Promise.resolve() } : {}),
  };
}

/** Scheme, host and port only: a URL's path and query can carry a token (Slack's do). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "(root)" : text;
}

/** The YAML node at a path (its key, for mappings, when asked), or the deepest ancestor found. */
function locate(root: Node | null, path: ReadonlyArray<PropertyKey>, preferKey: boolean): Node | undefined {
  let node: Node | undefined = root ?? undefined;
  let key: Node | undefined;
  for (const part of path) {
    if (isSeq(node) && typeof part === "number") {
      const item = node.items[part];
      if (item === undefined) return node;
      node = item as Node;
      key = undefined;
    } else if (isMap(node)) {
      const pair = node.items.find(
        (candidate) =>
          isPair(candidate) && isScalar(candidate.key) && String(candidate.key.value) === String(part),
      );
      if (!pair) return node;
      key = pair.key as Node;
      node = (pair.value ?? pair.key) as Node;
    } else {
      return node;
    }
  }
  return preferKey && key ? key : node;
}
