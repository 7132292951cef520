export type {
  AdvisoryDocumentResult,
  AdvisoryEntry,
  AdvisoryEntryResult,
  AdvisoryFormat,
  AdvisoryInvalidKind,
} from "./common.ts";
export { CSAF_EXPECTED, csafEntry, csafSource, csafToAdvisory, looksLikeCsaf, parseCsaf } from "./csaf.ts";
export {
  type CsafRuleFailure,
  checkCsafMandatory,
  IMPLEMENTED_MANDATORY_TESTS,
  NOT_IMPLEMENTED_MANDATORY_TESTS,
} from "./csaf-rules.ts";
export { CsafDocument, CvssV2, CvssV3 } from "./csaf-schema.ts";
export { type Cvss2Scores, type Cvss3Scores, scoreCvss2, scoreCvss3 } from "./cvss.ts";
export { ADVISORY_FORMATS, detectAdvisoryFormat, parseAdvisoryDocument } from "./detect.ts";
export {
  KEV_CSV_COLUMNS,
  KevCatalog,
  KevVulnerability,
  kevToAdvisory,
  parseKevCsv,
  parseKevJson,
} from "./kev.ts";
export { NvdCve, nvdToAdvisory, parseNvdPage } from "./nvd.ts";
export {
  describeRelease,
  nextRelease,
  previousRelease,
  RELEASE_TIME_ZONE,
  type ReleaseWindow,
  releaseOfMonth,
} from "./release-calendar.ts";
