#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp, runToEnd } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { checkConfig, cli, describeSummary, InputError, runInventoryIngest, STAGE } from "./index.ts";

await exitOnError(cli.definition.name, async () => {
  const { values, logger, metrics, transport } = await prepareApp(cli, {
    stage: STAGE,
    topics: () => [topics.inventoryHosts, topics.inventoryAudits, topics.dlq],
    needsKafka: (values) => !values.dryRun,
    // A bad mapping or an unreadable input is reported before connecting anywhere.
    precheck: async (values) => {
      try {
        await checkConfig(values);
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
        runInventoryIngest({
          transport,
          logger,
          metrics,
          config: values,
          stdin: process.stdin,
          out: process.stdout,
          errOut: process.stderr,
          signal,
        }),
      describe: (summary) => describeSummary(summary),
      inputError: (error) => (error instanceof InputError ? error.message : undefined),
    },
  );
});
