import type { CollectionChange, HostObservation } from "@vigil/schema";
import {
  cleanText,
  compact,
  decodeText,
  guarded,
  hardwareTypeOfChassis,
  type InventoryParse,
  type InventoryParseOptions,
  type InventoryRecord,
  invalid,
  isVirtualHardware,
  normalizeSerial,
  normalizeUpdateId,
  osTypeOf,
  splitHostName,
  wrongFormat,
} from "./common.ts";

/**
 * osquery results logs (the filesystem logger's `osqueryd.results.log`, one JSON object per line)
 * in all three of its formats:
 * - event format (the default, `log_result_events=true`): one row per line, `columns` plus
 *   `action` `added` / `removed`;
 * - batch format (`log_result_events=false`): `diffResults: {added: [...], removed: [...]}`;
 * - snapshot queries: `snapshot: [...]` with `action: "snapshot"`, the table's full content.
 * Each line has `name` (the query), `hostIdentifier`, `unixTime` / `calendarTime`, optional
 * `decorations` (`hostname`, `host_uuid` are used when present) and `numerics` (numbers as JSON
 * numbers rather than strings). https://osquery.readthedocs.io/en/stable/deployment/logging/
 *
 * The query name says which table a line holds: the name itself or its last `_`, `/` or `:`
 * separated part (`pack_inventory_programs`, `pack/inventory/programs`), or `options.queries`.
 * A query whose name contains `admin` (e.g. `local_admins`: users joined with user_groups for
 * the Administrators group) lists local administrator accounts with `users` columns.
 */

/** osquery column types (`text`, `integer`, `bigint`, `double`) of the columns this parser reads. */
export type OsqueryColumnType = "text" | "integer" | "bigint" | "double";

/**
 * Every column read, per table, with its type in the osquery schema (5.23.1): a test checks each
 * against `osquery-schema`. Values are only read through `column()`, which takes names from here.
 */
export const OSQUERY_COLUMNS = {
  system_info: {
    hostname: "text",
    uuid: "text",
    cpu_brand: "text",
    physical_memory: "bigint",
    hardware_vendor: "text",
    hardware_model: "text",
    hardware_serial: "text",
    computer_name: "text",
    local_hostname: "text",
  },
  os_version: {
    name: "text",
    version: "text",
    build: "text",
    platform: "text",
    codename: "text",
    arch: "text",
  },
  chassis_info: { chassis_types: "text", serial: "text", manufacturer: "text", model: "text" },
  programs: { name: "text", version: "text", publisher: "text" },
  deb_packages: { name: "text", version: "text", maintainer: "text" },
  rpm_packages: { name: "text", version: "text", release: "text", vendor: "text" },
  patches: { hotfix_id: "text", caption: "text", description: "text", installed_on: "text" },
  listening_ports: { port: "integer", protocol: "integer", address: "text", path: "text" },
  users: { username: "text", description: "text", uid: "bigint" },
  services: { name: "text", display_name: "text", status: "text", start_type: "text" },
  windows_security_center: { antivirus: "text" },
  windows_security_products: {
    type: "text",
    name: "text",
    state: "text",
    state_timestamp: "text",
    signatures_up_to_date: "integer",
  },
  file: { path: "text", file_version: "text", product_version: "text" },
  authenticode: { path: "text", result: "text", subject_name: "text" },
} as const satisfies Record<string, Record<string, OsqueryColumnType>>;

export type OsqueryTable = keyof typeof OSQUERY_COLUMNS | "local_admins";
const TABLES = Object.keys(OSQUERY_COLUMNS) as (keyof typeof OSQUERY_COLUMNS)[];
/** Longest first, so `windows_security_products` is not taken for a shorter table. */
const TABLES_BY_LENGTH = [...TABLES].sort((a, b) => b.length - a.length);

export interface OsqueryParseOptions extends InventoryParseOptions {
  /** Query name -> table, for query names that do not end in the table's name. */
  queries?: Record<string, OsqueryTable>;
}

type Row = Record<string, unknown>;

class ColumnError extends Error {}

/** Reads a column with its schema type; osquery writes numbers as strings unless `numerics` is set. */
function column<T extends keyof typeof OSQUERY_COLUMNS>(
  row: Row,
  table: T,
  name: keyof (typeof OSQUERY_COLUMNS)[T] & string,
): string | number | undefined {
  const type = (OSQUERY_COLUMNS[table] as Record<string, OsqueryColumnType>)[name];
  const value = row[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (type === "text") {
    if (typeof value !== "string" && typeof value !== "number")
      throw new ColumnError(`${table}.${name}: expected text, got ${typeof value}`);
    return String(value);
  }
  const number =
    typeof value === "number" ? value : /^-?\d+(\.\d+)?$/.test(String(value)) ? Number(value) : Number.NaN;
  if (!Number.isFinite(number) || (type !== "double" && !Number.isInteger(number)))
    throw new ColumnError(`${table}.${name}: expected ${type}, got ${JSON.stringify(value).slice(0, 40)}`);
  return number;
}

function textOf<T extends keyof typeof OSQUERY_COLUMNS>(
  row: Row,
  table: T,
  name: keyof (typeof OSQUERY_COLUMNS)[T] & string,
  max = 1024,
): string | undefined {
  return cleanText(column(row, table, name), max);
}

function numberOf<T extends keyof typeof OSQUERY_COLUMNS>(
  row: Row,
  table: T,
  name: keyof (typeof OSQUERY_COLUMNS)[T] & string,
): number | undefined {
  const value = column(row, table, name);
  return typeof value === "number" ? value : undefined;
}

export function tableOfQuery(name: string, queries?: Record<string, OsqueryTable>): OsqueryTable | undefined {
  const configured = queries?.[name];
  if (configured !== undefined) return configured;
  const lower = name.toLowerCase();
  if (/admin/.test(lower)) return "local_admins";
  for (const table of TABLES_BY_LENGTH) {
    if (
      lower === table ||
      lower.endsWith(`_${table}`) ||
      lower.endsWith(`/${table}`) ||
      lower.endsWith(`:${table}`)
    )
      return table;
  }
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function lineTime(record: Row): string | undefined {
  const unix = record.unixTime;
  const seconds =
    typeof unix === "number"
      ? unix
      : typeof unix === "string" && /^\d+$/.test(unix)
        ? Number(unix)
        : undefined;
  if (seconds !== undefined && seconds > 0 && seconds < 253_402_300_800)
    return new Date(seconds * 1000).toISOString();
  // `Tue Mar 12 09:10:03 2024 UTC`
  const match =
    typeof record.calendarTime === "string"
      ? /^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) UTC$/.exec(record.calendarTime)
      : null;
  if (match) {
    const month = MONTHS.indexOf(match[1]!);
    if (month >= 0) {
      const date = new Date(
        Date.UTC(
          Number(match[6]),
          month,
          Number(match[2]),
          Number(match[3]),
          Number(match[4]),
          Number(match[5]),
        ),
      );
      if (!Number.isNaN(date.getTime())) return date.toISOString();
    }
  }
  return undefined;
}

const isRow = (value: unknown): value is Row =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Does the first line look like osquery at all? Decides "wrong format" for the whole input. */
function looksLikeOsquery(line: string): boolean {
  try {
    const value = JSON.parse(line) as unknown;
    return (
      isRow(value) &&
      typeof value.name === "string" &&
      ("snapshot" in value || "diffResults" in value || "columns" in value)
    );
  } catch {
    return false;
  }
}

export const OSQUERY_EXPECTED =
  "an osquery results log (JSON lines with name, hostIdentifier and columns, diffResults or snapshot)";

/** Parses a whole osquery results log. Never throws. */
export function parseOsqueryResults(
  input: Buffer | string,
  options: OsqueryParseOptions = {},
): InventoryParse {
  return guarded("osquery", () => {
    const text = decodeText(input);
    if (text === undefined)
      return {
        ok: false,
        format: "osquery",
        error: `expected ${OSQUERY_EXPECTED}, found bytes that are not UTF-8`,
      };
    const lines = text.split("\n");
    const first = lines.find((line) => line.trim() !== "");
    if (first === undefined || !looksLikeOsquery(first.trim()))
      return wrongFormat("osquery", OSQUERY_EXPECTED, text);
    const records: InventoryRecord[] = [];
    for (const [index, raw] of lines.entries()) {
      const line = raw.replace(/\r$/, "");
      if (line.trim() === "") continue;
      records.push(parseOsqueryLine(line, index + 1, options));
    }
    return { ok: true, format: "osquery", records };
  });
}

/** Parses one line of an osquery results log. Never throws. */
export function parseOsqueryLine(
  line: string,
  lineNumber: number,
  options: OsqueryParseOptions = {},
): InventoryRecord {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    return invalid(lineNumber, "json", `not valid JSON (${(error as Error).message})`, line);
  }
  if (!isRow(record))
    return invalid(lineNumber, "not-object", "expected a JSON object (one osquery result)", line);
  const name = cleanText(record.name, 512);
  if (name === undefined) return invalid(lineNumber, "schema", "name: expected the query name", line);
  const hostIdentifier = cleanText(record.hostIdentifier, 255);
  if (hostIdentifier === undefined)
    return invalid(lineNumber, "schema", "hostIdentifier: expected the host's identifier", line);
  const time = lineTime(record);
  if (time === undefined)
    return invalid(lineNumber, "schema", "unixTime / calendarTime: expected the time of the result", line);
  const table = tableOfQuery(name, options.queries);
  if (table === undefined)
    return { status: "ignored", line: lineNumber, reason: `query ${name} reads no inventory table` };

  let added: Row[];
  let removed: Row[];
  let snapshot = false;
  if (Array.isArray(record.snapshot)) {
    snapshot = true;
    added = record.snapshot as Row[];
    removed = [];
  } else if (isRow(record.diffResults)) {
    const diff = record.diffResults;
    added = Array.isArray(diff.added) ? (diff.added as Row[]) : [];
    removed = Array.isArray(diff.removed) ? (diff.removed as Row[]) : [];
    if (!Array.isArray(diff.added ?? []) || !Array.isArray(diff.removed ?? []))
      return invalid(lineNumber, "schema", "diffResults: expected added and removed arrays", line);
  } else if (isRow(record.columns)) {
    if (record.action === "added") [added, removed] = [[record.columns], []];
    else if (record.action === "removed") [added, removed] = [[], [record.columns]];
    else
      return invalid(
        lineNumber,
        "schema",
        `action: expected added or removed, got ${JSON.stringify(record.action)?.slice(0, 40)}`,
        line,
      );
  } else {
    return invalid(lineNumber, "schema", "expected columns, diffResults or snapshot", line);
  }
  const badRow = [...added, ...removed].findIndex((row) => !isRow(row));
  if (badRow >= 0)
    return invalid(lineNumber, "schema", `row ${badRow + 1}: expected an object of columns`, line);

  const decorations = isRow(record.decorations) ? record.decorations : {};
  const identity: HostObservation["identity"] = { host_identifier: hostIdentifier };
  const decoratedName = splitHostName(cleanText(decorations.hostname, 255));
  const identifierName = UUID.test(hostIdentifier) ? undefined : splitHostName(hostIdentifier);
  const hostName = decoratedName ?? identifierName;
  if (hostName) Object.assign(identity, compact({ hostname: hostName.hostname, fqdn: hostName.fqdn }));
  const decoratedUuid = cleanText(decorations.host_uuid, 64);
  if (decoratedUuid !== undefined) identity.uuid = decoratedUuid.toLowerCase();
  else if (UUID.test(hostIdentifier)) identity.uuid = hostIdentifier.toLowerCase();

  const observation: HostObservation = { source: "osquery", time, origin: `osquery:${name}`, identity };
  try {
    const ok = applyTable(observation, table, added, removed, snapshot);
    if (!ok)
      return {
        status: "ignored",
        line: lineNumber,
        reason: `${table}: nothing to apply (${removed.length} removed rows of a single-row table)`,
      };
  } catch (error) {
    if (error instanceof ColumnError) return invalid(lineNumber, "schema", error.message, line);
    throw error;
  }
  return { status: "record", line: lineNumber, observation, raw: line };
}

const SERVICE_PACK = /service pack (\d+)/i;

/** Fills the observation from the rows of one table; false when nothing applies. */
function applyTable(
  observation: HostObservation,
  table: OsqueryTable,
  added: Row[],
  removed: Row[],
  snapshot: boolean,
): boolean {
  const row = added[0];
  switch (table) {
    case "system_info": {
      if (!row) return false;
      const names =
        splitHostName(textOf(row, table, "hostname")) ?? splitHostName(textOf(row, table, "local_hostname"));
      if (names) Object.assign(observation.identity, compact({ hostname: names.hostname, fqdn: names.fqdn }));
      const computerName = textOf(row, table, "computer_name", 255);
      if (computerName !== undefined && splitHostName(computerName))
        observation.identity.netbios_name = computerName.toUpperCase();
      const serial = normalizeSerial(textOf(row, table, "hardware_serial"));
      if (serial !== undefined) observation.identity.serial_number = serial;
      const uuid = textOf(row, table, "uuid", 64)?.toLowerCase();
      if (uuid !== undefined && UUID.test(uuid) && !/^0{8}-/.test(uuid)) observation.identity.uuid = uuid;
      const vendor = textOf(row, table, "hardware_vendor");
      const model = textOf(row, table, "hardware_model");
      const memory = numberOf(row, table, "physical_memory");
      observation.hw_info = compact({
        serial_number: serial,
        vendor_name: vendor,
        model,
        uuid: observation.identity.uuid,
        cpu_type: textOf(row, table, "cpu_brand"),
        ram_size: memory !== undefined && memory >= 0 ? memory : undefined,
      });
      if (isVirtualHardware(vendor, model)) observation.type = "virtual";
      return true;
    }
    case "os_version": {
      if (!row) return false;
      const osName = textOf(row, table, "name");
      const codename = textOf(row, table, "codename");
      const platform = textOf(row, table, "platform");
      const servicePack = SERVICE_PACK.exec(`${osName ?? ""} ${codename ?? ""}`);
      observation.os = compact({
        name: osName,
        type: osTypeOf(osName, platform),
        version: textOf(row, table, "version"),
        build: textOf(row, table, "build"),
        sp_name: servicePack ? `Service Pack ${servicePack[1]}` : undefined,
        arch: textOf(row, table, "arch"),
      });
      return true;
    }
    case "chassis_info": {
      if (!row) return false;
      const chassis = textOf(row, table, "chassis_types");
      const type = hardwareTypeOfChassis(chassis);
      const vendor = textOf(row, table, "manufacturer");
      const model = textOf(row, table, "model");
      observation.type = isVirtualHardware(vendor, model) ? "virtual" : (type ?? "unknown");
      const serial = normalizeSerial(textOf(row, table, "serial"));
      if (serial !== undefined) observation.identity.serial_number = serial;
      observation.hw_info = compact({ chassis, serial_number: serial, vendor_name: vendor, model });
      return true;
    }
    case "windows_security_center": {
      if (!row) return false;
      const state = textOf(row, table, "antivirus");
      if (state === undefined) return false;
      // Security Center's `Good` means an antivirus is on and current; `Poor` that it is off or outdated.
      observation.antivirus = compact({
        state,
        enabled:
          state === "Good"
            ? true
            : state === "Not Monitored"
              ? undefined
              : state === "Poor"
                ? undefined
                : false,
        up_to_date: state === "Good" ? true : state === "Poor" ? false : undefined,
      });
      return true;
    }
    case "windows_security_products": {
      const product = added.find((item) => /antivirus/i.test(String(item.type ?? "")));
      if (!product) return false;
      const state = textOf(product, table, "state");
      const upToDate = numberOf(product, table, "signatures_up_to_date");
      observation.antivirus = compact({
        product: textOf(product, table, "name"),
        state,
        enabled: state === undefined ? undefined : state.toLowerCase() === "on",
        up_to_date: upToDate === undefined ? undefined : upToDate === 1,
        signature_date: textOf(product, table, "state_timestamp"),
      });
      return true;
    }
    default:
      break;
  }
  const changes: CollectionChange[] = [];
  const origin = `osquery:${table}`;
  const push = <C extends CollectionChange>(
    collection: C["collection"],
    map: (row: Row) => C["items"][number] | undefined,
  ) => {
    const items = (rows: Row[]) =>
      rows.map(map).filter((item): item is C["items"][number] => item !== undefined);
    if (snapshot) changes.push({ collection, op: "replace", origin, items: items(added) } as C);
    else {
      if (removed.length > 0) changes.push({ collection, op: "remove", origin, items: items(removed) } as C);
      if (added.length > 0) changes.push({ collection, op: "add", origin, items: items(added) } as C);
    }
  };
  switch (table) {
    case "programs":
      push("software", (row) =>
        software(
          textOf(row, table, "name", 255),
          textOf(row, table, "version"),
          textOf(row, table, "publisher"),
          origin,
        ),
      );
      break;
    case "deb_packages":
      push("software", (row) =>
        software(
          textOf(row, table, "name", 255),
          textOf(row, table, "version"),
          textOf(row, table, "maintainer"),
          origin,
        ),
      );
      break;
    case "rpm_packages":
      push("software", (row) => {
        const version = textOf(row, table, "version");
        const release = textOf(row, table, "release");
        return software(
          textOf(row, table, "name", 255),
          version && release ? `${version}-${release}` : version,
          textOf(row, table, "vendor"),
          origin,
        );
      });
      break;
    case "patches":
      push("updates", (row) => {
        const id = textOf(row, table, "hotfix_id", 255);
        if (id === undefined) return undefined;
        return compact({
          id: normalizeUpdateId(id),
          title: textOf(row, table, "caption") ?? textOf(row, table, "description"),
          installed_on: textOf(row, table, "installed_on"),
          origin,
        });
      });
      break;
    case "listening_ports":
      push("listening_ports", (row) => {
        const port = numberOf(row, table, "port");
        if (port === undefined || port < 0 || port > 65_535) return undefined;
        const protocol = numberOf(row, table, "protocol");
        return compact({
          port,
          protocol:
            protocol === 6 ? ("tcp" as const) : protocol === 17 ? ("udp" as const) : ("other" as const),
          address: textOf(row, table, "address"),
          process: textOf(row, table, "path"),
          origin,
        });
      });
      break;
    case "users":
    case "local_admins": {
      const admins = table === "local_admins";
      push("local_admins", (row) => {
        const name = textOf(row, "users", "username", 255);
        const uid = numberOf(row, "users", "uid");
        // Without a group join, only the accounts that are administrators by id: root (0) and
        // Windows' built-in Administrator (RID 500).
        if (name === undefined || (!admins && uid !== 0 && uid !== 500)) return undefined;
        return compact({ name, description: textOf(row, "users", "description"), origin });
      });
      break;
    }
    case "services":
      push("services", (row) => {
        const name = textOf(row, table, "name", 255);
        if (name === undefined) return undefined;
        return compact({
          name,
          display_name: textOf(row, table, "display_name"),
          status: textOf(row, table, "status"),
          start_type: textOf(row, table, "start_type"),
          origin,
        });
      });
      if (
        added.some(
          (row) =>
            String(row.name ?? "").toUpperCase() === "NTDS" &&
            String(row.status ?? "").toUpperCase() === "RUNNING",
        )
      )
        observation.roles = { domain_controller: true };
      break;
    case "file":
      push("files", (row) => {
        const path = textOf(row, table, "path", 4096);
        if (path === undefined) return undefined;
        return compact({
          path,
          version: textOf(row, table, "file_version"),
          product_version: textOf(row, table, "product_version"),
          origin,
        });
      });
      break;
    case "authenticode":
      push("files", (row) => {
        const path = textOf(row, table, "path", 4096);
        if (path === undefined) return undefined;
        return compact({
          path,
          signature: textOf(row, table, "result"),
          signer: textOf(row, table, "subject_name"),
          origin,
        });
      });
      break;
  }
  if (changes.length === 0) return false;
  observation.changes = changes;
  return true;
}

function software(
  name: string | undefined,
  version: string | undefined,
  vendor: string | undefined,
  origin: string,
) {
  if (name === undefined) return undefined;
  return compact({ name, version, vendor_name: vendor, origin });
}
