export { type Cidr, canonicalIp, parseCidr } from "./cidr.ts";
export {
  createIdsAlertRule,
  IDS_ALERT_RULE_ID,
  IDS_ALERT_RULE_VERSION,
  type IdsAlertRuleOptions,
} from "./ids-alert-rule.ts";
export * from "./language/index.ts";
export * from "./pack.ts";
export {
  AssetTable,
  loadPriorityList,
  PriorityAsset,
  PriorityListError,
  PriorityListFile,
  PrioritySelector,
  parsePriorityList,
  type ResolveOptions,
} from "./priority-list.ts";
export { atLeast, findingId, raiseSeverity } from "./rules.ts";
export * from "./sigma-rules.ts";
export * from "./tables/index.ts";
