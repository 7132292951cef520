/**
 * TypeScript rules, for what data cannot say. `defineRule` gives a typed `evaluate` (the event's
 * value is typed by the kinds in `on`) and a context with the helpers YAML rules use inside, so
 * both kinds of rule produce findings of the same shape.
 */
import type { FindingV1 } from "@vigil/schema";
import { eventAssetQuery } from "../events.ts";
import {
  type CompiledRule,
  type EvaluationContext,
  type EventKind,
  eventKinds,
  type ResolvedAsset,
  type RuleEvent,
  type StateStore,
} from "../model.ts";
import { RuleCompileError, type RuleProblem } from "./errors.ts";
import { buildFinding, type FindingInput } from "./findings.ts";
import type { RunContext } from "./runtime.ts";
import { ruleIdPattern } from "./schema.ts";
import type { AssetQuery } from "./scope.ts";

export interface TypedRuleContext extends EvaluationContext {
  readonly rule: { id: string; name: string; version: number };
  /** The asset an event is about (or `query`'s), resolved once per event across rules. */
  asset(event: RuleEvent, query?: AssetQuery): ResolvedAsset;
  /** `buildFinding` with this rule filled in. */
  finding(input: Omit<FindingInput, "rule">): FindingV1;
  /** The rule's own keyed state: `get("x")` reads `<rule id>/x`. Values must be JSON. */
  readonly state: StateStore;
}

export interface RuleDefinition<K extends EventKind> {
  /** Stable, dotted, lower case (`acme.payroll.after-hours`). */
  id: string;
  name: string;
  /** Bump when the judgement changes: findings get new ids. */
  version: number;
  description: string;
  on: readonly K[];
  evaluate(event: RuleEvent<K>, context: TypedRuleContext): FindingV1[];
  /** Event time moved on (see CompiledRule.advance). Must be idempotent for the same watermark. */
  advance?(watermark: number, context: TypedRuleContext): FindingV1[];
}

function scopedState(state: StateStore, prefix: string): StateStore {
  return {
    get: (key) => state.get(prefix + key),
    set: (key, value) => state.set(prefix + key, value),
  };
}

/** Validates the identity of a TypeScript rule and wraps it as a CompiledRule. Throws RuleCompileError. */
export function defineRule<const K extends EventKind>(definition: RuleDefinition<K>): CompiledRule {
  const problems: RuleProblem[] = [];
  const source = "typescript";
  const rule = typeof definition.id === "string" ? definition.id : undefined;
  const problem = (path: string, message: string) =>
    problems.push({ source, ...(rule !== undefined ? { rule } : {}), path, message });
  if (typeof definition.id !== "string" || !ruleIdPattern.test(definition.id) || definition.id.length > 128)
    problem("id", "expected a dotted lower-case id like acme.payroll.after-hours");
  if (typeof definition.name !== "string" || definition.name.length === 0) problem("name", "expected a name");
  if (!Number.isInteger(definition.version) || definition.version < 1)
    problem("version", "expected a whole number >= 1");
  if (typeof definition.description !== "string") problem("description", "expected a description");
  if (!Array.isArray(definition.on) || definition.on.length === 0)
    problem("on", "expected at least one event kind");
  else
    definition.on.forEach((kind, index) => {
      if (!(eventKinds as readonly string[]).includes(kind))
        problem(`on[${index}]`, `expected an event kind: ${eventKinds.join(", ")}`);
    });
  if (typeof definition.evaluate !== "function") problem("evaluate", "expected a function");
  if (problems.length > 0) throw new RuleCompileError(problems);

  const meta = Object.freeze({ id: definition.id, name: definition.name, version: definition.version });
  const prefix = `${definition.id}/`;
  const contextFor = (context: RunContext): TypedRuleContext => ({
    tables: context.tables,
    state: scopedState(context.state, prefix),
    rule: meta,
    asset(event, query) {
      if (context.scope && context.scope.event === event)
        return context.scope.asset(query ?? context.scope.defaultQuery);
      return context.tables.resolveAsset(query ?? eventAssetQuery(event) ?? { id: event.key });
    },
    finding: (input) => buildFinding({ ...input, rule: meta }),
  });
  const { evaluate, advance } = definition;
  const compiled: CompiledRule = {
    id: definition.id,
    name: definition.name,
    version: definition.version,
    description: definition.description,
    on: Object.freeze([...new Set(definition.on)]),
    evaluate: (event, context) => evaluate(event as RuleEvent<K>, contextFor(context)),
    ...(advance
      ? {
          advance: (watermark: number, context: EvaluationContext) => advance(watermark, contextFor(context)),
        }
      : {}),
  };
  return Object.freeze(compiled);
}
