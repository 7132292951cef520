#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp, runToEnd } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import {
  cli,
  describeReleaseReport,
  describeSummary,
  FormatError,
  InputError,
  listInputs,
  releaseReport,
  runIngestAdvisories,
  STAGE,
} from "./index.ts";

await exitOnError(cli.definition.name, async () => {
  const { values, logger, metrics, transport } = await prepareApp(cli, {
    stage: STAGE,
    topics: () => [topics.advisories, topics.dlq],
    needsKafka: (values) => !values.dryRun && !values.nextRelease,
    // An unreadable input is reported before connecting anywhere.
    precheck: async (values) => {
      if (values.nextRelease) return;
      try {
        await listInputs(values);
      } catch (error) {
        if (error instanceof InputError) throw new ExitError(error.message, 2);
        throw error;
      }
    },
  });

  if (values.nextRelease) {
    const report = releaseReport(values.at !== undefined ? new Date(values.at) : new Date());
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : describeReleaseReport(report));
    return;
  }

  await runToEnd(
    { logger, transport, metrics, values },
    {
      name: cli.definition.name,
      json: values.json,
      run: (signal) =>
        runIngestAdvisories({
          transport,
          logger,
          metrics,
          config: values,
          stdin: process.stdin,
          out: process.stdout,
          errOut: process.stderr,
          signal,
        }),
      describe: (summary) =>
        describeSummary(summary, values.dir ?? (values.file === "-" ? "stdin" : values.file)),
      inputError: (error) =>
        error instanceof InputError || error instanceof FormatError ? error.message : undefined,
    },
  );
});
