export {
  type CommandOutput,
  DEFAULT_MAX_OBSERVABLES,
  DEFAULT_MAX_TIMELINE,
  type DomainOutput,
  type Incident,
  IncidentDomain,
  type IncidentDomainOptions,
  type OwnerDirectory,
} from "./domain.ts";
export { findingSourceRef, incidentEventId, responseActionId } from "./ids.ts";
export { DEFAULT_MERGE_WINDOW_MS, incidentIdFor, windowStart } from "./incident-id.ts";
export { DEFAULT_MAX_EVIDENCE, DEFAULT_MAX_FINDING_IDS } from "./merge.ts";
export { mergeObservables, observablesOf } from "./observables.ts";
export {
  DEFAULT_ESCALATION_POLICY,
  DEFAULT_URGENCY_MATRIX,
  type EscalationPolicy,
  EscalationPolicyFile,
  loadEscalationPolicy,
  loadUrgencyMatrix,
  parseEscalationPolicy,
  parseUrgencyMatrix,
  type StartRule,
  type UrgencyMatrix,
  UrgencyMatrixFile,
  urgencyOf,
} from "./policy.ts";
export { appliedKeysOf, IncidentStore, type IncidentStoreOptions } from "./store.ts";
export { type DocumentProblem, formatProblem, PolicyFileError } from "./yaml-document.ts";
