import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { rulesCommand, rulesLintCommand, rulesTestCommand } from "./rules-command.ts";

const fixtures = path.resolve(import.meta.dirname, "../../../packages/rules/src/pack/fixtures");

async function run(
  command: (
    argv: string[],
    io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  ) => Promise<number>,
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk));
  stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const code = await command(argv, { stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

describe("vigil rules test", () => {
  it("exits 0 when every case passes, listing each case", async () => {
    const result = await run(rulesTestCommand, ["test", path.join(fixtures, "passing")]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `@acme/passing-pack 1.2.0 (${path.join(fixtures, "passing", "pack.ts")}): 4 rules`,
        "  ok    telnet to the domain controller and a denied burst (2 findings)",
        "  ok    silent agents and unmanaged servers (2 findings)",
        "  ok    nothing on quiet traffic (1 finding)",
        "3 cases: 3 passed, 0 failed",
        "",
      ].join("\n"),
    );
    expect(result.stderr).toBe("");
  });

  it("exits 1 on a failing case, showing the missing and extra findings", async () => {
    const result = await run(rulesTestCommand, [path.join(fixtures, "failing", "pack.yaml")]);
    expect(result.code).toBe(1);
    const lines = result.stdout.split("\n");
    expect(lines[1]).toBe("  ok    a denied connection (2 findings)");
    expect(lines[2]).toBe("  FAIL  expects what the rule does not say (2 findings)");
    expect(lines[3]).toBe(
      '        missing: acme.fw.denied, severity high, title containing "203.0.113.9": expected 1, found 0',
    );
    expect(lines[4]).toMatch(
      /^ {8}extra: {3}acme\.fw\.denied, low, on 10\.20\.1\.10: "Denied 203\.0\.113\.9 -> 10\.20\.1\.10:22" \(fnd-[0-9a-f]{32}\)$/,
    );
    expect(lines[5]).toBe("2 cases: 1 passed, 1 failed");
  });

  it("--json prints the report; --rule narrows it", async () => {
    const result = await run(rulesTestCommand, [
      path.join(fixtures, "passing"),
      "--json",
      "--rule",
      "acme.fw.telnet",
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      passed: number;
      failed: number;
      cases: { name: string; ok: boolean }[];
    };
    expect(report).toMatchObject({ passed: 1, failed: 0 });
    expect(report.cases.map((testCase) => testCase.name)).toEqual([
      "telnet to the domain controller and a denied burst",
    ]);
  });

  it("exits 2 on an invalid pack, naming the file, line, rule and key", async () => {
    const result = await run(rulesTestCommand, [path.join(fixtures, "invalid")]);
    expect(result.code).toBe(2);
    const file = path.join(fixtures, "invalid", "bad-rules.yaml");
    expect(result.stderr).toBe(
      [
        `vigil rules test: invalid pack ${path.join(fixtures, "invalid")}`,
        `  ${file}:7:3: rule acme.fw.bad: where.dst_endpoint.prot: unknown field "dst_endpoint.prot" for firewall.event: no field "prot" (fields here: hostname, interface_name, ip, mac, port, svc_name)`,
        `  ${file}:9:1: rule acme.fw.bad: severty: unknown key "severty"`,
        "",
      ].join("\n"),
    );
  });

  it("exits 2 on usage errors", async () => {
    expect((await run(rulesTestCommand, [])).code).toBe(2);
    expect((await run(rulesTestCommand, ["a", "b"])).stderr).toMatch(/expected one PATH/);
    expect((await run(rulesTestCommand, [path.join(fixtures, "passing"), "--bogus"])).code).toBe(2);
    expect(
      (await run(rulesTestCommand, [path.join(fixtures, "passing"), "--rule", "no.such"])).stderr,
    ).toMatch(/no rule no.such/);
    expect((await run(rulesTestCommand, [path.join(fixtures, "nowhere")])).code).toBe(2);
    expect((await run(rulesCommand, ["frobnicate"])).code).toBe(2);
    const help = await run(rulesTestCommand, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/vigil rules test PATH/);
  });
});

describe("vigil rules lint", () => {
  it("compiles a pack, a rule file, or a folder of rule files", async () => {
    const pack = await run(rulesLintCommand, ["lint", path.join(fixtures, "passing")]);
    expect(pack.code).toBe(0);
    expect(pack.stdout).toMatch(/^ {2}ok {2}acme\.fw\.telnet v1 \(firewall\.event\): Telnet to a server$/m);
    expect(pack.stdout).toMatch(/4 rules compiled\n$/);
    const file = await run(rulesCommand, ["lint", path.join(fixtures, "failing", "rules.yaml"), "--json"]);
    expect(JSON.parse(file.stdout)).toEqual({
      rules: [{ id: "acme.fw.denied", name: "Denied connection", version: 1, on: ["firewall.event"] }],
    });
  });

  it("exits 2 with every problem", async () => {
    const result = await run(rulesLintCommand, [path.join(fixtures, "invalid", "bad-rules.yaml")]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n").slice(0, 3)).toEqual([
      "vigil rules lint: invalid rules",
      `  ${path.join(fixtures, "invalid", "bad-rules.yaml")}:7:3: rule acme.fw.bad: where.dst_endpoint.prot: unknown field "dst_endpoint.prot" for firewall.event: no field "prot" (fields here: hostname, interface_name, ip, mac, port, svc_name)`,
      `  ${path.join(fixtures, "invalid", "bad-rules.yaml")}:9:1: rule acme.fw.bad: severty: unknown key "severty"`,
    ]);
  });
});
