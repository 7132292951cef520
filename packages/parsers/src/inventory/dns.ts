import type { HostObservation } from "@vigil/schema";
import {
  decodeText,
  guarded,
  type InventoryParse,
  type InventoryParseOptions,
  type InventoryRecord,
  invalid,
  normalizeIp,
  normalizeMac,
  splitHostName,
  wrongFormat,
} from "./common.ts";

/**
 * DNS zone files in BIND's master format (RFC 1035 section 5): `$ORIGIN` and `$TTL` directives,
 * names relative to the origin, `@` for the origin, a blank owner repeating the previous one,
 * optional TTL and class in either order, `;` comments, and records spanning lines inside
 * parentheses. A, AAAA (name -> address), PTR (`in-addr.arpa` / `ip6.arpa` -> name) and CNAME
 * (alias -> host) become observations; SOA, NS, MX, TXT, SRV and the rest are ignored, as are
 * the zone apex's own addresses and wildcards.
 */

export interface ZoneParseOptions extends InventoryParseOptions {
  /** The zone's origin when the file has no `$ORIGIN` (named.conf's `zone "corp.example"`). */
  origin?: string;
}

const ZONE_EXPECTED = "a DNS zone file in BIND master format ($ORIGIN/$TTL, owner [ttl] [class] type data)";
const CLASSES = new Set(["IN", "CH", "HS", "CS"]);
const TYPES =
  /^(A|AAAA|PTR|CNAME|SOA|NS|MX|TXT|SRV|CAA|SPF|HINFO|DNAME|NAPTR|DS|DNSKEY|RRSIG|NSEC|NSEC3|TLSA|SSHFP|LOC|RP|AFSDB|WKS|HTTPS|SVCB)$/i;
const TTL = /^\d+[smhdw]?(\d+[smhdw])*$/i;

/** Removes a `;` comment that is not inside quotes. */
function stripComment(line: string): string {
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (char === "\\") index++;
    else if (char === '"') quoted = !quoted;
    else if (char === ";" && !quoted) return line.slice(0, index);
  }
  return line;
}

interface Logical {
  line: number;
  text: string;
  raw: string;
  /** The first physical line started with blank space: the owner is the previous one. */
  inheritsOwner: boolean;
}

function logicalRecords(lines: string[]): Logical[] | { error: string; line: number; raw: string } {
  const result: Logical[] = [];
  let current: Logical | undefined;
  let depth = 0;
  for (const [index, physical] of lines.entries()) {
    const line = physical.replace(/\r$/, "");
    const content = stripComment(line);
    if (current === undefined) {
      if (content.trim() === "") continue;
      current = { line: index + 1, text: "", raw: "", inheritsOwner: /^\s/.test(content) };
    }
    current.raw += current.raw === "" ? line : `\n${line}`;
    for (const char of content) {
      if (char === "(") depth++;
      else if (char === ")") depth--;
    }
    current.text += ` ${content.replace(/[()]/g, " ")}`;
    if (depth < 0) return { error: "unbalanced ')'", line: current.line, raw: current.raw };
    if (depth === 0) {
      result.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) return { error: "'(' never closed", line: current.line, raw: current.raw };
  return result;
}

function absolute(name: string, origin: string | undefined): string | undefined {
  if (name === "@") return origin;
  if (name.endsWith(".")) return name.slice(0, -1).toLowerCase();
  if (origin === undefined) return undefined;
  return `${name}.${origin}`.toLowerCase();
}

/** `20.1.20.10.in-addr.arpa` -> `10.20.1.20`; nibble `ip6.arpa` names -> IPv6. */
export function reverseNameToIp(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith(".in-addr.arpa")) {
    const parts = lower.slice(0, -".in-addr.arpa".length).split(".");
    if (parts.length !== 4) return undefined;
    return normalizeIp(parts.reverse().join("."));
  }
  if (lower.endsWith(".ip6.arpa")) {
    const nibbles = lower.slice(0, -".ip6.arpa".length).split(".");
    if (nibbles.length !== 32 || !nibbles.every((nibble) => /^[0-9a-f]$/.test(nibble))) return undefined;
    const hex = nibbles.reverse().join("");
    return normalizeIp(hex.match(/.{4}/g)!.join(":"));
  }
  return undefined;
}

export function parseBindZone(input: Buffer | string, options: ZoneParseOptions = {}): InventoryParse {
  return guarded("bind-zone", () => {
    const text = decodeText(input);
    if (text === undefined)
      return {
        ok: false,
        format: "bind-zone",
        error: `expected ${ZONE_EXPECTED}, found bytes that are not UTF-8`,
      };
    const lines = text.split("\n");
    const logical = logicalRecords(lines);
    if ("error" in logical) {
      // A parenthesis error in the first record means this is not a zone file at all.
      if (
        logical.line === lines.findIndex((line) => stripComment(line).trim() !== "") + 1 &&
        !/^\s*\$/.test(logical.raw)
      )
        return wrongFormat("bind-zone", ZONE_EXPECTED, text);
    }
    const entries = "error" in logical ? [] : logical;
    const first = entries[0];
    if (first !== undefined && !looksLikeZoneEntry(first.text))
      return wrongFormat("bind-zone", ZONE_EXPECTED, text);
    if (first === undefined && !("error" in logical)) return { ok: true, format: "bind-zone", records: [] };
    if ("error" in logical)
      return {
        ok: true,
        format: "bind-zone",
        records: [invalid(logical.line, "syntax", logical.error, logical.raw)],
      };

    let origin = options.origin?.toLowerCase().replace(/\.$/, "");
    let previousOwner: string | undefined;
    const time = options.fileTime ?? new Date().toISOString();
    const file = options.file ?? "zone";
    const records: InventoryRecord[] = [];
    for (const entry of entries) {
      const tokens = entry.text.trim().split(/\s+/);
      const head = tokens[0]!;
      if (head.startsWith("$")) {
        const directive = head.toUpperCase();
        if (directive === "$ORIGIN") {
          const value = tokens[1];
          if (value === undefined)
            records.push(invalid(entry.line, "syntax", "$ORIGIN without a name", entry.raw));
          else origin = absolute(value, origin) ?? value.toLowerCase().replace(/\.$/, "");
        } else if (directive !== "$TTL") {
          records.push({ status: "ignored", line: entry.line, reason: `${directive} is not followed` });
        }
        continue;
      }
      let rest = tokens;
      let owner: string | undefined;
      if (entry.inheritsOwner) owner = previousOwner;
      else {
        owner = absolute(head, origin);
        if (owner === undefined) {
          records.push(
            invalid(entry.line, "syntax", `relative name ${JSON.stringify(head)} and no $ORIGIN`, entry.raw),
          );
          continue;
        }
        rest = tokens.slice(1);
        previousOwner = owner;
      }
      if (owner === undefined) {
        records.push(invalid(entry.line, "syntax", "record without an owner name", entry.raw));
        continue;
      }
      // [ttl] [class] or [class] [ttl], then the type.
      while (rest.length > 0 && (TTL.test(rest[0]!) || CLASSES.has(rest[0]!.toUpperCase())))
        rest = rest.slice(1);
      const type = rest[0]?.toUpperCase();
      const data = rest.slice(1);
      if (type === undefined || !TYPES.test(type)) {
        records.push(
          invalid(
            entry.line,
            "syntax",
            `expected a record type, got ${JSON.stringify(rest[0] ?? "")}`,
            entry.raw,
          ),
        );
        continue;
      }
      if (!["A", "AAAA", "PTR", "CNAME"].includes(type)) {
        records.push({ status: "ignored", line: entry.line, reason: `${type} record` });
        continue;
      }
      if (data.length !== 1) {
        records.push(invalid(entry.line, "syntax", `${type} takes one value, got ${data.length}`, entry.raw));
        continue;
      }
      const value = data[0]!;
      const observation: HostObservation = { source: "dns", time, origin: `dns:${file}`, identity: {} };
      if (type === "A" || type === "AAAA") {
        const ip = normalizeIp(value);
        if (ip === undefined || (type === "A") !== !ip.includes(":")) {
          records.push(
            invalid(
              entry.line,
              "schema",
              `${type} ${owner}: not an ${type === "A" ? "IPv4" : "IPv6"} address: ${JSON.stringify(value)}`,
              entry.raw,
            ),
          );
          continue;
        }
        if (owner === origin || owner.startsWith("*.")) {
          records.push({
            status: "ignored",
            line: entry.line,
            reason: owner === origin ? "address of the zone apex" : "wildcard",
          });
          continue;
        }
        const name = splitHostName(owner);
        if (!name) {
          records.push(
            invalid(entry.line, "schema", `${type}: not a host name: ${JSON.stringify(owner)}`, entry.raw),
          );
          continue;
        }
        Object.assign(observation.identity, {
          hostname: name.hostname,
          ...(name.fqdn ? { fqdn: name.fqdn } : {}),
          ips: [ip],
        });
      } else if (type === "PTR") {
        const ip = reverseNameToIp(owner);
        const target = absolute(value, origin);
        const name = splitHostName(target);
        if (ip === undefined || !name) {
          records.push(
            invalid(
              entry.line,
              "schema",
              ip === undefined
                ? `PTR owner is not a reverse name: ${owner}`
                : `PTR target is not a host name: ${value}`,
              entry.raw,
            ),
          );
          continue;
        }
        Object.assign(observation.identity, {
          hostname: name.hostname,
          ...(name.fqdn ? { fqdn: name.fqdn } : {}),
          ips: [ip],
        });
      } else {
        const target = absolute(value, origin);
        const name = splitHostName(target);
        if (!name || !splitHostName(owner) || owner.startsWith("*.")) {
          records.push(
            invalid(entry.line, "schema", `CNAME: not host names: ${owner} -> ${value}`, entry.raw),
          );
          continue;
        }
        Object.assign(observation.identity, {
          hostname: name.hostname,
          ...(name.fqdn ? { fqdn: name.fqdn } : {}),
          aliases: [owner],
        });
      }
      records.push({ status: "record", line: entry.line, observation, raw: entry.raw });
    }
    return { ok: true, format: "bind-zone", records };
  });
}

function looksLikeZoneEntry(text: string): boolean {
  const tokens = text.trim().split(/\s+/);
  if (/^\$(ORIGIN|TTL|INCLUDE|GENERATE)$/i.test(tokens[0] ?? "")) return true;
  return tokens.slice(0, 4).some((token) => TYPES.test(token)) && !text.includes("{");
}

const LEASES_EXPECTED = "ISC DHCP leases (lease <ip> { starts ...; hardware ethernet ...; } blocks)";

/**
 * ISC DHCP server leases (`dhcpd.leases`, dhcpd.leases(5)): `lease <ip> { ... }` blocks with
 * `starts` / `ends` / `cltt` (`2 2024/03/12 07:55:10` in UTC, or `epoch 1710230110;`),
 * `binding state`, `hardware ethernet`, `client-hostname`. The file is append-only: a later
 * block for the same address supersedes an earlier one, which the asset table's recency handles.
 * An active binding observes the address; a free, expired or released one only that the client
 * exists (its address is no longer bound to it). Other blocks (`host`, `failover peer`, ...) and
 * statements are ignored.
 */
export function parseDhcpLeases(
  input: Buffer | string,
  options: InventoryParseOptions & { domain?: string } = {},
): InventoryParse {
  return guarded("dhcp-leases", () => {
    const text = decodeText(input);
    if (text === undefined)
      return {
        ok: false,
        format: "dhcp-leases",
        error: `expected ${LEASES_EXPECTED}, found bytes that are not UTF-8`,
      };
    const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
    const firstContent = lines.find((line) => line.trim() !== "" && !line.trimStart().startsWith("#"));
    if (firstContent === undefined) return { ok: true, format: "dhcp-leases", records: [] };
    if (
      !/^\s*(lease\s|host\s|server-duid|authoring-byte-order|failover\s|class\s|subclass\s|ia-na\s|ia-ta\s|ia-pd\s|db-time-format)/.test(
        firstContent,
      )
    )
      return wrongFormat("dhcp-leases", LEASES_EXPECTED, text);
    const records: InventoryRecord[] = [];
    const file = options.file ?? "dhcpd.leases";
    let block: { line: number; head: string; body: string[]; raw: string[] } | undefined;
    let depth = 0;
    for (const [index, line] of lines.entries()) {
      const content = line.replace(/#.*$/, "");
      if (block === undefined) {
        if (content.trim() === "") continue;
        if (!content.includes("{")) {
          if (!content.trim().endsWith(";"))
            records.push(invalid(index + 1, "syntax", "statement without ';'", line));
          continue;
        }
        block = { line: index + 1, head: content.slice(0, content.indexOf("{")).trim(), body: [], raw: [] };
        depth = 0;
      }
      block.raw.push(line);
      for (const char of content) {
        if (char === "{") depth++;
        else if (char === "}") depth--;
      }
      block.body.push(content);
      if (depth <= 0) {
        records.push(
          leaseRecord(
            block.line,
            block.head,
            block.body.join("\n"),
            block.raw.join("\n"),
            file,
            options.domain,
          ),
        );
        block = undefined;
      }
    }
    if (block !== undefined)
      records.push(invalid(block.line, "syntax", `${block.head} { never closed`, block.raw.join("\n")));
    return { ok: true, format: "dhcp-leases", records };
  });
}

function leaseTime(statement: string | undefined): string | undefined {
  if (statement === undefined) return undefined;
  const epoch = /^epoch\s+(\d+)$/.exec(statement);
  if (epoch) return new Date(Number(epoch[1]) * 1000).toISOString();
  const match = /^\d\s+(\d{4})\/(\d{2})\/(\d{2})\s+(\d{2}):(\d{2}):(\d{2})$/.exec(statement);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  if (Number.isNaN(date.getTime()) || date.getUTCDate() !== d || date.getUTCMonth() !== mo! - 1)
    return undefined;
  return date.toISOString();
}

function leaseRecord(
  line: number,
  head: string,
  body: string,
  raw: string,
  file: string,
  domain?: string,
): InventoryRecord {
  const match = /^lease\s+(\S+)$/.exec(head);
  if (!match) return { status: "ignored", line, reason: `${head.split(/\s+/)[0]} block` };
  const ip = normalizeIp(match[1]);
  if (ip === undefined)
    return invalid(line, "schema", `lease: not an IP address: ${JSON.stringify(match[1])}`, raw);
  const inner = body.slice(body.indexOf("{") + 1, body.lastIndexOf("}"));
  const statements = new Map<string, string>();
  for (const statement of inner.split(";")) {
    const trimmed = statement.trim().replace(/\s+/g, " ");
    if (trimmed === "") continue;
    const key =
      /^(starts|ends|cltt|tstp|tsfp|atsfp|binding state|next binding state|rewind binding state|hardware ethernet|hardware \S+|client-hostname|uid|set \S+|option \S+)\s*(.*)$/.exec(
        trimmed,
      );
    if (key) statements.set(key[1]!, key[2]!);
  }
  const starts = leaseTime(statements.get("starts"));
  const ends = leaseTime(statements.get("ends"));
  if (statements.has("starts") && starts === undefined)
    return invalid(
      line,
      "schema",
      `starts: not a lease time: ${JSON.stringify(statements.get("starts"))}`,
      raw,
    );
  const state = statements.get("binding state") ?? "active";
  const active = state === "active";
  const macText = statements.get("hardware ethernet");
  const mac = normalizeMac(macText);
  if (macText !== undefined && mac === undefined)
    return invalid(line, "schema", `hardware ethernet: not a MAC address: ${JSON.stringify(macText)}`, raw);
  const hostText = statements.get("client-hostname")?.replace(/^"|"$/g, "");
  const host = splitHostName(
    hostText && domain && !hostText.includes(".") ? `${hostText}.${domain}` : hostText,
  );
  const time = active ? (starts ?? leaseTime(statements.get("cltt"))) : (ends ?? starts);
  if (time === undefined) return invalid(line, "schema", "lease without a starts or ends time", raw);
  if (!active && !host)
    return { status: "ignored", line, reason: `${state} lease without a client host name` };
  if (!mac && !host)
    return { status: "ignored", line, reason: "lease without hardware address or host name" };
  const identity: HostObservation["identity"] = {};
  if (host) {
    identity.hostname = host.hostname;
    if (host.fqdn) identity.fqdn = host.fqdn;
  }
  if (mac) identity.macs = [mac];
  if (active) identity.ips = [ip];
  const observation: HostObservation = { source: "dhcp", time, origin: `dhcp:${file}`, identity };
  if (!active) observation.released_ips = [ip];
  return { status: "record", line, observation, raw };
}
