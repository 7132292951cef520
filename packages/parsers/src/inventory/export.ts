import type { CollectionChange, FsmoRole, HostObservation } from "@vigil/schema";
import { parse as parseCsv } from "csv-parse/sync";
import { z } from "zod";
import {
  cleanText,
  compact,
  decodeText,
  describeContent,
  guarded,
  hardwareTypeOfChassis,
  type InventoryParse,
  type InventoryParseOptions,
  type InventoryRecord,
  invalid,
  isVirtualHardware,
  normalizeIp,
  normalizeMac,
  normalizeSerial,
  normalizeUpdateId,
  osTypeOf,
  parseLooseTime,
  splitHostName,
  splitList,
  truthy,
  wrongFormat,
} from "./common.ts";

/**
 * Inventory exports of management systems (ConfigMgr/SMS hardware and software inventory,
 * WSUS/MBSA installed and missing update reports) as CSV (header row) or JSON (an array of
 * objects, an object holding one such array such as OData's `{"value": [...]}`, or JSON lines).
 * Every product names its columns differently, so a mapping file says which column holds what.
 *
 * `kind` says what a row is: `hardware` (one row per host), or one row per host and item for
 * `software`, `updates-installed` and `updates-missing`. An export of items lists all of a host's
 * items, so its rows are grouped per host and replace that host's items from the same export kind.
 */

const FIELDS = [
  "hostname",
  "fqdn",
  "domain",
  "netbios_name",
  "serial_number",
  "uuid",
  "macs",
  "ips",
  "hardware_type",
  "chassis",
  "vendor",
  "model",
  "os_name",
  "os_version",
  "os_build",
  "service_pack",
  "software_name",
  "software_version",
  "software_vendor",
  "update_id",
  "update_title",
  "update_severity",
  "installed_on",
  "roles",
  "tags",
  "business_critical",
  "link",
  "remote",
  "antivirus_product",
  "antivirus_enabled",
  "antivirus_up_to_date",
  "antivirus_signature_date",
  "last_seen",
] as const;
type Field = (typeof FIELDS)[number];

const IDENTITY_FIELDS: Field[] = ["hostname", "fqdn", "netbios_name", "serial_number", "uuid", "macs"];

export const ExportMapping = z
  .object({
    /** A name for the export, used in observation origins (`inventory:<name>`). */
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w.-]+$/, "letters, digits, `_`, `.` and `-`"),
    kind: z.enum(["hardware", "software", "updates-installed", "updates-missing"]),
    /** CSV only. */
    delimiter: z.string().length(1).default(","),
    /** Field -> column name in the export. */
    columns: z.partialRecord(z.enum(FIELDS), z.string().min(1)),
  })
  .strict()
  .superRefine((mapping, ctx) => {
    if (!IDENTITY_FIELDS.some((field) => mapping.columns[field] !== undefined))
      ctx.addIssue({
        code: "custom",
        path: ["columns"],
        message: `map at least one of ${IDENTITY_FIELDS.join(", ")}`,
      });
    const needs: Partial<Record<typeof mapping.kind, Field>> = {
      software: "software_name",
      "updates-installed": "update_id",
      "updates-missing": "update_id",
    };
    const required = needs[mapping.kind];
    if (required !== undefined && mapping.columns[required] === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["columns", required],
        message: `a ${mapping.kind} export needs the ${required} column`,
      });
  });
export type ExportMapping = z.output<typeof ExportMapping>;

const FSMO: Record<string, FsmoRole> = {
  "schema-master": "schema-master",
  schemamaster: "schema-master",
  "domain-naming-master": "domain-naming-master",
  domainnamingmaster: "domain-naming-master",
  "pdc-emulator": "pdc-emulator",
  pdcemulator: "pdc-emulator",
  pdc: "pdc-emulator",
  "rid-master": "rid-master",
  ridmaster: "rid-master",
  "infrastructure-master": "infrastructure-master",
  infrastructuremaster: "infrastructure-master",
};

type Cells = Record<string, unknown>;

export function parseInventoryExport(
  input: Buffer | string,
  mapping: ExportMapping,
  syntax: "csv" | "json",
  options: InventoryParseOptions = {},
): InventoryParse {
  const format = `inventory-${syntax}`;
  return guarded(format, () => {
    const text = decodeText(input);
    if (text === undefined)
      return {
        ok: false,
        format,
        error: `expected ${syntax.toUpperCase()} text, found bytes that are not UTF-8`,
      };
    const rows = syntax === "csv" ? csvRows(text, mapping) : jsonRows(text);
    if ("error" in rows) return { ok: false, format, error: rows.error };
    const mapped = Object.values(mapping.columns);
    const present = new Set(rows.rows.flatMap((row) => Object.keys(row.cells)));
    const missing = mapped.filter((column) => !present.has(column));
    if (rows.rows.length > 0 && missing.length === mapped.length)
      return wrongFormat(
        format,
        `a ${mapping.kind} export with the columns ${mapped.join(", ")} (mapping ${mapping.name})`,
        text,
      );
    return { ok: true, format, records: toRecords(rows.rows, mapping, options) };
  });
}

interface SourceRow {
  line: number;
  cells: Cells;
  raw: string;
}

function csvRows(text: string, mapping: ExportMapping): { rows: SourceRow[] } | { error: string } {
  const lines = text.split("\n");
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, {
      delimiter: mapping.delimiter,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      bom: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    // A quote that never closes makes the rest of the file one field: refuse the whole file.
    return {
      error: `expected CSV, found ${describeContent(text)} that csv-parse cannot read (${(error as Error).message})`,
    };
  }
  const [header, ...body] = records;
  if (header === undefined) return { rows: [] };
  const names = header.record.map((name) => name.trim());
  const rows: SourceRow[] = [];
  let previousEnd = header.info.lines;
  for (const { record, info } of body) {
    const cells: Cells = {};
    for (const [index, name] of names.entries()) if (record[index] !== undefined) cells[name] = record[index];
    if (record.length !== names.length)
      cells.__columnCount = `${record.length} fields, the header has ${names.length}`;
    // `info.lines` is the line the record ends on; multi-line quoted fields span several.
    const start = previousEnd + 1;
    rows.push({
      line: start,
      cells,
      raw: lines
        .slice(start - 1, info.lines)
        .join("\n")
        .replace(/\r/g, ""),
    });
    previousEnd = info.lines;
  }
  return { rows };
}

function jsonRows(text: string): { rows: SourceRow[] } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === "") return { rows: [] };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    // JSON lines: one object per line.
    const rows: SourceRow[] = [];
    for (const [index, line] of text.split("\n").entries()) {
      if (line.trim() === "") continue;
      try {
        const cells = JSON.parse(line) as unknown;
        rows.push({ line: index + 1, cells: isCells(cells) ? cells : { __notObject: true }, raw: line });
      } catch {
        if (rows.length === 0)
          return {
            error: `expected a JSON array of objects or JSON lines, found ${JSON.stringify(line.slice(0, 60))}`,
          };
        rows.push({ line: index + 1, cells: { __notJson: true }, raw: line });
      }
    }
    return { rows };
  }
  let list: unknown[] | undefined;
  if (Array.isArray(value)) list = value;
  else if (isCells(value)) {
    const arrays = Object.values(value).filter(Array.isArray);
    if (arrays.length === 1) list = arrays[0];
    else list = [value];
  }
  if (list === undefined) return { error: `expected a JSON array of objects, found ${typeof value}` };
  return {
    rows: list.map((item, index) => ({
      line: index + 1,
      cells: isCells(item) ? item : { __notObject: true },
      raw: JSON.stringify(item) ?? "null",
    })),
  };
}

const isCells = (value: unknown): value is Cells =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function cell(row: Cells, mapping: ExportMapping, field: Field): string | undefined {
  const column = mapping.columns[field];
  if (column === undefined) return undefined;
  const value = row[column];
  if (Array.isArray(value)) return value.map(String).join(";");
  if (typeof value === "boolean") return String(value);
  return cleanText(value, 4096);
}

interface RowResult {
  observation: HostObservation;
  /** The host's identity as written, to group item rows per host. */
  hostKey: string;
}

function rowObservation(
  row: SourceRow,
  mapping: ExportMapping,
  options: InventoryParseOptions,
): RowResult | { error: string } {
  if (row.cells.__notObject) return { error: "expected an object of columns" };
  if (row.cells.__notJson) return { error: "not valid JSON" };
  if (typeof row.cells.__columnCount === "string")
    return { error: `wrong number of fields: ${row.cells.__columnCount}` };
  const get = (field: Field) => cell(row.cells, mapping, field);
  const identity: HostObservation["identity"] = {};
  const fqdnCell = get("fqdn");
  const fqdn = splitHostName(fqdnCell);
  const hostCell = get("hostname");
  const host = splitHostName(hostCell);
  const domain = get("domain")?.toLowerCase();
  if (fqdnCell !== undefined && fqdn === undefined)
    return { error: `${mapping.columns.fqdn}: not a host name: ${JSON.stringify(fqdnCell)}` };
  if (hostCell !== undefined && host === undefined)
    return { error: `${mapping.columns.hostname}: not a host name: ${JSON.stringify(hostCell)}` };
  const name = fqdn ?? host;
  if (name) {
    identity.hostname = name.hostname;
    const full = name.fqdn ?? (domain && splitHostName(`${name.hostname}.${domain}`)?.fqdn);
    if (full) identity.fqdn = full;
  }
  const netbios = get("netbios_name");
  if (netbios !== undefined && splitHostName(netbios)) identity.netbios_name = netbios.toUpperCase();
  const serial = normalizeSerial(get("serial_number"));
  if (serial !== undefined) identity.serial_number = serial;
  const uuid = get("uuid")?.toLowerCase();
  if (uuid !== undefined) identity.uuid = uuid;
  const macs = splitList(get("macs"))
    .map(normalizeMac)
    .filter((mac): mac is string => mac !== undefined);
  if (macs.length > 0) identity.macs = macs;
  const ipCells = splitList(get("ips"));
  const ips = ipCells.map(normalizeIp).filter((ip): ip is string => ip !== undefined);
  if (ipCells.length > 0 && ips.length === 0)
    return { error: `${mapping.columns.ips}: no valid IP address in ${JSON.stringify(get("ips"))}` };
  if (ips.length > 0) identity.ips = ips;
  if (
    !identity.hostname &&
    !identity.serial_number &&
    !identity.macs &&
    !identity.uuid &&
    !identity.netbios_name
  )
    return {
      error: `no host identity: ${IDENTITY_FIELDS.map((field) => mapping.columns[field])
        .filter(Boolean)
        .join(", ")} all empty or invalid`,
    };

  const lastSeenCell = get("last_seen");
  const lastSeen = parseLooseTime(lastSeenCell);
  if (lastSeenCell !== undefined && lastSeen === undefined)
    return { error: `${mapping.columns.last_seen}: not a time: ${JSON.stringify(lastSeenCell)}` };
  const time = lastSeen ?? options.fileTime ?? new Date().toISOString();
  const observation: HostObservation = {
    source: "inventory",
    time,
    origin: `inventory:${mapping.name}`,
    identity,
  };

  if (mapping.kind === "hardware") {
    const vendor = get("vendor");
    const model = get("model");
    const chassis = get("chassis");
    const declared = get("hardware_type")?.toLowerCase();
    const type =
      declared === "virtual" || isVirtualHardware(vendor, model)
        ? "virtual"
        : (hardwareTypeOfChassis(declared) ?? hardwareTypeOfChassis(chassis));
    if (type !== undefined) observation.type = type;
    const hw = compact({ serial_number: serial, vendor_name: vendor, model, chassis });
    if (Object.keys(hw).length > 0) observation.hw_info = hw;
    const osName = get("os_name");
    const os = compact({
      name: osName,
      type: osTypeOf(osName),
      version: get("os_version"),
      build: get("os_build"),
      sp_name: get("service_pack"),
    });
    if (Object.keys(os).length > 0) observation.os = os;
    const roleWords = splitList(get("roles")).map((word) => word.toLowerCase());
    const tags = splitList(get("tags")).map((word) => word.toLowerCase());
    const fsmo = [
      ...new Set(
        roleWords
          .map((word) => FSMO[word.replace(/^fsmo[-:]?/, "")])
          .filter((role): role is FsmoRole => role !== undefined),
      ),
    ];
    const businessCritical = truthy(get("business_critical"));
    if (roleWords.length > 0 || tags.length > 0 || businessCritical !== undefined) {
      observation.roles = compact({
        domain_controller:
          roleWords.some((word) => word === "dc" || word === "domain-controller") || fsmo.length > 0
            ? true
            : undefined,
        fsmo: fsmo.length > 0 ? fsmo : undefined,
        business_critical: businessCritical ?? (tags.includes("business-critical") ? true : undefined),
        tags: [
          ...new Set([
            ...roleWords.filter((word) => FSMO[word.replace(/^fsmo[-:]?/, "")] === undefined),
            ...tags,
          ]),
        ],
      });
    }
    const link = get("link")?.toLowerCase();
    const remote = truthy(get("remote"));
    if (link !== undefined || remote !== undefined) {
      const known = ["lan", "wan", "slow", "vpn", "dialup"] as const;
      const linkClass = known.find((word) => word === link?.replace(/[- ]/g, "")) ?? "unknown";
      observation.connectivity = {
        link: linkClass,
        remote: remote ?? (linkClass === "vpn" || linkClass === "dialup"),
      };
    }
    const av = compact({
      product: get("antivirus_product"),
      enabled: truthy(get("antivirus_enabled")),
      up_to_date: truthy(get("antivirus_up_to_date")),
      signature_date: get("antivirus_signature_date"),
    });
    if (Object.keys(av).length > 0) observation.antivirus = av;
  }
  const hostKey = JSON.stringify([
    identity.fqdn ?? identity.hostname,
    identity.serial_number,
    identity.macs?.[0],
    identity.netbios_name,
  ]);
  return { observation, hostKey };
}

function toRecords(
  rows: SourceRow[],
  mapping: ExportMapping,
  options: InventoryParseOptions,
): InventoryRecord[] {
  const records: InventoryRecord[] = [];
  const groups = new Map<
    string,
    { first: SourceRow; observation: HostObservation; items: unknown[]; raws: string[] }
  >();
  const origin = `inventory:${mapping.name}`;
  for (const row of rows) {
    const result = rowObservation(row, mapping, options);
    if ("error" in result) {
      records.push(invalid(row.line, "schema", result.error, row.raw));
      continue;
    }
    if (mapping.kind === "hardware") {
      records.push({ status: "record", line: row.line, observation: result.observation, raw: row.raw });
      continue;
    }
    const get = (field: Field) => cell(row.cells, mapping, field);
    let item: unknown;
    if (mapping.kind === "software") {
      const name = get("software_name");
      if (name === undefined || name.length > 255) {
        records.push(
          invalid(
            row.line,
            "schema",
            `${mapping.columns.software_name}: expected the software's name`,
            row.raw,
          ),
        );
        continue;
      }
      item = compact({ name, version: get("software_version"), vendor_name: get("software_vendor"), origin });
    } else {
      const id = get("update_id");
      if (id === undefined || id.length > 255) {
        records.push(
          invalid(
            row.line,
            "schema",
            `${mapping.columns.update_id}: expected the update's id (KB number)`,
            row.raw,
          ),
        );
        continue;
      }
      item =
        mapping.kind === "updates-installed"
          ? compact({
              id: normalizeUpdateId(id),
              title: get("update_title"),
              installed_on: get("installed_on"),
              origin,
            })
          : compact({
              id: normalizeUpdateId(id),
              title: get("update_title"),
              severity: get("update_severity"),
              origin,
            });
    }
    const group = groups.get(result.hostKey);
    if (group) {
      group.items.push(item);
      group.raws.push(row.raw);
      if (result.observation.time > group.observation.time) group.observation.time = result.observation.time;
    } else {
      groups.set(result.hostKey, {
        first: row,
        observation: result.observation,
        items: [item],
        raws: [row.raw],
      });
    }
  }
  const collection =
    mapping.kind === "software"
      ? "software"
      : mapping.kind === "updates-installed"
        ? "updates"
        : "missing_updates";
  for (const group of groups.values()) {
    group.observation.changes = [
      { collection, op: "replace", origin, items: group.items } as CollectionChange,
    ];
    records.push({
      status: "record",
      line: group.first.line,
      observation: group.observation,
      raw: group.raws.join("\n"),
    });
  }
  return records.sort((a, b) => a.line - b.line);
}
