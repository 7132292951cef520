/**
 * What an absence (or a window judged when it closes) keeps of an event to raise a finding later,
 * when the event itself is long gone: only the fields the rule's templates, severity and asset
 * read, capped, so state stays small.
 */
import type { EventKind, RuleEvent } from "../model.ts";
import { compileWalk } from "./accessor.ts";

export interface Projection {
  kind: EventKind;
  id: string;
  topic: string;
  key: string;
  time: number;
  value: Record<string, unknown>;
}

/** Fields `eventAssetQuery` and the exposure lookup read, per kind. */
const kindPaths: Record<EventKind, string[][]> = {
  "ids.alert": [["asset_ip"], ["cves"], ["dst_endpoint"], ["connection_info", "protocol_name"]],
  "firewall.event": [["asset_ip"], ["dst_endpoint"], ["connection_info", "protocol_name"]],
  "inventory.host": [["id"]],
  "inventory.audit": [],
  "updates.agent": [["host"]],
  advisory: [["cves"], ["id"], ["source"]],
};

function capValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.length > 1024 ? value.slice(0, 1024) : value;
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => capValue(item, depth + 1));
  if (value !== null && typeof value === "object") {
    if (depth > 4) return undefined;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = capValue(field, depth + 1);
    return out;
  }
  return value;
}

function setPath(target: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let current = target;
  for (let index = 0; index < segments.length - 1; index++) {
    const segment = segments[index]!;
    const next = current[segment];
    if (next === null || typeof next !== "object" || Array.isArray(next)) {
      const created: Record<string, unknown> = {};
      Object.defineProperty(current, segment, {
        value: created,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      current = created;
    } else current = next as Record<string, unknown>;
  }
  Object.defineProperty(current, segments[segments.length - 1]!, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

export function compileProjection(paths: readonly (readonly string[])[]): (event: RuleEvent) => Projection {
  const unique = new Map<string, readonly string[]>();
  for (const path of paths) unique.set(path.join("."), path);
  const byKind = new Map<EventKind, { segments: readonly string[]; walk: (root: unknown) => unknown }[]>();
  const forKind = (kind: EventKind) => {
    let list = byKind.get(kind);
    if (!list) {
      const all = new Map(unique);
      for (const path of kindPaths[kind]) all.set(path.join("."), path);
      list = [...all.values()].map((segments) => ({ segments, walk: compileWalk(segments) }));
      byKind.set(kind, list);
    }
    return list;
  };
  return (event) => {
    const value: Record<string, unknown> = {};
    for (const { segments, walk } of forKind(event.kind)) {
      const found = walk(event.value);
      if (found !== undefined) setPath(value, segments, capValue(found));
    }
    return { kind: event.kind, id: event.id, topic: event.topic, key: event.key, time: event.time, value };
  };
}

/** The event a projection stands for: only the projected fields are there. */
export function projectedEvent(projection: Projection): RuleEvent {
  return {
    kind: projection.kind,
    value: projection.value,
    topic: projection.topic,
    id: projection.id,
    time: projection.time,
    key: projection.key,
  } as unknown as RuleEvent;
}
