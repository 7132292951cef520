#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { onShutdown } from "@vigil/stream";
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
  const controller = new AbortController();
  const removeSignalHandlers = onShutdown(logger, async () => controller.abort());
  try {
    const summary = await runInventoryIngest({
      transport,
      logger,
      metrics,
      config: values,
      stdin: process.stdin,
      out: process.stdout,
      errOut: process.stderr,
      signal: controller.signal,
    });
    if (values.json) process.stdout.write(`${JSON.stringify({ summary })}\n`);
    else process.stderr.write(`${cli.definition.name}: ${describeSummary(summary)}\n`);
  } catch (error) {
    if (error instanceof InputError) throw new ExitError(error.message, 2);
    logger.error({ err: error }, "ingest failed");
    throw new ExitError((error as Error).message, 1);
  } finally {
    removeSignalHandlers();
    await transport?.close().catch(() => {});
  }
});
