/**
 * Why a rule, a pipeline or an input could not be used. The codes are stable: callers (and the
 * conformance test) tell an unsupported feature from a broken rule by them.
 */
export const sigmaErrorCodes = [
  /** The file is not valid YAML (or cannot be read). */
  "yaml",
  "io",
  /** A key is missing or has the wrong type. */
  "schema",
  "unknown-modifier",
  /** Modifiers that cannot go together, or a value of the wrong type for a modifier. */
  "invalid-modifier-use",
  /** A `|re` pattern re2js (linear-time, RE2 syntax) cannot compile: look-around, back-references... */
  "regex-unsupported",
  /** `|expand` names a placeholder no placeholder map provides. */
  "placeholder-unresolved",
  /** The condition does not parse or names an unknown search identifier. */
  "condition",
  /** Sigma v1 aggregations (`| count() by x > 5`): superseded by correlation rules. */
  "aggregation-unsupported",
  /** A correlation or filter rule refers to a rule that is not loaded. */
  "unknown-rule-reference",
  /** A correlation rule refers to another correlation rule (chained correlations). */
  "correlation-chain-unsupported",
  /** Another rule with the same id was loaded first. */
  "duplicate-id",
  /** A processing pipeline is invalid. */
  "pipeline",
  /** A Sigma v1 multi-document action (`action: global/reset/repeat`) used wrongly. */
  "collection",
] as const;
export type SigmaErrorCode = (typeof sigmaErrorCodes)[number];

export interface SigmaErrorContext {
  file?: string | undefined;
  /** 1-based line of the offending document or key, when known. */
  line?: number | undefined;
  ruleId?: string | undefined;
  /** Dotted path of the offending key, e.g. `detection.selection.Image|endswith`. */
  key?: string | undefined;
}

export class SigmaError extends Error {
  override name = "SigmaError";
  readonly code: SigmaErrorCode;
  readonly detail: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly ruleId: string | undefined;
  readonly key: string | undefined;

  constructor(code: SigmaErrorCode, detail: string, context: SigmaErrorContext = {}) {
    super(formatMessage(detail, context));
    this.code = code;
    this.detail = detail;
    this.file = context.file;
    this.line = context.line;
    this.ruleId = context.ruleId;
    this.key = context.key;
  }

  /** The same error pointing at a more precise line (the offending key's). */
  atLine(line: number): SigmaError {
    return new SigmaError(this.code, this.detail, {
      file: this.file,
      line,
      ruleId: this.ruleId,
      key: this.key,
    });
  }

  /** The same error with more context (the loader knows the file, the compiler the key). */
  withContext(context: SigmaErrorContext): SigmaError {
    return new SigmaError(this.code, this.detail, {
      file: this.file ?? context.file,
      line: this.line ?? context.line,
      ruleId: this.ruleId ?? context.ruleId,
      key: this.key ?? context.key,
    });
  }
}

function formatMessage(detail: string, context: SigmaErrorContext): string {
  const where = context.file ? `${context.file}${context.line ? `:${context.line}` : ""}: ` : "";
  const rule = context.ruleId ? `rule ${context.ruleId}: ` : "";
  const key = context.key ? `${context.key}: ` : "";
  return `${where}${rule}${key}${detail}`;
}
