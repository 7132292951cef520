/** Matching events against a rule set: detection rules, then the correlations fed by them. */
import {
  type CorrelationMatch,
  type CorrelatorOptions,
  type CorrelatorState,
  type JsonValue,
  type SigmaCorrelationRule,
  SigmaCorrelator,
} from "./correlation.ts";
import { type SigmaEvent, startEvaluation } from "./fields.ts";
import type { SigmaRule } from "./rule.ts";

/** The detection rules an event matches (every rule, whether it generates or not). */
export function matchingRules(rules: readonly SigmaRule[], event: SigmaEvent): SigmaRule[] {
  startEvaluation();
  const matched: SigmaRule[] = [];
  for (const rule of rules) if (rule.test(event)) matched.push(rule);
  return matched;
}

export interface SigmaEngineResult {
  /** Detection rules that matched and report on their own (`generate`). */
  matches: SigmaRule[];
  correlations: CorrelationMatch[];
}

export interface SigmaEngineOptions extends CorrelatorOptions {}

/**
 * Detection rules and correlation rules together: each event is matched against every rule,
 * and the matches of rules a correlation refers to feed the correlator.
 */
export class SigmaEngine {
  readonly rules: readonly SigmaRule[];
  readonly correlator: SigmaCorrelator;

  constructor(
    ruleSet: { rules: readonly SigmaRule[]; correlations?: readonly SigmaCorrelationRule[] },
    options: SigmaEngineOptions = {},
  ) {
    this.rules = ruleSet.rules;
    this.correlator = new SigmaCorrelator(ruleSet.correlations ?? [], options);
  }

  /** `ref` identifies the event in correlation matches (an index, an id). */
  process(event: SigmaEvent, ref: JsonValue = null): SigmaEngineResult {
    const matched = matchingRules(this.rules, event);
    const correlations =
      this.correlator.rules.length > 0
        ? this.correlator.process(
            event,
            matched.map((rule) => rule.id),
            ref,
          )
        : [];
    return { matches: matched.filter((rule) => rule.generate), correlations };
  }

  advance(time: number): CorrelationMatch[] {
    return this.correlator.advance(time);
  }

  flush(): CorrelationMatch[] {
    return this.correlator.flush();
  }

  snapshot(): CorrelatorState {
    return this.correlator.snapshot();
  }
}
