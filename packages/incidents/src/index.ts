export { type ApplyOptions, applyFinding, DEFAULT_MAX_EVIDENCE, DEFAULT_MAX_FINDING_IDS } from "./apply.ts";
export { DEFAULT_MERGE_WINDOW_MS, incidentIdFor, windowStart } from "./incident-id.ts";
export { IncidentStore, type IncidentStoreOptions } from "./store.ts";
