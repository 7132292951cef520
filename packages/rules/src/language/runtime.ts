/** What compiled rules share at run time: the context the evaluator passes, counters, emitting findings. */
import type { EvidenceRef, FindingV1 } from "@vigil/schema";
import type { EvaluationContext, RuleEvent } from "../model.ts";
import type { EventScope, Frame } from "./scope.ts";

/** Counted, never silent: the evaluator exposes them per rule. */
export type CounterName = "late_dropped" | "suppressed" | "state_capped" | "unkeyed";
export const counterNames: readonly CounterName[] = ["late_dropped", "suppressed", "state_capped", "unkeyed"];

/**
 * The evaluator's context: the contract's EvaluationContext plus the event's shared scope (lookups
 * resolved once per event for all rules) and a counter sink. Both are optional, so a compiled rule
 * also runs with a bare EvaluationContext.
 */
export interface RunContext extends EvaluationContext {
  scope?: EventScope;
  count?: (rule: string, counter: CounterName, amount?: number) => void;
}

export interface EmitRequest {
  frame: Frame;
  evidence: (RuleEvent | EvidenceRef)[];
  /** Conditions that held, in words (the rule's where and the correlation). */
  conditions: string[];
  time?: number;
  id?: string;
}

/** Builds the finding of a rule for a frame; undefined when suppression swallowed it. */
export type Emit = (request: EmitRequest, context: RunContext) => FindingV1 | undefined;
