import { describe, expect, it } from "vitest";
import { ruleEvent } from "../events.ts";
import { buildIdsAlert } from "../testing.ts";
import { RuleCompileError, type RuleProblem } from "./errors.ts";
import { createEvaluator } from "./evaluator.ts";
import { compileRules } from "./parse.ts";
import { FakeTables, firewallEvent } from "./test-support.ts";

function problems(text: string): RuleProblem[] {
  try {
    compileRules(text, "rules/test.yaml");
  } catch (error) {
    if (error instanceof RuleCompileError) return error.problems;
    throw error;
  }
  throw new Error("expected the rules not to compile");
}

const valid = `id: fw.denied
name: Denied
version: 1
description: d
on: firewall.event
where:
  action: Denied
severity: low
title: "Denied {{ src_endpoint.ip }}"
`;

describe("rule files", () => {
  it("compiles one rule per YAML document", () => {
    const rules = compileRules(
      `${valid}---\n${valid.replace("fw.denied", "fw.denied-again")}---\n`,
      "rules/test.yaml",
    );
    expect(rules.map((rule) => rule.id)).toEqual(["fw.denied", "fw.denied-again"]);
    expect(rules[0]!.on).toEqual(["firewall.event"]);
  });

  it("an unknown key is an error naming the file, line:column, rule id and path", () => {
    const text = valid.replace("severity: low", "severity: low\nseverty: high");
    expect(problems(text)).toEqual([
      {
        source: "rules/test.yaml",
        rule: "fw.denied",
        path: "severty",
        line: 9,
        column: 1,
        message: 'unknown key "severty"',
      },
    ]);
    const nested = valid.replace(
      "severity: low",
      "severity: low\nsuppress: { window: 1h, by: [asset.id], extra: 1 }",
    );
    expect(problems(nested)).toMatchObject([
      { path: "suppress.extra", line: 9, column: 41, message: 'unknown key "extra"' },
    ]);
    const error = (() => {
      try {
        compileRules(text, "rules/test.yaml");
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toBe('rules/test.yaml:9:1: rule fw.denied: severty: unknown key "severty"');
  });

  it("every problem of a rule is reported at once, with the line of the offending value", () => {
    const text = `id: fw.bad
name: Bad
version: 0
description: d
on: [firewall.event, dns.query]
where:
  dst_endpoint.port: { gte: "x" }
severity: urgent
title: t
attack: [T99]
`;
    expect(
      problems(text).map(
        (problem) => `${problem.line}:${problem.column} ${problem.path}: ${problem.message}`,
      ),
    ).toEqual([
      "3:10 version: expected 1 or more",
      "5:22 on[1]: expected an event kind: ids.alert, firewall.event, inventory.host, inventory.audit, updates.agent, advisory",
      "8:11 severity: expected a severity: informational, low, medium, high, critical",
      "10:10 attack[0]: expected an ATT&CK id like T1190, T1059.001 or TA0001",
    ]);
  });

  it("malformed, truncated and mistyped YAML is an error, never a crash", () => {
    expect(problems("id: [unclosed\nname: x")[0]).toMatchObject({ source: "rules/test.yaml", line: 2 });
    expect(problems(valid.slice(0, 60))[0]!.message).toMatch(/expected/);
    expect(problems("just a string")).toMatchObject([
      { path: "", message: expect.stringMatching(/expected object/i) },
    ]);
    expect(problems("- a\n- b")[0]!.message).toMatch(/expected object/i);
    expect(problems(valid.replace("severity: low", "severity: { from: asset.tier }"))).toMatchObject([
      {
        path: "severity.default",
        message: "expected a severity: informational, low, medium, high, critical",
      },
    ]);
    expect(problems(valid.replace("version: 1", "version: one"))).toMatchObject([
      { path: "version", message: "expected a version number" },
    ]);
    expect(problems(valid.replace("id: fw.denied", "id: FW Denied"))[0]!.message).toMatch(
      /dotted lower-case id/,
    );
    expect(problems(`${valid}id: again\n`)[0]!.message).toMatch(/unique/i);
    expect(problems(`${valid}---\n${valid}`)).toMatchObject([
      { rule: "fw.denied", path: "id", message: "duplicate rule id (also document 1)" },
    ]);
  });

  it("__proto__ keys are unknown keys, not prototype pollution", () => {
    const found = problems(valid.replace("severity: low", "severity: low\n__proto__: { polluted: true }"));
    expect(found).toMatchObject([{ path: "__proto__", message: 'unknown key "__proto__"' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const inWhere = problems(valid.replace("  action: Denied", "  __proto__: { polluted: true }"));
    expect(inWhere[0]!.message).toMatch(/"__proto__" cannot be part of a field path/);
  });

  it("limits nesting depth, rule size, template size and placeholders", () => {
    let nested = "action: Denied";
    for (let depth = 0; depth < 40; depth++) nested = `not: { ${nested} }`;
    expect(problems(valid.replace("  action: Denied", `  ${nested}`))[0]!.message).toMatch(
      /nested deeper than 32 levels/,
    );
    const deepYaml = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(problems(valid.replace("  action: Denied", `  all: ${deepYaml}`)).length).toBeGreaterThan(0);
    expect(
      problems(valid.replace('title: "Denied {{ src_endpoint.ip }}"', `title: "${"x".repeat(9000)}"`))[0]!
        .message,
    ).toMatch(/at most 8192 characters/);
    const many = Array.from({ length: 70 }, () => "{{ action }}").join(" ");
    expect(
      problems(valid.replace('title: "Denied {{ src_endpoint.ip }}"', `title: "${many}"`))[0]!.message,
    ).toMatch(/more than 64 placeholders/);
    const wide = Array.from({ length: 1001 }, (_, index) => `  - dst_endpoint.port: ${index}`).join("\n");
    expect(problems(valid.replace("  action: Denied", `  any:\n${wide}`))[0]!.message).toMatch(
      /more than 1000 conditions/,
    );
    expect(() => compileRules("x".repeat(1024 * 1024 + 1))).toThrow(/larger than/);
  });

  it("YAML alias bombs are refused", () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`;
    expect(problems(bomb)[0]!.message).toMatch(/alias/i);
  });

  it("rejects patterns re2js cannot compile, naming the rule and field", () => {
    expect(problems(valid.replace("  action: Denied", '  message: { regex: "(a)\\\\1" }'))).toMatchObject([
      {
        rule: "fw.denied",
        path: "where.message.regex",
        message: expect.stringMatching(/^re2js cannot compile \/\(a\)\\1\//),
      },
    ]);
    expect(
      problems(valid.replace("  action: Denied", '  message: { regex: "(?=lookahead)" }'))[0]!.message,
    ).toMatch(/re2js cannot compile/);
  });

  it("a hostile regex runs in linear time on long input", () => {
    const rules = compileRules(valid.replace("  action: Denied", '  message: { regex: "(a+)+$" }'));
    const evaluator = createEvaluator({ rules, tables: new FakeTables() });
    const message = `${"a".repeat(4000)}!`;
    const result = evaluator.evaluate(firewallEvent({ time: 1, message }));
    expect(result.errors).toEqual([]);
    expect(result.findings).toEqual([]);
    expect(evaluator.evaluate(firewallEvent({ time: 1, message: "a".repeat(4000) })).findings).toHaveLength(
      1,
    );
  });

  it("templates interpolate values as text only, capped, without control characters", () => {
    const rules = compileRules(
      `id: ids.hostile
name: Hostile
version: 1
description: d
on: ids.alert
severity: low
title: "{{ finding_info.title }} on {{ asset.hostname || asset.ip || 'nowhere' }}"
details: "{{ payload_printable }}|{{ missing_field_fallback || \\"fallback\\" }}"
group_key: "{{ finding_info.analytic.uid }}"
`.replace("missing_field_fallback", "http_request.user_agent"),
    );
    const hostile = "{{ constructor.constructor('return process')() }}\u0000\r\nInjected: line\u2028";
    const alert = buildIdsAlert({
      finding_info: { ...buildIdsAlert().finding_info, title: hostile.repeat(40) },
      payload_printable: hostile,
    });
    const [finding] = createEvaluator({ rules, tables: new FakeTables() }).evaluate(
      ruleEvent("ids.alert", alert, "vigil.ids.alerts", "10.20.1.10"),
    ).findings;
    expect(finding!.title.length).toBeLessThanOrEqual(300);
    expect(finding!.title).toMatch(
      /^\{\{ constructor\.constructor\('return process'\)\(\) \}\} {3}Injected: line /,
    );
    expect(
      [...finding!.title].some((character) => character.charCodeAt(0) < 32 || character === "\u2028"),
    ).toBe(false);
    // Interpolated values never bring line breaks; only the template's own text may.
    expect(finding!.description).toBe(
      "{{ constructor.constructor('return process')() }}   Injected: line |fallback",
    );
    expect(finding!.group_key).toBe("2034647");
  });

  it("template errors: unknown fields, unclosed placeholders", () => {
    expect(problems(valid.replace("{{ src_endpoint.ip }}", "{{ src.ip }}"))[0]).toMatchObject({
      path: "title",
      message: expect.stringMatching(/^unknown field "src.ip" for firewall.event/),
    });
    expect(problems(valid.replace("{{ src_endpoint.ip }}", "{{ src_endpoint.ip"))[0]!.message).toMatch(
      /unclosed "\{\{"/,
    );
    expect(problems(valid.replace("{{ src_endpoint.ip }}", "{{ correlation.count }}"))[0]!.message).toMatch(
      /unknown field "correlation.count"/,
    );
  });
});
