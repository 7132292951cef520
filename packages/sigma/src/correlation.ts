/**
 * Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) and the
 * stateful correlator that evaluates them over events fed in time order.
 *
 * Windows, per correlation rule and group-by key:
 * - Conditions with only a lower bound (`gt`, `gte`; temporal's default "all rules seen") are
 *   monotone: the window slides, ending at each new event and reaching back `timespan`; the
 *   correlation fires as soon as the condition holds, then the group starts afresh (one match
 *   per burst, not one per later event).
 * - Conditions with an upper bound (`lt`, `lte`, `eq`, `neq`, ranges) can only be judged once the
 *   window is over: windows then start at a group's first event, last `timespan`, and are
 *   judged when an event or `advance(time)` passes their end, or at `flush()` (end of input).
 *   A group with no event at all opens no window: "fewer than N" needs at least one event.
 * - temporal_ordered needs the rules' events in the listed order (feed order for equal times),
 *   first to last within `timespan`.
 * Windows include both ends (`last - first <= timespan`). Events without the group-by fields
 * (or, for value_count, the counted field) are left out, as `stats ... by` does.
 */
import { z } from "zod";
import { SigmaError, type SigmaErrorContext } from "./errors.ts";
import { compileFieldPath, type FieldAccessor, type SigmaEvent, startEvaluation } from "./fields.ts";
import type { DocumentSource } from "./rule.ts";
import { metadataOf, type SigmaRule, type SigmaRuleMetadata } from "./rule.ts";
import {
  type CorrelationConditionDocument,
  type CorrelationType,
  correlationRuleSchema,
  formatZodIssues,
} from "./schema.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface CorrelationCondition {
  gt?: number | undefined;
  gte?: number | undefined;
  lt?: number | undefined;
  lte?: number | undefined;
  eq?: number | undefined;
  neq?: number | undefined;
  /** value_count: the field whose distinct values are counted. */
  field?: string | undefined;
}

export interface SigmaCorrelationRule extends SigmaRuleMetadata {
  type: "correlation";
  correlationType: CorrelationType;
  /** The referenced rules, in the order the correlation lists them. */
  rules: readonly SigmaRule[];
  groupBy: readonly string[];
  timespanMs: number;
  condition: CorrelationCondition;
  /** Per alias, the field it stands for in each referenced rule (by the reference as written). */
  aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Whether the referenced rules also report their own matches. */
  generate: boolean;
  /** How a referenced rule's event is read: group-by values and the value_count field. */
  readers: readonly { group: readonly FieldAccessor[]; value: FieldAccessor | undefined }[];
}

const timespanUnits: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export function parseTimespan(text: string): number | undefined {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * timespanUnits[match[2]!]!;
}

export type RuleResolution = SigmaRule | "correlation" | undefined;

/** Compiles a correlation document; `resolve` finds a referenced rule by name or id. */
export function compileCorrelationRule(
  document: unknown,
  source: DocumentSource,
  resolve: (reference: string) => RuleResolution,
  ruleId: string,
): SigmaCorrelationRule {
  const errorContext: SigmaErrorContext = { file: source.file, line: source.line, ruleId };
  const problem = (
    code: "schema" | "unknown-rule-reference" | "correlation-chain-unsupported",
    detail: string,
    key: string,
  ) => new SigmaError(code, detail, { ...errorContext, key });
  const parsed = correlationRuleSchema.safeParse(document);
  if (!parsed.success) {
    const { key, detail } = formatZodIssues(parsed.error);
    throw new SigmaError("schema", detail, { ...errorContext, key: key || undefined });
  }
  const doc = parsed.data;
  const correlation = doc.correlation;
  const timespanText = correlation.timespan ?? correlation.timeframe;
  if (timespanText === undefined)
    throw problem("schema", "a timespan is required (e.g. 5m, 1h, 2d)", "correlation.timespan");
  const timespanMs = parseTimespan(timespanText);
  if (timespanMs === undefined || timespanMs <= 0) {
    throw problem(
      "schema",
      `invalid timespan ${JSON.stringify(timespanText)} (a number and one of s, m, h, d, w)`,
      "correlation.timespan",
    );
  }
  const rules = correlation.rules.map((reference, index) => {
    const resolved = resolve(reference);
    if (resolved === "correlation") {
      throw problem(
        "correlation-chain-unsupported",
        `refers to correlation rule '${reference}': correlations of correlations are not supported`,
        `correlation.rules[${index}]`,
      );
    }
    if (!resolved)
      throw problem(
        "unknown-rule-reference",
        `no loaded rule has the name or id '${reference}'`,
        `correlation.rules[${index}]`,
      );
    return resolved;
  });
  const condition = normalizeCondition(correlation.type, correlation.condition, rules.length, problem);
  const groupBy = correlation["group-by"] ?? [];
  const aliases = correlation.aliases ?? {};
  for (const [alias, mapping] of Object.entries(aliases)) {
    for (const reference of Object.keys(mapping)) {
      if (!correlation.rules.includes(reference)) {
        throw problem(
          "unknown-rule-reference",
          `alias '${alias}' names '${reference}', which the correlation does not list`,
          `correlation.aliases.${alias}`,
        );
      }
    }
  }
  const fieldFor = (name: string, reference: string): string => aliases[name]?.[reference] ?? name;
  const readers = rules.map((rule, index) => {
    const reference = correlation.rules[index]!;
    return {
      group: groupBy.map((name) => rule.field(fieldFor(name, reference))),
      value: condition.field !== undefined ? rule.field(fieldFor(condition.field, reference)) : undefined,
    };
  });
  return {
    ...metadataOf(doc, document as Record<string, unknown>, source),
    id: ruleId,
    type: "correlation",
    correlationType: correlation.type,
    rules,
    groupBy,
    timespanMs,
    condition,
    aliases,
    generate: correlation.generate ?? doc.generate ?? false,
    readers,
  };
}

function normalizeCondition(
  type: CorrelationType,
  condition: CorrelationConditionDocument | undefined,
  ruleCount: number,
  problem: (code: "schema", detail: string, key: string) => SigmaError,
): CorrelationCondition {
  if (type === "temporal" || type === "temporal_ordered") {
    // The spec's temporal correlations need every listed rule; a condition may lower the count (temporal only).
    if (type === "temporal" && condition) return condition;
    return { gte: ruleCount };
  }
  if (!condition)
    throw problem("schema", `${type} needs a condition (gt, gte, lt, lte, eq, neq)`, "correlation.condition");
  if (type === "value_count" && condition.field === undefined) {
    throw problem(
      "schema",
      "value_count needs condition.field (the field whose distinct values are counted)",
      "correlation.condition.field",
    );
  }
  return condition;
}

export function conditionHolds(condition: CorrelationCondition, value: number): boolean {
  if (condition.gt !== undefined && !(value > condition.gt)) return false;
  if (condition.gte !== undefined && !(value >= condition.gte)) return false;
  if (condition.lt !== undefined && !(value < condition.lt)) return false;
  if (condition.lte !== undefined && !(value <= condition.lte)) return false;
  if (condition.eq !== undefined && value !== condition.eq) return false;
  if (condition.neq !== undefined && value === condition.neq) return false;
  return true;
}

function judgedAtWindowEnd(rule: SigmaCorrelationRule): boolean {
  const { condition } = rule;
  return (
    rule.correlationType !== "temporal_ordered" &&
    (condition.lt !== undefined ||
      condition.lte !== undefined ||
      condition.eq !== undefined ||
      condition.neq !== undefined)
  );
}

export interface CorrelationMatch {
  ruleId: string;
  rule: SigmaCorrelationRule;
  correlationType: CorrelationType;
  /** The group-by values, by group-by name. */
  group: Record<string, JsonValue>;
  /** The references of the events involved (as given to `process`), in time order. */
  events: JsonValue[];
  /** What the condition tested: the number of events, of distinct values, or of distinct rules. */
  value: number;
  /** Event time of the first and last event involved (epoch ms). */
  start: number;
  end: number;
}

// State: plain JSON, so a caller can persist it and restore it.
const entrySchema = z.object({
  t: z.number(),
  ref: z.json(),
  rules: z.array(z.number().int()),
  value: z.string().optional(),
});
const partialSchema = z.object({ start: z.number(), end: z.number(), refs: z.array(z.json()) }).nullable();
const groupStateSchema = z.object({
  group: z.array(z.json()),
  windowStart: z.number().optional(),
  entries: z.array(entrySchema).optional(),
  partials: z.array(partialSchema).optional(),
});
export const correlatorStateSchema = z.object({
  version: z.literal(1),
  watermark: z.number().nullable(),
  rules: z.record(z.string(), z.record(z.string(), groupStateSchema)),
  eventsWithoutTime: z.number().int().nonnegative(),
  lateEvents: z.number().int().nonnegative(),
});
export type CorrelatorState = z.infer<typeof correlatorStateSchema>;
type GroupState = z.infer<typeof groupStateSchema>;
type Entry = z.infer<typeof entrySchema>;

export interface CorrelatorOptions {
  /**
   * Where an event's time is: a dotted path in the event (epoch milliseconds or a date string
   * Date.parse reads), or a function returning either. Default `timestamp`.
   */
  timeField?: string | ((event: SigmaEvent) => unknown) | undefined;
  /** State from a previous `snapshot()`: groups of rules no longer present are dropped. */
  state?: unknown;
}

function toEpochMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (value instanceof Date) return value.getTime();
  if (typeof value === "string") {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

function toJson(value: unknown): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return value;
  if (typeof value === "bigint") return value.toString();
  return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
}

export class SigmaCorrelator {
  readonly rules: readonly SigmaCorrelationRule[];
  private readonly readTime: (event: SigmaEvent) => unknown;
  private state: CorrelatorState;
  /** Correlation rules listening to each base rule id, with the positions of that rule in their list. */
  private readonly listeners = new Map<string, { rule: SigmaCorrelationRule; positions: number[] }[]>();
  private nextWindowEnd = Number.POSITIVE_INFINITY;

  constructor(rules: readonly SigmaCorrelationRule[], options: CorrelatorOptions = {}) {
    this.rules = rules;
    const timeField = options.timeField ?? "timestamp";
    this.readTime = typeof timeField === "function" ? timeField : compileFieldPath(timeField);
    for (const rule of rules) {
      rule.rules.forEach((base, position) => {
        const list = this.listeners.get(base.id) ?? [];
        let entry = list.find((item) => item.rule === rule);
        if (!entry) {
          entry = { rule, positions: [] };
          list.push(entry);
        }
        entry.positions.push(position);
        this.listeners.set(base.id, list);
      });
    }
    this.state = { version: 1, watermark: null, rules: {}, eventsWithoutTime: 0, lateEvents: 0 };
    if (options.state !== undefined) this.restore(options.state);
  }

  /** Events skipped because their time could not be read, and events too late for any window. */
  get stats(): { eventsWithoutTime: number; lateEvents: number; watermark: number | null } {
    return {
      eventsWithoutTime: this.state.eventsWithoutTime,
      lateEvents: this.state.lateEvents,
      watermark: this.state.watermark,
    };
  }

  /** True when some correlation rule refers to this base rule. */
  listensTo(ruleId: string): boolean {
    return this.listeners.has(ruleId);
  }

  /**
   * Feeds one event with the ids of the base rules it matched (whether they generate or not)
   * and a reference to it (an index, an id: any JSON value) that matches will list. Feed every
   * event, matching or not: their time closes windows that are over.
   */
  process(event: SigmaEvent, matchedRuleIds: Iterable<string>, ref: JsonValue): CorrelationMatch[] {
    const byRule = new Map<SigmaCorrelationRule, number[]>();
    for (const id of matchedRuleIds) {
      for (const { rule, positions } of this.listeners.get(id) ?? []) {
        byRule.set(rule, [...(byRule.get(rule) ?? []), ...positions]);
      }
    }
    // Events no correlation listens to still move time on, closing windows that are over.
    if (byRule.size === 0 && this.nextWindowEnd === Number.POSITIVE_INFINITY) return [];
    startEvaluation();
    const time = toEpochMs(this.readTime(event));
    if (time === undefined) {
      if (byRule.size > 0) this.state.eventsWithoutTime++;
      return [];
    }
    const matches = time > this.nextWindowEnd ? this.closeWindows(time, false) : [];
    if (this.state.watermark === null || time > this.state.watermark) this.state.watermark = time;
    let late = false;
    for (const [rule, positions] of byRule) {
      if (time < this.state.watermark - rule.timespanMs) {
        late = true;
        continue;
      }
      // One event, possibly matching several of the rule's referenced rules, grouped per key.
      const byGroup = new Map<
        string,
        { group: JsonValue[]; positions: number[]; value: string | undefined }
      >();
      for (const position of positions) {
        const reader = rule.readers[position]!;
        const group: JsonValue[] = [];
        let complete = true;
        for (const read of reader.group) {
          const value = read(event);
          if (value === undefined || value === null) {
            complete = false;
            break;
          }
          group.push(toJson(value));
        }
        if (!complete) continue;
        let value: string | undefined;
        if (reader.value) {
          const raw = reader.value(event);
          if (raw === undefined || raw === null) continue;
          value = typeof raw === "string" ? raw : JSON.stringify(raw);
        }
        const key = JSON.stringify(group);
        const bucket = byGroup.get(key);
        if (bucket) {
          bucket.positions.push(position);
          bucket.value ??= value;
        } else byGroup.set(key, { group, positions: [position], value });
      }
      for (const [key, bucket] of byGroup) {
        const match = this.update(
          rule,
          key,
          bucket.group,
          bucket.positions.sort((a, b) => a - b),
          bucket.value,
          time,
          ref,
        );
        if (match) matches.push(match);
      }
    }
    if (late) this.state.lateEvents++;
    return matches;
  }

  /** Judges the windows (of upper-bounded conditions) that ended before `time`; call it as event time passes. */
  advance(time: number): CorrelationMatch[] {
    if (this.state.watermark === null || time > this.state.watermark) this.state.watermark = time;
    return this.closeWindows(time, false);
  }

  /** End of input: judges every open window of upper-bounded conditions now. */
  flush(): CorrelationMatch[] {
    return this.closeWindows(Number.POSITIVE_INFINITY, true);
  }

  /** The whole state as JSON (a deep copy). */
  snapshot(): CorrelatorState {
    return structuredClone(this.state);
  }

  restore(state: unknown): void {
    const parsed = correlatorStateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`invalid correlator state: ${formatZodIssues(parsed.error).detail}`);
    const known = new Set(this.rules.map((rule) => rule.id));
    const rules: CorrelatorState["rules"] = {};
    for (const [id, groups] of Object.entries(parsed.data.rules)) if (known.has(id)) rules[id] = groups;
    this.state = { ...structuredClone(parsed.data), rules };
    this.nextWindowEnd = this.computeNextWindowEnd();
  }

  private groups(rule: SigmaCorrelationRule): Record<string, GroupState> {
    let groups = this.state.rules[rule.id];
    if (!groups) {
      groups = {};
      this.state.rules[rule.id] = groups;
    }
    return groups;
  }

  private update(
    rule: SigmaCorrelationRule,
    key: string,
    group: JsonValue[],
    positions: number[],
    value: string | undefined,
    time: number,
    ref: JsonValue,
  ): CorrelationMatch | undefined {
    const groups = this.groups(rule);
    if (rule.correlationType === "temporal_ordered")
      return this.updateOrdered(rule, groups, key, group, positions, time, ref);
    const entry: Entry = { t: time, ref, rules: positions, ...(value !== undefined ? { value } : {}) };
    if (judgedAtWindowEnd(rule)) {
      let state = groups[key];
      let closed: CorrelationMatch | undefined;
      if (state && time > (state.windowStart ?? time) + rule.timespanMs) {
        closed = this.judge(rule, state);
        state = undefined;
      }
      if (!state) {
        state = { group, windowStart: time, entries: [] };
        groups[key] = state;
        this.nextWindowEnd = Math.min(this.nextWindowEnd, time + rule.timespanMs);
      }
      insertInTimeOrder(state.entries!, entry);
      return closed;
    }
    const state = groups[key] ?? { group, entries: [] };
    groups[key] = state;
    const entries = state.entries!;
    insertInTimeOrder(entries, entry);
    const horizon = time - rule.timespanMs;
    let expired = 0;
    while (expired < entries.length && entries[expired]!.t < horizon) expired++;
    if (expired > 0) entries.splice(0, expired);
    const match = this.judge(rule, state);
    if (match) delete groups[key];
    return match;
  }

  private updateOrdered(
    rule: SigmaCorrelationRule,
    groups: Record<string, GroupState>,
    key: string,
    group: JsonValue[],
    positions: number[],
    time: number,
    ref: JsonValue,
  ): CorrelationMatch | undefined {
    const steps = rule.rules.length;
    const state = groups[key] ?? { group, partials: new Array(steps).fill(null) };
    groups[key] = state;
    const partials = state.partials!;
    const horizon = time - rule.timespanMs;
    for (let step = 0; step < steps; step++) {
      const partial = partials[step];
      if (partial && partial.start < horizon) partials[step] = null;
    }
    // Later steps first, so one event never both starts and extends the same sequence. The
    // partial kept for a step is the one that started latest: it leaves the most time.
    for (const step of [...positions].sort((a, b) => b - a)) {
      const previous = step === 0 ? { start: time, end: time, refs: [] } : partials[step - 1];
      if (!previous) continue;
      const candidate = { start: previous.start, end: time, refs: [...previous.refs, ref] };
      const current = partials[step];
      if (!current || candidate.start >= current.start) partials[step] = candidate;
    }
    const done = partials[steps - 1];
    if (!done) return undefined;
    delete groups[key];
    return {
      ruleId: rule.id,
      rule,
      correlationType: rule.correlationType,
      group: groupRecord(rule, group),
      events: done.refs,
      value: steps,
      start: done.start,
      end: done.end,
    };
  }

  private judge(rule: SigmaCorrelationRule, state: GroupState): CorrelationMatch | undefined {
    const entries = state.entries ?? [];
    if (entries.length === 0) return undefined;
    let value: number;
    switch (rule.correlationType) {
      case "value_count":
        value = new Set(entries.map((entry) => entry.value)).size;
        break;
      case "temporal":
      case "temporal_ordered":
        value = new Set(entries.flatMap((entry) => entry.rules.map((position) => rule.rules[position]!.id)))
          .size;
        break;
      default:
        value = entries.length;
    }
    if (!conditionHolds(rule.condition, value)) return undefined;
    return {
      ruleId: rule.id,
      rule,
      correlationType: rule.correlationType,
      group: groupRecord(rule, state.group),
      events: entries.map((entry) => entry.ref),
      value,
      start: entries[0]!.t,
      end: entries[entries.length - 1]!.t,
    };
  }

  private closeWindows(time: number, all: boolean): CorrelationMatch[] {
    const matches: CorrelationMatch[] = [];
    for (const rule of this.rules) {
      if (!judgedAtWindowEnd(rule)) continue;
      const groups = this.state.rules[rule.id];
      if (!groups) continue;
      for (const [key, state] of Object.entries(groups)) {
        if (all || time > (state.windowStart ?? 0) + rule.timespanMs) {
          const match = this.judge(rule, state);
          if (match) matches.push(match);
          delete groups[key];
        }
      }
    }
    this.nextWindowEnd = this.computeNextWindowEnd();
    return matches.sort((a, b) => a.end - b.end);
  }

  private computeNextWindowEnd(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const rule of this.rules) {
      if (!judgedAtWindowEnd(rule)) continue;
      for (const state of Object.values(this.state.rules[rule.id] ?? {})) {
        next = Math.min(next, (state.windowStart ?? 0) + rule.timespanMs);
      }
    }
    return next;
  }
}

function insertInTimeOrder(entries: Entry[], entry: Entry): void {
  let index = entries.length;
  while (index > 0 && entries[index - 1]!.t > entry.t) index--;
  entries.splice(index, 0, entry);
}

function groupRecord(rule: SigmaCorrelationRule, values: readonly JsonValue[]): Record<string, JsonValue> {
  const record: Record<string, JsonValue> = {};
  rule.groupBy.forEach((name, index) => {
    record[name] = values[index] ?? null;
  });
  return record;
}
