/**
 * What the pack uses of the rules package's contract, in one place. `model.ts` and `events.ts`
 * are not exported from `@vigil/rules`'s index yet (reported to the lead): until they are, they
 * are reached by path; when they are, only this file changes.
 */

export { findingId, raiseSeverity } from "@vigil/rules";
export { eventAssetQuery, ruleEvent } from "../../rules/src/events.ts";
export {
  compileRules,
  createEvaluator,
  defineRule,
  type TypedRuleContext,
} from "../../rules/src/language/index.ts";
export type {
  BaselineDelta,
  CompiledRule,
  EvaluationContext,
  EventKind,
  EventValues,
  Exposure,
  ReferenceTables,
  ResolvedAsset,
  RuleEvent,
  StateStore,
} from "../../rules/src/model.ts";
export { definePack, type PackManifestInput, recordEvent } from "../../rules/src/pack.ts";
export { ReferenceTableSet } from "../../rules/src/tables/index.ts";
