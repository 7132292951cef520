/**
 * Compiles detection items (`Field|mod|mod: value(s)`) and search identifiers into predicates.
 * Everything the rule says is decided here, once: modifiers are validated and applied to the
 * values, regular expressions compiled with re2js, field names resolved through the pipeline.
 * What runs per event is a closure reading a field and testing prepared values.
 */
import { RE2JS } from "re2js";
import { SigmaError, type SigmaErrorContext } from "./errors.ts";
import { eventLeafTexts, type FieldReader, type SigmaEvent } from "./fields.ts";
import { type Cidr, cidrContains, type IpAddress, parseCidr, parseIp } from "./ip.ts";
import {
  compileTextListTest,
  compileTextTest,
  hasWildcards,
  literalSigmaString,
  mapLiterals,
  normalize,
  parseSigmaString,
  type SigmaString,
  type StringPart,
  type TextTest,
  withLeadingRun,
  withTrailingRun,
} from "./sigma-string.ts";

export type EventPredicate = (event: SigmaEvent) => boolean;

export interface DetectionContext {
  /** Resolves a field name as the rule writes it (the pipeline's mapping applies here). */
  field(name: string): FieldReader;
  /** Values for `|expand` placeholders, by name without the percent signs. */
  placeholders: Readonly<Record<string, readonly string[]>> | undefined;
  error: SigmaErrorContext;
}

const transformModifiers = [
  "contains",
  "startswith",
  "endswith",
  "windash",
  "base64",
  "base64offset",
  "utf16le",
  "utf16be",
  "utf16",
  "expand",
] as const;
type TransformModifier = (typeof transformModifiers)[number];
const comparisonModifiers = ["gt", "gte", "lt", "lte"] as const;
type ComparisonModifier = (typeof comparisonModifiers)[number];
const timePartModifiers = ["minute", "hour", "day", "week", "month", "year"] as const;
type TimePartModifier = (typeof timePartModifiers)[number];
const regexFlagModifiers: Record<string, "i" | "m" | "s"> = {
  i: "i",
  ignorecase: "i",
  m: "m",
  multiline: "m",
  s: "s",
  dotall: "s",
};

/** Every modifier name this evaluator understands (the spec's, plus `wide` as an alias of `utf16le`). */
export const supportedModifiers: readonly string[] = [
  ...transformModifiers,
  "wide",
  "all",
  "cased",
  "re",
  ...Object.keys(regexFlagModifiers),
  "cidr",
  "exists",
  "fieldref",
  "neq",
  ...comparisonModifiers,
  ...timePartModifiers,
];

type ItemKind = "string" | "re" | "cidr" | "exists" | "fieldref" | "compare" | "neq" | "timepart";

interface ParsedModifiers {
  kind: ItemKind;
  transforms: TransformModifier[];
  all: boolean;
  cased: boolean;
  regexFlags: Set<"i" | "m" | "s">;
  comparison: ComparisonModifier | undefined;
  timePart: TimePartModifier | undefined;
}

function isOneOf<T extends string>(list: readonly T[], name: string): name is T {
  return (list as readonly string[]).includes(name);
}

function parseModifiers(
  names: readonly string[],
  fail: (code: "unknown-modifier" | "invalid-modifier-use", detail: string) => never,
): ParsedModifiers {
  const parsed: ParsedModifiers = {
    kind: "string",
    transforms: [],
    all: false,
    cased: false,
    regexFlags: new Set(),
    comparison: undefined,
    timePart: undefined,
  };
  const kinds = new Set<ItemKind>();
  let sawRe = false;
  for (const raw of names) {
    const name = raw === "wide" ? "utf16le" : raw;
    if (isOneOf(transformModifiers, name)) parsed.transforms.push(name);
    else if (name === "all") parsed.all = true;
    else if (name === "cased") parsed.cased = true;
    else if (name === "re") {
      sawRe = true;
      kinds.add("re");
    } else if (name in regexFlagModifiers) {
      if (!sawRe) fail("invalid-modifier-use", `modifier '${raw}' is a flag of 're' and must follow it`);
      parsed.regexFlags.add(regexFlagModifiers[name]!);
    } else if (name === "cidr" || name === "exists" || name === "fieldref" || name === "neq") kinds.add(name);
    else if (isOneOf(comparisonModifiers, name)) {
      if (parsed.comparison) fail("invalid-modifier-use", `only one of gt, gte, lt, lte may be used`);
      parsed.comparison = name;
    } else if (isOneOf(timePartModifiers, name)) {
      if (parsed.timePart)
        fail("invalid-modifier-use", `only one of ${timePartModifiers.join(", ")} may be used`);
      parsed.timePart = name;
    } else if (name === "") fail("unknown-modifier", "empty modifier (two '|' in a row)");
    else
      fail(
        "unknown-modifier",
        `unknown modifier '${raw}' (supported: ${[...new Set(supportedModifiers)].join(", ")})`,
      );
  }
  if (parsed.timePart) kinds.add("timepart");
  else if (parsed.comparison) kinds.add("compare");
  if (kinds.size > 1)
    fail("invalid-modifier-use", `modifiers ${[...kinds].join(" and ")} cannot be combined`);
  parsed.kind = [...kinds][0] ?? "string";
  const positions = parsed.transforms.filter(
    (t) => t === "contains" || t === "startswith" || t === "endswith",
  );
  if (positions.length > 1)
    fail("invalid-modifier-use", `only one of contains, startswith, endswith may be used`);
  const allowedTransforms: Record<ItemKind, readonly TransformModifier[]> = {
    string: transformModifiers,
    fieldref: ["contains", "startswith", "endswith"],
    re: [],
    cidr: [],
    exists: [],
    compare: [],
    neq: ["expand"],
    timepart: [],
  };
  const misplaced = parsed.transforms.filter((t) => !allowedTransforms[parsed.kind].includes(t));
  if (misplaced.length > 0) {
    fail("invalid-modifier-use", `modifier ${misplaced.join(", ")} cannot be combined with ${parsed.kind}`);
  }
  if (parsed.kind === "exists" && (parsed.all || parsed.cased)) {
    fail("invalid-modifier-use", "modifier exists takes no other modifier");
  }
  return parsed;
}

type Scalar = string | number | boolean | null;

function isScalar(value: unknown): value is Scalar {
  return (
    value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean"
  );
}

/**
 * A test on one field value. `text` is the value as text (scalars only), `lower` the same
 * lower-cased (computed once per field value, only for items that need it).
 */
type ValueTest = (
  value: unknown,
  text: string | undefined,
  lower: string | undefined,
  event: SigmaEvent,
) => boolean;

interface CompiledValues {
  tests: ValueTest[];
  needsLower: boolean;
}

function toText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return undefined;
}

const numericText = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isNaN(value) ? undefined : value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && numericText.test(value)) return Number(value);
  return undefined;
}

/** One alternative a string value expands to; `bytes` marks text whose characters are bytes (after utf16 encoding). */
interface Alternative {
  value: SigmaString;
  bytes: boolean;
}

const windashCharacters = ["-", "/", "\u2013", "\u2014", "\u2015"];
// A dash or slash starting a word after a non-word character: a command-line flag.
const windashFlag = /\B[-/]\b/g;

function encodeUtf16(text: string, littleEndian: boolean, bom: boolean): string {
  let out = bom ? (littleEndian ? "\xff\xfe" : "\xfe\xff") : "";
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const low = String.fromCharCode(code & 0xff);
    const high = String.fromCharCode(code >> 8);
    out += littleEndian ? low + high : high + low;
  }
  return out;
}

function textBytes(alternative: Alternative, text: string): Buffer {
  return alternative.bytes ? Buffer.from(text, "latin1") : Buffer.from(text, "utf8");
}

/** Beyond this many variants of one value (windash flags, placeholder values) a rule is refused. */
export const maximumVariants = 4096;

function cartesian(
  parts: readonly (readonly SigmaString[])[],
  fail: (detail: string) => never,
  what: string,
): SigmaString[] {
  const count = parts.reduce((product, options) => product * options.length, 1);
  if (count > maximumVariants) fail(`${what} expands to ${count} variants (at most ${maximumVariants})`);
  let results: StringPart[][] = [[]];
  for (const options of parts) {
    const next: StringPart[][] = [];
    for (const prefix of results) for (const option of options) next.push([...prefix, ...option]);
    results = next;
  }
  return results.map(normalize);
}

function applyTransform(
  transform: TransformModifier,
  alternative: Alternative,
  context: DetectionContext,
  fail: (detail: string) => never,
  failPlaceholder: (detail: string) => never,
): Alternative[] {
  const { value } = alternative;
  switch (transform) {
    case "contains":
      return [{ ...alternative, value: withTrailingRun(withLeadingRun(value)) }];
    case "startswith":
      return [{ ...alternative, value: withTrailingRun(value) }];
    case "endswith":
      return [{ ...alternative, value: withLeadingRun(value) }];
    case "utf16le":
      return [{ value: mapLiterals(value, (text) => encodeUtf16(text, true, false)), bytes: true }];
    case "utf16be":
      return [{ value: mapLiterals(value, (text) => encodeUtf16(text, false, false)), bytes: true }];
    case "utf16": {
      // A byte-order mark starts the encoded text, not every literal between wildcards.
      let first = true;
      const encoded = mapLiterals(value, (text) => {
        const out = encodeUtf16(text, true, first);
        first = false;
        return out;
      });
      return [{ value: encoded, bytes: true }];
    }
    case "base64":
    case "base64offset": {
      if (hasWildcards(value))
        fail(`${transform} cannot encode wildcards; put contains/startswith/endswith after it`);
      const bytes = textBytes(alternative, value.join(""));
      if (transform === "base64")
        return [{ value: literalSigmaString(bytes.toString("base64")), bytes: false }];
      // The three encodings of the text at byte offsets 0, 1 and 2 of a base64 stream, cut to
      // the characters that do not depend on the unknown neighbouring bytes (pySigma's table).
      const startOffsets = [0, 2, 3];
      const endOffsets = [undefined, -3, -2];
      return [0, 1, 2].map((shift) => {
        const encoded = Buffer.concat([Buffer.alloc(shift, 0x20), bytes]).toString("base64");
        const end = endOffsets[(bytes.length + shift) % 3];
        return { value: literalSigmaString(encoded.slice(startOffsets[shift], end)), bytes: false };
      });
    }
    case "windash": {
      const pieces: SigmaString[][] = [];
      for (const part of value) {
        if (typeof part !== "string") {
          pieces.push([[part]]);
          continue;
        }
        let last = 0;
        for (const match of part.matchAll(windashFlag)) {
          pieces.push([[part.slice(last, match.index)]]);
          pieces.push(windashCharacters.map((dash) => [dash]));
          last = match.index + 1;
        }
        pieces.push([[part.slice(last)]]);
      }
      return cartesian(pieces, fail, "windash").map((expanded) => ({ ...alternative, value: expanded }));
    }
    case "expand": {
      const pieces: SigmaString[][] = [];
      for (const part of value) {
        if (typeof part !== "string") {
          pieces.push([[part]]);
          continue;
        }
        let last = 0;
        for (const match of part.matchAll(/%([^%\s]+)%/g)) {
          const name = match[1]!;
          const values = context.placeholders?.[name];
          if (!values || values.length === 0) {
            failPlaceholder(
              `placeholder %${name}% has no values: pass a placeholder map (option placeholders, or the pipeline's vars)`,
            );
          }
          pieces.push([[part.slice(last, match.index)]]);
          pieces.push(values.map((text) => parseSigmaString(text)));
          last = match.index + match[0].length;
        }
        pieces.push([[part.slice(last)]]);
      }
      return cartesian(pieces, fail, "expand").map((expanded) => ({ ...alternative, value: expanded }));
    }
  }
}

function compareNumbers(comparison: ComparisonModifier | undefined, left: number, right: number): boolean {
  switch (comparison) {
    case "gt":
      return left > right;
    case "gte":
      return left >= right;
    case "lt":
      return left < right;
    case "lte":
      return left <= right;
    case undefined:
      return left === right;
  }
}

function toTime(value: unknown): Date | undefined {
  if (typeof value === "number") return new Date(value);
  if (typeof value !== "string") return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed);
}

function timePart(date: Date, part: TimePartModifier): number {
  switch (part) {
    case "minute":
      return date.getUTCMinutes();
    case "hour":
      return date.getUTCHours();
    case "day":
      return date.getUTCDate();
    case "month":
      return date.getUTCMonth() + 1;
    case "year":
      return date.getUTCFullYear();
    case "week": {
      // ISO 8601 week number: the week with the year's first Thursday is week 1.
      const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
      const weekday = day.getUTCDay() || 7;
      day.setUTCDate(day.getUTCDate() + 4 - weekday);
      const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
      return Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
    }
  }
}

function compileValues(
  modifiers: ParsedModifiers,
  values: readonly Scalar[],
  keyword: boolean,
  context: DetectionContext,
  fail: (
    code: "invalid-modifier-use" | "regex-unsupported" | "placeholder-unresolved",
    detail: string,
  ) => never,
): CompiledValues {
  const tests: ValueTest[] = [];
  let needsLower = false;
  const pendingValues: SigmaString[] = [];
  const { cased } = modifiers;
  for (const value of values) {
    if (value === null) {
      if (modifiers.kind !== "string" || modifiers.transforms.length > 0) {
        fail("invalid-modifier-use", `null cannot be used with modifiers`);
      }
      if (keyword) fail("invalid-modifier-use", "null is not a keyword (it needs a field)");
      tests.push((raw) => raw === undefined || raw === null);
      continue;
    }
    switch (modifiers.kind) {
      case "exists": {
        if (typeof value !== "boolean")
          fail("invalid-modifier-use", `exists takes true or false, got ${JSON.stringify(value)}`);
        tests.push((raw) => (raw !== undefined && raw !== null) === value);
        break;
      }
      case "re": {
        if (typeof value !== "string")
          fail("invalid-modifier-use", `re takes a string, got ${JSON.stringify(value)}`);
        let flags = 0;
        if (modifiers.regexFlags.has("i")) flags |= RE2JS.CASE_INSENSITIVE;
        if (modifiers.regexFlags.has("m")) flags |= RE2JS.MULTILINE;
        if (modifiers.regexFlags.has("s")) flags |= RE2JS.DOTALL;
        let pattern: RE2JS;
        try {
          pattern = RE2JS.compile(value, flags);
        } catch (error) {
          fail(
            "regex-unsupported",
            `regular expression ${JSON.stringify(value)} is not supported by re2js (RE2 syntax, linear time): ${(error as Error).message}`,
          );
        }
        tests.push((_raw, text) => text !== undefined && pattern.test(text));
        break;
      }
      case "cidr": {
        if (typeof value !== "string")
          fail("invalid-modifier-use", `cidr takes a string, got ${JSON.stringify(value)}`);
        const cidr: Cidr | undefined = parseCidr(value);
        if (!cidr) fail("invalid-modifier-use", `not an IPv4 or IPv6 network: ${JSON.stringify(value)}`);
        let lastText: string | undefined;
        let lastAddress: IpAddress | undefined;
        tests.push((_raw, text) => {
          if (text === undefined) return false;
          if (text !== lastText) {
            lastText = text;
            lastAddress = parseIp(text);
          }
          return lastAddress !== undefined && cidrContains(cidr, lastAddress);
        });
        break;
      }
      case "compare": {
        const bound = toNumber(value);
        if (bound === undefined)
          fail(
            "invalid-modifier-use",
            `${modifiers.comparison} takes a number, got ${JSON.stringify(value)}`,
          );
        const comparison = modifiers.comparison;
        tests.push((raw) => {
          const number = toNumber(raw);
          return number !== undefined && compareNumbers(comparison, number, bound);
        });
        break;
      }
      case "timepart": {
        const bound = toNumber(value);
        if (bound === undefined)
          fail("invalid-modifier-use", `${modifiers.timePart} takes a number, got ${JSON.stringify(value)}`);
        const part = modifiers.timePart!;
        const comparison = modifiers.comparison;
        tests.push((raw) => {
          const date = toTime(raw);
          return date !== undefined && compareNumbers(comparison, timePart(date, part), bound);
        });
        break;
      }
      case "fieldref": {
        if (typeof value !== "string")
          fail("invalid-modifier-use", `fieldref takes a field name, got ${JSON.stringify(value)}`);
        const other = context.field(value);
        const position = modifiers.transforms[0];
        if (!cased) needsLower = true;
        tests.push((_raw, text, lower, event) => {
          const otherText = toText(other(event));
          if (text === undefined || otherText === undefined) return false;
          const subject = cased ? text : lower!;
          const reference = cased ? otherText : otherText.toLowerCase();
          if (position === "contains") return subject.includes(reference);
          if (position === "startswith") return subject.startsWith(reference);
          if (position === "endswith") return subject.endsWith(reference);
          return subject === reference;
        });
        break;
      }
      case "neq":
      case "string": {
        if (
          modifiers.kind === "string" &&
          !keyword &&
          typeof value !== "string" &&
          modifiers.transforms.length === 0 &&
          !cased
        ) {
          tests.push(typeof value === "number" ? numberEquals(value) : booleanEquals(value));
          break;
        }
        let alternatives: Alternative[] = [
          {
            value: typeof value === "string" ? parseSigmaString(value) : literalSigmaString(String(value)),
            bytes: false,
          },
        ];
        const transforms = [...modifiers.transforms];
        const positioned = transforms.some((t) => t === "contains" || t === "startswith" || t === "endswith");
        // A keyword is a full-text search term: found anywhere in a value unless the rule anchors it.
        if (keyword && !positioned) transforms.push("contains");
        for (const transform of transforms) {
          alternatives = alternatives.flatMap((alternative) =>
            applyTransform(
              transform,
              alternative,
              context,
              (detail) => fail("invalid-modifier-use", detail),
              (detail) => fail("placeholder-unresolved", detail),
            ),
          );
        }
        const textTests: TextTest[] = alternatives.map((alternative) =>
          compileTextTest(alternative.value, cased),
        );
        if (!cased) needsLower = true;
        const anyText: TextTest =
          textTests.length === 1 ? textTests[0]! : (text) => textTests.some((test) => test(text));
        if (modifiers.kind === "neq") {
          tests.push(
            (raw, text, lower) =>
              raw !== undefined && raw !== null && !(text !== undefined && anyText(cased ? text : lower!)),
          );
        } else {
          tests.push((_raw, text, lower) => text !== undefined && anyText(cased ? text : lower!));
        }
        break;
      }
    }
  }
  if (pendingValues.length > 0) {
    const anyValue = compileTextListTest(pendingValues, cased);
    tests.push((_raw, text, lower) => text !== undefined && anyValue(cased ? text : lower!));
  }
  return { tests, needsLower };
}

function numberEquals(expected: number): ValueTest {
  const asText = String(expected);
  return (raw, text) =>
    typeof raw === "number" ? raw === expected : text !== undefined && text.trim() === asText;
}

function booleanEquals(expected: boolean): ValueTest {
  const asText = String(expected);
  return (raw, text) => raw === expected || (typeof raw === "string" && text!.toLowerCase() === asText);
}

/** Runs the tests on one value that is not an array. */
type Lower = ((text: string) => string) | undefined;

const plainLower = (text: string) => text.toLowerCase();

function testScalar(
  tests: readonly ValueTest[],
  all: boolean,
  lowerOf: Lower,
  raw: unknown,
  event: SigmaEvent,
): boolean {
  const text = toText(raw);
  const lower = lowerOf && text !== undefined ? lowerOf(text) : undefined;
  if (all) {
    for (const test of tests) if (!test(raw, text, lower, event)) return false;
    return true;
  }
  for (const test of tests) if (test(raw, text, lower, event)) return true;
  return false;
}

function testArray(
  tests: readonly ValueTest[],
  all: boolean,
  lowerOf: Lower,
  values: readonly unknown[],
  event: SigmaEvent,
): boolean {
  if (values.length === 0) return testScalar(tests, all, lowerOf, undefined, event);
  const prepared = values.map((raw) => {
    const text = toText(raw);
    return { raw, text, lower: lowerOf && text !== undefined ? text.toLowerCase() : undefined };
  });
  const anyElement = (test: ValueTest) =>
    prepared.some((item) => test(item.raw, item.text, item.lower, event));
  return all ? tests.every(anyElement) : tests.some(anyElement);
}

export function compileDetectionItem(
  key: string,
  rawValue: unknown,
  context: DetectionContext,
  keyPath: string,
): EventPredicate {
  const [fieldName = "", ...modifierNames] = key.split("|");
  const fail = (code: Parameters<typeof failWith>[0], detail: string): never => failWith(code, detail);
  const failWith = (
    code:
      | "unknown-modifier"
      | "invalid-modifier-use"
      | "regex-unsupported"
      | "placeholder-unresolved"
      | "schema",
    detail: string,
  ): never => {
    throw new SigmaError(code, detail, { ...context.error, key: keyPath });
  };
  const modifiers = parseModifiers(modifierNames, fail);
  const values: unknown[] = Array.isArray(rawValue) ? rawValue : [rawValue];
  if (values.length === 0) fail("schema", "empty list of values");
  for (const value of values) {
    if (!isScalar(value)) {
      fail(
        "schema",
        `a value must be a string, number, boolean or null (or a list of them), got ${describe(value)}`,
      );
    }
  }
  const keyword = fieldName === "";
  if (keyword && ["exists", "fieldref", "cidr", "compare", "neq", "timepart"].includes(modifiers.kind)) {
    fail("invalid-modifier-use", `${modifiers.kind} needs a field name`);
  }
  const { tests, needsLower } = compileValues(modifiers, values as Scalar[], keyword, context, fail);
  const all = modifiers.all;
  if (keyword) return compileKeywordTests(tests, all, needsLower ? plainLower : undefined);
  const read = context.field(fieldName);
  const lowerOf: Lower = needsLower ? read.lower : undefined;
  if (modifiers.kind === "exists") {
    const test = tests[0]!;
    return (event) => test(read(event), undefined, undefined, event);
  }
  if (tests.length === 1 && !all) {
    const test = tests[0]!;
    return (event) => {
      const raw = read(event);
      if (Array.isArray(raw)) return testArray(tests, false, lowerOf, raw, event);
      const text = toText(raw);
      return test(raw, text, lowerOf && text !== undefined ? lowerOf(text) : undefined, event);
    };
  }
  return (event) => {
    const raw = read(event);
    return Array.isArray(raw)
      ? testArray(tests, all, lowerOf, raw, event)
      : testScalar(tests, all, lowerOf, raw, event);
  };
}

function compileKeywordTests(tests: readonly ValueTest[], all: boolean, lowerOf: Lower): EventPredicate {
  return (event) => testArray(tests, all, lowerOf, eventLeafTexts(event), event);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a nested list";
  if (typeof value === "object" && value !== null) return "a map";
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A search identifier: a map (all its items), a list of maps (any of them), a keyword or a
 * list of keywords (any), or a list mixing maps and keywords (any).
 */
export function compileSearchIdentifier(
  name: string,
  definition: unknown,
  context: DetectionContext,
): EventPredicate {
  const keyPath = `detection.${name}`;
  if (isRecord(definition)) return compileMap(definition, context, keyPath);
  if (Array.isArray(definition)) {
    if (definition.length === 0) {
      throw new SigmaError("schema", "empty search identifier", { ...context.error, key: keyPath });
    }
    const keywords: Scalar[] = [];
    const alternatives: EventPredicate[] = [];
    definition.forEach((item, index) => {
      if (isRecord(item)) alternatives.push(compileMap(item, context, `${keyPath}[${index}]`));
      else if (isScalar(item)) keywords.push(item);
      else {
        throw new SigmaError("schema", `a list item must be a map or a keyword, got ${describe(item)}`, {
          ...context.error,
          key: `${keyPath}[${index}]`,
        });
      }
    });
    if (keywords.length > 0) alternatives.unshift(compileDetectionItem("", keywords, context, keyPath));
    return anyOf(alternatives);
  }
  if (isScalar(definition) && definition !== null)
    return compileDetectionItem("", definition, context, keyPath);
  throw new SigmaError(
    "schema",
    `a search identifier must be a map, a list of maps or keywords, or a keyword; got ${definition === null ? "nothing" : describe(definition)}`,
    { ...context.error, key: keyPath },
  );
}

function compileMap(
  map: Record<string, unknown>,
  context: DetectionContext,
  keyPath: string,
): EventPredicate {
  const entries = Object.entries(map);
  if (entries.length === 0) throw new SigmaError("schema", "empty map", { ...context.error, key: keyPath });
  return allOf(entries.map(([key, value]) => compileDetectionItem(key, value, context, `${keyPath}.${key}`)));
}

export function allOf(predicates: readonly EventPredicate[]): EventPredicate {
  if (predicates.length === 1) return predicates[0]!;
  if (predicates.length === 2) {
    const [a, b] = predicates as [EventPredicate, EventPredicate];
    return (event) => a(event) && b(event);
  }
  return (event) => {
    for (const predicate of predicates) if (!predicate(event)) return false;
    return true;
  };
}

export function anyOf(predicates: readonly EventPredicate[]): EventPredicate {
  if (predicates.length === 1) return predicates[0]!;
  if (predicates.length === 2) {
    const [a, b] = predicates as [EventPredicate, EventPredicate];
    return (event) => a(event) || b(event);
  }
  return (event) => {
    for (const predicate of predicates) if (predicate(event)) return true;
    return false;
  };
}
