#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ConfigError, defineCli } from "@vigil/config";
import { z } from "zod";
import { runDemo } from "./demo.ts";
import { incidentsCommand } from "./incidents-command.ts";
import { formatIncidents } from "./present.ts";
import { referenceCommand } from "./reference-command.ts";
import { rulesCommand } from "./rules-command.ts";
import { sigmaMatchCommand } from "./sigma-command.ts";

const repoRoot = path.resolve(import.meta.dirname, "../../..");
const VERSION = "0.1.0";

const demoCli = defineCli({
  name: "vigil demo",
  version: VERSION,
  summary: "runs the whole pipeline in one process (embedded transport, no Kafka) over the sample data",
  usage: "vigil demo [--out FILE] [--json] [--examples DIR]",
  options: {
    examples: {
      flag: "examples",
      env: "VIGIL_EXAMPLES",
      type: "string",
      description: "Folder with suricata/eve.json and assets/priority-list.yaml",
      schema: z.string().min(1).default(path.join(repoRoot, "examples")),
      defaultText: "examples/",
    },
    out: {
      flag: "out",
      type: "string",
      description: "Also write the incidents as JSON lines (one incident per line) to this file",
      schema: z.string().min(1).optional(),
    },
    limit: {
      flag: "limit",
      type: "string",
      description: "How many incidents to list, most urgent first (0: all); --json and --out always have all",
      schema: z.coerce.number().int().min(0, "0 or more").default(25),
    },
    console: {
      flag: "console",
      env: "VIGIL_DEMO_CONSOLE",
      type: "string",
      description:
        "Then serve the SOC console over the running pipeline on this loopback address until Ctrl-C; 'off' to exit at once",
      schema: z.string().min(1).default("127.0.0.1:8080"),
    },
    json: {
      flag: "json",
      type: "boolean",
      description: "Print the incidents as JSON lines on stdout instead of the readable list",
      schema: z.boolean().default(false),
    },
    mergeWindow: {
      flag: "merge-window",
      type: "string",
      description: "Merge window of the incident sink, e.g. 24h or 30m",
      schema: z.string().min(1).optional(),
    },
    logLevel: {
      flag: "log-level",
      env: "LOG_LEVEL",
      type: "string",
      description: "Log level of the apps (JSON logs on stderr)",
      // Dead letters of the sample's deliberately bad lines are warnings: the summary counts them.
      schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("error"),
    },
  },
  epilog: "Then run the same apps against Kafka: see README.md, 'Running against Kafka'.",
});

const usage = `vigil ${VERSION}: security-operations pipeline tools

Usage: vigil <command> [options]

Commands:
  demo               run the whole pipeline in one process over the sample data and print the incidents
  rules test PATH    run a rule pack's test cases (its sample events against its expected findings)
  rules lint PATH    compile a rule pack and report every problem, without running its tests
  sigma match        match events against Sigma rules: one JSON line per match
  reference publish  validate baselines, priority lists or exceptions and publish them to vigil.reference
  reference withdraw remove a published reference document
  incidents list     the incidents, most urgent first (store or vigil.incidents); show ID; tail
  incidents ack ID   acknowledge (stops the escalation clock); resolve ID

Run 'vigil <command> --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  const [command, ...rest] = args;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-V") {
    process.stdout.write(`vigil ${VERSION}\n`);
    return 0;
  }
  const io = { stdout: process.stdout, stderr: process.stderr };
  if (command === "rules") return rulesCommand(rest, io);
  if (command === "sigma") {
    const [action, ...options] = rest;
    if (action === "match") return sigmaMatchCommand(options, io);
    process.stderr.write(`vigil sigma: unknown action '${action ?? ""}' (expected match)\n`);
    return 2;
  }
  if (command === "reference") return referenceCommand(rest, io);
  if (command === "incidents") return incidentsCommand(rest, io);
  if (command !== "demo") {
    process.stderr.write(`vigil: unknown command '${command}'\n\n${usage}`);
    return 2;
  }
  const { values } = demoCli.parse(rest);
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  // No console for machine-readable output: --json is for pipes.
  const serve = values.console !== "off" && !values.json;
  const token = randomBytes(18).toString("base64url");
  const result = await runDemo({
    examplesDir: values.examples,
    out: values.out,
    logLevel: values.logLevel,
    mergeWindow: values.mergeWindow,
    ...(serve ? { console: { listen: values.console, token } } : {}),
  });
  if (values.json) {
    for (const incident of result.incidents) process.stdout.write(`${JSON.stringify(incident)}\n`);
    return 0;
  }
  process.stdout.write(
    `\n${result.incidents.length} incidents raised from ${result.findings} findings of ${Object.keys(result.findingsByRule).length} rules (${result.deadLetters} dead letters) in ${(result.elapsedMs / 1000).toFixed(1)} s\n\n`,
  );
  const shown = values.limit === 0 ? result.incidents : result.incidents.slice(0, values.limit);
  process.stdout.write(`${formatIncidents(shown, { color })}\n`);
  if (shown.length < result.incidents.length) {
    process.stdout.write(
      `\n... and ${result.incidents.length - shown.length} more (--limit 0 lists all, --json prints them as JSON lines)\n`,
    );
  }
  process.stdout.write(`\nfindings by rule:\n${formatCounts(result.findingsByRule)}\n`);
  if (result.console) {
    const { url, stop } = result.console;
    process.stdout.write(
      `\nSOC console: ${url}  (log in with the analyst token ${token}; Ctrl-C stops the demo)\n`,
    );
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await stop();
  }
  return 0;
}

function formatCounts(counts: Record<string, number>): string {
  const rows = Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, count]) => `  ${name.padEnd(width)}  ${String(count).padStart(4)}`).join("\n");
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`vigil: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
