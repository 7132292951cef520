/**
 * Sigma string values: literal text with the wildcards `*` (any run of characters) and `?`
 * (exactly one character), escaped with a backslash. A backslash escapes only `*`, `?` and
 * itself; before any other character it is literal (so `C:\Windows\` needs no escaping),
 * exactly as pySigma reads values.
 */

export const ANY_RUN = 0;
export const ANY_ONE = 1;
export type Wildcard = typeof ANY_RUN | typeof ANY_ONE;
export type StringPart = string | Wildcard;
export type SigmaString = readonly StringPart[];

export function parseSigmaString(text: string): SigmaString {
  const parts: StringPart[] = [];
  let literal = "";
  let escaped = false;
  for (const char of text) {
    if (escaped) {
      literal += char === "*" || char === "?" || char === "\\" ? char : `\\${char}`;
      escaped = false;
    } else if (char === "\\") {
      escaped = true;
    } else if (char === "*" || char === "?") {
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(char === "*" ? ANY_RUN : ANY_ONE);
    } else {
      literal += char;
    }
  }
  if (escaped) literal += "\\";
  if (literal !== "") parts.push(literal);
  return normalize(parts);
}

/** A string taken as literal text, no wildcard interpretation (placeholder values, re-encoded text). */
export function literalSigmaString(text: string): SigmaString {
  return text === "" ? [] : [text];
}

export function hasWildcards(value: SigmaString): boolean {
  return value.some((part) => typeof part !== "string");
}

/** Joins adjacent literals and collapses runs of `*`, so matchers see a canonical shape. */
export function normalize(parts: readonly StringPart[]): SigmaString {
  const out: StringPart[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (typeof part === "string") {
      if (part === "") continue;
      if (typeof last === "string") out[out.length - 1] = last + part;
      else out.push(part);
    } else if (!(part === ANY_RUN && last === ANY_RUN)) {
      out.push(part);
    }
  }
  return out;
}

export function withLeadingRun(value: SigmaString): SigmaString {
  return value[0] === ANY_RUN ? value : [ANY_RUN, ...value];
}

export function withTrailingRun(value: SigmaString): SigmaString {
  return value[value.length - 1] === ANY_RUN ? value : [...value, ANY_RUN];
}

/** Maps every literal part, keeping wildcards where they are. */
export function mapLiterals(value: SigmaString, map: (literal: string) => string): SigmaString {
  return normalize(value.map((part) => (typeof part === "string" ? map(part) : part)));
}

/** The literal text of a value without wildcards, or undefined when it has some. */
export function plainText(value: SigmaString): string | undefined {
  return hasWildcards(value) ? undefined : value.join("");
}

/** Renders a value back in Sigma syntax (for error messages and explanations). */
export function formatSigmaString(value: SigmaString): string {
  return value
    .map((part) =>
      part === ANY_RUN ? "*" : part === ANY_ONE ? "?" : part.replace(/\\(?=[*?\\]|$)|[*?]/g, (c) => `\\${c}`),
    )
    .join("");
}

export type TextTest = (text: string) => boolean;

type TextShape =
  | { kind: "equals" | "startsWith" | "endsWith" | "includes"; literal: string }
  | { kind: "anything" }
  | { kind: "glob"; parts: SigmaString };

function shapeOf(value: SigmaString, cased: boolean): TextShape {
  const parts = cased ? value : value.map((part) => (typeof part === "string" ? part.toLowerCase() : part));
  const [first, second, third] = parts;
  if (parts.length === 0) return { kind: "equals", literal: "" };
  if (parts.length === 1) {
    if (typeof first === "string") return { kind: "equals", literal: first };
    if (first === ANY_RUN) return { kind: "anything" };
  }
  if (parts.length === 2) {
    if (typeof first === "string" && second === ANY_RUN) return { kind: "startsWith", literal: first };
    if (first === ANY_RUN && typeof second === "string") return { kind: "endsWith", literal: second };
  }
  if (parts.length === 3 && first === ANY_RUN && typeof second === "string" && third === ANY_RUN) {
    return { kind: "includes", literal: second };
  }
  return { kind: "glob", parts };
}

/**
 * Compiles a value into a test on text. Case-insensitive tests expect the text already
 * lower-cased by the caller (done once per field value, not once per pattern). Common shapes
 * become `===`, `startsWith`, `endsWith` or `includes`; the rest uses a wildcard matcher that
 * never backtracks beyond one position per `*` segment (no catastrophic cases).
 */
export function compileTextTest(value: SigmaString, cased: boolean): TextTest {
  return compileTextListTest([value], cased);
}

/**
 * A test that passes when any of the values matches. Values are grouped by shape, so a list of
 * fifty `contains` values is one loop of `includes` and a list of names one Set lookup.
 */
export function compileTextListTest(values: readonly SigmaString[], cased: boolean): TextTest {
  const equals = new Set<string>();
  const startsWith: string[] = [];
  const endsWith: string[] = [];
  const includes: string[] = [];
  const globs: TextTest[] = [];
  for (const value of values) {
    const shape = shapeOf(value, cased);
    switch (shape.kind) {
      case "anything":
        return () => true;
      case "equals":
        equals.add(shape.literal);
        break;
      case "startsWith":
        startsWith.push(shape.literal);
        break;
      case "endsWith":
        endsWith.push(shape.literal);
        break;
      case "includes":
        includes.push(shape.literal);
        break;
      case "glob":
        globs.push(compileGlob(shape.parts));
        break;
    }
  }
  const tests: TextTest[] = [];
  if (equals.size === 1) {
    const [only] = equals;
    tests.push((text) => text === only);
  } else if (equals.size > 1) tests.push((text) => equals.has(text));
  if (startsWith.length > 0) {
    tests.push((text) => {
      for (const literal of startsWith) if (text.startsWith(literal)) return true;
      return false;
    });
  }
  if (endsWith.length > 0) {
    tests.push((text) => {
      for (const literal of endsWith) if (text.endsWith(literal)) return true;
      return false;
    });
  }
  if (includes.length > 0) {
    tests.push((text) => {
      for (const literal of includes) if (text.includes(literal)) return true;
      return false;
    });
  }
  tests.push(...globs);
  if (tests.length === 0) return () => false;
  if (tests.length === 1) return tests[0]!;
  return (text) => {
    for (const test of tests) if (test(text)) return true;
    return false;
  };
}

type Segment = readonly (string | typeof ANY_ONE)[];

function segmentLength(segment: Segment): number {
  let length = 0;
  for (const element of segment) length += element === ANY_ONE ? 1 : element.length;
  return length;
}

function segmentMatchesAt(segment: Segment, text: string, at: number): boolean {
  let position = at;
  for (const element of segment) {
    if (element === ANY_ONE) {
      position += 1;
    } else {
      if (!text.startsWith(element, position)) return false;
      position += element.length;
    }
  }
  return true;
}

/**
 * `*`-separated segments: the first is anchored at the start, the last at the end, the middle
 * ones are found leftmost in order. Leftmost placement of each middle segment is always safe,
 * so this is linear in the number of segments times the text length.
 */
function compileGlob(parts: SigmaString): TextTest {
  const segments: (string | typeof ANY_ONE)[][] = [[]];
  for (const part of parts) {
    if (part === ANY_RUN) segments.push([]);
    else segments[segments.length - 1]!.push(part);
  }
  const head = segments[0]!;
  if (segments.length === 1) {
    const length = segmentLength(head);
    return (text) => text.length === length && segmentMatchesAt(head, text, 0);
  }
  const tail = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((segment) => segment.length > 0);
  const headLength = segmentLength(head);
  const tailLength = segmentLength(tail);
  const middleLengths = middle.map(segmentLength);
  const minimum = headLength + tailLength + middleLengths.reduce((sum, n) => sum + n, 0);
  return (text) => {
    if (text.length < minimum) return false;
    if (!segmentMatchesAt(head, text, 0)) return false;
    const tailStart = text.length - tailLength;
    if (!segmentMatchesAt(tail, text, tailStart)) return false;
    let position = headLength;
    for (let index = 0; index < middle.length; index++) {
      const segment = middle[index]!;
      const length = middleLengths[index]!;
      let found = -1;
      for (let at = position; at + length <= tailStart; at++) {
        if (segmentMatchesAt(segment, text, at)) {
          found = at;
          break;
        }
      }
      if (found < 0) return false;
      position = found + length;
    }
    return true;
  };
}
