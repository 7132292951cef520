import { describe, expect, it } from "vitest";
import { parseEvents } from "./event-input.ts";

describe("parseEvents", () => {
  it("reads one object, or an array of objects", () => {
    expect(parseEvents('{"a": 1}').events).toEqual([{ index: 0, line: 1, event: { a: 1 } }]);
    const array = parseEvents('\n[{"a": 1}, {"a": 2}, 3]');
    expect(array.events.map((e) => e.event)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(array.problems).toEqual([{ line: 2, message: "not a JSON object: 3" }]);
  });

  it("reads JSON lines, reporting bad lines by number and keeping the rest", () => {
    const parsed = parseEvents('{"a": 1}\n\n{"a": oops}\n{"a": 3}\n"text"\n');
    expect(parsed.events.map((e) => [e.index, e.line, e.event])).toEqual([
      [0, 1, { a: 1 }],
      [1, 4, { a: 3 }],
    ]);
    expect(parsed.problems.map((p) => p.line)).toEqual([3, 5]);
    expect(parsed.problems[0]?.message).toMatch(/^invalid JSON/);
  });

  it("reads pretty-printed objects one after the other", () => {
    const text = '{\n  "a": "x}{\\"",\n  "b": [1, {"c": 2}]\n}\n{\n  "a": 2\n}\n{\n  "broken": \n}\n';
    const parsed = parseEvents(text);
    expect(parsed.events.map((e) => [e.line, e.event])).toEqual([
      [1, { a: 'x}{"', b: [1, { c: 2 }] }],
      [5, { a: 2 }],
    ]);
    expect(parsed.problems.map((p) => p.line)).toEqual([8]);
  });

  it("reports stray text between objects and a truncated last object", () => {
    const parsed = parseEvents('{\n"a": 1\n}\ngarbage\n{\n"b":');
    expect(parsed.events.map((e) => e.event)).toEqual([{ a: 1 }]);
    expect(parsed.problems.map((p) => p.line)).toEqual([4, 5]);
  });

  it("reads nothing from blank text", () => {
    expect(parseEvents(" \n")).toEqual({ events: [], problems: [] });
  });
});
