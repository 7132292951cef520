/**
 * YAML reference documents validated by zod, with every problem named by line, column and key path
 * (`baselines[0].classes[2].ports.tcp[1]`), so an operator finds the field in the file. Shared by
 * the priority list and the reference tables.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";

export interface DocumentProblem {
  /** `assets[2].tier`, or `(root)`. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export type DocumentResult<T> = { ok: true; value: T } | { ok: false; problems: DocumentProblem[] };

/** A problem a check beyond the schema found (a conflict with another document), at a path of the value. */
export interface ValueProblem {
  path: ReadonlyArray<PropertyKey>;
  message: string;
}

/**
 * A schema's message for a value of the wrong type only: zod lets a schema-level message override
 * its checks' own (`min`, `max`, ...), which would hide what exactly was wrong.
 */
export function onType(message: string): (issue: { code?: string }) => string | undefined {
  return (issue) => (issue.code === "invalid_type" ? message : undefined);
}

/** `assets[2].tier`: the notation an operator would use to find the field in the file. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "(root)" : text;
}

/** `file.yaml:12:7: classes[0].name: expected ...`. */
export function formatProblem(origin: string, problem: DocumentProblem): string {
  const position =
    problem.line !== undefined
      ? `:${problem.line}${problem.column !== undefined ? `:${problem.column}` : ""}`
      : "";
  return `${origin}${position}: ${problem.path}: ${problem.message}`;
}

/**
 * Keys that would reach an object's prototype if some consumer copied the parsed value with plain
 * assignment. The YAML parser keeps them as own keys, but zod records drop `__proto__` silently:
 * refusing them everywhere keeps a hostile document from changing meaning between parsers.
 */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function forbiddenKeys(value: unknown, path: PropertyKey[], found: PropertyKey[][], depth: number): void {
  if (found.length >= 20 || depth > 64) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      forbiddenKeys(item, [...path, index], found, depth + 1);
    });
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) found.push([...path, key]);
      else forbiddenKeys((value as Record<string, unknown>)[key], [...path, key], found, depth + 1);
    }
  }
}

/** Nesting the documents never need: deeper input is refused before validation walks it. */
const MAX_DEPTH = 32;

function depthOf(value: unknown, limit: number): number {
  let depth = 0;
  let level: unknown[] = [value];
  while (level.length > 0) {
    const next: unknown[] = [];
    for (const item of level) {
      if (Array.isArray(item)) next.push(...item);
      else if (item !== null && typeof item === "object") next.push(...Object.values(item));
    }
    if (next.length === 0) break;
    depth += 1;
    if (depth > limit) return depth;
    level = next;
  }
  return depth;
}

interface Located {
  key?: Node | undefined;
  value?: Node | undefined;
}

/** The YAML nodes at a path: the key (for mappings) and the value, or the deepest ancestor found. */
function locate(root: Node | null, path: ReadonlyArray<PropertyKey>): Located & { found: boolean } {
  let current: Located = { value: root ?? undefined };
  for (const part of path) {
    const node = current.value;
    if (isSeq(node) && typeof part === "number") {
      const item = node.items[part];
      if (item === undefined) return { ...current, found: false };
      current = { value: item as Node };
    } else if (isMap(node)) {
      const pair = node.items.find(
        (candidate) =>
          isPair(candidate) && isScalar(candidate.key) && String(candidate.key.value) === String(part),
      );
      if (!pair) return { ...current, found: false };
      current = { key: pair.key as Node, value: (pair.value ?? undefined) as Node | undefined };
    } else {
      return { ...current, found: false };
    }
  }
  return { ...current, found: true };
}

function positionOf(
  lineCounter: LineCounter,
  node: Node | undefined,
): { line: number; column: number } | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/**
 * Parses one YAML document and validates it. Every problem is reported at once, each with the path,
 * the line and column of the offending key or value, and what was expected. Duplicate keys, alias
 * bombs, prototype keys and absurd nesting are refused before the schema sees the value. `check`
 * runs on a valid value (conflicts with other documents); its problems are located like the schema's.
 */
export function parseYamlDocument<S extends z.ZodType>(
  text: string,
  schema: S,
  check?: (value: z.output<S>) => ValueProblem[],
): DocumentResult<z.output<S>> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: "(document)", line, column: col, message: error.message.split("\n")[0]! };
      }),
    };
  }
  let value: unknown;
  try {
    // The YAML library caps alias expansion (a "billion laughs" document throws here).
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ path: "(document)", message: (error as Error).message }] };
  }
  const at = (path: ReadonlyArray<PropertyKey>, preferKey: boolean): { line?: number; column?: number } => {
    const located = locate(document.contents, path);
    const node = preferKey && located.found && located.key ? located.key : located.value;
    return positionOf(lineCounter, node) ?? {};
  };
  if (depthOf(value, MAX_DEPTH) > MAX_DEPTH) {
    return {
      ok: false,
      problems: [{ path: "(root)", ...at([], false), message: `nested deeper than ${MAX_DEPTH} levels` }],
    };
  }
  const forbidden: PropertyKey[][] = [];
  forbiddenKeys(value, [], forbidden, 0);
  if (forbidden.length > 0) {
    return {
      ok: false,
      problems: forbidden.map((path) => ({
        path: formatPath(path),
        ...at(path, true),
        message: `the key ${String(path[path.length - 1])} is not allowed`,
      })),
    };
  }
  const result = schema.safeParse(value);
  if (result.success) {
    const extra = check?.(result.data) ?? [];
    if (extra.length === 0) return { ok: true, value: result.data };
    return {
      ok: false,
      problems: inFileOrder(
        extra.map((problem) => ({
          path: formatPath(problem.path),
          ...at(problem.path, false),
          message: problem.message,
        })),
      ),
    };
  }
  const problems = result.error.issues.map((issue): DocumentProblem => {
    if (issue.code === "unrecognized_keys") {
      const keyPath = [...issue.path, issue.keys[0]!];
      return {
        path: formatPath(issue.path),
        ...at(keyPath, true),
        message: `unexpected field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`,
      };
    }
    return { path: formatPath(issue.path), ...at(issue.path, false), message: issue.message };
  });
  return { ok: false, problems: inFileOrder(problems) };
}

/** Problems as an operator fixes them: top to bottom (those without a position last). */
function inFileOrder(problems: DocumentProblem[]): DocumentProblem[] {
  const key = (problem: DocumentProblem) =>
    (problem.line ?? Number.MAX_SAFE_INTEGER) * 100_000 + (problem.column ?? 0);
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => key(a.problem) - key(b.problem) || a.index - b.index)
    .map(({ problem }) => problem);
}
