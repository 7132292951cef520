import type { CompiledRule } from "./contract.ts";

/**
 * Rule-level exceptions (MISSION.md 2: "exceptions name the asset, the rule or baseline item, an
 * owner, a reason and an expiry") for rules that cannot ask for them themselves: the declarative
 * rules' conditions see baseline items' exceptions (`baseline.deltas[].excepted`) but not an
 * exception naming the rule. A finding whose asset has an active exception for the rule at the
 * finding's time is dropped; once the exception expires the rule reports again.
 */
export function honourRuleExceptions(rule: CompiledRule): CompiledRule {
  const keep = (
    findings: ReturnType<CompiledRule["evaluate"]>,
    context: Parameters<CompiledRule["evaluate"]>[1],
  ) =>
    findings.filter(
      (finding) =>
        context.tables.exception(finding.asset.id, rule.id, Date.parse(finding.time)) === undefined,
    );
  const advance = rule.advance;
  // Spread first: what the rule carries besides the contract (tags, severity, correlation kind) stays listed.
  return {
    ...rule,
    evaluate: (event, context) => keep(rule.evaluate(event, context), context),
    ...(advance
      ? { advance: (watermark, context) => keep(advance.call(rule, watermark, context), context) }
      : {}),
  };
}
