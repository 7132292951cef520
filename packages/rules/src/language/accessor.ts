/**
 * Field accessors: a dotted path compiled once into a closure. Arrays met on the way are
 * traversed and flattened, so `ips.ip` yields every address; a numeric segment indexes.
 * A path can never reach a prototype (see `propertyReader`).
 */
import type { Frame } from "./scope.ts";

export type Accessor = (frame: Frame) => unknown;

const numeric = /^\d+$/;

type Reader = (object: object) => unknown;

/**
 * Reads one property. Path segments never name `__proto__`, `prototype` or `constructor` (refused
 * at compile time); a segment that Object.prototype also has (`toString`, `valueOf` ...) is read
 * only as an own property. Any other name can only be an own property of a JSON value, so it is
 * read directly: `Object.hasOwn` costs ten times a property load.
 */
function propertyReader(segment: string): Reader {
  if (segment in Object.prototype)
    return (object) =>
      Object.hasOwn(object, segment) ? (object as Record<string, unknown>)[segment] : undefined;
  return (object) => (object as Record<string, unknown>)[segment];
}

interface Path {
  readers: Reader[];
  /** The array index a numeric segment names, else -1. */
  indexes: number[];
}

function walkFrom(root: unknown, path: Path, from: number): unknown {
  let current = root;
  for (let position = from; position < path.readers.length; position++) {
    if (current === null || current === undefined) return undefined;
    if (Array.isArray(current)) {
      const index = path.indexes[position]!;
      if (index >= 0) {
        current = current[index];
        continue;
      }
      const out: unknown[] = [];
      for (const element of current) {
        const value = walkFrom(element, path, position);
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) for (const item of value) out.push(item);
        else out.push(value);
      }
      return out;
    }
    if (typeof current !== "object") return undefined;
    current = path.readers[position]!(current);
  }
  return current;
}

/** A walker over `segments[from..]`, specialised for the common short paths. */
export function compileWalk(segments: readonly string[], from = 0): (root: unknown) => unknown {
  const path: Path = {
    readers: segments.map(propertyReader),
    indexes: segments.map((segment) => (numeric.test(segment) ? Number(segment) : -1)),
  };
  const rest = segments.length - from;
  if (rest === 0) return (root) => root;
  const inherited = segments.slice(from).some((segment) => segment in Object.prototype);
  if (rest === 1 && !inherited) {
    const a = segments[from]!;
    return (root) => {
      if (root === null || typeof root !== "object" || Array.isArray(root)) return walkFrom(root, path, from);
      return (root as Record<string, unknown>)[a];
    };
  }
  if (rest === 2 && !inherited) {
    const a = segments[from]!;
    const b = segments[from + 1]!;
    return (root) => {
      if (root === null || typeof root !== "object" || Array.isArray(root)) return walkFrom(root, path, from);
      const next = (root as Record<string, unknown>)[a];
      if (next === null || typeof next !== "object" || Array.isArray(next))
        return walkFrom(next, path, from + 1);
      return (next as Record<string, unknown>)[b];
    };
  }
  return (root) => walkFrom(root, path, from);
}

const slots = new Map<string, number>();
const missing = Symbol("missing");

/** A small number per distinct event-field path, shared by every compiled rule. */
function fieldSlot(path: string): number {
  let slot = slots.get(path);
  if (slot === undefined) {
    slot = slots.size;
    slots.set(path, slot);
  }
  return slot;
}

/** How many distinct event-field paths compiled rules read (the size of a per-event memo). */
export function fieldSlotCount(): number {
  return slots.size;
}

/** Compiles a path against what a rule sees (event fields and virtual roots), or against a `some` element. */
export function compileAccessor(
  segments: readonly string[],
  mode: "event" | "element",
  ruleView: { id: string; name: string; version: number },
): Accessor {
  if (mode === "element") {
    const walk = compileWalk(segments);
    return (frame) => walk(frame.element);
  }
  const root = segments[0];
  const walkRest = compileWalk(segments, 1);
  switch (root) {
    case "asset":
      return (frame) => walkRest(frame.scope.assetView(frame.assetQuery));
    case "baseline":
      return (frame) => walkRest(frame.scope.baselineView(frame.assetQuery));
    case "exposure":
      return (frame) => walkRest(frame.scope.exposureView(frame.assetQuery));
    case "port":
      return (frame) => walkRest(frame.scope.portView());
    case "affected":
      return (frame) => walkRest(frame.scope.affectedView());
    case "event":
      return (frame) => walkRest(frame.scope.eventMeta());
    case "rule": {
      const constant = walkRest(ruleView);
      return () => constant;
    }
    case "correlation":
      return (frame) => walkRest(frame.correlation);
    case "each":
      return (frame) => walkRest(frame.each);
    default: {
      // Event fields are read once per event however many rules test them (see EventScope.fields).
      const walk = compileWalk(segments);
      const slot = fieldSlot(segments.join("."));
      return (frame) => {
        const memo = frame.scope.fields;
        const cached = memo[slot];
        if (cached !== undefined) return cached === missing ? undefined : cached;
        const value = walk(frame.value);
        memo[slot] = value === undefined ? missing : value;
        return value;
      };
    }
  }
}
