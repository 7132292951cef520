#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp, runToEnd } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import {
  cli,
  describeSummary,
  FormatError,
  InputError,
  openInput,
  runIngestUpdates,
  STAGE,
} from "./index.ts";

await exitOnError(cli.definition.name, async () => {
  const { values, logger, metrics, transport } = await prepareApp(cli, {
    stage: STAGE,
    topics: () => [topics.updatesAgent, topics.dlq],
    needsKafka: (values) => !values.dryRun,
    // An unreadable input is reported before connecting anywhere.
    precheck: async (values) => {
      try {
        if (values.dir === undefined && values.file !== "-") (await openInput(values.file)).stream.destroy();
      } catch (error) {
        if (error instanceof InputError) throw new ExitError(error.message, 2);
        throw error;
      }
    },
  });

  await runToEnd(
    { logger, transport, metrics, values },
    {
      name: cli.definition.name,
      json: values.json,
      run: (signal) =>
        runIngestUpdates({
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
