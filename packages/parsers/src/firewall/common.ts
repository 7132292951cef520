import { createHash } from "node:crypto";
import type { FirewallEndpoint, FirewallEventV1, FirewallFormat } from "@vigil/schema";
import { DEFAULT_HOME_NETS, ipFamily, NetworkSet } from "../network.ts";

export type FirewallParseResult =
  | { status: "record"; value: FirewallEventV1 }
  /** A well-formed line of a supported format that carries no traffic (ASA failover, PAN-OS SYSTEM). */
  | { status: "ignored"; eventType: string; format?: FirewallFormat }
  | { status: "invalid"; kind: FirewallInvalidKind; reason: string };

export type FirewallInvalidKind = "encoding" | "oversized" | "unrecognized" | "malformed" | "field";

export interface FirewallParseOptions {
  /** The protected networks: decide `asset_ip` and `direction`. Default `DEFAULT_HOME_NETS`. */
  homeNets?: NetworkSet;
  /** `auto` (default) detects the format per line. */
  format?: FirewallFormat | "auto";
  /** The sender's address (syslog peer): the device when the header names none. */
  peer?: string;
  /** Receive time, epoch ms (default now): fills `observed_time`, and `time` when the line has none. */
  now?: number;
  /**
   * The instant RFC 3164 timestamps (which have no year) are placed against, epoch ms (default
   * `now`): set it when replaying an old file, or every line lands in the current year.
   */
  yearReference?: number;
  /** Longest line handled, bytes (default 64 KiB): syslog messages are a few KiB at most. */
  maxBytes?: number;
}

/** What a format parser gets: the header already taken off. */
export interface MessageContext {
  raw: string;
  body: string;
  time: number | undefined;
  hostname: string | undefined;
  appName: string | undefined;
  now: number;
  options: FirewallParseOptions;
}

/** A format parser's verdict before the shared fields are filled in. */
export type Draft = Omit<
  FirewallEventV1,
  | "schema"
  | "id"
  | "class_uid"
  | "category_uid"
  | "time"
  | "observed_time"
  | "raw_data"
  | "format"
  | "device"
  | "direction"
  | "asset_ip"
  | "time_inferred"
> & { time?: number | undefined; device?: FirewallEventV1["device"] };

export type DraftResult =
  | { status: "record"; draft: Draft }
  | { status: "ignored"; eventType: string }
  | { status: "invalid"; kind: FirewallInvalidKind; reason: string };

export class FieldError extends Error {
  override name = "FieldError";
}

export const invalid = (kind: FirewallInvalidKind, reason: string) => ({
  status: "invalid" as const,
  kind,
  reason,
});

const defaultHomeNets = new NetworkSet(DEFAULT_HOME_NETS);

const PROTOCOLS: Record<number, string> = {
  0: "hopopt",
  1: "icmp",
  2: "igmp",
  4: "ipv4",
  6: "tcp",
  17: "udp",
  41: "ipv6",
  43: "ipv6-route",
  44: "ipv6-frag",
  47: "gre",
  50: "esp",
  51: "ah",
  58: "ipv6-icmp",
  59: "ipv6-nonxt",
  60: "ipv6-opts",
  88: "eigrp",
  89: "ospf",
  103: "pim",
  112: "vrrp",
  115: "l2tp",
  132: "sctp",
  136: "udplite",
};
const PROTOCOL_NUMBERS = new Map(Object.entries(PROTOCOLS).map(([num, name]) => [name, Number(num)]));
const PROTOCOL_ALIASES: Record<string, string> = {
  icmpv6: "ipv6-icmp",
  "ipv6-icmp": "ipv6-icmp",
  carp: "vrrp",
};

/** `TCP`, `ICMPv6`, `6`, `carp` -> the IANA keyword in lower case (and its number when known). */
export function protocolOf(value: string | undefined): { protocol_name?: string; protocol_num?: number } {
  if (value === undefined || value === "") return {};
  const lower = value.trim().toLowerCase();
  if (/^\d{1,3}$/.test(lower)) {
    const num = Number(lower);
    if (num > 255) return {};
    return { protocol_name: PROTOCOLS[num] ?? lower, protocol_num: num };
  }
  if (!/^[a-z0-9][a-z0-9_.-]{0,31}$/.test(lower)) return {};
  const name = PROTOCOL_ALIASES[lower] ?? lower;
  const num = PROTOCOL_NUMBERS.get(name);
  return num === undefined ? { protocol_name: name } : { protocol_name: name, protocol_num: num };
}

const SERVICES: Record<string, number> = {
  ftp: 21,
  "ftp-data": 20,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  dns: 53,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  http: 80,
  www: 80,
  kerberos: 88,
  pop3: 110,
  sunrpc: 111,
  ntp: 123,
  "netbios-ns": 137,
  "netbios-dgm": 138,
  "netbios-ssn": 139,
  imap4: 143,
  snmp: 161,
  snmptrap: 162,
  ldap: 389,
  https: 443,
  "microsoft-ds": 445,
  isakmp: 500,
  syslog: 514,
  ldaps: 636,
  sqlnet: 1521,
  "ms-sql-s": 1433,
  rdp: 3389,
  "ms-wbt-server": 3389,
};

export function ipOrUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return ipFamily(value) === undefined ? undefined : value;
}

/** An address the line must hold; names the field when it does not. */
export function requireIp(value: string | undefined, field: string): string {
  if (value === undefined || value === "") throw new FieldError(`${field} is missing`);
  if (ipFamily(value) === undefined) throw new FieldError(`${field} "${clip(value)}" is not an IP address`);
  return value;
}

export function portOf(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535)
    throw new FieldError(`${field} "${clip(value)}" is not a port number`);
  return Number(value);
}

export function countOf(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new FieldError(`${field} "${clip(value)}" is not a count`);
  return Number(value);
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,254}$/;

/**
 * `10.1.1.1`, `Server_Windows` (an ASA object name) or a service port (`ssh`): the endpoint fields
 * they fill. An address that is neither an IP nor a plausible name is refused with the field named.
 */
export function addressInto(endpoint: FirewallEndpoint, address: string, field: string): void {
  if (ipFamily(address) !== undefined) endpoint.ip = address;
  else if (NAME.test(address) && !/^[\d.]+$/.test(address)) endpoint.hostname = address;
  else throw new FieldError(`${field} "${clip(address)}" is neither an IP address nor a host name`);
}

export function serviceInto(endpoint: FirewallEndpoint, service: string, field: string): void {
  if (/^\d{1,5}$/.test(service)) {
    const port = Number(service);
    if (port > 65535) throw new FieldError(`${field} "${service}" is not a port number`);
    endpoint.port = port;
    return;
  }
  const known = SERVICES[service.toLowerCase()];
  if (known !== undefined) endpoint.port = known;
  else if (/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(service)) endpoint.svc_name = service;
  else throw new FieldError(`${field} "${clip(service)}" is neither a port nor a service name`);
}

export function clip(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** Deterministic event id: the same line from the same device is the same event. */
export function eventId(format: string, device: string, raw: string): string {
  return `fw-${createHash("sha256").update(format).update("\0").update(device).update("\0").update(raw).digest("hex").slice(0, 40)}`;
}

/** Inside address and direction relative to the home networks. */
export function classify(
  src: FirewallEndpoint,
  dst: FirewallEndpoint,
  homeNets: NetworkSet = defaultHomeNets,
): { asset_ip?: string; direction?: FirewallEventV1["direction"] } {
  const srcHome = src.ip !== undefined && homeNets.contains(src.ip);
  const dstHome = dst.ip !== undefined && homeNets.contains(dst.ip);
  const result: { asset_ip?: string; direction?: FirewallEventV1["direction"] } = {};
  if (src.ip !== undefined && dst.ip !== undefined) {
    result.direction =
      srcHome && dstHome ? "internal" : dstHome ? "inbound" : srcHome ? "outbound" : "external";
  }
  const asset = dstHome ? dst.ip : srcHome ? src.ip : (dst.ip ?? src.ip ?? dst.hostname ?? src.hostname);
  if (asset !== undefined) result.asset_ip = asset;
  return result;
}

export function compact<T extends object>(value: T): T | undefined {
  return Object.values(value).some((entry) => entry !== undefined) ? value : undefined;
}

/** Drops undefined keys, so `exactOptionalPropertyTypes` records carry only what the line had. */
export function defined<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) if (entry !== undefined) out[key] = entry;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

export const DENY_WORDS =
  /\b(?:deny|denied|drop|dropped|block|blocked|reject|rejected|discard|discarded|reset|refused)\b/i;
export const ALLOW_WORDS = /\b(?:accept|accepted|allow|allowed|permit|permitted|pass|passed|built)\b/i;
