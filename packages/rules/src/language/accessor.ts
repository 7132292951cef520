/**
 * Field accessors: a dotted path compiled once into a closure. Arrays met on the way are
 * traversed and flattened, so `ips.ip` yields every address; a numeric segment indexes.
 * Only own properties are read: a path can never reach a prototype.
 */
import type { Frame } from "./scope.ts";

export type Accessor = (frame: Frame) => unknown;

const numeric = /^\d+$/;

function walkFrom(
  root: unknown,
  segments: readonly string[],
  indexes: readonly (number | -1)[],
  from: number,
): unknown {
  let current = root;
  for (let position = from; position < segments.length; position++) {
    if (current === null || current === undefined) return undefined;
    if (Array.isArray(current)) {
      const index = indexes[position]!;
      if (index >= 0) {
        current = current[index];
        continue;
      }
      const out: unknown[] = [];
      for (const element of current) {
        const value = walkFrom(element, segments, indexes, position);
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) for (const item of value) out.push(item);
        else out.push(value);
      }
      return out;
    }
    if (typeof current !== "object") return undefined;
    const segment = segments[position]!;
    current = Object.hasOwn(current, segment) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return current;
}

/** A walker over `segments[from..]`, specialised for the common short paths. */
export function compileWalk(segments: readonly string[], from = 0): (root: unknown) => unknown {
  const indexes = segments.map((segment) => (numeric.test(segment) ? Number(segment) : -1));
  const rest = segments.length - from;
  const hasOwn = Object.hasOwn;
  if (rest === 0) return (root) => root;
  if (rest === 1) {
    const a = segments[from]!;
    return (root) => {
      if (root === null || typeof root !== "object" || Array.isArray(root))
        return walkFrom(root, segments, indexes, from);
      return hasOwn(root, a) ? (root as Record<string, unknown>)[a] : undefined;
    };
  }
  if (rest === 2) {
    const a = segments[from]!;
    const b = segments[from + 1]!;
    return (root) => {
      if (root === null || typeof root !== "object" || Array.isArray(root) || !hasOwn(root, a))
        return walkFrom(root, segments, indexes, from);
      const next = (root as Record<string, unknown>)[a];
      if (next === null || typeof next !== "object" || Array.isArray(next))
        return walkFrom(next, segments, indexes, from + 1);
      return hasOwn(next, b) ? (next as Record<string, unknown>)[b] : undefined;
    };
  }
  return (root) => walkFrom(root, segments, indexes, from);
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
      const walk = compileWalk(segments);
      return (frame) => walk(frame.value);
    }
  }
}
