import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sigmaMatchCommand } from "./sigma-command.ts";

const corpus =
  process.env.SIGMA_CORPUS ?? path.resolve(import.meta.dirname, "../../../../shared/corpora/sigma");

async function run(
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string; readonly lines: unknown[] }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk));
  stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const code = await sigmaMatchCommand(argv, { stdout, stderr });
  const text = Buffer.concat(out).toString("utf8");
  return {
    code,
    stdout: text,
    stderr: Buffer.concat(err).toString("utf8"),
    get lines() {
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as unknown);
    },
  };
}

function corpusPath(...parts: string[]): string {
  const full = path.join(corpus, ...parts);
  if (!existsSync(full)) throw new Error(`the Sigma corpus is missing: ${full} (set SIGMA_CORPUS)`);
  return full;
}

describe("vigil sigma match over corpus cases", () => {
  it("matches a regression case with the windows pipeline", async () => {
    const rule = corpusPath("rules/windows/process_creation/proc_creation_win_sc_stop_service.yml");
    const events = corpusPath(
      "regression_data/rules/windows/process_creation/proc_creation_win_sc_stop_service/81bcb81b-5b1f-474b-b373-52c871aaa7b1.jsoncls",
    );
    const result = await run(["match", "--rules", rule, "--events", events, "--pipeline", "windows"]);
    expect(result.code).toBe(0);
    expect(result.lines).toEqual([{ rule_id: "81bcb81b-5b1f-474b-b373-52c871aaa7b1", event_index: 0 }]);
    expect(result.stderr).toContain("1 matches");
  });

  it("finds the named rule among a folder of rules, for every event of a multi-event file", async () => {
    const folder = corpusPath("rules/windows/registry/registry_set");
    const events = corpusPath(
      "regression_data/rules/windows/registry/registry_set/registry_set_disable_system_restore/5de03871-5d46-4539-a82d-3aa992a69a83.json",
    );
    const result = await run(["--rules", folder, "--events", events, "--pipeline", "windows", "--json"]);
    expect(result.code).toBe(0);
    const named = result.lines.filter(
      (line) => (line as { rule_id: string }).rule_id === "5de03871-5d46-4539-a82d-3aa992a69a83",
    );
    expect(named).toHaveLength(4);
    const summary = JSON.parse(result.stderr.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
    expect(summary).toMatchObject({ events: 4, bad_records: 0 });
    expect(summary.rules).toBeGreaterThan(100);
    expect(summary.matches).toBe(result.lines.length);
  });

  it("without the pipeline nested Windows fields are not found", async () => {
    const rule = corpusPath("rules/windows/process_creation/proc_creation_win_sc_stop_service.yml");
    const events = corpusPath(
      "regression_data/rules/windows/process_creation/proc_creation_win_sc_stop_service/81bcb81b-5b1f-474b-b373-52c871aaa7b1.jsoncls",
    );
    const result = await run(["--rules", rule, "--events", events]);
    expect(result.code).toBe(0);
    expect(result.lines).toEqual([]);
  });
});

describe("vigil sigma match on crafted input", () => {
  let folder: string;
  let rules: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), "sigma-cli-"));
    rules = path.join(folder, "rules.yml");
    await writeFile(
      rules,
      `title: Failed logon
id: failed
name: failed_logon
logsource: {product: test}
detection:
  sel: {action: failed}
  condition: sel
---
title: Admin activity
id: admin
logsource: {product: test}
detection:
  sel: {user: admin}
  condition: sel
---
title: Brute force
id: brute
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [user]
  timespan: 1m
  condition: {gte: 2}
`,
    );
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("prints detection and correlation matches, and skips bad lines with their number", async () => {
    const events = path.join(folder, "events.jsonl");
    await writeFile(
      events,
      [
        '{"action": "failed", "user": "admin", "timestamp": "2025-01-01T00:00:00Z"}',
        '{"action": "failed", "user": "admin", "timestamp": ',
        '{"action": "login", "user": "bob", "timestamp": "2025-01-01T00:00:10Z"}',
        '{"action": "failed", "user": "admin", "timestamp": "2025-01-01T00:00:20Z"}',
      ].join("\n"),
    );
    const result = await run(["--rules", rules, "--events", events]);
    expect(result.code).toBe(0);
    expect(result.lines).toEqual([
      { rule_id: "admin", event_index: 0 },
      { rule_id: "admin", event_index: 2 },
      {
        rule_id: "brute",
        correlation: "event_count",
        event_indexes: [0, 2],
        group: { user: "admin" },
        value: 2,
        start: "2025-01-01T00:00:00.000Z",
        end: "2025-01-01T00:00:20.000Z",
      },
    ]);
    expect(result.stderr).toMatch(/events\.jsonl:2: skipped: invalid JSON/);
  });

  it("reports rules it cannot load and goes on with the others", async () => {
    const mixed = path.join(folder, "mixed.yml");
    await writeFile(
      mixed,
      "title: ok\nid: ok\nlogsource: {}\ndetection:\n  s: {a: 1}\n  condition: s\n---\ntitle: bad\nid: bad\nlogsource: {}\ndetection:\n  s: {a|nope: 1}\n  condition: s\n",
    );
    const events = path.join(folder, "one.json");
    await writeFile(events, '[{"a": 1}]');
    const result = await run(["--rules", mixed, "--events", events]);
    expect(result.code).toBe(0);
    expect(result.lines).toEqual([{ rule_id: "ok", event_index: 0 }]);
    expect(result.stderr).toContain("rule not loaded: ");
    expect(result.stderr).toContain("mixed.yml:12: rule bad: detection.s.a|nope: unknown modifier 'nope'");
  });

  it("takes |expand placeholders", async () => {
    const expanding = path.join(folder, "expand.yml");
    await writeFile(
      expanding,
      "title: x\nid: x\nlogsource: {}\ndetection:\n  s: {host|expand: '%dcs%'}\n  condition: s\n",
    );
    const events = path.join(folder, "hosts.json");
    await writeFile(events, '[{"host": "dc2"}, {"host": "ws1"}]');
    const without = await run(["--rules", expanding, "--events", events]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain("%dcs%");
    const result = await run([
      "--rules",
      expanding,
      "--events",
      events,
      "--placeholder",
      "dcs=dc1",
      "--placeholder",
      "dcs=dc2",
    ]);
    expect(result.lines).toEqual([{ rule_id: "x", event_index: 0 }]);
  });

  it("uses a pipeline file", async () => {
    const pipeline = path.join(folder, "pipeline.yml");
    await writeFile(pipeline, "name: p\ntransformations:\n  - type: field_name_prefix\n    prefix: data.\n");
    const events = path.join(folder, "nested.json");
    await writeFile(events, '{"data": {"user": "admin"}}');
    const result = await run(["--rules", rules, "--events", events, "--pipeline", pipeline]);
    expect(result.lines).toEqual([{ rule_id: "admin", event_index: 0 }]);
  });

  it("exits 2 on usage errors, naming the flag", async () => {
    const missing = await run(["--events", "x.json"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--rules");
    const unknown = await run(["--rules", rules, "--events", "x.json", "--bogus"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--bogus");
    const wrongCommand = await run(["run", "--rules", rules]);
    expect(wrongCommand.code).toBe(2);
    const badPlaceholder = await run(["--rules", rules, "--events", "x.json", "--placeholder", "novalue"]);
    expect(badPlaceholder.code).toBe(2);
    expect(badPlaceholder.stderr).toContain("--placeholder");
  });

  it("exits 1 on unreadable files", async () => {
    const events = path.join(folder, "missing.json");
    const noEvents = await run(["--rules", rules, "--events", events]);
    expect(noEvents.code).toBe(1);
    expect(noEvents.stderr).toContain("--events: cannot read");
    const noRules = await run(["--rules", path.join(folder, "missing-rules"), "--events", events]);
    expect(noRules.code).toBe(1);
    expect(noRules.stderr).toContain("--rules");
    const noPipeline = await run([
      "--rules",
      rules,
      "--events",
      events,
      "--pipeline",
      path.join(folder, "nope.yml"),
    ]);
    expect(noPipeline.code).toBe(1);
    expect(noPipeline.stderr).toContain("--pipeline");
  });

  it("prints help and exits 0", async () => {
    const result = await run(["match", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: vigil sigma match --rules PATH --events PATH");
    expect(result.stdout).toContain('{"rule_id": "<id>", "event_index": N}');
  });
});
