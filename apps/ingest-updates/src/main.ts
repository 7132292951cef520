#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { onShutdown } from "@vigil/stream";
import {
  cli,
  describeSummary,
  FormatError,
  IngestPublishError,
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

  // SIGTERM stops reading; what was read is still published and the summary printed.
  const controller = new AbortController();
  const removeSignalHandlers = onShutdown(logger, async () => controller.abort());
  try {
    const summary = await runIngestUpdates({
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
    else
      process.stderr.write(
        `${cli.definition.name}: ${describeSummary(summary, values.dir ?? (values.file === "-" ? "stdin" : values.file))}\n`,
      );
  } catch (error) {
    if (error instanceof InputError || error instanceof FormatError) throw new ExitError(error.message, 2);
    if (error instanceof IngestPublishError) {
      logger.error({ err: error, summary: error.summary }, "publishing failed");
      if (values.json)
        process.stdout.write(`${JSON.stringify({ summary: error.summary, error: error.message })}\n`);
      throw new ExitError(error.message, 1);
    }
    logger.error({ err: error }, "ingest failed");
    throw new ExitError((error as Error).message, 1);
  } finally {
    removeSignalHandlers();
    await transport?.close().catch(() => {});
  }
});
