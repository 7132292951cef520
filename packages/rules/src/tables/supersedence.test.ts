import { describe, expect, it } from "vitest";
import { findSupersedenceCycle, normalizeKb, SupersedenceGraph } from "./supersedence.ts";

describe("normalizeKb", () => {
  it("accepts the spellings sources use and nothing else", () => {
    expect(normalizeKb("KB5034441")).toBe("KB5034441");
    expect(normalizeKb("kb5034441")).toBe("KB5034441");
    expect(normalizeKb(" 5034441 ")).toBe("KB5034441");
    expect(normalizeKb("MS17-010")).toBeUndefined();
    expect(normalizeKb("KB")).toBeUndefined();
  });
});

describe("SupersedenceGraph", () => {
  const chain = new SupersedenceGraph();
  chain.setSource("baselines/windows", [
    ["KB5035845", ["KB5034763"]],
    ["KB5034763", ["KB5034122"]],
    ["KB5034122", ["KB5033372"]],
  ]);

  it("follows chains transitively", () => {
    expect([...chain.superseders("KB5033372")].sort()).toEqual(["KB5034122", "KB5034763", "KB5035845"]);
    expect(chain.supersedes("KB5035845", "KB5033372")).toBe(true);
    expect(chain.supersedes("KB5033372", "KB5035845")).toBe(false);
    expect(chain.satisfiedBy(new Set(["KB5035845"]), "kb5034122")).toBe("KB5035845");
    expect(chain.satisfiedBy(new Set(["KB5034122"]), "KB5034122")).toBe("KB5034122");
    expect(chain.satisfiedBy(new Set(["KB5033372"]), "KB5034122")).toBeUndefined();
  });

  it("combines sources and withdraws one source's edges only", () => {
    const graph = new SupersedenceGraph();
    graph.setSource("baselines/a", [["KB2", ["KB1"]]]);
    graph.setSource("advisory:csaf/x", [["KB3", ["KB2"]]]);
    expect(graph.supersedes("KB3", "KB1")).toBe(true);
    expect(graph.edgeCount).toBe(2);
    graph.removeSource("advisory:csaf/x");
    expect(graph.supersedes("KB3", "KB1")).toBe(false);
    graph.setSource("baselines/a", []);
    expect(graph.edgeCount).toBe(0);
  });

  it("terminates on cycles formed between sources", () => {
    const graph = new SupersedenceGraph();
    graph.setSource("baselines/a", [["KB2", ["KB1"]]]);
    graph.setSource("advisory:x", [["KB1", ["KB2"]]]);
    expect([...graph.superseders("KB1")]).toEqual(["KB2"]);
    expect([...graph.superseders("KB2")]).toEqual(["KB1"]);
    expect(graph.satisfiedBy(new Set(["KB2"]), "KB1")).toBe("KB2");
  });

  it("handles a long chain without recursion", () => {
    const graph = new SupersedenceGraph();
    const edges: [string, string[]][] = [];
    for (let index = 1; index < 20_000; index++) edges.push([`KB${index + 1}`, [`KB${index}`]]);
    graph.setSource("long", edges);
    expect(graph.supersedes("KB20000", "KB1")).toBe(true);
  });
});

describe("findSupersedenceCycle", () => {
  it("names the cycle", () => {
    expect(
      findSupersedenceCycle(
        new Map([
          ["KB1", ["KB2"]],
          ["KB2", ["KB3"]],
          ["KB3", ["KB1"]],
        ]),
      ),
    ).toEqual(["KB1", "KB2", "KB3", "KB1"]);
    expect(findSupersedenceCycle(new Map([["KB1", ["KB1"]]]))).toEqual(["KB1", "KB1"]);
  });

  it("accepts diamonds and long chains", () => {
    expect(
      findSupersedenceCycle(
        new Map([
          ["KB4", ["KB2", "KB3"]],
          ["KB2", ["KB1"]],
          ["KB3", ["KB1"]],
        ]),
      ),
    ).toBeUndefined();
    const long = new Map<string, string[]>();
    for (let index = 1; index < 50_000; index++) long.set(`KB${index + 1}`, [`KB${index}`]);
    expect(findSupersedenceCycle(long)).toBeUndefined();
  });
});
