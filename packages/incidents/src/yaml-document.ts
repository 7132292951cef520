/**
 * YAML policy documents validated by zod, every problem named by file, line, column and key path
 * (`ladder.high.2`), so an operator finds the field to fix. Duplicate keys, alias bombs, prototype
 * keys and absurd nesting are refused before the schema sees the value.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";

export interface DocumentProblem {
  /** `ladder.high.2`, `(root)` or `(document)` for a syntax error. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

/** A policy file that cannot be used; `message` lists every problem as `file:line:column: path: what`. */
export class PolicyFileError extends Error {
  readonly origin: string;
  readonly problems: readonly DocumentProblem[];
  constructor(origin: string, problems: readonly DocumentProblem[]) {
    super(
      `${origin}: invalid:\n${problems.map((problem) => `  ${formatProblem(origin, problem)}`).join("\n")}`,
    );
    this.name = "PolicyFileError";
    this.origin = origin;
    this.problems = problems;
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "(root)" : text;
}

export function formatProblem(origin: string, problem: DocumentProblem): string {
  const position =
    problem.line !== undefined
      ? `:${problem.line}${problem.column !== undefined ? `:${problem.column}` : ""}`
      : "";
  return `${origin}${position}: ${problem.path}: ${problem.message}`;
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_DEPTH = 16;
/** Policies are a few kilobytes; a much larger file is a mistake or an attack. */
const MAX_BYTES = 256 * 1024;

function findForbidden(value: unknown, path: PropertyKey[], found: PropertyKey[][], depth: number): number {
  let deepest = depth;
  if (found.length >= 20 || depth > MAX_DEPTH) return deepest;
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      deepest = Math.max(deepest, findForbidden(item, [...path, index], found, depth + 1));
    });
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) found.push([...path, key]);
      else
        deepest = Math.max(
          deepest,
          findForbidden((value as Record<string, unknown>)[key], [...path, key], found, depth + 1),
        );
    }
  }
  return deepest;
}

function locate(root: Node | null, path: ReadonlyArray<PropertyKey>, preferKey: boolean): Node | undefined {
  let value: Node | undefined = root ?? undefined;
  let key: Node | undefined;
  for (const part of path) {
    if (isSeq(value) && typeof part === "number" && value.items[part] !== undefined) {
      value = value.items[part] as Node;
      key = undefined;
    } else if (isMap(value)) {
      const pair = value.items.find(
        (candidate) =>
          isPair(candidate) && isScalar(candidate.key) && String(candidate.key.value) === String(part),
      );
      if (!pair) return value;
      key = pair.key as Node;
      value = (pair.value ?? undefined) as Node | undefined;
      if (value === undefined) return key;
    } else {
      return value;
    }
  }
  return preferKey && key !== undefined ? key : value;
}

/** Parses and validates one YAML document, or throws `PolicyFileError` naming every problem. */
export function parseYamlDocument<S extends z.ZodType>(text: string, schema: S, origin: string): z.output<S> {
  if (text.length > MAX_BYTES)
    throw new PolicyFileError(origin, [{ path: "(document)", message: `larger than ${MAX_BYTES} bytes` }]);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new PolicyFileError(
      origin,
      document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: "(document)", line, column: col, message: error.message.split("\n")[0]! };
      }),
    );
  }
  const at = (path: ReadonlyArray<PropertyKey>, preferKey: boolean) => {
    const offset = locate(document.contents, path, preferKey)?.range?.[0];
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new PolicyFileError(origin, [{ path: "(document)", message: (error as Error).message }]);
  }
  const forbidden: PropertyKey[][] = [];
  if (findForbidden(value, [], forbidden, 0) > MAX_DEPTH)
    throw new PolicyFileError(origin, [
      { path: "(root)", message: `nested deeper than ${MAX_DEPTH} levels` },
    ]);
  if (forbidden.length > 0)
    throw new PolicyFileError(
      origin,
      forbidden.map((path) => ({
        path: formatPath(path),
        ...at(path, true),
        message: `the key ${String(path.at(-1))} is not allowed`,
      })),
    );
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue): DocumentProblem => {
    if (issue.code === "unrecognized_keys") {
      return {
        path: formatPath(issue.path),
        ...at([...issue.path, issue.keys[0]!], true),
        message: `unexpected field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`,
      };
    }
    return { path: formatPath(issue.path), ...at(issue.path, false), message: issue.message };
  });
  problems.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  throw new PolicyFileError(origin, problems);
}
