// The contract rule authors program against (TypeScript rules, packs), re-exported for them.
export { eventAssetQuery, ruleEvent } from "../events.ts";
export {
  type BaselineDelta,
  type BaselineDirection,
  type CompiledRule,
  type EvaluationContext,
  type EventKind,
  type EventValues,
  type Exposure,
  eventKinds,
  type Ownership,
  type ReferenceTables,
  type ResolvedAsset,
  type RuleEvent,
  type StateStore,
} from "../model.ts";
export { type Accessor, compileAccessor } from "./accessor.ts";
export { type CompileOptions, compileRuleSpec, type DeclarativeRule } from "./compile.ts";
export { type CompiledCondition, compileRegex, conditionLimits } from "./conditions.ts";
export { defineRule, type RuleDefinition, type TypedRuleContext } from "./define.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { formatProblem, RuleCompileError, type RuleProblem } from "./errors.ts";
export {
  createEvaluator,
  DuplicateRuleError,
  type EvaluationResult,
  type Evaluator,
  type EvaluatorCounters,
  type EvaluatorOptions,
  type RuleCounters,
  type RuleFailure,
} from "./evaluator.ts";
export { eventSchemas, virtualRoots } from "./fields.ts";
export {
  attackIdPattern,
  buildFinding,
  eventSummary,
  evidenceOf,
  FindingBuildError,
  type FindingInput,
  findingLimits,
} from "./findings.ts";
export { compileRules, loadRuleFile, ruleFileLimits } from "./parse.ts";
export type { CounterName, RunContext } from "./runtime.ts";
export { RuleId, RuleSpec, type RuleSpecInput } from "./schema.ts";
export { type AssetQuery, EventScope } from "./scope.ts";
export { MemoryStateStore, type RuleStateStore, type StateEntry } from "./state.ts";
export { templateLimits } from "./template.ts";
