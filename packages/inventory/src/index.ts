export {
  type AuditComparison,
  type AuditInput,
  auditRecord,
  type Coverage,
  type CoverageOptions,
  compareAudits,
  coverage,
  latestAudits,
} from "./audit.ts";
export { type ApplyResult, AssetTable, assetIdFor, COLLECTION_LIMITS, SOURCE_PRECEDENCE } from "./table.ts";
