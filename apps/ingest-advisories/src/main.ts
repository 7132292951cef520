#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { onShutdown } from "@vigil/stream";
import {
  cli,
  describeReleaseReport,
  describeSummary,
  FormatError,
  IngestPublishError,
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

  // SIGTERM stops reading; what was read is still published and the summary printed.
  const controller = new AbortController();
  const removeSignalHandlers = onShutdown(logger, async () => controller.abort());
  try {
    const summary = await runIngestAdvisories({
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
