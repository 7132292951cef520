export * from "./advisories/index.ts";
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
export {
  classifyFlow,
  extractCves,
  flowSides,
  type HomeNets,
  type InvalidKind,
  LIMITS,
  mapSeverity,
} from "./ids-common.ts";
export * from "./inventory/index.ts";
export {
  type Cidr,
  CidrError,
  cidrContains,
  DEFAULT_HOME_NETS,
  formatCidr,
  homeNetsSchema,
  type IpFamily,
  ipFamily,
  NetworkSet,
  parseCidr,
} from "./network.ts";
export {
  parseSnortAlertJson,
  SnortAlertRecord,
  type SnortParseOptions,
  type SnortParseResult,
  snortTimeToIso,
} from "./snort.ts";
export {
  EveAlertRecord,
  EveAnomalyRecord,
  normaliseSuricataTime,
  type ParseResult,
  parseSuricataEve,
  type SuricataParseOptions,
} from "./suricata.ts";
export * from "./updates/index.ts";
export {
  parseZeekNoticeJson,
  ZeekNoticeParser,
  ZeekNoticeRecord,
  type ZeekParseOptions,
  type ZeekParseResult,
} from "./zeek.ts";
