// The priority list's additions for selectors by host attributes and ownership.
export {
  compareSelectorRank,
  type PriorityDecision,
  PriorityOrganisation,
  type SelectorRank,
  validatePriorityList,
} from "../priority-list.ts";
export {
  AdvisoryIndex,
  advisorySupersedence,
  type Cpe,
  type ExposureContext,
  exposureOf,
  normalizeProductName,
  type OsIdentity,
  osIdentity,
  packageIsProduct,
  parseCpe,
  parseVers,
} from "./advisories.ts";
export {
  assessClass,
  type BaselineClass,
  type BaselineRef,
  type BaselineSelector,
  BaselinesFile,
  type ClassAssessment,
  type ClassChoice,
  type CompiledBaseline,
  chooseClass,
  compileBaselines,
  type Difference,
  PortSet,
  parseBaselines,
  type UnknownItem,
} from "./baselines.ts";
export {
  assetKey,
  type CompiledException,
  compileExceptions,
  type ExceptedBy,
  ExceptionEntry,
  ExceptionIndex,
  ExceptionsFile,
  exceptedBy,
  parseExceptions,
} from "./exceptions.ts";
export {
  accountName,
  collectionKnown,
  displayName,
  installedKbs,
  namesOf,
  osVersionOf,
  parseSourceTime,
  servicePackOf,
} from "./host-facts.ts";
export { HostIndex } from "./hosts.ts";
export {
  type AdvisoryTombstone,
  type BaselineAssessment,
  type HostTombstone,
  ReferenceDocumentError,
  type ReferenceDocumentInput,
  type ReferenceFiles,
  ReferenceTableSet,
  type ReferenceTableSetOptions,
} from "./reference-tables.ts";
export { findSupersedenceCycle, normalizeKb, SupersedenceGraph } from "./supersedence.ts";
export { compareKnownPrecision, compareVersions, compareWithUpperBound, isVersion } from "./version.ts";
export type { DocumentProblem, DocumentResult, ValueProblem } from "./yaml-document.ts";
