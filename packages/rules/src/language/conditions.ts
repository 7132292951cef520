/**
 * The condition language, compiled once into closures. A condition is a mapping of field paths to
 * tests (all must hold), or `all` / `any` / `not` over conditions; a list is `all`. Each node
 * compiles to a `test` (the hot path: no allocation, no tree walk) and an `explain` that is only
 * run for rules that matched, listing the conditions that held with the values that made them hold.
 */
import { RE2JS } from "re2js";
import type { z } from "zod";
import { parseCidr } from "../cidr.ts";
import { type Accessor, compileAccessor } from "./accessor.ts";
import type { ProblemSink } from "./errors.ts";
import { elementSchema, isObjectSchema, isVirtualRoot, lookupField, splitPath } from "./fields.ts";
import type { Frame } from "./scope.ts";
import { describeElement, show } from "./text.ts";

export interface CompiledCondition {
  /** Whether the condition holds for the frame. */
  test(frame: Frame): boolean;
  /** Pushes, in words and with the actual values, the conditions that held. Only called after `test` returned true. */
  explain(frame: Frame, out: string[]): void;
  /** The condition as written, in words (for `not` and error messages). */
  text: string;
  /** Fields the condition reads, to show their values when a `not` holds. */
  fields: { path: string; get: Accessor }[];
  /**
   * Equalities the condition cannot hold without (`action: Denied`, `port: [22, 23]` among its
   * top-level conjuncts): the evaluator indexes rules on them, so most rules are never called for
   * an event they cannot match.
   */
  guards?: Guard[];
}

/** An event field that must equal one of `values` (by text, as `equals` / `in` compare). */
export interface Guard {
  path: string;
  segments: readonly string[];
  values: readonly (string | number | boolean)[];
}

export interface ConditionContext {
  sink: ProblemSink;
  /** The schemas a path may exist in (one per event kind of the rule, or a `some` element). */
  schemas: readonly z.ZodType[];
  /** The event kinds, for messages. */
  kinds: readonly string[];
  mode: "event" | "element";
  rule: { id: string; name: string; version: number };
  /** Shared across the whole rule: caps the size of what one rule may compile to. */
  budget: { leaves: number };
}

export const conditionLimits = {
  depth: 32,
  leaves: 1000,
  listItems: 10_000,
  patternLength: 4096,
  programSize: 50_000,
};

const always: CompiledCondition = { test: () => true, explain: () => {}, text: "always", fields: [] };
export const alwaysTrue = always;

export type Path = (string | number)[];

const operatorNames = [
  "equals",
  "in",
  "contains",
  "startswith",
  "endswith",
  "regex",
  "glob",
  "cidr",
  "gt",
  "gte",
  "lt",
  "lte",
  "exists",
  "some",
] as const;
type Operator = (typeof operatorNames)[number];
const operatorSet: ReadonlySet<string> = new Set([...operatorNames, "ignore_case", "all"]);

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function toText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return undefined;
}

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  return Number.NaN;
}

function ipv4ToInt(text: string): number {
  let result = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 46) {
      if (digits === 0 || part > 255) return -1;
      result = result * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (code < 48 || code > 57 || digits === 3) return -1;
    part = part * 10 + (code - 48);
    digits++;
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return result * 256 + part;
}

/** An IP-in-block test: integer arithmetic for IPv4 blocks, node's BlockList for IPv6. */
function compileCidr(text: string): ((ip: string) => boolean) | string {
  const parsed = parseCidr(text);
  if (typeof parsed === "string") return parsed;
  if (parsed.family === "ipv4") {
    const base = ipv4ToInt(parsed.text.slice(0, parsed.text.indexOf("/")));
    const size = 2 ** (32 - parsed.prefixLength);
    const network = base - (base % size);
    return (ip) => {
      const value = ipv4ToInt(ip);
      if (value >= 0) return value >= network && value < network + size;
      return ip.includes(":") && parsed.contains(ip);
    };
  }
  return (ip) => parsed.contains(ip);
}

/** Compiles a re2js pattern (linear time); an error message when re2js refuses it. */
export function compileRegex(pattern: string, ignoreCase: boolean): RE2JS | string {
  if (pattern.length > conditionLimits.patternLength)
    return `pattern longer than ${conditionLimits.patternLength} characters`;
  try {
    const compiled = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    if (compiled.programSize() > conditionLimits.programSize)
      return `pattern too large (program size ${compiled.programSize()} > ${conditionLimits.programSize})`;
    return compiled;
  } catch (error) {
    return `re2js cannot compile /${pattern}/: ${(error as Error).message}`;
  }
}

function globToRegex(glob: string): string {
  let out = "^";
  let literal = "";
  for (const character of glob) {
    if (character === "*" || character === "?") {
      if (literal) out += RE2JS.quote(literal);
      literal = "";
      out += character === "*" ? "[\\s\\S]*" : "[\\s\\S]";
    } else literal += character;
  }
  if (literal) out += RE2JS.quote(literal);
  return `${out}$`;
}

/**
 * Equality with a set of values, by text: `443` equals `"443"` (YAML and JSON disagree on quoting
 * more often than authors mean a difference). Numbers are looked up as numbers, so the hot path
 * converts nothing.
 */
function membership(
  values: readonly (string | number | boolean)[],
  ignoreCase: boolean,
): (value: unknown) => boolean {
  const texts = new Set(values.map((item) => (ignoreCase ? String(item).toLowerCase() : String(item))));
  const numbers = new Set<number>();
  for (const item of values) {
    const number =
      typeof item === "number"
        ? item
        : typeof item === "string" && item.trim() !== ""
          ? Number(item)
          : Number.NaN;
    if (!Number.isNaN(number)) numbers.add(number);
  }
  if (values.length === 1 && !ignoreCase) {
    const [text] = texts;
    const [number] = numbers.size === 1 ? numbers : [Number.NaN];
    return (value) => {
      if (typeof value === "string") return value === text;
      if (typeof value === "number") return value === number;
      return typeof value === "boolean" && String(value) === text;
    };
  }
  return (value) => {
    if (typeof value === "string") return texts.has(ignoreCase ? value.toLowerCase() : value);
    if (typeof value === "number") return numbers.has(value);
    return typeof value === "boolean" && texts.has(String(value));
  };
}

/** The phrase for one operator: `is one of a, b`, `contains "x"`. */
function listText(values: readonly unknown[]): string {
  const shown = values.slice(0, 8).map((value) => (typeof value === "string" ? value : show(value)));
  return values.length > 8 ? `${shown.join(", ")}, … ${values.length - 8} more` : shown.join(", ");
}

interface Leaf {
  /** Tests one element (or the scalar value). */
  one: (value: unknown) => boolean;
  /** Words after the value: `contains "log4j"`; undefined for plain equality (`severity is "high"`). */
  phrase: (value: unknown) => string | undefined;
  /** Static words: `contains "log4j"`. */
  text: string;
}

export function compileCondition(
  node: unknown,
  path: Path,
  context: ConditionContext,
  depth = 0,
): CompiledCondition {
  if (depth > conditionLimits.depth) {
    context.sink.report(path, `conditions nested deeper than ${conditionLimits.depth} levels`);
    return always;
  }
  if (Array.isArray(node)) {
    if (node.length === 0) {
      context.sink.report(path, "expected at least one condition in the list");
      return always;
    }
    return combineAll(
      node.map((item, index) => compileCondition(item, [...path, index], context, depth + 1)),
    );
  }
  if (node === null || typeof node !== "object") {
    context.sink.report(path, "expected a condition: a mapping of field: test, or all / any / not");
    return always;
  }
  const entries = Object.entries(node as Record<string, unknown>);
  if (entries.length === 0) {
    context.sink.report(path, "expected a condition: an empty mapping tests nothing");
    return always;
  }
  const parts: CompiledCondition[] = [];
  for (const [key, value] of entries) {
    const at = [...path, key];
    if (key === "all" || key === "any") {
      if (!Array.isArray(value) || value.length === 0) {
        context.sink.report(at, `expected a non-empty list of conditions under ${key}`);
        continue;
      }
      const children = value.map((item, index) => compileCondition(item, [...at, index], context, depth + 1));
      parts.push(key === "all" ? combineAll(children) : combineAny(children));
    } else if (key === "not") {
      parts.push(negate(compileCondition(value, at, context, depth + 1)));
    } else {
      parts.push(compileField(key, value, at, context, depth));
    }
  }
  return parts.length === 1 ? parts[0]! : combineAll(parts);
}

function combineAll(children: CompiledCondition[]): CompiledCondition {
  if (children.length === 1) return children[0]!;
  const list = children.slice();
  const count = list.length;
  let test: (frame: Frame) => boolean;
  if (count === 2) {
    const [a, b] = list as [CompiledCondition, CompiledCondition];
    const ta = a.test;
    const tb = b.test;
    test = (frame) => ta(frame) && tb(frame);
  } else {
    const tests = list.map((child) => child.test);
    test = (frame) => {
      for (let index = 0; index < count; index++) if (!tests[index]!(frame)) return false;
      return true;
    };
  }
  return {
    test,
    explain(frame, out) {
      for (const child of list) child.explain(frame, out);
    },
    text: `all of (${list.map((child) => child.text).join("; ")})`,
    fields: list.flatMap((child) => child.fields),
    guards: list.flatMap((child) => child.guards ?? []),
  };
}

function combineAny(children: CompiledCondition[]): CompiledCondition {
  if (children.length === 1) return children[0]!;
  const list = children.slice();
  const tests = list.map((child) => child.test);
  const count = list.length;
  return {
    test(frame) {
      for (let index = 0; index < count; index++) if (tests[index]!(frame)) return true;
      return false;
    },
    explain(frame, out) {
      // Every branch that held is a reason; the explanation names them all.
      for (const child of list) if (child.test(frame)) child.explain(frame, out);
    },
    text: `any of (${list.map((child) => child.text).join("; ")})`,
    fields: list.flatMap((child) => child.fields),
  };
}

function negate(inner: CompiledCondition): CompiledCondition {
  const innerTest = inner.test;
  return {
    test: (frame) => !innerTest(frame),
    explain(frame, out) {
      const values = inner.fields
        .slice(0, 4)
        .map((field) => `${field.path} is ${show(field.get(frame))}`)
        .join(", ");
      out.push(`not (${inner.text})${values ? `: ${values}` : ""}`);
    },
    text: `not (${inner.text})`,
    fields: inner.fields,
  };
}

/** Checks a field path against the schemas of the rule's kinds; reports and returns undefined when unknown. */
export function resolvePath(
  fieldPath: string,
  at: Path,
  context: Pick<ConditionContext, "sink" | "schemas" | "kinds" | "mode">,
  target: "key" | "value" = "value",
): { segments: string[]; collection: boolean; schemas: z.ZodType[] } | undefined {
  const segments = splitPath(fieldPath);
  if (typeof segments === "string") {
    context.sink.report(at, segments, target);
    return undefined;
  }
  if (
    context.mode === "event" &&
    segments[0] === "each" &&
    !context.schemas.some((schema) => lookupField(schema, ["each"]).ok)
  ) {
    context.sink.report(at, "each.* is only available inside for_each", target);
    return undefined;
  }
  const found: z.ZodType[] = [];
  let collection = false;
  let firstFailure: string | undefined;
  for (const schema of context.schemas) {
    const lookup = lookupField(schema, segments);
    if (lookup.ok) {
      found.push(lookup.schema);
      collection ||= lookup.collection;
    } else firstFailure ??= lookup.reason;
  }
  if (found.length === 0) {
    const where = context.mode === "element" ? "in the list element" : `for ${context.kinds.join(", ")}`;
    context.sink.report(at, `unknown field "${fieldPath}" ${where}: ${firstFailure ?? "not found"}`, target);
    return undefined;
  }
  return { segments, collection, schemas: found };
}

function compileField(
  fieldPath: string,
  spec: unknown,
  at: Path,
  context: ConditionContext,
  depth: number,
): CompiledCondition {
  const checked = resolvePath(fieldPath, at, context, "key");
  if (!checked) return always;
  const get = compileAccessor(checked.segments, context.mode, context.rule);
  const field = { path: fieldPath, get };

  // Shorthands: a scalar is `equals`, a list of scalars is `in`, null is `exists: false`.
  let operators: Record<string, unknown>;
  if (spec === null) operators = { exists: false };
  else if (isScalar(spec)) operators = { equals: spec };
  else if (Array.isArray(spec)) operators = { in: spec };
  else if (typeof spec === "object") operators = spec as Record<string, unknown>;
  else {
    context.sink.report(at, "expected a value, a list of values, or a mapping of operators");
    return always;
  }

  const problemsBefore = context.sink.problems.length;
  for (const key of Object.keys(operators)) {
    if (!operatorSet.has(key))
      context.sink.report(
        [...at, key],
        `unknown operator "${key}" (operators: ${operatorNames.join(", ")}; options: ignore_case, all)`,
        "key",
      );
  }
  const ignoreCase = operators.ignore_case;
  if (ignoreCase !== undefined && typeof ignoreCase !== "boolean")
    context.sink.report([...at, "ignore_case"], "expected true or false");
  const every = operators.all;
  if (every !== undefined && typeof every !== "boolean")
    context.sink.report([...at, "all"], "expected true or false");
  const options = { ignoreCase: ignoreCase === true, every: every === true };

  const parts: CompiledCondition[] = [];
  for (const name of operatorNames) {
    if (!Object.hasOwn(operators, name)) continue;
    const argument = operators[name];
    const opAt = [...at, name];
    if (++context.budget.leaves > conditionLimits.leaves) {
      context.sink.report(opAt, `more than ${conditionLimits.leaves} conditions in one rule`);
      return always;
    }
    if (name === "exists") {
      if (typeof argument !== "boolean") {
        context.sink.report(opAt, "expected true or false");
        continue;
      }
      parts.push(existsCondition(field, argument));
      continue;
    }
    if (name === "some") {
      const some = compileSome(field, argument, opAt, checked.schemas, context, depth, options.every);
      if (some) parts.push(some);
      continue;
    }
    const leaf = compileLeaf(name, argument, opAt, context, options.ignoreCase);
    if (!leaf) continue;
    const condition = leafCondition(field, leaf, options);
    const guarded =
      (name === "equals" || name === "in") &&
      !options.ignoreCase &&
      !options.every &&
      context.mode === "event" &&
      !isVirtualRoot(checked.segments[0]!);
    if (guarded) {
      const values = (Array.isArray(argument) ? [...argument] : [argument]) as (string | number | boolean)[];
      condition.guards = [{ path: fieldPath, segments: checked.segments, values }];
    }
    parts.push(condition);
  }
  if (parts.length === 0) {
    if (context.sink.problems.length === problemsBefore)
      context.sink.report(at, "expected at least one operator");
    return always;
  }
  return parts.length === 1 ? parts[0]! : combineAll(parts);
}

function existsCondition(field: { path: string; get: Accessor }, wanted: boolean): CompiledCondition {
  const get = field.get;
  const present = (value: unknown) =>
    value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
  return {
    test: wanted ? (frame) => present(get(frame)) : (frame) => !present(get(frame)),
    explain(frame, out) {
      out.push(wanted ? `${field.path} is present (${show(get(frame))})` : `${field.path} is absent`);
    },
    text: `${field.path} ${wanted ? "is present" : "is absent"}`,
    fields: [field],
  };
}

function leafCondition(
  field: { path: string; get: Accessor },
  leaf: Leaf,
  options: { ignoreCase: boolean; every: boolean },
): CompiledCondition {
  const { get } = field;
  const one = leaf.one;
  const suffix = options.ignoreCase ? " (ignoring case)" : "";
  const test = options.every
    ? (frame: Frame) => {
        const value = get(frame);
        if (value === undefined || value === null) return false;
        if (!Array.isArray(value)) return one(value);
        if (value.length === 0) return false;
        for (const item of value) if (!one(item)) return false;
        return true;
      }
    : (frame: Frame) => {
        const value = get(frame);
        if (value === undefined || value === null) return false;
        if (!Array.isArray(value)) return one(value);
        for (const item of value) if (one(item)) return true;
        return false;
      };
  return {
    test,
    explain(frame, out) {
      const value = get(frame);
      if (Array.isArray(value)) {
        if (options.every) {
          out.push(`every ${field.path} of ${show(value)} ${leaf.text}${suffix}`);
          return;
        }
        const match = value.find(one);
        const phrase = leaf.phrase(match);
        out.push(
          `${field.path} has ${show(match)}${phrase === undefined ? "" : `, which ${phrase}`}${suffix}`,
        );
        return;
      }
      const phrase = leaf.phrase(value);
      out.push(
        phrase === undefined
          ? `${field.path} is ${show(value)}${suffix}`
          : `${field.path} ${show(value)} ${phrase}${suffix}`,
      );
    },
    text: `${field.path} ${leaf.text}${suffix}`,
    fields: [field],
  };
}

function scalarList(
  argument: unknown,
  at: Path,
  context: ConditionContext,
  name: string,
): (string | number | boolean)[] | undefined {
  const list = Array.isArray(argument) ? argument : [argument];
  if (list.length === 0) {
    context.sink.report(at, `expected at least one value for ${name}`);
    return undefined;
  }
  if (list.length > conditionLimits.listItems) {
    context.sink.report(at, `more than ${conditionLimits.listItems} values for ${name}`);
    return undefined;
  }
  const bad = list.findIndex((item) => !isScalar(item));
  if (bad >= 0) {
    context.sink.report(
      Array.isArray(argument) ? [...at, bad] : at,
      `expected a string, number or boolean for ${name}`,
    );
    return undefined;
  }
  return list as (string | number | boolean)[];
}

function compileLeaf(
  name: Exclude<Operator, "exists" | "some">,
  argument: unknown,
  at: Path,
  context: ConditionContext,
  ignoreCase: boolean,
): Leaf | undefined {
  const fold = ignoreCase ? (text: string) => text.toLowerCase() : (text: string) => text;
  switch (name) {
    case "equals": {
      if (!isScalar(argument)) {
        context.sink.report(at, "expected a string, number or boolean (use `in` for a list)");
        return undefined;
      }
      const one = membership([argument], ignoreCase);
      return {
        one,
        phrase: () => (ignoreCase ? `equals ${show(argument)}` : undefined),
        text: `equals ${show(argument)}`,
      };
    }
    case "in": {
      const list = scalarList(argument, at, context, "in");
      if (!list) return undefined;
      const text = `is one of ${listText(list)}`;
      return { one: membership(list, ignoreCase), phrase: () => text, text };
    }
    case "contains":
    case "startswith":
    case "endswith": {
      const list = scalarList(argument, at, context, name);
      if (!list) return undefined;
      const needles = list.map((item) => fold(String(item)));
      const verb = name === "contains" ? "contains" : name === "startswith" ? "starts with" : "ends with";
      const check =
        name === "contains"
          ? (text: string, needle: string) => text.includes(needle)
          : name === "startswith"
            ? (text: string, needle: string) => text.startsWith(needle)
            : (text: string, needle: string) => text.endsWith(needle);
      const one = (value: unknown) => {
        let text = toText(value);
        if (text === undefined) return false;
        if (ignoreCase) text = text.toLowerCase();
        for (const needle of needles) if (check(text, needle)) return true;
        return false;
      };
      const phrase = (value: unknown) => {
        const text = fold(toText(value) ?? "");
        const hit = needles.find((needle) => check(text, needle)) ?? needles[0]!;
        return `${verb} ${show(hit)}`;
      };
      return {
        one,
        phrase,
        text: `${verb} ${needles.length === 1 ? show(needles[0]) : `one of ${listText(needles)}`}`,
      };
    }
    case "regex":
    case "glob": {
      const list = scalarList(argument, at, context, name);
      if (!list) return undefined;
      const patterns: { source: string; re: RE2JS }[] = [];
      list.forEach((item, index) => {
        const source = String(item);
        const compiled = compileRegex(name === "glob" ? globToRegex(source) : source, ignoreCase);
        if (typeof compiled === "string")
          context.sink.report(Array.isArray(argument) ? [...at, index] : at, compiled);
        else patterns.push({ source, re: compiled });
      });
      if (patterns.length !== list.length) return undefined;
      const show_ = (source: string) => (name === "glob" ? show(source) : `/${source}/`);
      const one = (value: unknown) => {
        const text = toText(value);
        if (text === undefined) return false;
        for (const pattern of patterns) if (pattern.re.test(text)) return true;
        return false;
      };
      const phrase = (value: unknown) => {
        const text = toText(value) ?? "";
        const hit = patterns.find((pattern) => pattern.re.test(text)) ?? patterns[0]!;
        return `matches ${show_(hit.source)}`;
      };
      return {
        one,
        phrase,
        text: `matches ${patterns.map((pattern) => show_(pattern.source)).join(" or ")}`,
      };
    }
    case "cidr": {
      const list = scalarList(argument, at, context, "cidr");
      if (!list) return undefined;
      const blocks: { text: string; contains: (ip: string) => boolean }[] = [];
      list.forEach((item, index) => {
        const compiled = compileCidr(String(item));
        if (typeof compiled === "string")
          context.sink.report(Array.isArray(argument) ? [...at, index] : at, compiled);
        else blocks.push({ text: String(item), contains: compiled });
      });
      if (blocks.length !== list.length) return undefined;
      const one = (value: unknown) => {
        if (typeof value !== "string") return false;
        for (const block of blocks) if (block.contains(value)) return true;
        return false;
      };
      const phrase = (value: unknown) => {
        const hit = blocks.find((block) => typeof value === "string" && block.contains(value)) ?? blocks[0]!;
        return `is in ${hit.text}`;
      };
      return { one, phrase, text: `is in ${listText(blocks.map((block) => block.text))}` };
    }
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const bound = typeof argument === "number" ? argument : Number.NaN;
      if (!Number.isFinite(bound)) {
        context.sink.report(at, `expected a number for ${name}`);
        return undefined;
      }
      const words = { gt: "is greater than", gte: "is at least", lt: "is less than", lte: "is at most" }[
        name
      ];
      const one =
        name === "gt"
          ? (value: unknown) => toNumber(value) > bound
          : name === "gte"
            ? (value: unknown) => toNumber(value) >= bound
            : name === "lt"
              ? (value: unknown) => toNumber(value) < bound
              : (value: unknown) => toNumber(value) <= bound;
      const text = `${words} ${bound}`;
      return { one, phrase: () => text, text };
    }
  }
}

function compileSome(
  field: { path: string; get: Accessor },
  argument: unknown,
  at: Path,
  schemas: z.ZodType[],
  context: ConditionContext,
  depth: number,
  every: boolean,
): CompiledCondition | undefined {
  const elements = schemas.map((schema) => elementSchema({ ok: true, schema, collection: true }));
  if (!elements.some(isObjectSchema)) {
    context.sink.report(at, `${field.path} is not a list of objects: use the other operators on its values`);
    return undefined;
  }
  const inner = compileCondition(
    argument,
    at,
    { ...context, schemas: elements, kinds: [`${field.path}[]`], mode: "element" },
    depth + 1,
  );
  const innerTest = inner.test;
  const { get } = field;
  const matching = (frame: Frame, list: unknown[]) =>
    list.filter((element) => innerTest({ ...frame, element }));
  return {
    test(frame) {
      const value = get(frame);
      if (!Array.isArray(value)) {
        if (value === undefined || value === null) return false;
        return innerTest({ ...frame, element: value });
      }
      if (every) {
        if (value.length === 0) return false;
        for (const element of value) if (!innerTest({ ...frame, element })) return false;
        return true;
      }
      for (const element of value) if (innerTest({ ...frame, element })) return true;
      return false;
    },
    explain(frame, out) {
      const value = get(frame);
      const list = Array.isArray(value) ? value : [value];
      const hits = matching(frame, list);
      const shown = hits.slice(0, 10).map(describeElement);
      if (hits.length > 10) shown.push(`… ${hits.length - 10} more`);
      const which = every ? `all ${list.length} of ${field.path}` : `${hits.length} of ${field.path}`;
      out.push(`${which} match (${inner.text}): ${shown.join("; ")}`);
    },
    text: `${field.path} has ${every ? "only" : "an"} element matching (${inner.text})`,
    fields: [field],
  };
}
