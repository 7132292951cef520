#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp, runToEnd } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { cli, describeSummary, InputError, openInput, runIngestIds, STAGE } from "./index.ts";

await exitOnError(cli.definition.name, async () => {
  const { values, logger, metrics, transport } = await prepareApp(cli, {
    stage: STAGE,
    topics: (values) => [
      topics.idsAlerts,
      topics.idsContext,
      topics.dlq,
      ...(values.checkpoint !== undefined ? [topics.ingestCheckpoints] : []),
    ],
    needsKafka: (values) => !values.dryRun,
    // An unreadable input is reported before connecting anywhere.
    precheck: async (values) => {
      try {
        if (values.file !== "-" && values.unixSocket === undefined)
          (await openInput(values.file)).stream.destroy();
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
        runIngestIds({
          transport,
          logger,
          metrics,
          config: values,
          // Only when it is the input: a follower or a socket listener leaves the process's stdin alone.
          ...(values.file === "-" && values.unixSocket === undefined ? { stdin: process.stdin } : {}),
          out: process.stdout,
          errOut: process.stderr,
          signal,
        }),
      describe: (summary) =>
        describeSummary(
          summary,
          values.unixSocket !== undefined
            ? `unix:${values.unixSocket}`
            : values.file === "-"
              ? "stdin"
              : values.file,
        ),
      inputError: (error) => (error instanceof InputError ? error.message : undefined),
    },
  );
});
