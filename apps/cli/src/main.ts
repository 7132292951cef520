#!/usr/bin/env node
import path from "node:path";
import { ConfigError, defineCli } from "@vigil/config";
import { z } from "zod";
import { runDemo } from "./demo.ts";
import { formatIncidents } from "./present.ts";

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
      schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("warn"),
    },
  },
  epilog: "Then run the same apps against Kafka: see README.md, 'Running against Kafka'.",
});

const usage = `vigil ${VERSION}: security-operations pipeline tools

Usage: vigil <command> [options]

Commands:
  demo     run the whole pipeline in one process over the sample data and print the incidents

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
  if (command !== "demo") {
    process.stderr.write(`vigil: unknown command '${command}'\n\n${usage}`);
    return 2;
  }
  const { values } = demoCli.parse(rest);
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  const result = await runDemo({
    examplesDir: values.examples,
    out: values.out,
    logLevel: values.logLevel,
    mergeWindow: values.mergeWindow,
  });
  if (values.json) {
    for (const incident of result.incidents) process.stdout.write(`${JSON.stringify(incident)}\n`);
    return 0;
  }
  process.stdout.write(
    `\n${result.incidents.length} incidents raised from ${result.ingest.published} IDS records (alerts and context events; ${result.findings} findings, ${result.deadLetters} dead letters) in ${(result.elapsedMs / 1000).toFixed(1)} s\n\n`,
  );
  process.stdout.write(`${formatIncidents(result.incidents, { color })}\n`);
  return 0;
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
