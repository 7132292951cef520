/**
 * Loading Sigma rules from YAML text, files and folders: detection rules, correlation rules
 * and filters, possibly several documents per file (a correlation and the rules it refers to),
 * and the Sigma v1 collection actions (`action: global`, `reset`, `repeat`). Every document
 * that cannot be used becomes a failure with a reason; the others load.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments } from "yaml";
import { compileCorrelationRule, type RuleResolution, type SigmaCorrelationRule } from "./correlation.ts";
import { allOf, type EventPredicate } from "./detection.ts";
import { SigmaError, type SigmaErrorCode } from "./errors.ts";
import { logsourceMatches, type SigmaLogsource } from "./logsource.ts";
import {
  type CompileOptions,
  compileDetectionSection,
  compileSigmaRule,
  contextFor,
  type DocumentSource,
  matchers,
  ruleIdOf,
  type SigmaRule,
} from "./rule.ts";
import { filterRuleSchema, formatZodIssues } from "./schema.ts";

export interface SigmaLoadFailure {
  file: string | undefined;
  line: number | undefined;
  ruleId: string | undefined;
  title: string | undefined;
  code: SigmaErrorCode;
  key: string | undefined;
  /** The full message: file, line, rule, key and what is wrong. */
  message: string;
}

/** A Sigma filter (meta rule): its condition is added to the rules it names. */
export interface SigmaFilter {
  id: string;
  title: string;
  file: string | undefined;
  logsource: SigmaLogsource | undefined;
  /** The rules it applies to, by id (resolved from the names or ids it lists). */
  ruleIds: readonly string[];
}

export interface SigmaRuleSet {
  /** Detection rules, filters applied, `generate` set from the correlations. */
  rules: SigmaRule[];
  correlations: SigmaCorrelationRule[];
  filters: SigmaFilter[];
  failures: SigmaLoadFailure[];
  /** Files read and documents found (loaded or not). */
  files: number;
  documents: number;
}

export interface LoadOptions extends CompileOptions {}

interface SourceDocument {
  raw: Record<string, unknown>;
  source: DocumentSource;
  /** The line of a key path (`detection.selection.Image|endswith`), for errors. */
  lineOf: (key: string) => number | undefined;
}

/**
 * Finds the line of a key path in a YAML document. Keys may contain dots (`userIdentity.arn`),
 * so at each level the longest key that prefixes the rest of the path wins.
 */
function keyLineFinder(root: unknown, lineCounter: LineCounter): (key: string) => number | undefined {
  return (key) => {
    let rest = key;
    let current: unknown = root;
    let line: number | undefined;
    while (rest !== "" && current) {
      if (rest.startsWith("[")) {
        const close = rest.indexOf("]");
        const item = isSeq(current) ? current.items[Number(rest.slice(1, close))] : undefined;
        if (!isNode(item) || !item.range) break;
        line = lineCounter.linePos(item.range[0]).line;
        current = item;
        rest = rest.slice(close + 1).replace(/^\./, "");
        continue;
      }
      if (!isMap(current)) break;
      let best: { length: number; pair: (typeof current.items)[number] } | undefined;
      for (const pair of current.items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (name === undefined || !rest.startsWith(name)) continue;
        const next = rest[name.length];
        if ((next === undefined || next === "." || next === "[") && (!best || name.length > best.length)) {
          best = { length: name.length, pair };
        }
      }
      if (!best || !isScalar(best.pair.key) || !best.pair.key.range) break;
      line = lineCounter.linePos(best.pair.key.range[0]).line;
      rest = rest.slice(best.length).replace(/^\./, "");
      current = best.pair.value;
    }
    return line;
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepMerge(base: unknown, override: unknown): unknown {
  if (!isRecord(base) || !isRecord(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override))
    merged[key] = key in base ? deepMerge(base[key], value) : value;
  return merged;
}

function failureOf(
  thrown: SigmaError,
  title: string | undefined,
  lineOf?: (key: string) => number | undefined,
): SigmaLoadFailure {
  const keyLine = thrown.key !== undefined ? lineOf?.(thrown.key) : undefined;
  const error = keyLine !== undefined ? thrown.atLine(keyLine) : thrown;
  return {
    file: error.file,
    line: error.line,
    ruleId: error.ruleId,
    title,
    code: error.code,
    key: error.key,
    message: error.message,
  };
}

function actionOf(value: unknown): unknown {
  return isRecord(value) ? value.action : undefined;
}

function titleOf(raw: unknown): string | undefined {
  return isRecord(raw) && typeof raw.title === "string" ? raw.title : undefined;
}

/** Splits YAML text into documents, applying the v1 collection actions. */
function readDocuments(
  text: string,
  file: string | undefined,
  failures: SigmaLoadFailure[],
  counter: { documents: number },
): SourceDocument[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const out: SourceDocument[] = [];
  let global: Record<string, unknown> | undefined;
  let previous: Record<string, unknown> | undefined;
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const line = lineCounter.linePos(document.contents?.range?.[0] ?? document.range[0]).line;
    const source: DocumentSource = { file, line, index };
    if (document.errors.length > 0) {
      counter.documents++;
      const [first] = document.errors;
      const errorLine = first?.linePos?.[0]?.line ?? line;
      const error = new SigmaError(
        "yaml",
        `invalid YAML: ${first?.message.split("\n")[0] ?? "unknown error"}`,
        {
          file,
          line: errorLine,
        },
      );
      failures.push(failureOf(error, undefined));
      return;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (actionOf(value) !== "global" && actionOf(value) !== "reset") counter.documents++;
    if (!isRecord(value)) {
      const error = new SigmaError(
        "schema",
        `a rule document must be a map, got ${Array.isArray(value) ? "a list" : typeof value}`,
        {
          file,
          line,
        },
      );
      failures.push(failureOf(error, undefined));
      return;
    }
    const { action, ...body } = value;
    if (action === "global") {
      global = body;
      return;
    }
    if (action === "reset") {
      global = undefined;
      return;
    }
    if (action === "repeat") {
      if (!previous) {
        failures.push(
          failureOf(
            new SigmaError("collection", "action: repeat without a previous document", { file, line }),
            titleOf(body),
          ),
        );
        return;
      }
      previous = deepMerge(previous, body) as Record<string, unknown>;
      out.push({ raw: previous, source, lineOf: keyLineFinder(document.contents, lineCounter) });
      return;
    }
    if (action !== undefined) {
      failures.push(
        failureOf(
          new SigmaError("collection", `unknown action ${JSON.stringify(action)} (global, reset, repeat)`, {
            file,
            line,
          }),
          titleOf(body),
        ),
      );
      return;
    }
    const merged = global ? (deepMerge(global, value) as Record<string, unknown>) : value;
    previous = merged;
    out.push({ raw: merged, source, lineOf: keyLineFinder(document.contents, lineCounter) });
  });
  return out;
}

/** Compiles documents into a rule set: rules first, then filters and correlations that refer to them. */
function buildRuleSet(
  documents: readonly SourceDocument[],
  failures: SigmaLoadFailure[],
  options: LoadOptions,
  counts: { files: number; documents: number },
): SigmaRuleSet {
  const rules: SigmaRule[] = [];
  const byReference = new Map<string, RuleResolution>();
  const correlationDocuments: SourceDocument[] = [];
  const filterDocuments: SourceDocument[] = [];
  const seenIds = new Map<string, DocumentSource>();
  for (const document of documents) {
    const { raw, source, lineOf } = document;
    const id = ruleIdOf(raw, source);
    const first = seenIds.get(id);
    if (first) {
      const error = new SigmaError(
        "duplicate-id",
        `the id is already used by ${first.file ?? "an earlier document"}${first.line ? `:${first.line}` : ""}`,
        { file: source.file, line: source.line, ruleId: id, key: "id" },
      );
      failures.push(failureOf(error, titleOf(raw), lineOf));
      continue;
    }
    seenIds.set(id, source);
    if ("correlation" in raw) {
      correlationDocuments.push(document);
      for (const reference of [raw.id, raw.name])
        if (typeof reference === "string") byReference.set(reference, "correlation");
      continue;
    }
    if ("filter" in raw) {
      filterDocuments.push(document);
      continue;
    }
    try {
      const rule = compileSigmaRule(raw, source, options);
      rules.push(rule);
      byReference.set(rule.id, rule);
      if (rule.name) byReference.set(rule.name, rule);
    } catch (error) {
      if (!(error instanceof SigmaError)) throw error;
      failures.push(failureOf(error, titleOf(raw), lineOf));
    }
  }
  const resolve = (reference: string) => byReference.get(reference);

  const filterPredicates = new Map<string, EventPredicate[]>();
  const filters: SigmaFilter[] = [];
  for (const { raw, source, lineOf } of filterDocuments) {
    const id = ruleIdOf(raw, source);
    try {
      const filter = compileFilter(raw, source, id, rules, resolve, options);
      filters.push(filter.filter);
      for (const ruleId of filter.filter.ruleIds) {
        filterPredicates.set(ruleId, [...(filterPredicates.get(ruleId) ?? []), filter.predicate]);
      }
    } catch (error) {
      if (!(error instanceof SigmaError)) throw error;
      failures.push(failureOf(error, titleOf(raw), lineOf));
    }
  }

  const correlations: SigmaCorrelationRule[] = [];
  for (const { raw, source, lineOf } of correlationDocuments) {
    try {
      correlations.push(compileCorrelationRule(raw, source, resolve, ruleIdOf(raw, source)));
    } catch (error) {
      if (!(error instanceof SigmaError)) throw error;
      failures.push(failureOf(error, titleOf(raw), lineOf));
    }
  }
  const silenced = new Set<string>();
  for (const correlation of correlations) {
    if (!correlation.generate) for (const rule of correlation.rules) silenced.add(rule.id);
  }
  const finalRules = rules.map((rule) => {
    const extra = filterPredicates.get(rule.id);
    const generate = !silenced.has(rule.id);
    if (!extra && generate) return rule;
    return { ...rule, generate, ...(extra ? matchers(allOf([rule.test, ...extra])) : {}) };
  });
  // Correlations keep the rules they reference in sync with the filtered versions.
  const finalById = new Map(finalRules.map((rule) => [rule.id, rule]));
  const finalCorrelations = correlations.map((correlation) => ({
    ...correlation,
    rules: correlation.rules.map((rule) => finalById.get(rule.id) ?? rule),
  }));
  return {
    rules: finalRules,
    correlations: finalCorrelations,
    filters,
    failures,
    files: counts.files,
    documents: counts.documents,
  };
}

function compileFilter(
  raw: Record<string, unknown>,
  source: DocumentSource,
  id: string,
  rules: readonly SigmaRule[],
  resolve: (reference: string) => RuleResolution,
  options: LoadOptions,
): { filter: SigmaFilter; predicate: EventPredicate } {
  const errorContext = { file: source.file, line: source.line, ruleId: id };
  const parsed = filterRuleSchema.safeParse(raw);
  if (!parsed.success) {
    const { key, detail } = formatZodIssues(parsed.error);
    throw new SigmaError("schema", detail, { ...errorContext, key: key || undefined });
  }
  const document = parsed.data;
  const logsource: SigmaLogsource | undefined = document.logsource
    ? {
        category: document.logsource.category,
        product: document.logsource.product,
        service: document.logsource.service,
      }
    : undefined;
  let targets: SigmaRule[];
  if (document.filter.rules && document.filter.rules.length > 0) {
    targets = document.filter.rules.map((reference, index) => {
      const resolved = resolve(reference);
      if (!resolved || resolved === "correlation") {
        throw new SigmaError(
          "unknown-rule-reference",
          `no loaded detection rule has the name or id '${reference}'`,
          {
            ...errorContext,
            key: `filter.rules[${index}]`,
          },
        );
      }
      return resolved;
    });
  } else {
    targets = logsource ? rules.filter((rule) => logsourceMatches(rule.logsource, logsource)) : [...rules];
  }
  const context = contextFor(logsource ?? {}, options, errorContext);
  const predicate = compileDetectionSection(
    document.filter,
    document.filter.condition,
    context,
    "filter",
    new Set(["condition", "rules"]),
  );
  return {
    filter: {
      id,
      title: document.title,
      file: source.file,
      logsource,
      ruleIds: targets.map((rule) => rule.id),
    },
    predicate,
  };
}

/** Loads rules from YAML text (one file's worth; correlations resolve within it). */
export function parseSigmaRules(text: string, options: LoadOptions & { file?: string } = {}): SigmaRuleSet {
  const failures: SigmaLoadFailure[] = [];
  const counter = { documents: 0 };
  const documents = readDocuments(text, options.file, failures, counter);
  return buildRuleSet(documents, failures, options, { files: 1, documents: counter.documents });
}

async function collectFiles(target: string, out: string[]): Promise<void> {
  const info = await stat(target);
  if (!info.isDirectory()) {
    out.push(target);
    return;
  }
  const entries = await readdir(target, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(target, entry.name);
    if (entry.isDirectory()) await collectFiles(full, out);
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
}

/**
 * Loads every `.yml`/`.yaml` file of the given files and folders (recursively). References of
 * correlation rules and filters resolve across everything loaded. Unreadable paths and unusable
 * documents become failures; this only rejects when nothing at all can be read.
 */
export async function loadSigmaRules(
  paths: string | readonly string[],
  options: LoadOptions = {},
): Promise<SigmaRuleSet> {
  const failures: SigmaLoadFailure[] = [];
  const files: string[] = [];
  const roots = typeof paths === "string" ? [paths] : paths;
  for (const root of roots) {
    try {
      await collectFiles(root, files);
    } catch (error) {
      failures.push(
        failureOf(
          new SigmaError("io", `cannot read: ${(error as Error).message}`, { file: root }),
          undefined,
        ),
      );
    }
  }
  if (files.length === 0 && failures.length === roots.length && roots.length > 0) {
    throw new SigmaError("io", failures.map((failure) => failure.message).join("; "));
  }
  const documents: SourceDocument[] = [];
  const texts = await Promise.all(
    files.map(async (file) => {
      try {
        return { file, text: await readFile(file, "utf8") };
      } catch (error) {
        failures.push(
          failureOf(new SigmaError("io", `cannot read: ${(error as Error).message}`, { file }), undefined),
        );
        return undefined;
      }
    }),
  );
  const counter = { documents: 0 };
  for (const entry of texts) {
    if (entry) documents.push(...readDocuments(entry.text, entry.file, failures, counter));
  }
  return buildRuleSet(documents, failures, options, { files: files.length, documents: counter.documents });
}
