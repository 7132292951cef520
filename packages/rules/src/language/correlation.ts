/**
 * Correlation per key over event time: count and distinct count over a window (sliding or
 * tumbling), ordered sequences within a window, and absence. State lives in the StateStore under
 * `<rule id>/k/<key>` (the rule's last watermark under `<rule id>/w`, suppression windows under
 * `<rule id>/s/<key>`), JSON only, so it survives a restart; `advance(watermark)` closes windows and
 * reports absences through a due-time index, so a big jump of the watermark still visits every
 * window that closed on the way.
 *
 * Lateness: the clock of a key is the newest event time seen for it or the last watermark,
 * whichever is later. An event still counts while a window that contains it is open, i.e. until
 * the clock passes that window's end plus `allowed_lateness`; later than that it is dropped and
 * counted in `late_dropped`.
 */
import type { EvidenceRef, FindingV1 } from "@vigil/schema";
import type { StateStore } from "../model.ts";
import { findingId } from "../rules.ts";
import type { Accessor } from "./accessor.ts";
import type { CompiledCondition } from "./conditions.ts";
import { formatDuration } from "./duration.ts";
import { eventSummary, evidenceOf } from "./findings.ts";
import { type Projection, projectedEvent } from "./projection.ts";
import type { Emit, RunContext } from "./runtime.ts";
import {
  type AssetQuery,
  type CorrelationValue,
  EventScope,
  eventFrame,
  type Frame,
  isoTime,
} from "./scope.ts";
import { type Dated, type KeyedState, viewCache } from "./state.ts";
import { renderValue, show } from "./text.ts";

/** [event time, event id, topic, summary, distinct value | step mask] */
type Entry = [number, string, string, string, string | number];

export interface Bounds {
  gt?: number | undefined;
  gte?: number | undefined;
  lt?: number | undefined;
  lte?: number | undefined;
}

export interface CorrelationPlan {
  rule: { id: string; name: string; version: number };
  by: { path: string; get: Accessor }[];
  window: number;
  mode: "sliding" | "tumbling";
  lateness: number;
  maxEvents: number;
  kind:
    | { type: "count"; bounds: Bounds }
    | { type: "distinct"; bounds: Bounds; field: { path: string; get: Accessor } }
    | {
        type: "sequence";
        steps: { name: string; kinds: ReadonlySet<string> | undefined; where: CompiledCondition }[];
      }
    | {
        type: "absence";
        after: number;
        since: { path: string; get: Accessor } | undefined;
        stopWhen: CompiledCondition | undefined;
      };
  where: CompiledCondition;
  emit: Emit;
  project: (frame: Frame) => Projection;
  /** The asset query of a frame rebuilt from a projection (the rule's asset override, if any). */
  assetQuery: (frame: Frame) => AssetQuery;
}

export interface Correlator {
  /** The key a frame's event is correlated by (`by`), undefined when a field of it is empty. */
  keyOf(frame: Frame): string | undefined;
  onEvent(frame: Frame, context: RunContext): FindingV1[];
  advance(watermark: number, context: RunContext): FindingV1[];
}

const evidenceCap = 20;

function boundsText(bounds: Bounds): string {
  const parts: string[] = [];
  if (bounds.gt !== undefined) parts.push(`more than ${bounds.gt}`);
  if (bounds.gte !== undefined) parts.push(`at least ${bounds.gte}`);
  if (bounds.lt !== undefined) parts.push(`fewer than ${bounds.lt}`);
  if (bounds.lte !== undefined) parts.push(`at most ${bounds.lte}`);
  return parts.join(" and ");
}

function within(value: number, bounds: Bounds): boolean {
  return (
    (bounds.gt === undefined || value > bounds.gt) &&
    (bounds.gte === undefined || value >= bounds.gte) &&
    (bounds.lt === undefined || value < bounds.lt) &&
    (bounds.lte === undefined || value <= bounds.lte)
  );
}

/** Upper bounds can only be judged once the window is complete. */
export function judgedAtClose(bounds: Bounds): boolean {
  return bounds.lt !== undefined || bounds.lte !== undefined;
}

/** First index whose time is >= t. */
function lowerBound(entries: readonly Entry[], t: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (entries[middle]![0] < t) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** First index whose time is > t (a new event goes after the ones of the same time). */
function upperBound(entries: readonly Entry[], t: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (entries[middle]![0] <= t) low = middle + 1;
    else high = middle;
  }
  return low;
}

function toEvidence(entry: Entry): EvidenceRef {
  return { topic: entry[2], id: entry[1], time: isoTime(entry[0]), summary: entry[3] };
}

function parseTime(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

interface SlidingState extends Dated {
  clock: number;
  ev: Entry[];
}

interface WindowState {
  n: number;
  last: number;
  ev: Entry[];
  vals?: string[];
  fired?: 1;
  proj?: Projection;
  why?: string[];
}

interface TumblingState extends Dated {
  clock: number;
  w: Record<string, WindowState>;
}

interface AbsenceState extends Dated {
  last: number;
  fired?: 1;
  ev?: EvidenceRef;
  proj?: Projection;
  why?: string[];
}

export function compileCorrelation(plan: CorrelationPlan): Correlator {
  const { rule, window, lateness, kind } = plan;
  const views = viewCache<SlidingState | TumblingState | AbsenceState>(`${rule.id}/k/`);
  const watermarkKey = `${rule.id}/w`;
  const byText = plan.by.map((field) => field.path).join(", ");

  const count = (context: RunContext, counter: "late_dropped" | "state_capped" | "unkeyed", amount = 1) =>
    context.count?.(rule.id, counter, amount);

  const watermarkOf = (state: StateStore): number => {
    const stored = state.get(watermarkKey);
    return typeof stored === "number" ? stored : Number.NEGATIVE_INFINITY;
  };

  const keyOf = (frame: Frame): string | undefined => {
    let key = "";
    for (let index = 0; index < plan.by.length; index++) {
      const text = renderValue(plan.by[index]!.get(frame), 256);
      if (text === "") return undefined;
      key = index === 0 ? text : `${key}|${text}`;
    }
    return key;
  };

  const entryOf = (frame: Frame, extra: string | number): Entry => {
    const event = frame.scope.event;
    return [event.time, event.id, event.topic, eventSummary(event), extra];
  };

  /**
   * The key's event window, or undefined when the event is too late for it (counted) or already in
   * it: a redelivered event (a batch replayed after a crash) counts once.
   */
  const openWindow = (
    view: KeyedState<SlidingState | TumblingState | AbsenceState>,
    key: string,
    t: number,
    frame: Frame,
    context: RunContext,
  ): SlidingState | undefined => {
    const state = (view.get(key) as SlidingState | undefined) ?? { clock: t, ev: [] };
    if (t + window + lateness <= Math.max(state.clock, watermarkOf(context.state))) {
      count(context, "late_dropped");
      return undefined;
    }
    const id = frame.scope.event.id;
    return state.ev.some((entry) => entry[1] === id) ? undefined : state;
  };

  /** Inserts in event-time order, then drops what the window has passed and caps the state (counted). */
  const insertEntry = (state: SlidingState, entry: Entry, context: RunContext) => {
    const entries = state.ev;
    entries.splice(upperBound(entries, entry[0]), 0, entry);
    state.clock = Math.max(state.clock, entry[0]);
    const cutoff = Math.max(state.clock, watermarkOf(context.state)) - window - lateness;
    let expired = 0;
    while (expired < entries.length && entries[expired]![0] <= cutoff) expired++;
    if (expired > 0) entries.splice(0, expired);
    if (entries.length > plan.maxEvents) {
      const excess = entries.length - plan.maxEvents;
      entries.splice(0, excess);
      count(context, "state_capped", excess);
    }
  };

  /** A finding over the events a match used; its id derives from them, so a replay raises the same one. */
  const emitOver = (used: Entry[], frame: Frame, conditions: string[], time: number, context: RunContext) =>
    plan.emit(
      {
        frame,
        evidence: used.map(toEvidence),
        conditions,
        time,
        id: findingId(
          rule.id,
          rule.version,
          used.map((entry) => entry[1]),
        ),
      },
      context,
    );

  /** Stores what is left of a key's window, due when its newest event leaves it; an empty key is dropped. */
  const keepOrDrop = (
    view: KeyedState<SlidingState | TumblingState | AbsenceState>,
    key: string,
    state: SlidingState,
  ) => {
    if (state.ev.length === 0) view.delete(key);
    else {
      state.due = state.ev[state.ev.length - 1]![0] + window + lateness;
      view.put(key, state);
    }
  };

  /** A frame for a finding raised without its event (a closed window, an absence). */
  const frameFrom = (projection: Projection, context: RunContext, correlation: CorrelationValue): Frame => {
    const scope = new EventScope(projectedEvent(projection), context.tables);
    const base = eventFrame(scope);
    const frame = { ...base, assetQuery: plan.assetQuery(base) };
    return { ...frame, correlation };
  };

  const correlationValue = (key: string, partial: Partial<CorrelationValue>): CorrelationValue => ({
    key,
    count: 0,
    distinct: 0,
    values: [],
    window: formatDuration(window),
    first: "",
    last: "",
    silence: "",
    steps: [],
    ...partial,
  });

  // ---------------------------------------------------------------- sliding count / distinct
  const slidingEvent = (
    frame: Frame,
    context: RunContext,
    bounds: Bounds,
    distinct: Accessor | undefined,
  ) => {
    const event = frame.scope.event;
    const t = event.time;
    const key = keyOf(frame);
    if (key === undefined) {
      count(context, "unkeyed");
      return [];
    }
    let value: string | number = 0;
    if (distinct) {
      value = renderValue(distinct(frame), 256);
      if (value === "") return [];
    }
    const view = views(context.state);
    const state = openWindow(view, key, t, frame, context);
    if (!state) return [];
    const entries = state.ev;
    if (distinct) {
      const existing = entries.findIndex((entry) => entry[4] === value);
      if (existing >= 0) {
        // The latest occurrence of a value stands for it: windows ending later only need that one.
        if (entries[existing]![0] > t) return [];
        entries.splice(existing, 1);
      }
    }
    insertEntry(state, entryOf(frame, value), context);
    const findings: FindingV1[] = [];
    const start = Math.max(0, lowerBound(entries, t));
    for (let end = start; end < entries.length; end++) {
      const last = entries[end]![0];
      const first = lowerBound(entries, last - window);
      const size = end - first + 1;
      if (!within(size, bounds)) continue;
      const used = entries.slice(first, end + 1);
      entries.splice(first, size);
      const values = distinct ? used.map((entry) => String(entry[4])) : [];
      const correlation = correlationValue(key, {
        count: size,
        distinct: distinct ? size : 0,
        values,
        first: isoTime(used[0]![0]),
        last: isoTime(last),
      });
      const conditions: string[] = [];
      plan.where.explain(frame, conditions);
      const what = distinct ? `distinct ${kind.type === "distinct" ? kind.field.path : ""} values` : "events";
      conditions.push(
        `${size} ${what} (${boundsText(bounds)}) with ${byText} ${show(key)} within ${formatDuration(window)} (sliding, ${
          correlation.first
        } to ${correlation.last})${distinct ? `: ${values.slice(0, 20).join(", ")}${values.length > 20 ? ", …" : ""}` : ""}`,
      );
      const finding = emitOver(used, { ...frame, correlation }, conditions, last, context);
      if (finding) findings.push(finding);
      break;
    }
    keepOrDrop(view, key, state);
    return findings;
  };

  const slidingAdvance = (watermark: number, context: RunContext) => {
    const view = views(context.state);
    for (const [key, state] of view.due(watermark)) {
      const entries = (state as SlidingState).ev;
      const cutoff = watermark - window - lateness;
      let expired = 0;
      while (expired < entries.length && entries[expired]![0] <= cutoff) expired++;
      entries.splice(0, expired);
      if (entries.length === 0) view.delete(key);
      else {
        state.due = entries[entries.length - 1]![0] + window + lateness;
        view.put(key, state);
      }
    }
    return [];
  };

  // ---------------------------------------------------------------- tumbling count / distinct
  const tumblingFire = (
    key: string,
    start: number,
    slot: WindowState,
    frame: Frame,
    context: RunContext,
    bounds: Bounds,
    metric: number,
    why: string[],
  ): FindingV1 | undefined => {
    const correlation = correlationValue(key, {
      count: slot.n,
      distinct: slot.vals?.length ?? 0,
      values: slot.vals?.slice(0, 100) ?? [],
      first: isoTime(start),
      last: isoTime(start + window),
    });
    const what = kind.type === "distinct" ? `distinct ${kind.field.path} values` : "events";
    const conditions = [
      ...why,
      `${metric} ${what} (${boundsText(bounds)}) with ${byText} ${show(key)} in the ${formatDuration(window)} window ${
        correlation.first
      } to ${correlation.last}${
        slot.vals ? `: ${slot.vals.slice(0, 20).join(", ")}${slot.vals.length > 20 ? ", …" : ""}` : ""
      }`,
    ];
    return plan.emit(
      {
        frame: { ...frame, correlation },
        evidence: slot.ev.map(toEvidence),
        conditions,
        time: slot.last,
        id: findingId(rule.id, rule.version, [`${key}@${start}`]),
      },
      context,
    );
  };

  const tumblingEvent = (
    frame: Frame,
    context: RunContext,
    bounds: Bounds,
    distinct: Accessor | undefined,
  ) => {
    const event = frame.scope.event;
    const t = event.time;
    const key = keyOf(frame);
    if (key === undefined) {
      count(context, "unkeyed");
      return [];
    }
    let value = "";
    if (distinct) {
      value = renderValue(distinct(frame), 256);
      if (value === "") return [];
    }
    const view = views(context.state);
    const state = (view.get(key) as TumblingState | undefined) ?? { clock: t, w: {} };
    const start = Math.floor(t / window) * window;
    const now = Math.max(state.clock, watermarkOf(context.state));
    if (start + window + lateness <= now) {
      count(context, "late_dropped");
      return [];
    }
    state.clock = Math.max(state.clock, t);
    const atClose = judgedAtClose(bounds);
    let slot = state.w[start];
    if (!slot) {
      slot = { n: 0, last: t, ev: [] };
      if (distinct) slot.vals = [];
      if (atClose) {
        slot.proj = plan.project(frame);
        const why: string[] = [];
        plan.where.explain(frame, why);
        slot.why = why;
      }
      state.w[start] = slot;
    }
    slot.n++;
    slot.last = Math.max(slot.last, t);
    if (slot.ev.length < evidenceCap) slot.ev.push(entryOf(frame, 0));
    if (slot.vals && !slot.vals.includes(value)) {
      if (slot.vals.length < plan.maxEvents) slot.vals.push(value);
      else count(context, "state_capped");
    }
    const findings: FindingV1[] = [];
    const metric = slot.vals ? slot.vals.length : slot.n;
    if (!atClose && !slot.fired && within(metric, bounds)) {
      slot.fired = 1;
      const why: string[] = [];
      plan.where.explain(frame, why);
      const finding = tumblingFire(key, start, slot, frame, context, bounds, metric, why);
      if (finding) findings.push(finding);
    }
    state.due = Math.min(...Object.keys(state.w).map(Number)) + window + lateness;
    view.put(key, state);
    return findings;
  };

  const tumblingAdvance = (watermark: number, context: RunContext, bounds: Bounds) => {
    const view = views(context.state);
    const findings: FindingV1[] = [];
    const atClose = judgedAtClose(bounds);
    for (const [key, value] of view.due(watermark)) {
      const state = value as TumblingState;
      const starts = Object.keys(state.w)
        .map(Number)
        .sort((a, b) => a - b);
      for (const start of starts) {
        if (start + window + lateness > watermark) break;
        const slot = state.w[start]!;
        const metric = slot.vals ? slot.vals.length : slot.n;
        if (atClose && !slot.fired && slot.proj && within(metric, bounds)) {
          const correlation = correlationValue(key, {});
          const frame = frameFrom(slot.proj, context, correlation);
          const finding = tumblingFire(key, start, slot, frame, context, bounds, metric, slot.why ?? []);
          if (finding) findings.push(finding);
        }
        delete state.w[start];
      }
      const left = Object.keys(state.w).map(Number);
      if (left.length === 0) view.delete(key);
      else {
        state.due = Math.min(...left) + window + lateness;
        view.put(key, state);
      }
    }
    return findings;
  };

  // ---------------------------------------------------------------- sequence
  const sequenceEvent = (
    frame: Frame,
    context: RunContext,
    steps: Extract<CorrelationPlan["kind"], { type: "sequence" }>["steps"],
  ) => {
    const event = frame.scope.event;
    let mask = 0;
    steps.forEach((step, index) => {
      if ((!step.kinds || step.kinds.has(event.kind)) && step.where.test(frame)) mask |= 1 << index;
    });
    if (mask === 0) return [];
    const key = keyOf(frame);
    if (key === undefined) {
      count(context, "unkeyed");
      return [];
    }
    const t = event.time;
    const view = views(context.state);
    const state = openWindow(view, key, t, frame, context);
    if (!state) return [];
    const entries = state.ev;
    insertEntry(state, entryOf(frame, mask), context);
    const findings: FindingV1[] = [];
    for (let first = 0; first < entries.length; first++) {
      if (((entries[first]![4] as number) & 1) === 0) continue;
      const startTime = entries[first]![0];
      const chain = [first];
      for (let next = first + 1; next < entries.length && chain.length < steps.length; next++) {
        if (entries[next]![0] - startTime > window) break;
        if (((entries[next]![4] as number) >> chain.length) & 1) chain.push(next);
      }
      if (chain.length < steps.length) continue;
      const used = chain.map((index) => entries[index]!);
      for (const index of [...chain].reverse()) entries.splice(index, 1);
      const correlation = correlationValue(key, {
        count: used.length,
        first: isoTime(used[0]![0]),
        last: isoTime(used[used.length - 1]![0]),
        steps: steps.map((step) => step.name),
      });
      const conditions: string[] = [];
      plan.where.explain(frame, conditions);
      used.forEach((entry, index) => {
        conditions.push(
          `step ${index + 1} "${steps[index]!.name}" (${steps[index]!.where.text}) at ${isoTime(entry[0])}: ${entry[3]}`,
        );
      });
      conditions.push(`in order within ${formatDuration(window)} for ${byText} ${show(key)}`);
      const finding = emitOver(
        used,
        { ...frame, correlation },
        conditions,
        used[used.length - 1]![0],
        context,
      );
      if (finding) findings.push(finding);
      break;
    }
    keepOrDrop(view, key, state);
    return findings;
  };

  // ---------------------------------------------------------------- absence
  const absenceEvent = (
    frame: Frame,
    context: RunContext,
    spec: Extract<CorrelationPlan["kind"], { type: "absence" }>,
  ) => {
    const key = keyOf(frame);
    if (key === undefined) {
      count(context, "unkeyed");
      return [];
    }
    const view = views(context.state);
    if (spec.stopWhen?.test(frame)) {
      if (view.get(key)) view.delete(key);
      return [];
    }
    if (!plan.where.test(frame)) return [];
    const reference = spec.since ? parseTime(spec.since.get(frame)) : frame.scope.event.time;
    if (reference === undefined) return [];
    const state = view.get(key) as AbsenceState | undefined;
    if (state && (reference < state.last || (reference === state.last && state.fired))) return [];
    const why: string[] = [];
    plan.where.explain(frame, why);
    if (spec.since) why.push(`${spec.since.path} is ${show(spec.since.get(frame))}`);
    view.put(key, {
      last: reference,
      due: reference + spec.after + lateness,
      ev: evidenceOf(frame.scope.event),
      proj: plan.project(frame),
      why,
    });
    return [];
  };

  const absenceAdvance = (
    watermark: number,
    context: RunContext,
    spec: Extract<CorrelationPlan["kind"], { type: "absence" }>,
  ) => {
    const view = views(context.state);
    const findings: FindingV1[] = [];
    for (const [key, value] of view.due(watermark)) {
      const state = value as AbsenceState;
      if (state.fired || !state.proj || !state.ev) {
        view.delete(key);
        continue;
      }
      const silentSince = state.last;
      const correlation = correlationValue(key, {
        count: 1,
        first: isoTime(silentSince),
        last: isoTime(silentSince),
        window: formatDuration(spec.after),
        silence: formatDuration(Math.max(0, watermark - silentSince)),
      });
      const frame = frameFrom(state.proj, context, correlation);
      const conditions = [
        ...(state.why ?? []),
        `nothing for ${byText} ${show(key)} within ${formatDuration(spec.after)} after ${isoTime(silentSince)} (event time now ${isoTime(watermark)})`,
      ];
      const finding = plan.emit(
        {
          frame,
          evidence: [state.ev],
          conditions,
          time: silentSince + spec.after,
          id: findingId(rule.id, rule.version, [`${key}@${silentSince}`]),
        },
        context,
      );
      if (finding) findings.push(finding);
      // Keep a small marker so a republished state with the same reference does not raise it again.
      view.put(key, { last: silentSince, fired: 1, due: silentSince + 2 * spec.after + lateness });
    }
    return findings;
  };

  const recordWatermark = (watermark: number, context: RunContext) => {
    if (watermark > watermarkOf(context.state)) context.state.set(watermarkKey, watermark);
  };

  return {
    keyOf,
    onEvent(frame, context) {
      switch (kind.type) {
        case "count":
          return plan.mode === "tumbling"
            ? tumblingEvent(frame, context, kind.bounds, undefined)
            : slidingEvent(frame, context, kind.bounds, undefined);
        case "distinct":
          return plan.mode === "tumbling"
            ? tumblingEvent(frame, context, kind.bounds, kind.field.get)
            : slidingEvent(frame, context, kind.bounds, kind.field.get);
        case "sequence":
          return sequenceEvent(frame, context, kind.steps);
        case "absence":
          return absenceEvent(frame, context, kind);
      }
    },
    advance(watermark, context) {
      recordWatermark(watermark, context);
      switch (kind.type) {
        case "count":
        case "distinct":
          return plan.mode === "tumbling"
            ? tumblingAdvance(watermark, context, kind.bounds)
            : slidingAdvance(watermark, context);
        case "sequence":
          return slidingAdvance(watermark, context);
        case "absence":
          return absenceAdvance(watermark, context, kind);
      }
    },
  };
}
