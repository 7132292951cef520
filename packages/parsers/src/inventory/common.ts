import { isIP } from "node:net";
import type { HostObservation } from "@vigil/schema";

/** What became of one record of an inventory input. `line` is 1-based, where the record starts. */
export type InventoryRecord =
  | { status: "record"; line: number; observation: HostObservation; raw: string }
  /** Well-formed, but nothing a host is made of (an SOA record, a comment block, another osquery table). */
  | { status: "ignored"; line: number; reason: string }
  | { status: "invalid"; line: number; kind: string; reason: string; raw: string };

/**
 * The result of parsing one input. `ok: false` when the whole input is not in the expected
 * format: `error` names the expected format and what was found instead.
 */
export type InventoryParse =
  | { ok: true; format: string; records: InventoryRecord[] }
  | { ok: false; format: string; error: string };

export interface InventoryParseOptions {
  /** Names the input in reasons and observation origins. */
  file?: string;
  /** Time for records that carry none (a zone file, a directory export): the file's mtime, else now. */
  fileTime?: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes bytes as UTF-8 (a BOM is dropped); undefined when they are not UTF-8. */
export function decodeText(input: Buffer | Uint8Array | string): string | undefined {
  if (typeof input === "string") return input.replace(/^\uFEFF/, "");
  try {
    return decoder.decode(input).replace(/^\uFEFF/, "");
  } catch {
    return undefined;
  }
}

/** A short description of what an input looks like, for "expected X, found Y" errors. */
export function describeContent(text: string): string {
  const firstLine = text.split(/\r?\n/).find((line) => line.trim() !== "" && !/^\s*[#;]/.test(line));
  if (firstLine === undefined) return "an empty input";
  const trimmed = firstLine.trim();
  const preview = JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed);
  if (hasBinary(text.slice(0, 4096))) return "binary data";
  if (trimmed.startsWith("{")) {
    try {
      const value = JSON.parse(trimmed) as Record<string, unknown>;
      return `JSON lines (first object has keys ${Object.keys(value).slice(0, 6).join(", ")})`;
    } catch {
      return `JSON text starting ${preview}`;
    }
  }
  if (trimmed.startsWith("[")) return `a JSON array starting ${preview}`;
  if (trimmed.startsWith("<")) return `XML/HTML starting ${preview}`;
  if (/^dn::?\s/i.test(trimmed) || /^version:\s*1$/i.test(trimmed)) return `LDIF starting ${preview}`;
  if (/^lease\s+[\d.:a-f]+\s*\{/i.test(trimmed) || /^(authoring-byte-order|server-duid)\b/.test(trimmed))
    return `ISC DHCP leases starting ${preview}`;
  if (/^\$(ORIGIN|TTL)\b/i.test(trimmed) || /\sIN\s+(SOA|A|NS|CNAME|PTR|AAAA)\s/i.test(` ${trimmed} `))
    return `a DNS zone file starting ${preview}`;
  if (trimmed.includes(",") || trimmed.includes(";") || trimmed.includes("\t"))
    return `CSV with the header ${preview}`;
  return `text starting ${preview}`;
}

function hasBinary(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x09 || (code > 0x0d && code < 0x20)) return true;
  }
  return false;
}

export function wrongFormat(format: string, expected: string, text: string): InventoryParse {
  return { ok: false, format, error: `expected ${expected}, found ${describeContent(text)}` };
}

export function invalid(line: number, kind: string, reason: string, raw: string): InventoryRecord {
  return { status: "invalid", line, kind, reason, raw };
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A host name split into its short name and domain, lower-case; undefined when it is not a DNS name. */
export function splitHostName(
  value: string | undefined,
): { hostname: string; fqdn?: string; domain?: string } | undefined {
  if (value === undefined) return undefined;
  const name = value.trim().toLowerCase().replace(/\.$/, "");
  if (name === "" || name.length > 253 || isIP(name) !== 0) return undefined;
  const labels = name.split(".");
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  const [hostname, ...rest] = labels;
  if (rest.length === 0) return { hostname: hostname! };
  return { hostname: hostname!, fqdn: name, domain: rest.join(".") };
}

/** Normalizes a MAC (`AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `AA:BB:...`); undefined for unusable ones. */
export function normalizeMac(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const hex = value
    .trim()
    .toLowerCase()
    .replace(/[-:.\s]/g, "");
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  // All zeros, broadcast and multicast addresses identify no machine.
  if (hex === "000000000000" || hex === "ffffffffffff" || (Number.parseInt(hex.slice(1, 2), 16) & 1) === 1)
    return undefined;
  return hex.match(/../g)!.join(":");
}

/** An IPv4 or IPv6 address as written, validated; undefined otherwise. */
export function normalizeIp(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ip = value.trim().toLowerCase();
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return undefined;
  // One spelling per address (`2001:db8::1`, not `2001:0db8:0:0::1`), as WHATWG URLs write it.
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** Serial numbers that vendors ship as placeholders and that identify nothing. */
const PLACEHOLDER_SERIALS = new Set([
  "",
  "0",
  "none",
  "n/a",
  "na",
  "default string",
  "to be filled by o.e.m.",
  "system serial number",
  "not specified",
  "not applicable",
  "0123456789",
  "123456789",
  "chassis serial number",
]);

export function normalizeSerial(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const serial = value.trim();
  if (PLACEHOLDER_SERIALS.has(serial.toLowerCase()) || /^0+$/.test(serial) || serial.length > 128)
    return undefined;
  return serial;
}

/** `KB4012212`, `4012212`, `kb4012212` -> `KB4012212`; other ids are kept as they are. */
export function normalizeUpdateId(value: string): string {
  const id = value.trim();
  const match = /^(?:kb)?(\d{5,8})$/i.exec(id);
  return match ? `KB${match[1]}` : id;
}

/** SMBIOS chassis types (DMTF DSP0134 7.4.1) to the hardware classes baselines are written for. */
export function hardwareTypeOfChassis(
  chassis: string | undefined,
): "laptop" | "desktop" | "server" | undefined {
  if (chassis === undefined) return undefined;
  const codes = chassis.match(/\d+/g)?.map(Number) ?? [];
  for (const code of codes) {
    if ([8, 9, 10, 11, 12, 14, 30, 31, 32].includes(code)) return "laptop";
    if ([17, 23, 25, 28, 29].includes(code)) return "server";
    if ([3, 4, 5, 6, 7, 13, 15, 16, 24, 34, 35, 36].includes(code)) return "desktop";
  }
  const words = chassis.toLowerCase();
  if (/laptop|notebook|portable|tablet|convertible|detachable|hand ?held|mobile/.test(words)) return "laptop";
  if (/server|rack|blade/.test(words)) return "server";
  if (/desktop|tower|all in one|mini pc/.test(words)) return "desktop";
  return undefined;
}

/** Virtual machines report their hypervisor as the hardware vendor or model. */
export function isVirtualHardware(vendor: string | undefined, model: string | undefined): boolean {
  return /vmware|virtualbox|kvm|qemu|xen|hyper-v|virtual machine|bochs|parallels/i.test(
    `${vendor ?? ""} ${model ?? ""}`,
  );
}

export function osTypeOf(
  name: string | undefined,
  platform?: string,
): "windows" | "linux" | "macos" | "other" | undefined {
  const words = `${platform ?? ""} ${name ?? ""}`.toLowerCase();
  if (words.trim() === "") return undefined;
  if (words.includes("windows")) return "windows";
  if (/darwin|mac ?os|os x/.test(words)) return "macos";
  if (/linux|ubuntu|debian|centos|rhel|red hat|fedora|suse|rocky|alma|amazon/.test(words)) return "linux";
  return "other";
}

/**
 * Times as inventory sources write them: RFC 3339, `2024-03-12 09:10:03` (taken as UTC),
 * `3/12/2024 9:10:03 AM` (US, as PowerShell's CSV export writes it), epoch seconds.
 * Returns RFC 3339 UTC, or undefined.
 */
export function parseLooseTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d{9,10}$/.test(text)) return new Date(Number(text) * 1000).toISOString();
  let match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      text,
    );
  if (match) {
    const [, y, mo, d, h = "00", mi = "00", s = "00", , zone] = match;
    const offset =
      zone === undefined || zone.toUpperCase() === "Z"
        ? "Z"
        : zone.includes(":")
          ? zone
          : `${zone.slice(0, 3)}:${zone.slice(3)}`;
    return checkedTime(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`, Number(y), Number(mo), Number(d));
  }
  match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?)?$/i.exec(text);
  if (match) {
    const [, mo, d, y, h = "0", mi = "00", s = "00", half] = match;
    let hour = Number(h);
    if (half !== undefined) {
      if (hour < 1 || hour > 12) return undefined;
      hour = (hour % 12) + (half.toUpperCase() === "PM" ? 12 : 0);
    }
    const iso = `${y}-${mo!.padStart(2, "0")}-${d!.padStart(2, "0")}T${String(hour).padStart(2, "0")}:${mi}:${s}Z`;
    return checkedTime(iso, Number(y), Number(mo), Number(d));
  }
  return undefined;
}

function checkedTime(iso: string, year: number, month: number, day: number): string | undefined {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  // `Date` rolls Feb 30 over to March: refuse impossible dates instead.
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day || year < 1970 || year > 9999)
    return undefined;
  return date.toISOString();
}

/** Splits a multi-valued cell (`a;b`, `a, b`, `{a,b}` as WMI exports write arrays). */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .replace(/^\{|\}$/g, "")
    .split(/[;,|]/)
    .map((part) => part.trim())
    .filter(Boolean);
}

export function truthy(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (["true", "yes", "1", "y", "on", "enabled"].includes(word)) return true;
  if (["false", "no", "0", "n", "off", "disabled"].includes(word)) return false;
  return undefined;
}

/** Strips undefined-valued keys, so optional properties stay absent (exactOptionalPropertyTypes). */
export function compact<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) result[key] = item;
  return result as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** Runs a whole-input parser so that nothing escapes it: a bug becomes an error result. */
export function guarded(format: string, parse: () => InventoryParse): InventoryParse {
  try {
    return parse();
  } catch (error) {
    return { ok: false, format, error: `internal parser error: ${(error as Error).message}` };
  }
}

/** Text that names something: one line, printable, bounded. */
export function cleanText(value: unknown, max = 1024): string | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = String(value).trim();
  if (text === "" || text.length > max) return undefined;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return undefined;
  }
  return text;
}
