/**
 * Reading a field of an event. A field name is first looked up as a key of its own (flat events
 * with dotted keys), then as a dotted path through nested objects; a `*` segment means "any
 * child" (e.g. `Event.UserData.*.User`, whose middle element is named after the event type).
 * XML renderings put an element's text beside its attributes (`{"#text": ..., "#attributes":
 * ...}`); such an object reads as its text. A segment starting with `~` also finds a key written
 * with spaces (`~SourceName` finds `Source Name`, as Windows Defender names its event data).
 */

export type SigmaEvent = Readonly<Record<string, unknown>>;
export type FieldAccessor = (event: SigmaEvent) => unknown;

const hasOwn = Object.hasOwn;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unwrapText(value: unknown): unknown {
  return isRecord(value) && hasOwn(value, "#text") ? value["#text"] : value;
}

// Per object, its keys without spaces, built on the first loose lookup that misses.
const spacelessKeys = new WeakMap<object, Map<string, string>>();

function looseGet(record: Readonly<Record<string, unknown>>, name: string): unknown {
  if (hasOwn(record, name)) return record[name];
  let keys = spacelessKeys.get(record);
  if (!keys) {
    keys = new Map();
    for (const key of Object.keys(record)) if (key.includes(" ")) keys.set(key.replaceAll(" ", ""), key);
    spacelessKeys.set(record, keys);
  }
  const key = keys.get(name);
  return key === undefined ? undefined : record[key];
}

function walk(value: unknown, segments: readonly string[], index: number): unknown {
  let current = value;
  for (let at = index; at < segments.length; at++) {
    if (!isRecord(current)) return undefined;
    const segment = segments[at]!;
    if (segment === "*") {
      for (const child of Object.values(current)) {
        const found = walk(child, segments, at + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (segment.startsWith("~")) {
      current = looseGet(current, segment.slice(1));
      continue;
    }
    if (!hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

function plainWalk(event: SigmaEvent, segments: readonly string[]): unknown {
  let current: unknown = event;
  for (const segment of segments) {
    if (typeof current !== "object" || current === null || !hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

export function compileFieldPath(path: string): FieldAccessor {
  if (!path.includes(".")) {
    if (path.startsWith("~")) return (event) => unwrapText(looseGet(event, path.slice(1)));
    return (event) => (hasOwn(event, path) ? unwrapText(event[path]) : undefined);
  }
  const segments = path.split(".");
  if (segments.some((segment) => segment === "*" || segment.startsWith("~"))) {
    return (event) => unwrapText(hasOwn(event, path) ? event[path] : walk(event, segments, 0));
  }
  return (event) => unwrapText(hasOwn(event, path) ? event[path] : plainWalk(event, segments));
}

let evaluation = 0;

/**
 * Starts a new evaluation. Field reads are remembered for the event being evaluated, so a
 * thousand rules reading `CommandLine` walk to it (and lower-case it) once; a new evaluation
 * forgets them, so an event changed between two evaluations is read afresh.
 */
export function startEvaluation(): void {
  evaluation++;
}

/** The same function, answering once per event and evaluation (for tests many rules share). */
export function rememberPerEvaluation<T>(compute: (event: SigmaEvent) => T): (event: SigmaEvent) => T {
  let lastEvaluation = -1;
  let lastEvent: SigmaEvent | undefined;
  let lastValue: T;
  return (event) => {
    if (event !== lastEvent || lastEvaluation !== evaluation) {
      lastEvent = event;
      lastEvaluation = evaluation;
      lastValue = compute(event);
    }
    return lastValue;
  };
}

/** Reads a field (remembered within an evaluation) and lower-cases its text (remembered too). */
export interface FieldReader extends FieldAccessor {
  lower(text: string): string;
}

// Readers are shared by every rule naming the same paths: that is what makes remembering pay.
const readers = new Map<string, FieldReader>();

/** The first of several candidate paths that is present (a pipeline may map one name to several). */
export function compileFieldAccessor(paths: readonly string[]): FieldReader {
  const key = paths.join("\u0000");
  const existing = readers.get(key);
  if (existing) return existing;
  const accessors = paths.map(compileFieldPath);
  const readRaw: FieldAccessor =
    accessors.length === 1
      ? accessors[0]!
      : (event) => {
          for (const accessor of accessors) {
            const value = accessor(event);
            if (value !== undefined) return value;
          }
          return undefined;
        };
  let lastEvaluation = -1;
  let lastEvent: SigmaEvent | undefined;
  let lastValue: unknown;
  let lastText: string | undefined;
  let lastLower = "";
  const reader = ((event: SigmaEvent) => {
    if (event !== lastEvent || lastEvaluation !== evaluation) {
      lastEvent = event;
      lastEvaluation = evaluation;
      lastValue = readRaw(event);
    }
    return lastValue;
  }) as FieldReader;
  reader.lower = (text) => {
    if (text !== lastText) {
      lastText = text;
      lastLower = text.toLowerCase();
    }
    return lastLower;
  };
  readers.set(key, reader);
  return reader;
}

/** Every scalar leaf of an event as text: what keyword searches look through. */
export function eventLeafTexts(event: unknown, out: string[] = []): string[] {
  if (typeof event === "string") out.push(event);
  else if (typeof event === "number" || typeof event === "boolean" || typeof event === "bigint") {
    out.push(String(event));
  } else if (Array.isArray(event)) {
    for (const item of event) eventLeafTexts(item, out);
  } else if (isRecord(event)) {
    for (const item of Object.values(event)) eventLeafTexts(item, out);
  }
  return out;
}
