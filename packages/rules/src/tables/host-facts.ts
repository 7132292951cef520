/**
 * What a HostV1 says, and what it does not: every baseline and exposure check asks here, so that
 * missing data is read as "unknown" in one place and never as a violation.
 */
import type { HostCollection, HostV1 } from "@vigil/schema";
import { canonicalIp } from "../cidr.ts";
import { normalizeKb } from "./supersedence.ts";

/**
 * Whether a source reported the collection at all: a snapshot leaves a `collection.<name>.<origin>`
 * provenance entry even when it was empty. An empty list without one means nobody looked.
 */
export function collectionKnown(host: HostV1, collection: HostCollection): boolean {
  if ((host[collection] as unknown[]).length > 0) return true;
  const prefix = `collection.${collection}.`;
  return Object.keys(host.field_sources).some((key) => key.startsWith(prefix));
}

/**
 * The OS version to compare with a baseline: `os.version` completed with `os.build` when the
 * version stops short of it (a directory reports `10.0` and build `19044`). Undefined when neither
 * is known.
 */
export function osVersionOf(host: HostV1): string | undefined {
  const version = host.os.version?.trim() || undefined;
  const build = host.os.build?.trim() || undefined;
  if (!version) return build;
  if (!build) return version;
  const parts = version.split(".");
  if (build.startsWith(`${version}.`)) return build;
  if (parts.includes(build.split(".")[0]!)) {
    const at = parts.indexOf(build.split(".")[0]!);
    return [...parts.slice(0, at), build].join(".");
  }
  return `${version}.${build}`;
}

/**
 * Service pack level: from `os.sp_name` or the OS name (`... Service Pack 3`); 0 when a source
 * reported the OS without one (every source that reports an OS reports its service pack in the same
 * record); undefined when the OS itself is unknown.
 */
export function servicePackOf(host: HostV1): number | undefined {
  for (const text of [host.os.sp_name, host.os.name]) {
    const match = text ? /service pack\s*(\d+)|\bsp\s*(\d+)\b/i.exec(text) : null;
    if (match) return Number(match[1] ?? match[2]);
  }
  return host.os.name !== undefined || host.os.version !== undefined ? 0 : undefined;
}

/** Installed updates as normalized KB ids (other update ids are left out). */
export function installedKbs(host: HostV1): Set<string> {
  const kbs = new Set<string>();
  for (const update of host.updates) {
    const kb = normalizeKb(update.id);
    if (kb) kbs.add(kb);
  }
  return kbs;
}

/** Every name the host is known by, lower-case: hostname, FQDN, NetBIOS name, aliases. */
export function namesOf(host: HostV1): Set<string> {
  const names = new Set<string>();
  for (const name of [host.hostname, host.fqdn, host.netbios_name, ...host.names])
    if (name) names.add(name.toLowerCase());
  return names;
}

export function ipsOf(host: HostV1): string[] {
  return host.ips.map((entry) => canonicalIp(entry.ip));
}

/** A display name for messages: FQDN, else hostname, else first name, else the id. */
export function displayName(host: HostV1): string {
  return host.fqdn ?? host.hostname ?? host.names[0] ?? host.id;
}

/**
 * An antivirus signature date as epoch ms. Sources write `2024-03-11 05:00:00` without a zone
 * (osquery, WMI): read as UTC, never as the engine's local time.
 */
export function parseSourceTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const trimmed = text.trim();
  let iso = trimmed.replace(" ", "T");
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += "T00:00:00Z";
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += "Z";
  const parsed = Date.parse(iso);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** The account name without a `DOMAIN\` or `HOST\` prefix, lower-case. */
export function accountName(name: string): string {
  return name.slice(name.lastIndexOf("\\") + 1).toLowerCase();
}

/** Loopback listeners are not open to the network: port standards do not apply to them. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address.startsWith("127.") || address === "::1" || address === "localhost";
}
