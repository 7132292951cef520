#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { onShutdown } from "@vigil/stream";
import {
  checkInput,
  cli,
  describeSummary,
  IngestPublishError,
  InputError,
  runIngestFirewall,
  STAGE,
} from "./index.ts";

await exitOnError(cli.definition.name, async () => {
  const { values, logger, metrics, transport } = await prepareApp(cli, {
    stage: STAGE,
    topics: () => [topics.firewallEvents, topics.dlq],
    needsKafka: (values) => !values.dryRun,
    // A bad input or TLS file is reported before connecting anywhere.
    precheck: async (values) => {
      try {
        await checkInput(values);
      } catch (error) {
        if (error instanceof InputError) throw new ExitError(error.message, 2);
        throw error;
      }
    },
  });

  // SIGTERM: listeners stop accepting, the queue drains, what was received is published, then the summary.
  const controller = new AbortController();
  const removeSignalHandlers = onShutdown(logger, async () => controller.abort());
  const source =
    values.listenUdp || values.listenTcp ? "syslog" : values.file === "-" ? "stdin" : values.file;
  try {
    const summary = await runIngestFirewall({
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
    else process.stderr.write(`${cli.definition.name}: ${describeSummary(summary, source)}\n`);
  } catch (error) {
    if (error instanceof InputError) throw new ExitError(error.message, 2);
    if (error instanceof IngestPublishError) {
      logger.error({ err: error, summary: error.summary }, "publishing failed");
      if (values.json)
        process.stdout.write(`${JSON.stringify({ summary: error.summary, error: error.message })}\n`);
      throw new ExitError(error.message, 1);
    }
    if (
      (error as NodeJS.ErrnoException).code === "EADDRINUSE" ||
      (error as NodeJS.ErrnoException).code === "EACCES"
    )
      throw new ExitError(`cannot listen: ${(error as Error).message}`, 2);
    logger.error({ err: error }, "ingest failed");
    throw new ExitError((error as Error).message, 1);
  } finally {
    removeSignalHandlers();
    await transport?.close().catch(() => {});
  }
});
