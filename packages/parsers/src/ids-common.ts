import { createHash } from "node:crypto";
import {
  type ConnectionDirection,
  directionIds,
  type IdsAlertV1,
  type NetworkEndpoint,
  type Severity,
  severityIds,
} from "@vigil/schema";
import { z } from "zod";
import { type Cidr, DEFAULT_HOME_NETS, NetworkSet } from "./network.ts";

/** What the IDS parsers (Suricata, Snort, Zeek) share: input checks, flow direction, ids, messages. */

export type InvalidKind = "encoding" | "empty" | "json" | "not-object" | "schema";
export type Invalid = { status: "invalid"; kind: InvalidKind; reason: string };

export const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
export const uint32 = z.number().int().min(0).max(4_294_967_295);
export const port = z.number().int().min(0).max(65_535);

/** The protected networks: decide `asset_ip` and the direction. */
export type HomeNets = NetworkSet | readonly (Cidr | string)[];

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

const defaultHomeNets = new NetworkSet(DEFAULT_HOME_NETS);
const networkSets = new WeakMap<readonly (Cidr | string)[], NetworkSet>();

/** Callers usually pass the same list for every line: build its lookup structure once. */
export function networkSetOf(homeNets: HomeNets | undefined): NetworkSet {
  if (homeNets === undefined) return defaultHomeNets;
  if (homeNets instanceof NetworkSet) return homeNets;
  let set = networkSets.get(homeNets);
  if (set === undefined) {
    set = new NetworkSet(homeNets);
    networkSets.set(homeNets, set);
  }
  return set;
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

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes to text: invalid UTF-8 is refused, not replaced, so what is published is what was sent. */
export function decodeLine(line: Buffer | string): { text: string } | Invalid {
  if (typeof line === "string")
    return line.trim() === "" ? invalid("empty", "line is empty") : { text: line };
  let text: string;
  try {
    text = decoder.decode(line);
  } catch {
    return invalid("encoding", "line is not valid UTF-8");
  }
  if (text.trim() === "") return invalid("empty", "line is empty");
  return { text };
}

/**
 * One JSON object per line. JSON.parse makes `__proto__` an own key (no pollution), but no IDS
 * record has one, nor `constructor` / `prototype`: such lines are refused with the key's path.
 */
export function parseJsonObject(
  text: string,
  what: string,
  withArticle = `a ${what}`,
): { record: Record<string, unknown> } | Invalid {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return invalid("json", `not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return invalid("not-object", `expected a JSON object (one ${what}), got ${describe(json)}`);
  }
  if (text.includes('"__proto__"') || text.includes('"constructor"') || text.includes('"prototype"')) {
    const path = findForbiddenKey(json, []);
    if (path !== undefined) return invalid("schema", `${path}: key not allowed in ${withArticle}`);
  }
  return { record: json as Record<string, unknown> };
}

/**
 * The home-net side of a flow is the asset. Inbound: external -> internal; outbound: internal ->
 * external; lateral: both inside (the destination is the asset, the one being reached);
 * other: neither inside (the destination again, so the alert still has a key).
 */
export function classifyFlow(
  src: string,
  dst: string,
  homeNets: NetworkSet,
): { direction: ConnectionDirection; assetIp: string } {
  const srcHome = homeNets.contains(src);
  const dstHome = homeNets.contains(dst);
  if (srcHome && dstHome) return { direction: "Lateral", assetIp: dst };
  if (dstHome) return { direction: "Inbound", assetIp: dst };
  if (srcHome) return { direction: "Outbound", assetIp: src };
  return { direction: "Other", assetIp: dst };
}

/** Direction and asset of a record that may lack one or both addresses. */
export function flowSides(
  src: string | undefined,
  dst: string | undefined,
  homeNets: NetworkSet,
): {
  direction: ConnectionDirection;
  direction_id: IdsAlertV1["connection_info"]["direction_id"];
  assetIp?: string;
} {
  if (src !== undefined && dst !== undefined) {
    const { direction, assetIp } = classifyFlow(src, dst, homeNets);
    return { direction, direction_id: directionIds[direction], assetIp };
  }
  const only = src ?? dst;
  if (only !== undefined && homeNets.contains(only))
    return { direction: "Unknown", direction_id: 0, assetIp: only };
  return { direction: "Unknown", direction_id: 0 };
}

export function endpoint(ip: string | undefined, port: number | undefined): NetworkEndpoint | undefined {
  if (ip === undefined) return undefined;
  return port === undefined ? { ip } : { ip, port };
}

export function endpointKey(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined) return "";
  return port === undefined ? ip : `${ip}#${port}`;
}

/** Same parts, same id: a line read twice is recognisable downstream. */
export function recordId(prefix: string, parts: readonly string[]): string {
  return `${prefix}-${createHash("sha256").update(JSON.stringify(parts)).digest("hex")}`;
}

export function severityFields(severity: Severity): {
  severity: Severity;
  severity_id: IdsAlertV1["severity_id"];
} {
  return { severity, severity_id: severityIds[severity] };
}

/** An RFC 3339 time (offset required) to epoch ms; NaN never escapes (the callers validated it). */
export function epochMillis(time: string): number {
  return Date.parse(time);
}

export function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export function hasControlCharacters(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Text that names something (a signature, a category, a sensor): bounded, one line, printable. */
export function label(max: number) {
  return z
    .string()
    .max(max, { error: (issue) => `too long: ${(issue.input as string).length} characters, at most ${max}` })
    .refine((value) => !hasControlCharacters(value), { error: "contains control characters" });
}

/** Evidence text: kept, but cut to a bound so one alert cannot outgrow a Kafka record. */
export function evidence(max: number) {
  return z
    .string()
    .transform((value) =>
      value.length > max ? `${value.slice(0, max)}…[truncated ${value.length - max} characters]` : value,
    );
}

export function findForbiddenKey(value: unknown, path: string[]): string | undefined {
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

export function invalid(kind: InvalidKind, reason: string): Invalid {
  return { status: "invalid", kind, reason };
}

/** Per-parse zod messages in the form `expected number, got string "12"`. */
export function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
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
  if (typeof field === "string" && /(^|_)(ip|addr|h)$/.test(field)) return "an IP address";
  if (field === "flow_id") return "an unsigned integer";
  if (field === "proto") return "a protocol name or number";
  return "one of several forms";
}

export function formatIssues(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(record)";
    return `${path}: ${issue.message}`;
  });
  if (error.issues.length > limit) parts.push(`and ${error.issues.length - limit} more`);
  return parts.join("; ");
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "string") return `string ${quote(value)}`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** A value for a message: JSON-escaped (control characters visible), cut short. */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(cut);
}

/**
 * `connection_info.protocol_name`: the transport protocol in lower case, or nothing when the
 * source left it empty (the schema requires a non-empty name whenever the path is present).
 */
export function protocolNameField(proto: string | number | undefined): { protocol_name?: string } {
  const name = proto === undefined ? "" : String(proto).trim().toLowerCase();
  return name === "" ? {} : { protocol_name: name };
}
