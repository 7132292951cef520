import { createHash } from "node:crypto";
import { type IdsAlertV1, IpAddress, type Severity, Timestamp } from "@vigil/schema";
import { z } from "zod";
import { type Cidr, DEFAULT_HOME_NETS, NetworkSet } from "./network.ts";

/**
 * Suricata EVE JSON (one record per line) to `IdsAlertV1`.
 * Field reference: https://docs.suricata.io/en/latest/output/eve/eve-json-format.html
 */

export type InvalidKind = "encoding" | "empty" | "json" | "not-object" | "schema";

export type ParseResult =
  | { status: "alert"; alert: IdsAlertV1 }
  /** A well-formed EVE record of another event type (flow, dns, http, tls, stats, ...). */
  | { status: "ignored"; eventType: string }
  | { status: "invalid"; kind: InvalidKind; reason: string };

export interface SuricataParseOptions {
  /** The protected networks: decide `asset_ip` and `direction`. Default `DEFAULT_HOME_NETS`. */
  homeNets?: NetworkSet | readonly (Cidr | string)[];
  /** Sensor name for records without a `host` field (EVE's `sensor-name`). */
  sensor?: string;
  /** Clock for `observed_time`. */
  now?: () => Date;
}

/** Longest strings accepted in fields that identify an alert; real rule texts are far shorter. */
export const LIMITS = {
  signature: 1024,
  shortText: 256,
  metadataKeys: 64,
  metadataValues: 64,
  metadataValue: 1024,
  references: 64,
  reference: 2048,
  httpHostname: 2048,
  httpMethod: 64,
  /** Evidence rather than identity: longer values are cut (with a marker), never rejected. */
  httpUrl: 8192,
  payloadPrintable: 16384,
} as const;

function hasControlCharacters(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Text that names something (a signature, a category, a sensor): bounded, one line, printable. */
function label(max: number) {
  return z
    .string()
    .max(max, { error: (issue) => `too long: ${(issue.input as string).length} characters, at most ${max}` })
    .refine((value) => !hasControlCharacters(value), { error: "contains control characters" });
}

/** Evidence text: kept, but cut to a bound so one alert cannot outgrow a Kafka record. */
function evidence(max: number) {
  return z
    .string()
    .transform((value) =>
      value.length > max ? `${value.slice(0, max)}…[truncated ${value.length - max} characters]` : value,
    );
}

const uint32 = z.number().int().min(0).max(4_294_967_295);
const port = z.number().int().min(0).max(65_535);
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const SURICATA_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})$/;

/** Suricata writes `+0100`; RFC 3339 wants `+01:00`. Impossible dates (Feb 30) are refused. */
export function normaliseSuricataTime(value: string): string | undefined {
  const match = SURICATA_TIME.exec(value);
  if (!match) return undefined;
  const offset = match[2]!;
  const normalised = `${match[1]}${offset === "Z" || offset.includes(":") ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`}`;
  return Timestamp.safeParse(normalised).success ? normalised : undefined;
}

const eveTime = z.string().transform((value, ctx) => {
  const normalised = normaliseSuricataTime(value);
  if (normalised === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `expected a time like 2024-01-17T10:52:17.542011+0100, got ${quote(value)}`,
    });
    return z.NEVER;
  }
  return normalised;
});

const metadataSchema = z
  .record(
    label(LIMITS.shortText),
    z
      .array(label(LIMITS.metadataValue))
      .max(LIMITS.metadataValues, { error: `at most ${LIMITS.metadataValues} values` }),
  )
  .refine((record) => Object.keys(record).length <= LIMITS.metadataKeys, {
    error: `at most ${LIMITS.metadataKeys} keys`,
  });

/** The fields of an EVE `alert` record that Vigil reads; the rest is dropped. */
export const EveAlertRecord = z.object({
  timestamp: eveTime,
  flow_id: z
    .union([uint64Number(), z.string().regex(/^\d{1,20}$/, { error: "expected decimal digits" })])
    .optional(),
  in_iface: label(LIMITS.shortText).optional(),
  event_type: z.literal("alert"),
  src_ip: IpAddress,
  src_port: port.optional(),
  dest_ip: IpAddress,
  dest_port: port.optional(),
  proto: z.union([label(LIMITS.shortText), z.number().int().min(0).max(255)]),
  app_proto: label(LIMITS.shortText).optional(),
  community_id: label(LIMITS.shortText).optional(),
  host: label(LIMITS.shortText).optional(),
  alert: z.object({
    action: z.enum(["allowed", "blocked"]).optional(),
    gid: uint32.optional(),
    signature_id: uint32,
    rev: uint32.optional(),
    signature: label(LIMITS.signature),
    category: label(LIMITS.shortText).optional(),
    severity: z.number().int().min(1).max(255).optional(),
    metadata: metadataSchema.optional(),
    /** Suricata 8 writes the rule's `reference` keywords as URLs. */
    references: z.array(label(LIMITS.reference)).max(LIMITS.references).optional(),
  }),
  payload_printable: evidence(LIMITS.payloadPrintable).optional(),
  http: z
    .object({
      hostname: label(LIMITS.httpHostname).optional(),
      url: evidence(LIMITS.httpUrl).optional(),
      http_method: label(LIMITS.httpMethod).optional(),
    })
    .optional(),
});
export type EveAlertRecord = z.output<typeof EveAlertRecord>;

/** zod's `.int()` stops at 2^53; flow ids go to 2^64 (see `exactFlowId`). */
function uint64Number() {
  return z
    .number()
    .min(0)
    .max(2 ** 64) // the double nearest 2^64 - 1
    .refine(Number.isInteger, { error: "expected an integer" });
}

/** What every EVE record carries, whatever its type: checked before a record is called "ignored". */
const EveEnvelope = z.object({ timestamp: eveTime, event_type: label(LIMITS.shortText).min(1) });

const defaultHomeNets = new NetworkSet(DEFAULT_HOME_NETS);
const networkSets = new WeakMap<readonly (Cidr | string)[], NetworkSet>();

/** Callers usually pass the same list for every line: build its lookup structure once. */
function networkSetOf(homeNets: SuricataParseOptions["homeNets"]): NetworkSet {
  if (homeNets === undefined) return defaultHomeNets;
  if (homeNets instanceof NetworkSet) return homeNets;
  let set = networkSets.get(homeNets);
  if (set === undefined) {
    set = new NetworkSet(homeNets);
    networkSets.set(homeNets, set);
  }
  return set;
}
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses one EVE line. Never throws: anything that is not a well-formed record comes back as
 * `invalid` with a reason naming the field and what was expected.
 */
export function parseSuricataEve(line: Buffer | string, options: SuricataParseOptions = {}): ParseResult {
  let text: string;
  if (typeof line === "string") {
    text = line;
  } else {
    try {
      text = decoder.decode(line);
    } catch {
      return invalid("encoding", "line is not valid UTF-8");
    }
  }
  if (text.trim() === "") return invalid("empty", "line is empty");

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return invalid("json", `not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return invalid("not-object", `expected a JSON object (one EVE record), got ${describe(json)}`);
  }
  // JSON.parse makes `__proto__` an own key (no pollution), but no EVE record has one: refuse the line.
  if (text.includes('"__proto__"') || text.includes('"constructor"') || text.includes('"prototype"')) {
    const path = findForbiddenKey(json, []);
    if (path !== undefined) return invalid("schema", `${path}: key not allowed in an EVE record`);
  }

  const record = json as Record<string, unknown>;
  if (record.event_type !== "alert") {
    const envelope = EveEnvelope.safeParse(record, { error: describeIssue });
    if (!envelope.success) return invalid("schema", formatIssues(envelope.error));
    return { status: "ignored", eventType: envelope.data.event_type };
  }

  const parsed = EveAlertRecord.safeParse(record, { error: describeIssue });
  if (!parsed.success) return invalid("schema", formatIssues(parsed.error));
  return { status: "alert", alert: toIdsAlert(parsed.data, text, options) };
}

function toIdsAlert(eve: EveAlertRecord, text: string, options: SuricataParseOptions): IdsAlertV1 {
  const homeNets = networkSetOf(options.homeNets);
  const { direction, assetIp } = classifyFlow(eve.src_ip, eve.dest_ip, homeNets);
  const sensor = eve.host ?? options.sensor;
  const flowId = eve.flow_id === undefined ? undefined : exactFlowId(eve.flow_id, text);
  const metadata = eve.alert.metadata ?? {};
  const references = dedupe([...(metadata.reference ?? []), ...(eve.alert.references ?? [])]);
  const cves = extractCves([eve.alert.signature, ...(metadata.cve ?? []), ...references]);
  const http = eve.http
    ? {
        ...(eve.http.hostname !== undefined ? { hostname: eve.http.hostname } : {}),
        ...(eve.http.url !== undefined ? { url: eve.http.url } : {}),
        ...(eve.http.http_method !== undefined ? { method: eve.http.http_method } : {}),
      }
    : undefined;

  const alert: IdsAlertV1 = {
    schema: "vigil.ids.alert/v1",
    id: alertId([
      "suricata",
      sensor ?? "",
      flowId ?? "",
      eve.timestamp,
      String(eve.alert.gid ?? 1),
      String(eve.alert.signature_id),
      endpointKey(eve.src_ip, eve.src_port),
      endpointKey(eve.dest_ip, eve.dest_port),
    ]),
    time: eve.timestamp,
    observed_time: (options.now?.() ?? new Date()).toISOString(),
    product: "suricata",
    src: endpoint(eve.src_ip, eve.src_port),
    dst: endpoint(eve.dest_ip, eve.dest_port),
    asset_ip: assetIp,
    direction,
    protocol: String(eve.proto).toLowerCase(),
    signature: {
      id: eve.alert.signature_id,
      message: eve.alert.signature,
      ...(eve.alert.rev !== undefined ? { rev: eve.alert.rev } : {}),
      ...(eve.alert.gid !== undefined ? { gid: eve.alert.gid } : {}),
      ...(eve.alert.category !== undefined ? { category: eve.alert.category } : {}),
      ...(eve.alert.severity !== undefined ? { product_severity: eve.alert.severity } : {}),
    },
    severity: mapSeverity(eve.alert.severity, metadata.signature_severity),
    cves,
    metadata,
    references,
  };
  if (sensor !== undefined) alert.sensor = sensor;
  if (eve.app_proto !== undefined) alert.app_protocol = eve.app_proto;
  if (flowId !== undefined) alert.flow_id = flowId;
  if (eve.community_id !== undefined) alert.community_id = eve.community_id;
  if (eve.alert.action !== undefined) alert.action = eve.alert.action;
  if (eve.payload_printable !== undefined) alert.payload_printable = eve.payload_printable;
  if (http !== undefined && Object.keys(http).length > 0) alert.http = http;
  return alert;
}

/**
 * The home-net side of a flow is the asset. Inbound: external -> internal; outbound: internal ->
 * external; internal: both inside (the destination is the asset, the one being reached);
 * external: neither inside (the destination again, so the alert still has a key).
 */
export function classifyFlow(
  src: string,
  dst: string,
  homeNets: NetworkSet,
): { direction: IdsAlertV1["direction"]; assetIp: string } {
  const srcHome = homeNets.contains(src);
  const dstHome = homeNets.contains(dst);
  if (srcHome && dstHome) return { direction: "internal", assetIp: dst };
  if (dstHome) return { direction: "inbound", assetIp: dst };
  if (srcHome) return { direction: "outbound", assetIp: src };
  return { direction: "external", assetIp: dst };
}

/**
 * Suricata's `alert.severity` is the rule priority: 1 -> high, 2 -> medium, 3 -> low,
 * 4 and above -> informational; absent -> low (Suricata's default priority is 3).
 * The ET `signature_severity` metadata can only raise it: Critical -> critical, Major -> at least high.
 */
export function mapSeverity(
  productSeverity: number | undefined,
  signatureSeverity: readonly string[] = [],
): Severity {
  const priority = productSeverity ?? 3;
  let severity: Severity =
    priority <= 1 ? "high" : priority === 2 ? "medium" : priority === 3 ? "low" : "informational";
  const declared = signatureSeverity.map((value) => value.toLowerCase());
  if (declared.includes("critical")) severity = "critical";
  else if (declared.includes("major")) severity = "high";
  return severity;
}

const CVE_PATTERN = /CVE[-_ ]?(\d{4})[-_](\d{4,7})(?!\d)/gi;
/** `reference:cve,2014-0160` becomes a MITRE URL or a bare `2014-0160` without the prefix. */
const CVE_REFERENCE = /(?:cvename\.cgi\?name=|^cve,)(\d{4})-(\d{4,7})(?!\d)/gi;

/** CVE ids in any of the texts, in the `CVE-2021-44228` form, deduplicated and sorted. */
export function extractCves(texts: readonly string[]): string[] {
  const found = new Set<string>();
  for (const text of texts) {
    for (const match of text.matchAll(CVE_PATTERN)) found.add(`CVE-${match[1]}-${match[2]}`);
    for (const match of text.matchAll(CVE_REFERENCE)) found.add(`CVE-${match[1]}-${match[2]}`);
    // The ET metadata form without the prefix (`cve 2021_44228` in some rule sets).
    const bare = /^(\d{4})[-_](\d{4,7})$/.exec(text.trim());
    if (bare) found.add(`CVE-${bare[1]}-${bare[2]}`);
  }
  return [...found].sort();
}

/**
 * flow_id is a 64-bit integer: JSON.parse rounds values above 2^53, which would merge distinct
 * flows. The digits are taken from the line itself when they denote the same (rounded) number.
 */
function exactFlowId(value: number | string, text: string): string {
  if (typeof value === "string" || Number.isSafeInteger(value)) return String(value);
  const digits = /"flow_id"\s*:\s*(\d+)/.exec(text)?.[1];
  return digits !== undefined && Number(digits) === value ? digits : BigInt(value).toString();
}

function alertId(parts: readonly string[]): string {
  return `ids-${createHash("sha256").update(JSON.stringify(parts)).digest("hex")}`;
}

function endpoint(ip: string, port: number | undefined): IdsAlertV1["src"] {
  return port === undefined ? { ip } : { ip, port };
}

function endpointKey(ip: string, port: number | undefined): string {
  return port === undefined ? ip : `${ip}#${port}`;
}

function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function findForbiddenKey(value: unknown, path: string[]): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  for (const key of Object.keys(value)) {
    const here = Array.isArray(value)
      ? [...path.slice(0, -1), `${path.at(-1) ?? ""}[${key}]`]
      : [...path, key];
    if (!Array.isArray(value) && FORBIDDEN_KEYS.has(key)) return here.join(".");
    const nested = findForbiddenKey((value as Record<string, unknown>)[key], here);
    if (nested !== undefined) return nested;
  }
  return undefined;
}

function invalid(kind: InvalidKind, reason: string): ParseResult {
  return { status: "invalid", kind, reason };
}

/** Per-parse zod messages in the form `expected number, got string "12"`. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  const got = issue.input === undefined ? "nothing (missing)" : describe(issue.input);
  switch (issue.code) {
    case "invalid_type":
      return `expected ${issue.expected === "int" ? "an integer" : issue.expected}, got ${got}`;
    case "invalid_value":
      return `expected ${issue.values.map((value) => JSON.stringify(value)).join(" or ")}, got ${got}`;
    case "invalid_union":
      return `expected ${describeUnion(issue)}, got ${got}`;
    case "invalid_format":
      return issue.format.startsWith("ipv") ? `expected an IP address, got ${got}` : undefined;
    case "too_small":
      return typeof issue.input === "number"
        ? `expected at least ${issue.minimum}, got ${issue.input}`
        : undefined;
    case "too_big":
      return typeof issue.input === "number"
        ? `expected at most ${issue.maximum}, got ${issue.input}`
        : undefined;
    default:
      return undefined;
  }
}

function describeUnion(issue: z.core.$ZodRawIssue): string {
  const path = (issue as { path?: PropertyKey[] }).path;
  const field = path?.at(-1);
  if (field === "src_ip" || field === "dest_ip") return "an IP address";
  if (field === "flow_id") return "an unsigned integer";
  if (field === "proto") return "a protocol name or number";
  return "one of several forms";
}

function formatIssues(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(record)";
    return `${path}: ${issue.message}`;
  });
  if (error.issues.length > limit) parts.push(`and ${error.issues.length - limit} more`);
  return parts.join("; ");
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "string") return `string ${quote(value)}`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** A value for a message: JSON-escaped (control characters visible), cut short. */
function quote(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(cut);
}
