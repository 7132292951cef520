import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ESCALATION_POLICY,
  DEFAULT_URGENCY_MATRIX,
  loadEscalationPolicy,
  loadUrgencyMatrix,
  parseEscalationPolicy,
  parseUrgencyMatrix,
} from "./policy.ts";
import { PolicyFileError } from "./yaml-document.ts";

const examples = new URL("../../../examples/incidents/", import.meta.url);
const urgencyPath = new URL("urgency.yaml", examples).pathname;
const escalationPath = new URL("escalation.yaml", examples).pathname;

function problemsOf(parse: () => unknown): string[] {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyFileError);
    return (error as PolicyFileError).message
      .split("\n")
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error("expected the document to be refused");
}

describe("the example policy files", () => {
  it("are the built-in defaults", async () => {
    expect(await loadUrgencyMatrix(urgencyPath)).toEqual(DEFAULT_URGENCY_MATRIX);
    expect(await loadEscalationPolicy(escalationPath)).toEqual(DEFAULT_ESCALATION_POLICY);
  });
});

describe("bad urgency matrices", () => {
  it("names file, line, column, key and what was expected for wrong values", () => {
    const text = [
      "version: 1",
      "matrix:",
      "  critical: { critical: critical, high: critical, medium: high, low: medium, informational: low }",
      "  high: { critical: urgent, high: high, medium: high, low: medium, informational: low }",
      "  medium: { critical: high, high: high, medium: medium, low: low }",
      "  low: { critical: high, high: medium, medium: low, low: low, informational: low, extra: low }",
    ].join("\n");
    expect(problemsOf(() => parseUrgencyMatrix(text, "u.yaml"))).toEqual([
      "u.yaml:4:21: matrix.high.critical: expected one of critical|high|medium|low",
      "u.yaml:5:11: matrix.medium.informational: expected one of critical|high|medium|low",
      "u.yaml:6:83: matrix.low: unexpected field extra",
    ]);
  });

  it("refuses a missing tier, a wrong version and wrong types", () => {
    expect(problemsOf(() => parseUrgencyMatrix("version: 2\nmatrix: []\n", "u.yaml"))).toEqual([
      "u.yaml:1:10: version: expected 1 (the only urgency-matrix format version)",
      "u.yaml:2:9: matrix: expected a mapping of every priority tier (critical, high, medium, low) to a row",
    ]);
    expect(problemsOf(() => parseUrgencyMatrix("- a\n- b\n", "u.yaml"))[0]).toBe(
      "u.yaml:1:1: (root): expected an urgency-matrix mapping (version, matrix)",
    );
    expect(problemsOf(() => parseUrgencyMatrix("", "u.yaml"))[0]).toBe(
      "u.yaml: (root): expected an urgency-matrix mapping (version, matrix)",
    );
  });

  it("refuses malformed and truncated YAML with the position", () => {
    expect(problemsOf(() => parseUrgencyMatrix("version: 1\nmatrix: { critical: {\n", "u.yaml"))[0]).toMatch(
      /^u\.yaml:3:1: \(document\): /,
    );
    expect(problemsOf(() => parseUrgencyMatrix("version: 1\n  matrix: x\n bad", "u.yaml"))[0]).toMatch(
      /^u\.yaml:\d+:\d+: \(document\): /,
    );
    expect(problemsOf(() => parseUrgencyMatrix("version: 1\nversion: 1\n", "u.yaml"))[0]).toMatch(
      /^u\.yaml:2:1: \(document\): Map keys must be unique/,
    );
  });
});

describe("bad escalation policies", () => {
  const valid = () => readFile(escalationPath, "utf8");

  it("names bad durations, out-of-order levels, levels with gaps and bad start rules", async () => {
    const text = (await valid())
      .replace("critical: { 1: 0m, 2: 1h, 3: 4h }", "critical: { 1: 0m, 2: 5h, 3: 4h }")
      .replace("low: { 1: 1d }", "low: { 2: 1d }")
      .replace("  high: 3d", "  high: soon")
      .replace("    level: 1\n", "    level: 4\n")
      .replace("when: { known_exploited: true }", "when: {}");
    expect(problemsOf(() => parseEscalationPolicy(text, "e.yaml"))).toEqual([
      "e.yaml:14:9: sla.high: expected a duration like 30m, 4h, 1d or 1h30m, at most 90d",
      "e.yaml:24:32: ladder.critical.3: level 3 before the level below it",
      "e.yaml:27:13: ladder.low.2: level 2 without the levels below it",
      "e.yaml:35:12: start[0].level: expected a level 1, 2 or 3",
      "e.yaml:37:11: start[1].when: expected at least one condition",
    ]);
  });

  it("refuses wrong types and missing keys", () => {
    expect(
      problemsOf(() =>
        parseEscalationPolicy("version: 1\ndry_run: yes please\nsla: 4h\nladder: {}\nstart: {}\n", "e.yaml"),
      ),
    ).toEqual([
      // A missing key is reported at the mapping that lacks it.
      "e.yaml:1:1: unowned_organisation: expected an organisation name",
      "e.yaml:2:10: dry_run: expected true or false",
      "e.yaml:3:6: sla: expected a mapping of every urgency (critical, high, medium, low) to a duration",
      "e.yaml:4:9: ladder.critical: expected a mapping of levels (1, 2, 3) to the time after the clock starts",
      "e.yaml:4:9: ladder.high: expected a mapping of levels (1, 2, 3) to the time after the clock starts",
      "e.yaml:4:9: ladder.medium: expected a mapping of levels (1, 2, 3) to the time after the clock starts",
      "e.yaml:4:9: ladder.low: expected a mapping of levels (1, 2, 3) to the time after the clock starts",
      "e.yaml:5:8: start: expected a list of start rules",
    ]);
  });

  it("refuses hostile documents: prototype keys, alias bombs, deep nesting, huge files", () => {
    expect(
      problemsOf(() => parseEscalationPolicy("version: 1\n__proto__: { polluted: true }\n", "e.yaml")),
    ).toEqual(["e.yaml:2:1: __proto__: the key __proto__ is not allowed"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    expect(problemsOf(() => parseEscalationPolicy(bomb, "e.yaml"))[0]).toMatch(/^e\.yaml: \(document\): /);
    const deep = `${"[".repeat(40)}${"]".repeat(40)}`;
    expect(problemsOf(() => parseEscalationPolicy(deep, "e.yaml"))).toEqual([
      "e.yaml: (root): nested deeper than 16 levels",
    ]);
    expect(problemsOf(() => parseEscalationPolicy(`# ${"x".repeat(300_000)}`, "e.yaml"))).toEqual([
      "e.yaml: (document): larger than 262144 bytes",
    ]);
    expect(
      problemsOf(() => parseEscalationPolicy("version: !!js/function 'return 1'\n", "e.yaml")).length,
    ).toBeGreaterThan(0);
  });

  it("loads a file and reports a missing one as the file system's error", async () => {
    await expect(loadEscalationPolicy("/nonexistent/escalation.yaml")).rejects.toThrow(/ENOENT/);
  });
});
