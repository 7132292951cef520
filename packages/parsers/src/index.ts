export {
  type Cidr,
  CidrError,
  cidrContains,
  DEFAULT_HOME_NETS,
  formatCidr,
  type IpFamily,
  ipFamily,
  NetworkSet,
  parseCidr,
} from "./network.ts";
export {
  classifyFlow,
  EveAlertRecord,
  extractCves,
  type InvalidKind,
  LIMITS,
  mapSeverity,
  normaliseSuricataTime,
  type ParseResult,
  parseSuricataEve,
  type SuricataParseOptions,
} from "./suricata.ts";
export {
  DEFAULT_FIREWALL_MAX_BYTES,
  detectFirewallFormat,
  FIREWALL_FORMATS,
  type FirewallInvalidKind,
  type FirewallParseOptions,
  type FirewallParseResult,
  firewallEventKey,
  parseFirewallLine,
  parseSyslogHeader,
  type SyslogHeader,
  splitCsv,
} from "./firewall/index.ts";
export * from "./updates/index.ts";
export * from "./advisories/index.ts";
export * from "./inventory/index.ts";
