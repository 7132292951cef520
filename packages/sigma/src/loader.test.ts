import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SigmaError } from "./errors.ts";
import { loadSigmaRules, parseSigmaRules } from "./loader.ts";
import { selectRules } from "./logsource.ts";

const goodRule = `title: Whoami
id: 11111111-1111-1111-1111-111111111111
status: test
level: medium
tags: [attack.discovery]
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
`;

describe("parseSigmaRules", () => {
  it("loads a rule with its metadata and log source", () => {
    const set = parseSigmaRules(goodRule, { file: "whoami.yml" });
    expect(set.failures).toEqual([]);
    const [rule] = set.rules;
    expect(rule).toMatchObject({
      id: "11111111-1111-1111-1111-111111111111",
      title: "Whoami",
      level: "medium",
      tags: ["attack.discovery"],
      logsource: { product: "windows", category: "process_creation" },
      file: "whoami.yml",
      line: 1,
      generate: true,
    });
    expect(rule?.match({ Image: "C:\\Windows\\System32\\whoami.exe" })).toBe(true);
    expect(rule?.match({ Image: "C:\\Windows\\System32\\cmd.exe" })).toBe(false);
  });

  it("reports truncated YAML with file and line", () => {
    const set = parseSigmaRules("title: x\ndetection:\n  sel: [a, b\n", { file: "broken.yml" });
    expect(set.rules).toEqual([]);
    expect(set.failures).toHaveLength(1);
    expect(set.failures[0]).toMatchObject({ code: "yaml", file: "broken.yml" });
    expect(set.failures[0]?.message).toMatch(/^broken\.yml:\d+: invalid YAML/);
  });

  it("reports wrong types naming the rule id and the key", () => {
    const text = goodRule.replace("tags: [attack.discovery]", "tags: attack.discovery");
    const [failure] = parseSigmaRules(text, { file: "types.yml" }).failures;
    expect(failure).toMatchObject({
      code: "schema",
      key: "tags",
      ruleId: "11111111-1111-1111-1111-111111111111",
      line: 5,
    });
    expect(failure?.message).toContain("types.yml:5: rule 11111111-1111-1111-1111-111111111111: tags:");
  });

  it("reports a missing condition and a missing logsource", () => {
    const noCondition = parseSigmaRules(goodRule.replace("  condition: selection\n", ""), { file: "c.yml" });
    expect(noCondition.failures[0]).toMatchObject({ code: "schema", key: "detection.condition" });
    const noLogsource = parseSigmaRules(goodRule.replace(/logsource:\n( {2}.*\n)+/, ""), { file: "l.yml" });
    expect(noLogsource.failures[0]).toMatchObject({ code: "schema", key: "logsource" });
  });

  it("points an unknown modifier at its line", () => {
    const [failure] = parseSigmaRules(goodRule.replace("endswith", "endwith"), { file: "m.yml" }).failures;
    expect(failure).toMatchObject({
      code: "unknown-modifier",
      key: "detection.selection.Image|endwith",
      line: 11,
    });
    expect(failure?.message).toContain(
      "m.yml:11: rule 11111111-1111-1111-1111-111111111111: detection.selection.Image|endwith: unknown modifier 'endwith'",
    );
  });

  it("finds the line of a key that contains dots", () => {
    const text = goodRule.replace("Image|endswith: '\\whoami.exe'", "user.name|bogus: x");
    expect(parseSigmaRules(text).failures[0]).toMatchObject({
      key: "detection.selection.user.name|bogus",
      line: 11,
    });
  });

  it("loads the good documents of a file and reports the bad ones", () => {
    const text = [
      goodRule,
      goodRule.replace(/1111/g, "2222").replace("endswith", "nope"),
      goodRule.replace(/1111/g, "3333"),
    ].join("---\n");
    const set = parseSigmaRules(text, { file: "multi.yml" });
    expect(set.rules.map((rule) => rule.id)).toEqual([
      "11111111-1111-1111-1111-111111111111",
      "33333333-3333-3333-3333-333333333333",
    ]);
    expect(set.failures.map((failure) => [failure.ruleId, failure.code])).toEqual([
      ["22222222-2222-2222-2222-222222222222", "unknown-modifier"],
    ]);
    expect(set.documents).toBe(3);
  });

  it("rejects a second rule with the same id", () => {
    const set = parseSigmaRules(`${goodRule}---\n${goodRule}`, { file: "dup.yml" });
    expect(set.rules).toHaveLength(1);
    expect(set.failures[0]).toMatchObject({ code: "duplicate-id", line: 15 });
    expect(set.failures[0]?.message).toContain("already used by dup.yml:1");
  });

  it("rejects a document that is not a map", () => {
    expect(parseSigmaRules("- a\n- b\n").failures[0]?.code).toBe("schema");
  });

  it("applies Sigma v1 collection actions (global, reset, repeat)", () => {
    const text = `action: global
title: Shared
logsource:
  product: windows
detection:
  condition: selection
---
id: a
logsource:
  category: process_creation
detection:
  selection:
    Image: x
---
action: repeat
id: b
detection:
  selection:
    Image: y
---
action: reset
---
title: Alone
id: c
logsource:
  product: linux
detection:
  keywords: [z]
  condition: keywords
`;
    const set = parseSigmaRules(text);
    expect(set.failures).toEqual([]);
    expect(
      set.rules.map((rule) => [rule.id, rule.title, rule.logsource.product, rule.logsource.category]),
    ).toEqual([
      ["a", "Shared", "windows", "process_creation"],
      ["b", "Shared", "windows", "process_creation"],
      ["c", "Alone", "linux", undefined],
    ]);
    expect(set.rules[1]?.match({ Image: "y" })).toBe(true);
    expect(set.rules[1]?.match({ Image: "x" })).toBe(false);
  });

  it("applies a Sigma filter to the rules it names", () => {
    const text = `${goodRule}---
title: Not for admins
id: f1
logsource:
  product: windows
  category: process_creation
filter:
  rules: [11111111-1111-1111-1111-111111111111]
  admins:
    User|startswith: 'adm_'
  condition: not admins
`;
    const set = parseSigmaRules(text);
    expect(set.failures).toEqual([]);
    expect(set.filters).toMatchObject([{ id: "f1", ruleIds: ["11111111-1111-1111-1111-111111111111"] }]);
    const [rule] = set.rules;
    expect(rule?.match({ Image: "x\\whoami.exe", User: "bob" })).toBe(true);
    expect(rule?.match({ Image: "x\\whoami.exe", User: "adm_bob" })).toBe(false);
  });

  it("reports a filter naming an unknown rule", () => {
    const text = `title: F\nid: f\nfilter:\n  rules: [nope]\n  sel: {a: 1}\n  condition: not sel\n`;
    expect(parseSigmaRules(text).failures[0]).toMatchObject({
      code: "unknown-rule-reference",
      key: "filter.rules[0]",
      line: 4,
    });
  });
});

describe("loadSigmaRules", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), "sigma-load-"));
    await mkdir(path.join(folder, "windows", "deep"), { recursive: true });
    await writeFile(path.join(folder, "windows", "whoami.yml"), goodRule);
    await writeFile(
      path.join(folder, "windows", "deep", "net.yaml"),
      goodRule.replace(/1111/g, "4444").replace("process_creation", "network_connection"),
    );
    await writeFile(path.join(folder, "windows", "deep", "bad.yml"), "title: [unclosed\n");
    await writeFile(path.join(folder, "notes.txt"), "not a rule");
    await writeFile(
      path.join(folder, "linux.yml"),
      "title: L\nid: l1\nlogsource: {product: linux, service: auth}\ndetection:\n  k: [failed]\n  condition: k\n",
    );
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("loads every YAML file of a folder recursively, with failures and reasons", async () => {
    const set = await loadSigmaRules(folder);
    expect(set.files).toBe(4);
    expect(set.rules.map((rule) => rule.id).sort()).toEqual([
      "11111111-1111-1111-1111-111111111111",
      "44444444-4444-4444-4444-444444444444",
      "l1",
    ]);
    expect(set.failures).toHaveLength(1);
    expect(set.failures[0]).toMatchObject({
      code: "yaml",
      file: path.join(folder, "windows", "deep", "bad.yml"),
    });
  });

  it("loads one file", async () => {
    const set = await loadSigmaRules(path.join(folder, "linux.yml"));
    expect(set.rules.map((rule) => rule.id)).toEqual(["l1"]);
  });

  it("selects rules by log source", async () => {
    const { rules } = await loadSigmaRules(folder);
    expect(
      selectRules(rules, { product: "windows" })
        .map((rule) => rule.id)
        .sort(),
    ).toEqual(["11111111-1111-1111-1111-111111111111", "44444444-4444-4444-4444-444444444444"]);
    expect(
      selectRules(rules, { product: "Windows", category: "process_creation" }).map((rule) => rule.id),
    ).toEqual(["11111111-1111-1111-1111-111111111111"]);
    expect(selectRules(rules, { service: "auth" }).map((rule) => rule.id)).toEqual(["l1"]);
  });

  it("rejects when nothing can be read", async () => {
    await expect(loadSigmaRules(path.join(folder, "missing"))).rejects.toBeInstanceOf(SigmaError);
    const partial = await loadSigmaRules([path.join(folder, "linux.yml"), path.join(folder, "missing")]);
    expect(partial.rules).toHaveLength(1);
    expect(partial.failures[0]?.code).toBe("io");
  });
});
