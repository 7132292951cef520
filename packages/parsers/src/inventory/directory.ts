import type { HostObservation } from "@vigil/schema";
import { parse as parseCsv } from "csv-parse/sync";
import {
  cleanText,
  compact,
  decodeText,
  describeContent,
  guarded,
  type InventoryParse,
  type InventoryParseOptions,
  type InventoryRecord,
  invalid,
  osTypeOf,
  parseLooseTime,
  splitHostName,
  truthy,
  wrongFormat,
} from "./common.ts";

/**
 * Directory exports of computer accounts (Active Directory):
 * - CSV as `Get-ADComputer -Filter * -Properties DNSHostName,OperatingSystem,OperatingSystemVersion,
 *   LastLogonDate | Export-Csv` writes it: an optional `#TYPE ...` line, a header naming at least
 *   `Name` and `DistinguishedName`, then one computer per row. `LastLogonDate` in the exporting
 *   host's culture (US `3/12/2024 9:10:03 AM` and ISO are read). `OperatingSystemVersion` as
 *   `10.0 (19045)` gives version and build; `OperatingSystemServicePack` when exported.
 * - LDIF (RFC 2849, as `ldifde -f out.ldf -r "(objectClass=computer)"` writes it): records separated
 *   by blank lines, `attr: value`, `attr:: base64`, folded lines start with one space. Records
 *   without `objectClass: computer` are ignored. `userAccountControl` gives enabled (bit 2) and
 *   domain controllers (bit 8192, SERVER_TRUST_ACCOUNT); `lastLogonTimestamp` is a FILETIME.
 * A computer account in `OU=Domain Controllers` is a domain controller.
 */

const AD_CSV_EXPECTED = "a Get-ADComputer CSV export (header with Name, DistinguishedName, DNSHostName, ...)";

export function parseAdComputersCsv(
  input: Buffer | string,
  options: InventoryParseOptions = {},
): InventoryParse {
  return guarded("ad-csv", () => {
    const text = decodeText(input);
    if (text === undefined)
      return {
        ok: false,
        format: "ad-csv",
        error: `expected ${AD_CSV_EXPECTED}, found bytes that are not UTF-8`,
      };
    const lines = text.split("\n");
    // PowerShell 5's Export-Csv starts with a type line.
    const skip = lines.findIndex((line) => line.trim() !== "" && !line.startsWith("#TYPE"));
    if (skip < 0) return wrongFormat("ad-csv", AD_CSV_EXPECTED, text);
    let rows: { record: string[]; info: { lines: number } }[];
    try {
      rows = parseCsv(lines.slice(skip).join("\n"), {
        relax_column_count: true,
        skip_empty_lines: true,
        info: true,
        bom: true,
      }) as unknown as typeof rows;
    } catch (error) {
      return {
        ok: false,
        format: "ad-csv",
        error: `expected ${AD_CSV_EXPECTED}, found ${describeContent(text)} (csv-parse: ${(error as Error).message})`,
      };
    }
    const [header, ...body] = rows;
    const names = header?.record.map((name) => name.trim()) ?? [];
    if (!names.includes("Name") || !names.includes("DistinguishedName"))
      return wrongFormat("ad-csv", AD_CSV_EXPECTED, text);
    const fileTime = options.fileTime ?? new Date().toISOString();
    const records: InventoryRecord[] = [];
    let previousEnd = header!.info.lines;
    for (const { record, info } of body) {
      const line = skip + previousEnd + 1;
      const raw = lines
        .slice(line - 1, skip + info.lines)
        .join("\n")
        .replace(/\r/g, "");
      previousEnd = info.lines;
      if (record.length !== names.length) {
        records.push(
          invalid(
            line,
            "schema",
            `wrong number of fields: ${record.length}, the header has ${names.length}`,
            raw,
          ),
        );
        continue;
      }
      const row: Record<string, string> = {};
      for (const [index, name] of names.entries()) row[name] = record[index] ?? "";
      const result = computerObservation(
        {
          name: row.Name,
          dnsHostName: row.DNSHostName,
          dn: row.DistinguishedName,
          os: row.OperatingSystem,
          osVersion: row.OperatingSystemVersion,
          servicePack: row.OperatingSystemServicePack,
          enabled: row.Enabled,
          lastLogon: row.LastLogonDate,
        },
        fileTime,
        options.file ?? "ad-csv",
      );
      records.push(
        "error" in result
          ? invalid(line, "schema", result.error, raw)
          : { status: "record", line, observation: result, raw },
      );
    }
    return { ok: true, format: "ad-csv", records };
  });
}

interface Computer {
  name?: string | undefined;
  dnsHostName?: string | undefined;
  dn?: string | undefined;
  os?: string | undefined;
  osVersion?: string | undefined;
  servicePack?: string | undefined;
  enabled?: string | boolean | undefined;
  lastLogon?: string | undefined;
  domainController?: boolean;
}

function computerObservation(
  computer: Computer,
  fileTime: string,
  file: string,
): HostObservation | { error: string } {
  const nameText = cleanText(computer.name, 255);
  const dnsText = cleanText(computer.dnsHostName, 255);
  const shortName = splitHostName(nameText);
  const fqdn = splitHostName(dnsText);
  if (nameText === undefined && dnsText === undefined) return { error: "Name: empty, and no DNSHostName" };
  if (dnsText !== undefined && fqdn === undefined)
    return { error: `DNSHostName: not a host name: ${JSON.stringify(dnsText)}` };
  if (nameText !== undefined && shortName === undefined)
    return { error: `Name: not a computer name: ${JSON.stringify(nameText)}` };
  const dn = cleanText(computer.dn, 1024);
  if (dn !== undefined && !/^(CN|OU|DC)=/i.test(dn))
    return { error: `DistinguishedName: not a DN: ${JSON.stringify(dn.slice(0, 60))}` };
  const logonText = cleanText(computer.lastLogon, 64);
  const lastLogon = parseLooseTime(logonText);
  if (logonText !== undefined && lastLogon === undefined)
    return { error: `LastLogonDate: not a time: ${JSON.stringify(logonText)}` };
  const enabled = typeof computer.enabled === "boolean" ? computer.enabled : truthy(computer.enabled);
  const osName = cleanText(computer.os);
  const versionText = cleanText(computer.osVersion);
  // `10.0 (19045)`: version, then the build in parentheses.
  const version = versionText ? /^([\d.]+)\s*(?:\((\d+)\))?/.exec(versionText) : null;
  const identity: HostObservation["identity"] = {};
  const name = fqdn ?? shortName!;
  identity.hostname = name.hostname;
  if (name.fqdn) identity.fqdn = name.fqdn;
  if (shortName && !shortName.fqdn) identity.netbios_name = nameText!.toUpperCase();
  const ou = dn
    ?.split(/(?<!\\),/)
    .slice(1)
    .join(",");
  const observation: HostObservation = {
    source: "directory",
    time: fileTime,
    origin: `directory:${file}`,
    identity,
    directory: compact({
      dn,
      ou: ou || undefined,
      enabled,
      last_logon: lastLogon,
      os_name: osName,
      os_version: versionText,
    }),
  };
  const os = compact({
    name: osName,
    type: osTypeOf(osName),
    version: version?.[1] ?? versionText,
    build: version?.[2],
    sp_name: cleanText(computer.servicePack),
  });
  if (Object.keys(os).length > 0) observation.os = os;
  if (computer.domainController || /(^|,)OU=Domain Controllers,/i.test(dn ?? ""))
    observation.roles = { domain_controller: true };
  return observation;
}

const LDIF_EXPECTED = "LDIF (RFC 2849: dn: lines, attr: value pairs, records separated by blank lines)";

/** Windows FILETIME (100 ns since 1601) to RFC 3339. */
function fileTime(value: string | undefined): string | undefined {
  if (value === undefined || !/^\d{1,19}$/.test(value) || value === "0") return undefined;
  const ms = Number(BigInt(value) / 10_000n) - 11_644_473_600_000;
  if (ms <= 0 || ms > 253_402_300_799_000) return undefined;
  return new Date(ms).toISOString();
}

export function parseLdif(input: Buffer | string, options: InventoryParseOptions = {}): InventoryParse {
  return guarded("ldif", () => {
    const text = decodeText(input);
    if (text === undefined)
      return {
        ok: false,
        format: "ldif",
        error: `expected ${LDIF_EXPECTED}, found bytes that are not UTF-8`,
      };
    const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
    const firstContent = lines.find((line) => line.trim() !== "" && !line.startsWith("#"));
    if (firstContent === undefined || !/^(dn::?|version:)\s*/i.test(firstContent))
      return wrongFormat("ldif", LDIF_EXPECTED, text);
    const fileTimeIso = options.fileTime ?? new Date().toISOString();
    const records: InventoryRecord[] = [];
    let start = -1;
    const flush = (end: number) => {
      if (start < 0) return;
      const block = lines.slice(start, end);
      const record = ldifRecord(block, start + 1, fileTimeIso, options.file ?? "ldif");
      if (record) records.push(record);
      start = -1;
    };
    for (const [index, line] of lines.entries()) {
      if (line.trim() === "") flush(index);
      else if (start < 0) start = index;
    }
    flush(lines.length);
    return { ok: true, format: "ldif", records };
  });
}

function ldifRecord(block: string[], line: number, time: string, file: string): InventoryRecord | undefined {
  const raw = block.join("\n");
  // Unfold continuation lines, drop comments.
  const logical: string[] = [];
  for (const item of block) {
    if (item.startsWith("#")) continue;
    if (item.startsWith(" ") && logical.length > 0) logical[logical.length - 1] += item.slice(1);
    else logical.push(item);
  }
  const attributes = new Map<string, string[]>();
  for (const entry of logical) {
    const match = /^([A-Za-z][\w;-]*)(::?)\s?(.*)$/.exec(entry);
    if (!match)
      return invalid(line, "schema", `not an attribute line: ${JSON.stringify(entry.slice(0, 60))}`, raw);
    const [, name, separator, value] = match;
    let decoded = value!;
    if (separator === "::") {
      if (!/^[A-Za-z0-9+/=\s]*$/.test(value!)) return invalid(line, "schema", `${name}: invalid base64`, raw);
      decoded = Buffer.from(value!, "base64").toString("utf8");
    }
    const key = name!.toLowerCase();
    attributes.set(key, [...(attributes.get(key) ?? []), decoded]);
  }
  if (attributes.has("version") && attributes.size === 1)
    return { status: "ignored", line, reason: "LDIF version line" };
  const dn = attributes.get("dn")?.[0];
  if (dn === undefined) return invalid(line, "schema", "record without a dn: line", raw);
  const classes = (attributes.get("objectclass") ?? []).map((value) => value.toLowerCase());
  if (!classes.includes("computer"))
    return {
      status: "ignored",
      line,
      reason: `not a computer account (${classes.join(", ") || "no objectClass"})`,
    };
  const first = (name: string) => attributes.get(name)?.[0];
  const uacText = first("useraccountcontrol");
  const uac = uacText !== undefined && /^\d+$/.test(uacText) ? Number(uacText) : undefined;
  if (uacText !== undefined && uac === undefined)
    return invalid(
      line,
      "schema",
      `userAccountControl: expected a number, got ${JSON.stringify(uacText)}`,
      raw,
    );
  const logon = first("lastlogontimestamp");
  const lastLogon = fileTime(logon);
  if (logon !== undefined && logon !== "0" && lastLogon === undefined)
    return invalid(line, "schema", `lastLogonTimestamp: not a FILETIME: ${JSON.stringify(logon)}`, raw);
  const result = computerObservation(
    {
      name: first("name") ?? first("cn") ?? first("samaccountname")?.replace(/\$$/, ""),
      dnsHostName: first("dnshostname"),
      dn,
      os: first("operatingsystem"),
      osVersion: first("operatingsystemversion"),
      servicePack: first("operatingsystemservicepack"),
      enabled: uac === undefined ? undefined : (uac & 2) === 0,
      lastLogon,
      domainController: uac !== undefined && (uac & 8192) !== 0,
    },
    time,
    file,
  );
  return "error" in result
    ? invalid(line, "schema", result.error, raw)
    : { status: "record", line, observation: result, raw };
}
