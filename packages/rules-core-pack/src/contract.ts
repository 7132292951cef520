/**
 * What the pack uses of the rules package, in one place. The contract types (`model.ts`) and the
 * event helpers (`events.ts`) are not exported from `@vigil/rules`'s index yet (reported to the
 * lead): until they are, they are reached by path; when they are, only this file changes.
 */

export {
  compileRules,
  createEvaluator,
  definePack,
  defineRule,
  findingId,
  type PackManifestInput,
  ReferenceTableSet,
  recordEvent,
  runPackTests,
  type TypedRuleContext,
} from "@vigil/rules";
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
