import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * A parsed CIDR block. Matching is delegated to node:net's BlockList (one per block, so the
 * caller can tell which block matched and how specific it is).
 * NB: packages/parsers has its own CIDR helper; the two are deliberately not coupled yet.
 */
export interface Cidr {
  /** Canonical text, e.g. `10.20.0.0/16` or `2001:db8::/32`. */
  text: string;
  family: "ipv4" | "ipv6";
  prefixLength: number;
  contains(ip: string): boolean;
}

/** Parses `a.b.c.d/n` or `x:y::/n`; returns an error message instead of throwing. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return "expected a CIDR block like 10.20.0.0/16 (missing /prefix)";
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
  if (!family) return `expected a CIDR block like 10.20.0.0/16 ("${address}" is not an IP address)`;
  const maxPrefix = family === "ipv4" ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    return `expected a prefix length between 0 and ${maxPrefix}, got "${prefixText}"`;
  }
  const prefixLength = Number(prefixText);
  const block = new BlockList();
  block.addSubnet(address, prefixLength, family);
  const canonicalAddress = canonicalIp(address);
  return {
    text: `${canonicalAddress}/${prefixLength}`,
    family,
    prefixLength,
    contains(ip: string): boolean {
      const normalized = canonicalIp(ip);
      const ipFamily = isIPv4(normalized) ? "ipv4" : isIPv6(normalized) ? "ipv6" : undefined;
      return ipFamily === family && block.check(normalized, ipFamily);
    },
  };
}

/**
 * One spelling per address, so exact lookups are O(1) map hits: IPv6 compressed and lower-cased
 * (the WHATWG URL serializer implements RFC 5952), IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as IPv4,
 * so a dual-stack sensor's view of a v4 host still finds the v4 asset.
 */
export function canonicalIp(ip: string): string {
  const trimmed = ip.trim();
  if (isIPv4(trimmed)) return trimmed;
  if (!isIPv6(trimmed)) return trimmed;
  const compressed = new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped) {
    const high = Number.parseInt(mapped[1]!, 16);
    const low = Number.parseInt(mapped[2]!, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return compressed;
}
