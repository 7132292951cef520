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

function looseGet(record: Record<string, unknown>, name: string): unknown {
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

export function compileFieldPath(path: string): FieldAccessor {
  if (!path.includes(".")) {
    return (event) => (hasOwn(event, path) ? unwrapText(event[path]) : undefined);
  }
  const segments = path.split(".");
  return (event) => unwrapText(hasOwn(event, path) ? event[path] : walk(event, segments, 0));
}

/** The first of several candidate paths that is present (a pipeline may map one name to several). */
export function compileFieldAccessor(paths: readonly string[]): FieldAccessor {
  const accessors = paths.map(compileFieldPath);
  if (accessors.length === 1) return accessors[0]!;
  return (event) => {
    for (const accessor of accessors) {
      const value = accessor(event);
      if (value !== undefined) return value;
    }
    return undefined;
  };
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
