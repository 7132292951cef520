export {
  compact,
  decodeText,
  describeContent,
  hardwareTypeOfChassis,
  type InventoryParse,
  type InventoryParseOptions,
  type InventoryRecord,
  normalizeIp,
  normalizeMac,
  normalizeSerial,
  normalizeUpdateId,
  parseLooseTime,
  splitHostName,
} from "./common.ts";
export { parseAdComputersCsv, parseLdif } from "./directory.ts";
export { parseBindZone, parseDhcpLeases, reverseNameToIp, type ZoneParseOptions } from "./dns.ts";
export { ExportMapping, parseInventoryExport } from "./export.ts";
export {
  OSQUERY_COLUMNS,
  OSQUERY_EXPECTED,
  type OsqueryColumnType,
  type OsqueryParseOptions,
  type OsqueryTable,
  parseOsqueryLine,
  parseOsqueryResults,
  tableOfQuery,
} from "./osquery.ts";
