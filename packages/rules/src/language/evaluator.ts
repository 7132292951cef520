/**
 * The evaluation driver the engine and the pack test harness share: it calls the rules listening to
 * an event's kind, resolves lookups once per event, catches a rule that throws (reported with the
 * rule and event ids, so the engine can dead-letter the event, while the other rules still run),
 * validates findings, and counts what correlation had to drop.
 */
import { FindingV1 } from "@vigil/schema";
import type { CompiledRule, EventKind, ReferenceTables, RuleEvent } from "../model.ts";
import { compileWalk } from "./accessor.ts";
import type { DeclarativeRule } from "./compile.ts";
import type { Guard } from "./conditions.ts";
import { type CounterName, counterNames, type RunContext } from "./runtime.ts";
import { EventScope } from "./scope.ts";
import { MemoryStateStore, type RuleStateStore } from "./state.ts";

export interface RuleFailure {
  rule: string;
  phase: "evaluate" | "advance";
  /** The event being judged (evaluate only). */
  event?: { id: string; kind: EventKind; topic: string; key: string };
  message: string;
  error: unknown;
}

export interface EvaluationResult {
  findings: FindingV1[];
  /** Rules that threw or produced an invalid finding; the other rules' findings are still there. */
  errors: RuleFailure[];
}

export type RuleCounters = Record<CounterName | "findings" | "errors", number>;

export interface EvaluatorCounters extends RuleCounters {
  events: number;
  rules: Record<string, RuleCounters>;
}

export interface EvaluatorOptions<S extends RuleStateStore> {
  rules: readonly CompiledRule[];
  tables: ReferenceTables;
  /** Default: a fresh MemoryStateStore. */
  state?: S;
  /** Check every finding against FindingV1 (default true): a rule cannot emit what consumers would reject. */
  validateFindings?: boolean;
}

export interface Evaluator<S extends RuleStateStore = MemoryStateStore> {
  readonly rules: readonly CompiledRule[];
  readonly tables: ReferenceTables;
  readonly state: S;
  /** Runs the rules listening to the event's kind. */
  evaluate(event: RuleEvent): EvaluationResult;
  /** Event time moved on to `watermark` (epoch ms): closes windows, reports absences. Idempotent. */
  advance(watermark: number): EvaluationResult;
  counters(): EvaluatorCounters;
}

function emptyCounters(): RuleCounters {
  return { late_dropped: 0, suppressed: 0, state_capped: 0, unkeyed: 0, findings: 0, errors: 0 };
}

export class DuplicateRuleError extends Error {
  override name = "DuplicateRuleError";
}

export function createEvaluator<S extends RuleStateStore = MemoryStateStore>(
  options: EvaluatorOptions<S>,
): Evaluator<S> {
  const state = (options.state ?? new MemoryStateStore()) as S;
  const { tables } = options;
  const validate = options.validateFindings ?? true;
  const rules = [...options.rules];
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id)) throw new DuplicateRuleError(`two rules have the id ${rule.id}`);
    ids.add(rule.id);
  }
  const byKind = new Map<EventKind, Dispatch>();
  for (const kind of new Set(rules.flatMap((rule) => rule.on)))
    byKind.set(kind, dispatchFor(rules.filter((rule) => rule.on.includes(kind))));
  const timed = rules.filter((rule) => rule.advance !== undefined);

  const perRule = new Map<string, RuleCounters>(rules.map((rule) => [rule.id, emptyCounters()]));
  let events = 0;
  const count = (rule: string, counter: CounterName | "findings" | "errors", amount = 1) => {
    let counters = perRule.get(rule);
    if (!counters) {
      counters = emptyCounters();
      perRule.set(rule, counters);
    }
    counters[counter] += amount;
  };

  const collect = (
    rule: CompiledRule,
    produced: FindingV1[],
    result: EvaluationResult,
    phase: RuleFailure["phase"],
    event: RuleEvent | undefined,
  ) => {
    for (const finding of produced) {
      if (validate) {
        const checked = FindingV1.safeParse(finding);
        if (!checked.success) {
          count(rule.id, "errors");
          result.errors.push(
            failure(
              rule,
              phase,
              event,
              new Error(
                `invalid finding: ${checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
              ),
            ),
          );
          continue;
        }
      }
      count(rule.id, "findings");
      result.findings.push(finding);
    }
  };

  return {
    rules,
    tables,
    state,
    evaluate(event) {
      events++;
      const result: EvaluationResult = { findings: [], errors: [] };
      const dispatch = byKind.get(event.kind);
      if (!dispatch) return result;
      const listening = dispatch.candidates(event);
      const context: RunContext = { tables, state, scope: new EventScope(event, tables), count };
      for (const rule of listening) {
        let produced: FindingV1[];
        try {
          produced = rule.evaluate(event, context);
        } catch (error) {
          count(rule.id, "errors");
          result.errors.push(failure(rule, "evaluate", event, error));
          continue;
        }
        if (Array.isArray(produced)) collect(rule, produced, result, "evaluate", event);
        else {
          count(rule.id, "errors");
          result.errors.push(
            failure(rule, "evaluate", event, new Error("evaluate did not return a list of findings")),
          );
        }
      }
      return result;
    },
    advance(watermark) {
      const result: EvaluationResult = { findings: [], errors: [] };
      const context: RunContext = { tables, state, count };
      for (const rule of timed) {
        try {
          collect(rule, rule.advance!(watermark, context), result, "advance", undefined);
        } catch (error) {
          count(rule.id, "errors");
          result.errors.push(failure(rule, "advance", undefined, error));
        }
      }
      return result;
    },
    counters() {
      const total: EvaluatorCounters = { ...emptyCounters(), events, rules: {} };
      for (const [rule, counters] of perRule) {
        total.rules[rule] = { ...counters };
        for (const name of [...counterNames, "findings", "errors"] as const) total[name] += counters[name];
      }
      return total;
    },
  };
}

interface Dispatch {
  /** The rules to call for an event, in rule order: unguarded rules and the guarded ones whose guard the event meets. */
  candidates(event: RuleEvent): readonly CompiledRule[];
}

interface IndexedRule {
  rule: CompiledRule;
  order: number;
  /** The last event (by sequence number) that made it a candidate: dedupes hits through several values. */
  seen: number;
}

/**
 * Rules of one kind, indexed on one guard each (the guard whose field has the most distinct values
 * across the rules, so the buckets are small). An event reads each indexed field once and looks
 * its value up; only the rules in the buckets it hits, and the rules without guards, are called.
 */
function dispatchFor(rules: readonly CompiledRule[]): Dispatch {
  const guardsOf = (rule: CompiledRule): readonly Guard[] => (rule as Partial<DeclarativeRule>).guards ?? [];
  const cardinality = new Map<string, Set<string>>();
  for (const rule of rules)
    for (const guard of guardsOf(rule)) {
      const values = cardinality.get(guard.path) ?? new Set<string>();
      for (const value of guard.values) values.add(String(value));
      cardinality.set(guard.path, values);
    }
  const always: IndexedRule[] = [];
  const indexes = new Map<
    string,
    {
      walk: (value: unknown) => unknown;
      texts: Map<string, IndexedRule[]>;
      numbers: Map<number, IndexedRule[]>;
    }
  >();
  rules.forEach((rule, order) => {
    const entry: IndexedRule = { rule, order, seen: -1 };
    let best: Guard | undefined;
    for (const guard of guardsOf(rule))
      if (!best || cardinality.get(guard.path)!.size > cardinality.get(best.path)!.size) best = guard;
    if (!best) {
      always.push(entry);
      return;
    }
    let index = indexes.get(best.path);
    if (!index) {
      index = { walk: compileWalk(best.segments), texts: new Map(), numbers: new Map() };
      indexes.set(best.path, index);
    }
    for (const value of best.values) {
      // The same equality as the condition's: by text, numbers also as numbers.
      const text = String(value);
      index.texts.set(text, [...(index.texts.get(text) ?? []), entry]);
      const number =
        typeof value === "number"
          ? value
          : typeof value === "string" && value.trim() !== ""
            ? Number(value)
            : Number.NaN;
      if (!Number.isNaN(number)) index.numbers.set(number, [...(index.numbers.get(number) ?? []), entry]);
    }
  });
  if (indexes.size === 0) return { candidates: () => rules };
  const allIndexes = [...indexes.values()];
  const alwaysRules = always.map((entry) => entry.rule);
  let sequence = 0;
  return {
    candidates(event) {
      const mark = sequence++;
      const found: IndexedRule[] = [];
      const add = (bucket: IndexedRule[] | undefined) => {
        if (!bucket) return;
        for (const entry of bucket)
          if (entry.seen !== mark) {
            entry.seen = mark;
            found.push(entry);
          }
      };
      const lookup = (index: (typeof allIndexes)[number], value: unknown) => {
        if (typeof value === "string") add(index.texts.get(value));
        else if (typeof value === "number") add(index.numbers.get(value));
        else if (typeof value === "boolean") add(index.texts.get(String(value)));
      };
      for (const index of allIndexes) {
        const value = index.walk(event.value);
        if (Array.isArray(value)) for (const item of value) lookup(index, item);
        else lookup(index, value);
      }
      if (found.length === 0) return alwaysRules;
      for (const entry of always) found.push(entry);
      found.sort((a, b) => a.order - b.order);
      return found.map((entry) => entry.rule);
    },
  };
}

function failure(
  rule: CompiledRule,
  phase: RuleFailure["phase"],
  event: RuleEvent | undefined,
  error: unknown,
): RuleFailure {
  const message = error instanceof Error ? error.message : String(error);
  return {
    rule: rule.id,
    phase,
    ...(event ? { event: { id: event.id, kind: event.kind, topic: event.topic, key: event.key } } : {}),
    message: event
      ? `rule ${rule.id} failed on ${event.kind} event ${event.id}: ${message}`
      : `rule ${rule.id} failed to advance: ${message}`,
    error,
  };
}
