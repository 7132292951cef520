/**
 * IPv4 and IPv6 addresses as 16-bit words (IPv4: 2 words, IPv6: 8), enough to test CIDR
 * membership without BigInt. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) count as IPv4.
 */

export interface IpAddress {
  version: 4 | 6;
  words: number[];
}

const ipv4Pattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4Words(text: string): number[] | undefined {
  const match = ipv4Pattern.exec(text);
  if (!match) return undefined;
  const bytes = match.slice(1, 5).map(Number);
  if (bytes.some((byte) => byte > 255)) return undefined;
  const [a, b, c, d] = bytes as [number, number, number, number];
  return [(a << 8) | b, (c << 8) | d];
}

function parseIpv6Words(text: string): number[] | undefined {
  let body = text;
  const zone = body.indexOf("%");
  if (zone >= 0) body = body.slice(0, zone);
  if (body.startsWith("[") && body.endsWith("]")) body = body.slice(1, -1);
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const words: number[] = [];
    const groups = part.split(":");
    for (let index = 0; index < groups.length; index++) {
      const group = groups[index]!;
      if (index === groups.length - 1 && group.includes(".")) {
        const v4 = parseIpv4Words(group);
        if (!v4) return undefined;
        words.push(...v4);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
        words.push(Number.parseInt(group, 16));
      }
    }
    return words;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

export function parseIp(text: string): IpAddress | undefined {
  const trimmed = text.trim();
  const v4 = parseIpv4Words(trimmed);
  if (v4) return { version: 4, words: v4 };
  if (!trimmed.includes(":")) return undefined;
  const v6 = parseIpv6Words(trimmed);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 5).every((word) => word === 0) && v6[5] === 0xffff;
  return mapped ? { version: 4, words: v6.slice(6) } : { version: 6, words: v6 };
}

export interface Cidr {
  version: 4 | 6;
  words: number[];
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf("/");
  const address = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!address) return undefined;
  const bits = address.version === 4 ? 32 : 128;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : String(bits);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  return { version: address.version, words: address.words, prefix };
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.version !== address.version) return false;
  let remaining = cidr.prefix;
  for (let index = 0; index < cidr.words.length && remaining > 0; index++) {
    const take = Math.min(16, remaining);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if (((cidr.words[index]! ^ address.words[index]!) & mask) !== 0) return false;
    remaining -= take;
  }
  return true;
}
