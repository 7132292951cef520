import { readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { ConfigError, defineCli } from "@vigil/config";
import {
  type CompiledRule,
  compilePack,
  formatProblem,
  loadPack,
  loadRuleFile,
  PackError,
  type PackTestCase,
  type PackTestReport,
  RuleCompileError,
  runPackTests,
} from "@vigil/rules";
import { z } from "zod";

const VERSION = "0.1.0";

export const rulesTestCli = defineCli({
  name: "vigil rules test",
  version: VERSION,
  summary: "runs every test case of a rule pack and compares the findings with the expected ones",
  usage: "vigil rules test PATH [--rule ID] [--json]",
  options: {
    rule: {
      flag: "rule",
      type: "string",
      description: "Test this rule only (cases that do not cover it are skipped)",
      schema: z.string().min(1).optional(),
    },
    json: {
      flag: "json",
      type: "boolean",
      description: "Print the report as one JSON object instead of the readable list",
      schema: z.boolean().default(false),
    },
  },
  epilog: `PATH: a pack folder (package.json entry, or pack.yaml), a pack module (.ts, .js) or a YAML manifest.
Exit codes: 0 every case passed, 1 a case failed (or there was none to run), 2 usage error or invalid pack.`,
});

export const rulesLintCli = defineCli({
  name: "vigil rules lint",
  version: VERSION,
  summary: "compiles a rule pack, or rule files, and reports every problem",
  usage: "vigil rules lint PATH [--json]",
  options: {
    json: {
      flag: "json",
      type: "boolean",
      description: "Print the result as one JSON object",
      schema: z.boolean().default(false),
    },
  },
  epilog: `PATH: a pack (as for 'vigil rules test'), a rule file (.yaml) or a folder of rule files.
Exit codes: 0 every rule compiles, 2 usage error or a problem (each named with file, line, rule and key).`,
});

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

class HelpShown extends Error {}

type Cli = typeof rulesTestCli | typeof rulesLintCli;

/** Parses argv; a number is the exit code when there is nothing more to do (help shown, usage error). */
function parse<C extends Cli>(cli: C, argv: string[], io: Io): ReturnType<C["parse"]> | number {
  try {
    return cli.parse(
      argv,
      {},
      {
        out: (text) => io.stdout.write(text),
        exit: () => {
          throw new HelpShown();
        },
      },
    ) as ReturnType<C["parse"]>;
  } catch (error) {
    if (error instanceof HelpShown) return 0;
    if (error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

function onePath(command: string, positionals: string[], io: Io): string | undefined {
  if (positionals.length !== 1) {
    io.stderr.write(
      `${command}: expected one PATH (a pack folder, module or manifest), got ${positionals.length === 0 ? "none" : positionals.join(" ")}\nRun '${command} --help' for the options.\n`,
    );
    return undefined;
  }
  return positionals[0];
}

/** Problems of an unusable pack, one per line, each naming the file, rule and key. */
function invalid(command: string, error: unknown, io: Io): number {
  if (error instanceof PackError) {
    io.stderr.write(`${command}: invalid pack ${error.source}\n`);
    for (const problem of error.problems) io.stderr.write(`  ${problem}\n`);
    return 2;
  }
  if (error instanceof RuleCompileError) {
    io.stderr.write(`${command}: invalid rules\n`);
    for (const problem of error.problems) io.stderr.write(`  ${formatProblem(problem)}\n`);
    return 2;
  }
  throw error;
}

function describeExpectation(missing: PackTestCase["missing"][number]): string {
  const parts = [missing.rule];
  if (missing.asset !== undefined) parts.push(`asset ${missing.asset}`);
  if (missing.severity !== undefined) parts.push(`severity ${missing.severity}`);
  if (missing.title_contains !== undefined)
    parts.push(`title containing ${JSON.stringify(missing.title_contains)}`);
  return `${parts.join(", ")}: expected ${missing.expected}, found ${missing.found}`;
}

function formatReport(report: PackTestReport): string {
  const lines = [`${report.pack.name} ${report.pack.version} (${report.pack.source}): ${report.rules} rules`];
  for (const testCase of report.cases) {
    const findings = `${testCase.findings.length} finding${testCase.findings.length === 1 ? "" : "s"}`;
    lines.push(`  ${testCase.ok ? "ok  " : "FAIL"}  ${testCase.name} (${findings})`);
    for (const missing of testCase.missing) lines.push(`        missing: ${describeExpectation(missing)}`);
    for (const extra of testCase.extra)
      lines.push(
        `        extra:   ${extra.rule}, ${extra.severity}, on ${extra.asset}: ${JSON.stringify(extra.title)} (${extra.id})`,
      );
    for (const error of testCase.errors) lines.push(`        error:   ${error}`);
    for (const note of testCase.notes) lines.push(`        note:    ${note}`);
  }
  const total = report.cases.length;
  lines.push(
    total === 0
      ? "no test case ran"
      : `${total} case${total === 1 ? "" : "s"}: ${report.passed} passed, ${report.failed} failed`,
  );
  return `${lines.join("\n")}\n`;
}

/** `vigil rules test PATH [--rule ID] [--json]`; argv is what follows `rules` (a leading `test` is optional). */
export async function rulesTestCommand(argv: string[], io: Io): Promise<number> {
  const command = "vigil rules test";
  const parsed = parse(rulesTestCli, argv[0] === "test" ? argv.slice(1) : argv, io);
  if (typeof parsed === "number") return parsed;
  const path = onePath(command, parsed.positionals, io);
  if (path === undefined) return 2;
  let report: PackTestReport;
  try {
    report = await runPackTests(path, parsed.values.rule !== undefined ? { rule: parsed.values.rule } : {});
  } catch (error) {
    return invalid(command, error, io);
  }
  io.stdout.write(parsed.values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return report.failed === 0 && report.cases.length > 0 ? 0 : 1;
}

async function isPack(path: string): Promise<boolean> {
  const info = await stat(path);
  if (!info.isDirectory())
    return ![".yaml", ".yml"].includes(extname(path)) || /(^|[/\\])pack\.ya?ml$/.test(path);
  const names = await readdir(path);
  return names.includes("package.json") || names.includes("pack.yaml") || names.includes("pack.yml");
}

async function ruleFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && [".yaml", ".yml"].includes(extname(entry.name)))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** `vigil rules lint PATH [--json]`: compile only. */
export async function rulesLintCommand(argv: string[], io: Io): Promise<number> {
  const command = "vigil rules lint";
  const parsed = parse(rulesLintCli, argv[0] === "lint" ? argv.slice(1) : argv, io);
  if (typeof parsed === "number") return parsed;
  const path = onePath(command, parsed.positionals, io);
  if (path === undefined) return 2;
  let rules: CompiledRule[];
  try {
    if (await isPack(path)) {
      const pack = await loadPack(path);
      rules = (await compilePack(pack.manifest, pack.root)).rules;
    } else {
      const problems: RuleCompileError["problems"] = [];
      rules = [];
      for (const file of await ruleFiles(path)) {
        try {
          rules.push(...(await loadRuleFile(file)));
        } catch (error) {
          if (!(error instanceof RuleCompileError)) throw error;
          problems.push(...error.problems);
        }
      }
      if (problems.length > 0) throw new RuleCompileError(problems);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      io.stderr.write(`${command}: ${path}: no such file or folder\n`);
      return 2;
    }
    return invalid(command, error, io);
  }
  const summary = rules.map((rule) => ({ id: rule.id, name: rule.name, version: rule.version, on: rule.on }));
  if (parsed.values.json) io.stdout.write(`${JSON.stringify({ rules: summary })}\n`);
  else {
    for (const rule of summary)
      io.stdout.write(`  ok  ${rule.id} v${rule.version} (${rule.on.join(", ")}): ${rule.name}\n`);
    io.stdout.write(`${rules.length} rule${rules.length === 1 ? "" : "s"} compiled\n`);
  }
  return 0;
}

/** `vigil rules <test|lint> ...`; argv is what follows `rules`. */
export async function rulesCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "test") return rulesTestCommand(rest, io);
  if (sub === "lint") return rulesLintCommand(rest, io);
  if (sub === "--help" || sub === "-h" || sub === undefined) {
    (sub === undefined ? io.stderr : io.stdout).write(
      "Usage: vigil rules <command> PATH [options]\n\nCommands:\n  test   run a rule pack's test cases (exit 1 on any difference)\n  lint   compile a rule pack or rule files and report every problem\n\nRun 'vigil rules <command> --help' for a command's options.\n",
    );
    return sub === undefined ? 2 : 0;
  }
  io.stderr.write(`vigil rules: unknown command '${sub}' (expected: test, lint)\n`);
  return 2;
}
