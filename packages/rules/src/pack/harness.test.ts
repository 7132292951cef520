import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareFindings, runPackTests } from "./harness.ts";
import { compilePack, loadPack, loadPacks, loadRulePacks, PackError } from "./load.ts";

const fixtures = join(import.meta.dirname, "fixtures");

describe("rule packs", () => {
  it("loads a package pack through its exports entry and runs every case through the evaluator", async () => {
    const report = await runPackTests(join(fixtures, "passing"));
    expect(report.pack).toMatchObject({
      name: "@acme/passing-pack",
      version: "1.2.0",
      source: join(fixtures, "passing", "pack.ts"),
    });
    expect(report.rules).toBe(4);
    expect(report.cases.map((testCase) => [testCase.name, testCase.ok, testCase.errors])).toEqual([
      ["telnet to the domain controller and a denied burst", true, []],
      ["silent agents and unmanaged servers", true, []],
      ["nothing on quiet traffic", true, []],
    ]);
    expect(report).toMatchObject({ passed: 3, failed: 0 });
    const [telnet] = report.cases[0]!.findings;
    expect(telnet).toMatchObject({
      asset: { id: "dc01", priority: "critical" },
      severity: "high",
      attack: ["T1021"],
    });
  });

  it("reports missing and extra findings of a failing case", async () => {
    const report = await runPackTests(join(fixtures, "failing", "pack.yaml"));
    expect(report).toMatchObject({ passed: 1, failed: 1 });
    const failing = report.cases[1]!;
    expect(failing.ok).toBe(false);
    expect(failing.missing).toEqual([
      { rule: "acme.fw.denied", severity: "high", title_contains: "203.0.113.9", expected: 1, found: 0 },
    ]);
    expect(failing.extra).toEqual([
      expect.objectContaining({
        rule: "acme.fw.denied",
        severity: "low",
        title: "Denied 203.0.113.9 -> 10.20.1.10:22",
      }),
    ]);
  });

  it("runs one rule only: other expectations are ignored, cases without it skipped", async () => {
    const report = await runPackTests(join(fixtures, "passing"), { rule: "acme.fw.telnet" });
    expect(report.cases.map((testCase) => testCase.name)).toEqual([
      "telnet to the domain controller and a denied burst",
    ]);
    expect(report.cases[0]!.ok).toBe(true);
    await expect(runPackTests(join(fixtures, "passing"), { rule: "acme.nope" })).rejects.toThrow(
      /no rule acme.nope in the pack/,
    );
  });

  it("an invalid pack is an error naming the file, line, rule and key", async () => {
    const pack = await loadPack(join(fixtures, "invalid"));
    const error = await compilePack(pack.manifest, pack.root).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PackError);
    const file = join(fixtures, "invalid", "bad-rules.yaml");
    expect((error as PackError).problems).toEqual([
      `${file}:7:3: rule acme.fw.bad: where.dst_endpoint.prot: unknown field "dst_endpoint.prot" for firewall.event: no field "prot" (fields here: hostname, interface_name, ip, mac, port, svc_name)`,
      `${file}:9:1: rule acme.fw.bad: severty: unknown key "severty"`,
    ]);
  });

  it("manifest problems name the file, line and key", async () => {
    const error = await loadPack(join(fixtures, "invalid", "bad-rules.yaml")).catch(
      (caught: unknown) => caught,
    );
    const file = join(fixtures, "invalid", "bad-rules.yaml");
    expect((error as PackError).problems.slice(0, 2)).toEqual([
      `${file}: this is a rule, not a pack manifest (a manifest has name, version, description, rules, tests)`,
      `${file}:3:10: version: Invalid input: expected string, received number`,
    ]);
    expect((error as PackError).problems).toContain(`${file}:9:1: severty: unknown key "severty"`);
    await expect(loadPack(join(fixtures, "nowhere"))).rejects.toThrow(/no such file or folder/);
  });

  it("compares exactly: counts, and the most specific expectation claims first", () => {
    const finding = (title: string, severity: "low" | "high") =>
      ({ rule: { id: "r.x" }, title, severity, asset: { id: "a1", hostname: "host-a" }, id: title }) as never;
    const findings = [finding("broad", "low"), finding("specific", "high")];
    expect(
      compareFindings(findings, [
        { rule: "r.x", count: 1 },
        { rule: "r.x", severity: "high", count: 1 },
      ]),
    ).toEqual({ missing: [], extra: [] });
    expect(compareFindings(findings, [{ rule: "r.x", asset: "host-a", count: 3 }]).missing).toEqual([
      { rule: "r.x", asset: "host-a", expected: 3, found: 2 },
    ]);
    expect(compareFindings(findings, [{ rule: "r.x", count: 0 }]).extra).toHaveLength(2);
  });
});

describe("loading several packs", () => {
  it("by path and by npm package name, refusing a rule id in two packs", async () => {
    const loaded = await loadPacks([join(fixtures, "passing"), join(fixtures, "failing", "pack.yaml")]);
    expect(loaded.packs.map((pack) => [pack.name, pack.rules.length])).toEqual([
      ["@acme/passing-pack", 4],
      ["@acme/failing-pack", 1],
    ]);
    expect(loaded.references.map((document) => [document.kind, document.name])).toEqual([
      ["priority-list", "priority-list"],
    ]);
    // The core pack, by its package name, resolved as node would from the repository's apps.
    const core = await loadRulePacks("@vigil/rules-core-pack", {
      from: join(import.meta.dirname, "../../../../apps/rules-engine/package.json"),
    });
    expect(core.length).toBeGreaterThan(10);
    await expect(loadPacks([join(fixtures, "passing"), join(fixtures, "passing")])).rejects.toThrow(
      /also in pack @acme\/passing-pack/,
    );
    await expect(loadPacks("@acme/not-installed")).rejects.toThrow(/no such pack/);
  });
});
