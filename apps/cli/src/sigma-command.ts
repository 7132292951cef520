import { readFile } from "node:fs/promises";
import { ConfigError, defineCli } from "@vigil/config";
import {
  type CorrelationMatch,
  loadPipeline,
  loadSigmaRules,
  type ProcessingPipeline,
  parseEvents,
  SigmaEngine,
  SigmaError,
} from "@vigil/sigma";
import { z } from "zod";

export const sigmaMatchCli = defineCli({
  name: "vigil sigma match",
  version: "0.1.0",
  summary: "matches events against Sigma rules (detection and correlation rules) and prints the matches",
  usage: "vigil sigma match --rules PATH --events PATH [--pipeline FILE|windows] [--json]",
  options: {
    rules: {
      flag: "rules",
      type: "string",
      description: "A Sigma rule file, or a folder of them (read recursively)",
      schema: z.string({ error: "a path" }).min(1),
    },
    events: {
      flag: "events",
      type: "string",
      description:
        "Events: one JSON object, a JSON array, JSON lines, or pretty-printed objects one after another",
      schema: z.string({ error: "a path" }).min(1),
    },
    pipeline: {
      flag: "pipeline",
      type: "string",
      description:
        "A processing pipeline (YAML file), or 'windows' for Windows event log JSON (Event.System / Event.EventData)",
      schema: z.string().min(1).optional(),
    },
    timeField: {
      flag: "time-field",
      type: "string",
      description: "Event field holding the event time, for correlation rules",
      defaultText: "the pipeline's time field, else timestamp",
      schema: z.string().min(1).optional(),
    },
    placeholder: {
      flag: "placeholder",
      type: "string",
      multiple: true,
      description: "A value for an |expand placeholder, NAME=VALUE (repeat for several values)",
      schema: z.array(z.string().regex(/^[^=]+=/, "NAME=VALUE")).default([]),
    },
    json: {
      flag: "json",
      type: "boolean",
      description:
        "Write the closing summary (rules, failures, events, matches) as one JSON object on stderr",
      schema: z.boolean().default(false),
    },
  },
  epilog: `Output, one JSON object per line on stdout:
  {"rule_id": "<id>", "event_index": N}                      a detection rule matched event N (0-based,
                                                             among the events read; bad records are not events)
  {"rule_id": "<id>", "correlation": "<type>", "event_indexes": [N, ...], "group": {...},
   "value": N, "start": "<time>", "end": "<time>"}           a correlation rule fired over those events
Rules referred to by a correlation report their own matches only with 'generate: true'.
Rules that cannot be loaded and bad event records are reported on stderr (with file and line) and skipped.
Exit codes: 0 done, 1 unreadable or unusable input (rules, events, pipeline), 2 usage error.`,
});

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

class HelpShown extends Error {}

function correlationLine(match: CorrelationMatch): string {
  return JSON.stringify({
    rule_id: match.ruleId,
    correlation: match.correlationType,
    event_indexes: match.events,
    group: match.group,
    value: match.value,
    start: new Date(match.start).toISOString(),
    end: new Date(match.end).toISOString(),
  });
}

/** `vigil sigma match ...`; argv is what follows `sigma` (a leading `match` is optional). */
export async function sigmaMatchCommand(argv: string[], io: Io): Promise<number> {
  const args = argv[0] === "match" ? argv.slice(1) : argv;
  if (args[0] !== undefined && !args[0].startsWith("-")) {
    io.stderr.write(`vigil sigma: unknown command '${args[0]}' (expected: match)\n`);
    return 2;
  }
  let values: ReturnType<typeof sigmaMatchCli.parse>["values"];
  try {
    ({ values } = sigmaMatchCli.parse(
      args,
      {},
      {
        out: (text) => io.stdout.write(text),
        exit: () => {
          throw new HelpShown();
        },
      },
    ));
  } catch (error) {
    if (error instanceof HelpShown) return 0;
    if (error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const placeholders: Record<string, string[]> = {};
  for (const entry of values.placeholder) {
    const at = entry.indexOf("=");
    const name = entry.slice(0, at).replace(/^%|%$/g, "");
    placeholders[name] = [...(placeholders[name] ?? []), entry.slice(at + 1)];
  }

  let pipeline: ProcessingPipeline | undefined;
  if (values.pipeline !== undefined) {
    try {
      pipeline = await loadPipeline(values.pipeline);
    } catch (error) {
      if (!(error instanceof SigmaError)) throw error;
      io.stderr.write(`vigil sigma match: --pipeline: ${error.message}\n`);
      return 1;
    }
  }

  let ruleSet: Awaited<ReturnType<typeof loadSigmaRules>>;
  try {
    ruleSet = await loadSigmaRules(values.rules, { pipelines: pipeline ? [pipeline] : [], placeholders });
  } catch (error) {
    if (!(error instanceof SigmaError)) throw error;
    io.stderr.write(`vigil sigma match: --rules: ${error.message}\n`);
    return 1;
  }
  for (const failure of ruleSet.failures) io.stderr.write(`rule not loaded: ${failure.message}\n`);
  if (ruleSet.rules.length === 0) {
    io.stderr.write(`vigil sigma match: --rules: no rule could be loaded from ${values.rules}\n`);
    return 1;
  }

  let text: string;
  try {
    text = await readFile(values.events, "utf8");
  } catch (error) {
    io.stderr.write(
      `vigil sigma match: --events: cannot read ${values.events}: ${(error as Error).message}\n`,
    );
    return 1;
  }
  const { events, problems } = parseEvents(text);
  for (const problem of problems)
    io.stderr.write(`${values.events}:${problem.line}: skipped: ${problem.message}\n`);

  const engine = new SigmaEngine(ruleSet, {
    timeField: values.timeField ?? pipeline?.timeField ?? "timestamp",
  });
  let matchCount = 0;
  let correlationCount = 0;
  const lines: string[] = [];
  const emit = () => {
    if (lines.length > 0) io.stdout.write(`${lines.join("\n")}\n`);
    lines.length = 0;
  };
  for (const { index, event } of events) {
    const result = engine.process(event, index);
    for (const rule of result.matches) lines.push(JSON.stringify({ rule_id: rule.id, event_index: index }));
    for (const match of result.correlations) lines.push(correlationLine(match));
    matchCount += result.matches.length;
    correlationCount += result.correlations.length;
    if (lines.length >= 1000) emit();
  }
  const closing = engine.flush();
  for (const match of closing) lines.push(correlationLine(match));
  correlationCount += closing.length;
  emit();

  const summary = {
    rules: ruleSet.rules.length,
    correlation_rules: ruleSet.correlations.length,
    rules_failed: ruleSet.failures.length,
    events: events.length,
    bad_records: problems.length,
    matches: matchCount,
    correlation_matches: correlationCount,
    events_without_time: engine.correlator.stats.eventsWithoutTime,
  };
  if (values.json) io.stderr.write(`${JSON.stringify(summary)}\n`);
  else {
    io.stderr.write(
      `${summary.matches} matches and ${summary.correlation_matches} correlation matches in ${summary.events} events (${summary.bad_records} bad records skipped); ${summary.rules} rules and ${summary.correlation_rules} correlation rules loaded, ${summary.rules_failed} not loaded\n`,
    );
  }
  return 0;
}
