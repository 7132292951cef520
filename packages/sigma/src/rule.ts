/** Compiling one Sigma detection rule into a predicate over events. */
import { ConditionSyntaxError, compileCondition, parseCondition } from "./condition.ts";
import {
  allOf,
  anyOf,
  compileSearchIdentifier,
  type DetectionContext,
  type EventPredicate,
} from "./detection.ts";
import { SigmaError, type SigmaErrorContext } from "./errors.ts";
import {
  compileFieldAccessor,
  type FieldReader,
  rememberPerEvaluation,
  type SigmaEvent,
  startEvaluation,
} from "./fields.ts";
import type { SigmaLogsource } from "./logsource.ts";
import { applyPipelines, type ProcessingPipeline, sortPipelines } from "./pipeline.ts";
import { detectionRuleSchema, formatZodIssues, type RuleMetadataDocument } from "./schema.ts";

export interface SigmaRuleMetadata {
  /** The rule's `id`; its `name`, or the file and document position, when it has none. */
  id: string;
  name: string | undefined;
  title: string;
  status: string | undefined;
  level: string | undefined;
  description: string | undefined;
  tags: readonly string[];
  references: readonly string[];
  falsepositives: readonly string[];
  author: string | undefined;
  date: string | undefined;
  modified: string | undefined;
  /** The file it was loaded from, and the line its document starts on. */
  file: string | undefined;
  line: number | undefined;
  /** The document as parsed from YAML (for fields the API does not surface). */
  document: Readonly<Record<string, unknown>>;
}

export interface SigmaRule extends SigmaRuleMetadata {
  type: "detection";
  logsource: SigmaLogsource;
  /**
   * Whether a match is reported on its own. False when a correlation rule refers to the rule
   * without `generate: true` (the spec's default): its matches then only feed the correlation.
   */
  generate: boolean;
  match(event: SigmaEvent): boolean;
  /**
   * `match` without starting a new evaluation: field reads remembered from the rules evaluated
   * just before on the same, unchanged event are reused. `matchingRules` calls it after one
   * `startEvaluation()` per event; prefer `match` elsewhere.
   */
  test(event: SigmaEvent): boolean;
  /** Reads a field as the rule names it, through the rule's pipeline mapping (correlation group-by uses it). */
  field(name: string): FieldReader;
}

/** A rule's `match` and `test` from its predicate. */
export function matchers(test: EventPredicate): { match: EventPredicate; test: EventPredicate } {
  return {
    test,
    match: (event) => {
      startEvaluation();
      return test(event);
    },
  };
}

export interface CompileOptions {
  /** Processing pipelines, applied in ascending priority. */
  pipelines?: readonly ProcessingPipeline[] | undefined;
  /** Values of `|expand` placeholders by name (without `%`); they win over the pipelines' vars. */
  placeholders?: Readonly<Record<string, readonly string[]>> | undefined;
}

export interface DocumentSource {
  file?: string | undefined;
  line?: number | undefined;
  /** Position of the document in its file (0-based), for rules without id. */
  index?: number | undefined;
}

export function ruleIdOf(document: unknown, source: DocumentSource): string {
  if (typeof document === "object" && document !== null) {
    const { id, name } = document as { id?: unknown; name?: unknown };
    if (typeof id === "string" && id !== "") return id;
    if (typeof name === "string" && name !== "") return name;
  }
  return `${source.file ?? "inline"}#${source.index ?? 0}`;
}

export function metadataOf(
  document: RuleMetadataDocument,
  raw: Record<string, unknown>,
  source: DocumentSource,
): SigmaRuleMetadata {
  return {
    id: ruleIdOf(raw, source),
    name: document.name,
    title: document.title,
    status: document.status,
    level: document.level,
    description: document.description,
    tags: document.tags ?? [],
    references: document.references ?? [],
    falsepositives: document.falsepositives ?? [],
    author: document.author,
    date: document.date,
    modified: document.modified,
    file: source.file,
    line: source.line,
    document: raw,
  };
}

const nonIdentifierKeys = new Set(["condition", "timeframe"]);

const sharedConditions = new Map<string, EventPredicate>();

/**
 * Compiles search identifiers and condition(s) of a detection section. Shared by rules and
 * filters (a filter's section has a `rules` key beside its identifiers).
 */
export function compileDetectionSection(
  section: Readonly<Record<string, unknown>>,
  conditionValue: string | readonly string[],
  context: DetectionContext,
  sectionName: string,
  skipKeys: ReadonlySet<string> = nonIdentifierKeys,
): EventPredicate {
  const identifiers = new Map<string, EventPredicate>();
  for (const [name, definition] of Object.entries(section)) {
    if (skipKeys.has(name)) continue;
    identifiers.set(name, compileSearchIdentifier(name, definition, context));
  }
  const conditions = typeof conditionValue === "string" ? [conditionValue] : conditionValue;
  const compiled = conditions.map((condition, index) => {
    const key = `${sectionName}.condition${conditions.length > 1 ? `[${index}]` : ""}`;
    try {
      return compileCondition(parseCondition(condition), identifiers);
    } catch (error) {
      if (error instanceof ConditionSyntaxError) {
        throw new SigmaError(error.aggregation ? "aggregation-unsupported" : "condition", error.message, {
          ...context.error,
          key,
        });
      }
      throw error;
    }
  });
  // A list of conditions (deprecated) matches when any of them does.
  return anyOf(compiled);
}

function detectionContext(
  fieldPaths: (name: string) => string[],
  placeholders: Readonly<Record<string, readonly string[]>>,
  error: SigmaErrorContext,
): DetectionContext {
  const accessors = new Map<string, FieldReader>();
  return {
    field(name) {
      let accessor = accessors.get(name);
      if (!accessor) {
        accessor = compileFieldAccessor(fieldPaths(name));
        accessors.set(name, accessor);
      }
      return accessor;
    },
    placeholders,
    error,
  };
}

export function prepareOptions(options: CompileOptions): {
  pipelines: ProcessingPipeline[];
  placeholders: CompileOptions["placeholders"];
} {
  return { pipelines: sortPipelines(options.pipelines ?? []), placeholders: options.placeholders };
}

/** Compiles one rule document (already parsed from YAML). Throws SigmaError naming the key at fault. */
export function compileSigmaRule(
  document: unknown,
  source: DocumentSource = {},
  options: CompileOptions = {},
): SigmaRule {
  const ruleId = ruleIdOf(document, source);
  const errorContext: SigmaErrorContext = { file: source.file, line: source.line, ruleId };
  const parsed = detectionRuleSchema.safeParse(document);
  if (!parsed.success) {
    const { key, detail } = formatZodIssues(parsed.error);
    throw new SigmaError("schema", detail, { ...errorContext, key: key || undefined });
  }
  const rule = parsed.data;
  const { pipelines, placeholders } = prepareOptions(options);
  const logsource: SigmaLogsource = {
    category: rule.logsource.category,
    product: rule.logsource.product,
    service: rule.logsource.service,
    definition: rule.logsource.definition,
  };
  const applied = applyPipelines(pipelines, logsource);
  const allPlaceholders = { ...applied.placeholders, ...placeholders };
  const context = detectionContext(applied.fieldPaths, allPlaceholders, errorContext);
  const detection = compileDetectionSection(rule.detection, rule.detection.condition, context, "detection");
  // Pipeline conditions first: they rule out most events of other log sources. Rules of one log
  // source share them, and each is judged once per event, however many rules ask.
  const added = applied.addedConditions.map((condition) => {
    const key = JSON.stringify([
      condition.conditions,
      Object.keys(condition.conditions).map((item) => condition.fieldPaths(item.split("|")[0] ?? "")),
      allPlaceholders,
    ]);
    let shared = sharedConditions.get(key);
    if (!shared) {
      shared = rememberPerEvaluation(
        compileSearchIdentifier(
          `pipeline:${condition.id}`,
          condition.conditions,
          detectionContext(condition.fieldPaths, allPlaceholders, errorContext),
        ),
      );
      sharedConditions.set(key, shared);
    }
    return shared;
  });
  const predicate = allOf([...added, detection]);
  return {
    ...metadataOf(rule, document as Record<string, unknown>, source),
    type: "detection",
    logsource,
    generate: true,
    ...matchers(predicate),
    field: context.field,
  };
}

/** A detection context with the pipeline mapping of rules of this log source (filters use it). */
export function contextFor(
  logsource: SigmaLogsource,
  options: CompileOptions,
  error: SigmaErrorContext,
): DetectionContext {
  const { pipelines, placeholders } = prepareOptions(options);
  const applied = applyPipelines(pipelines, logsource);
  return detectionContext(applied.fieldPaths, { ...applied.placeholders, ...placeholders }, error);
}
