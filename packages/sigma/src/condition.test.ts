import { describe, expect, it } from "vitest";
import { ConditionSyntaxError, compileCondition, parseCondition } from "./condition.ts";
import type { EventPredicate } from "./detection.ts";
import { SigmaError } from "./errors.ts";
import { compileSigmaRule } from "./rule.ts";

/** Identifiers that match when the event names them: `{ a: true }` matches identifier `a`. */
function identifiers(...names: string[]): Map<string, EventPredicate> {
  return new Map(names.map((name) => [name, (event) => event[name] === true]));
}

function evaluate(condition: string, names: string[], truthy: string[]): boolean {
  const predicate = compileCondition(parseCondition(condition), identifiers(...names));
  return predicate(Object.fromEntries(truthy.map((name) => [name, true])));
}

/** Every assignment of the identifiers, as the list of those that are true. */
function assignments(names: readonly string[]): string[][] {
  return Array.from({ length: 2 ** names.length }, (_, mask) => names.filter((_, bit) => (mask >> bit) & 1));
}

describe("condition precedence", () => {
  it("not binds tighter than and, and tighter than or", () => {
    for (const truthy of assignments(["a", "b", "c"])) {
      const [a, b, c] = ["a", "b", "c"].map((name) => truthy.includes(name));
      expect(evaluate("a or b and not c", ["a", "b", "c"], truthy)).toBe(a || (b && !c));
      expect(evaluate("not a and b or c", ["a", "b", "c"], truthy)).toBe((!a && b) || c);
      expect(evaluate("not (a or b) and c", ["a", "b", "c"], truthy)).toBe(!(a || b) && c);
      expect(evaluate("a and (b or c)", ["a", "b", "c"], truthy)).toBe(a && (b || c));
      expect(evaluate("not not a", ["a", "b", "c"], truthy)).toBe(a);
    }
  });

  it("parses to the expected tree", () => {
    expect(parseCondition("a or b and not c")).toEqual({
      type: "or",
      operands: [
        { type: "identifier", name: "a" },
        {
          type: "and",
          operands: [
            { type: "identifier", name: "b" },
            { type: "not", operand: { type: "identifier", name: "c" } },
          ],
        },
      ],
    });
  });

  it("accepts upper-case operators", () => {
    expect(evaluate("a AND NOT b", ["a", "b"], ["a"])).toBe(true);
  });
});

describe("x of", () => {
  const names = ["selection_a", "selection_b", "filter_x", "_hidden"];

  it("1 of / all of a pattern", () => {
    expect(evaluate("1 of selection_*", names, ["selection_b"])).toBe(true);
    expect(evaluate("all of selection_*", names, ["selection_b"])).toBe(false);
    expect(evaluate("all of selection_*", names, ["selection_a", "selection_b"])).toBe(true);
    expect(
      evaluate("all of selection_* and not 1 of filter_*", names, ["selection_a", "selection_b", "filter_x"]),
    ).toBe(false);
  });

  it("them covers every identifier except those starting with an underscore", () => {
    expect(evaluate("all of them", names, ["selection_a", "selection_b", "filter_x"])).toBe(true);
    expect(evaluate("1 of them", names, ["_hidden"])).toBe(false);
    expect(evaluate("1 of _*", names, ["_hidden"])).toBe(true);
  });

  it("a pattern without wildcard names one identifier; a number above 1 is a minimum", () => {
    expect(evaluate("1 of filter_x", names, ["filter_x"])).toBe(true);
    expect(evaluate("2 of selection_*", names, ["selection_a"])).toBe(false);
    expect(evaluate("2 of them", names, ["selection_a", "filter_x"])).toBe(true);
  });

  it("rejects a pattern that matches nothing", () => {
    expect(() => evaluate("1 of nothing_*", names, [])).toThrow(/matches no search identifier/);
  });
});

describe("condition errors", () => {
  it.each([
    ["a and", /end of condition/],
    ["(a or b", /missing '\)'/],
    ["a b", /unexpected/],
    ["a or )", /unexpected '\)'/],
    ["3x of sel*", /expected '1' or 'all'/],
    ["1 of", /after 'of'/],
  ])("%s", (condition, message) => {
    expect(() => compileCondition(parseCondition(condition), identifiers("a", "b"))).toThrow(message);
  });

  it("names unknown identifiers", () => {
    expect(() => evaluate("a and missing", ["a"], [])).toThrow(/unknown search identifier 'missing'/);
  });

  it("marks Sigma v1 aggregations", () => {
    try {
      parseCondition("selection | count() by host > 5");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConditionSyntaxError);
      expect((error as ConditionSyntaxError).aggregation).toBe(true);
    }
  });

  it("reports them as rule errors with the key", () => {
    const compile = (condition: unknown) =>
      compileSigmaRule(
        { title: "t", id: "r", logsource: {}, detection: { sel: { a: 1 }, condition } },
        { file: "f.yml" },
      );
    expect(() => compile("sel and nope")).toThrow(SigmaError);
    try {
      compile("sel | count() > 3");
      expect.unreachable();
    } catch (error) {
      expect((error as SigmaError).code).toBe("aggregation-unsupported");
      expect((error as SigmaError).key).toBe("detection.condition");
    }
    // A list of conditions (deprecated) means any of them.
    const rule = compileSigmaRule(
      { title: "t", id: "r", logsource: {}, detection: { a: { x: 1 }, b: { y: 1 }, condition: ["a", "b"] } },
      {},
    );
    expect([rule.match({ x: 1 }), rule.match({ y: 1 }), rule.match({ z: 1 })]).toEqual([true, true, false]);
  });
});
