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
