import { BlockList, isIP } from "node:net";
import { z } from "zod";

export type IpFamily = "ipv4" | "ipv6";

/** An address block such as `10.20.0.0/16` or `fc00::/7`. A bare address is a /32 or /128. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: IpFamily;
}

export class CidrError extends Error {
  override name = "CidrError";
}

/** RFC 1918, carrier-grade NAT (RFC 6598), unique-local IPv6, loopback and link-local. */
export const DEFAULT_HOME_NETS: readonly string[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "fc00::/7",
  "::1/128",
  "fe80::/10",
];

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** The family of an address, or undefined when it is not one (zone ids such as `%eth0` are refused). */
export function ipFamily(address: string): IpFamily | undefined {
  if (address.includes("%")) return undefined;
  const version = isIP(address);
  return version === 4 ? "ipv4" : version === 6 ? "ipv6" : undefined;
}

/** Parses `address/prefix` (or a bare address); host bits may be set and are ignored, as routers do. */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf("/");
  const address = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const family = ipFamily(address);
  if (family === undefined)
    throw new CidrError(`"${text}" is not a CIDR block: "${address}" is not an IP address`);
  const maxPrefix = family === "ipv4" ? 32 : 128;
  if (slash === -1) return { address, prefix: maxPrefix, family };
  const prefixText = trimmed.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    throw new CidrError(`"${text}" is not a CIDR block: the prefix length must be 0-${maxPrefix}`);
  }
  return { address, prefix: Number(prefixText), family };
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/**
 * A set of address blocks answering "is this address inside any of them".
 * Families never mix (an IPv6 `::/0` does not swallow IPv4), except that an IPv4-mapped IPv6
 * address (`::ffff:10.1.2.3`) is the IPv4 host it names.
 */
export class NetworkSet {
  readonly cidrs: readonly Cidr[];
  readonly #v4 = new BlockList();
  readonly #v6 = new BlockList();

  constructor(cidrs: Iterable<Cidr | string>) {
    const parsed: Cidr[] = [];
    for (const entry of cidrs) {
      const cidr = typeof entry === "string" ? parseCidr(entry) : entry;
      (cidr.family === "ipv4" ? this.#v4 : this.#v6).addSubnet(cidr.address, cidr.prefix, cidr.family);
      parsed.push(cidr);
    }
    this.cidrs = parsed;
  }

  /** False for anything that is not an IP address. */
  contains(address: string): boolean {
    const mapped = IPV4_MAPPED.exec(address);
    const candidate = mapped?.[1] ?? address;
    const family = ipFamily(candidate);
    if (family === "ipv4") return this.#v4.check(candidate, "ipv4");
    if (family === "ipv6") return this.#v6.check(candidate, "ipv6");
    return false;
  }
}

/** Whether one block contains an address. */
export function cidrContains(cidr: Cidr | string, address: string): boolean {
  return new NetworkSet([cidr]).contains(address);
}

/**
 * The `--home-net` flag of ingest apps: CIDRs, repeatable or comma-separated, the defaults when
 * none is given; each bad one is an issue naming it.
 */
export const homeNetsSchema = z
  .array(z.string())
  .optional()
  .transform((values, ctx): Cidr[] => {
    const texts = (values ?? [])
      .flatMap((value) => value.split(","))
      .map((value) => value.trim())
      .filter(Boolean);
    const parsed: Cidr[] = [];
    for (const text of texts.length > 0 ? texts : DEFAULT_HOME_NETS) {
      try {
        parsed.push(parseCidr(text));
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
      }
    }
    return parsed;
  });
