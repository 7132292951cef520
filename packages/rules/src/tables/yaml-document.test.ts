import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatPath, formatProblem, parseYamlDocument } from "./yaml-document.ts";

const Schema = z.strictObject({
  version: z.literal(1, { error: () => "expected 1" }),
  items: z
    .array(z.strictObject({ name: z.string(), size: z.number().int().max(100).optional() }))
    .default([]),
});

function problems(text: string) {
  const result = parseYamlDocument(text, Schema);
  if (result.ok) throw new Error("expected the document to be refused");
  return result.problems;
}

describe("parseYamlDocument", () => {
  it("returns the validated value", () => {
    expect(parseYamlDocument("version: 1\nitems:\n  - name: a\n", Schema)).toEqual({
      ok: true,
      value: { version: 1, items: [{ name: "a" }] },
    });
  });

  it("names the path, line and column of a wrong value and of an unknown key", () => {
    expect(
      problems("version: 1\nitems:\n  - name: a\n    size: lots\n  - name: b\n    colour: red\n"),
    ).toEqual([
      { path: "items[0].size", line: 4, column: 11, message: expect.stringMatching(/number/) },
      { path: "items[1]", line: 6, column: 5, message: "unexpected field colour" },
    ]);
  });

  it("points at the parent when a required key is missing", () => {
    expect(problems("version: 1\nitems:\n  - size: 3\n")).toEqual([
      { path: "items[0].name", line: 3, column: 5, message: expect.any(String) },
    ]);
  });

  it("reports syntax errors, truncation and duplicate keys with a position", () => {
    expect(problems("version: 1\nitems: [ {name: a\n")[0]).toMatchObject({
      path: "(document)",
      line: expect.any(Number),
    });
    expect(problems("version: 1\nversion: 1\n")[0]).toMatchObject({ path: "(document)", line: 2, column: 1 });
    expect(problems('version: 1\nitems:\n  - name: "unterminated\n')[0]?.path).toBe("(document)");
  });

  it("refuses wrong types and absurd numbers", () => {
    expect(problems("- 1\n- 2\n")[0]).toMatchObject({ path: "(root)" });
    expect(problems("version: 1\nitems:\n  - name: a\n    size: 1e400\n")[0]).toMatchObject({
      path: "items[0].size",
    });
    expect(
      problems("version: 1\nitems:\n  - name: a\n    size: 123456789012345678901234567890\n")[0],
    ).toMatchObject({
      path: "items[0].size",
    });
    expect(problems("version: 1.0000000000000001e0\nitems: 7\n").map((problem) => problem.path)).toContain(
      "items",
    );
  });

  it("refuses prototype keys wherever they are", () => {
    expect(problems("version: 1\n__proto__:\n  polluted: true\n")).toEqual([
      { path: "__proto__", line: 2, column: 1, message: "the key __proto__ is not allowed" },
    ]);
    expect(
      problems("version: 1\nitems:\n  - name: a\n    constructor: {prototype: {x: 1}}\n")[0],
    ).toMatchObject({
      path: "items[0].constructor",
      line: 4,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses deep nesting and alias bombs", () => {
    const deep = `version: 1\nitems: ${"[".repeat(200)}${"]".repeat(200)}\n`;
    expect(problems(deep)[0]?.message).toMatch(/nested deeper|depth|nest/i);
    const bomb = [
      "a: &a [x,x,x,x,x,x,x,x,x]",
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
    ].join("\n");
    expect(problems(bomb)[0]?.message).toMatch(/alias/i);
  });

  it("runs an extra check on a valid value and locates its problems", () => {
    const result = parseYamlDocument("version: 1\nitems:\n  - name: taken\n", Schema, (value) =>
      value.items.map((item, index) => ({
        path: ["items", index, "name"],
        message: `${item.name} is used elsewhere`,
      })),
    );
    expect(result).toEqual({
      ok: false,
      problems: [{ path: "items[0].name", line: 3, column: 11, message: "taken is used elsewhere" }],
    });
  });
});

describe("formatting", () => {
  it("writes paths and problems as an operator reads them", () => {
    expect(formatPath(["baselines", 0, "classes", 2, "ports", "tcp", 1])).toBe(
      "baselines[0].classes[2].ports.tcp[1]",
    );
    expect(formatPath([])).toBe("(root)");
    expect(
      formatProblem("conf/windows.yaml", {
        path: "baselines[0].name",
        line: 4,
        column: 9,
        message: "expected a name",
      }),
    ).toBe("conf/windows.yaml:4:9: baselines[0].name: expected a name");
  });
});
