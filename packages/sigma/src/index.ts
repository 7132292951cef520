export { type ConditionNode, parseCondition } from "./condition.ts";
export {
  type CorrelationCondition,
  type CorrelationMatch,
  type CorrelatorOptions,
  type CorrelatorState,
  correlatorStateSchema,
  type JsonValue,
  parseTimespan,
  type SigmaCorrelationRule,
  SigmaCorrelator,
} from "./correlation.ts";
export { supportedModifiers } from "./detection.ts";
export { matchingRules, SigmaEngine, type SigmaEngineOptions, type SigmaEngineResult } from "./engine.ts";
export { SigmaError, type SigmaErrorCode, sigmaErrorCodes } from "./errors.ts";
export { type InputEvent, type InputProblem, type ParsedEvents, parseEvents } from "./event-input.ts";
export { compileFieldAccessor, type FieldAccessor, type FieldReader, type SigmaEvent } from "./fields.ts";
export {
  type LoadOptions,
  loadSigmaRules,
  parseSigmaRules,
  type SigmaFilter,
  type SigmaLoadFailure,
  type SigmaRuleSet,
} from "./loader.ts";
export { type LogsourceSelector, logsourceMatches, type SigmaLogsource, selectRules } from "./logsource.ts";
export {
  type FieldNameCondition,
  type LogsourceCondition,
  loadPipeline,
  type PipelineTransformation,
  type ProcessingPipeline,
  parsePipeline,
  type WindowsPipelineOptions,
  windowsFieldPaths,
  windowsPipeline,
} from "./pipeline.ts";
export { type CompileOptions, compileSigmaRule, type SigmaRule, type SigmaRuleMetadata } from "./rule.ts";
export type { CorrelationType } from "./schema.ts";
