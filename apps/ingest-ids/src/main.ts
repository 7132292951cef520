#!/usr/bin/env node
import { ConfigError } from "@vigil/config";
import { createLogger, installTracing, PipelineMetrics } from "@vigil/observability";
import { topicName, topics } from "@vigil/schema";
import { createKafkaTransport, onShutdown, type Transport } from "@vigil/stream";
import {
  cli,
  describeSummary,
  IngestPublishError,
  InputError,
  openInput,
  runIngestIds,
  STAGE,
} from "./index.ts";

installTracing();

function fail(message: string, code: number): never {
  process.stderr.write(`${cli.definition.name}: ${message}\n`);
  process.exit(code);
}

let values: ReturnType<typeof cli.parse>["values"];
try {
  values = cli.parse().values;
} catch (error) {
  if (error instanceof ConfigError) fail(error.message, 2);
  throw error;
}

const logger = createLogger(STAGE, { level: values.logLevel });

// An unreadable input is reported before connecting anywhere.
try {
  if (values.file !== "-") (await openInput(values.file)).stream.destroy();
} catch (error) {
  if (error instanceof InputError) fail(error.message, 2);
  throw error;
}

let transport: Transport | undefined;
if (!values.dryRun) {
  if (!values.brokers) {
    fail(
      "no Kafka brokers: set --brokers or KAFKA_BROKERS (e.g. 127.0.0.1:9092); --dry-run needs none, and `pnpm demo` runs the pipeline without Kafka",
      2,
    );
  }
  transport = createKafkaTransport({
    brokers: values.brokers,
    clientId: values.clientId ?? "vigil-ingest-ids",
    logger,
  });
  const needed = [topics.idsAlerts, topics.dlq].map((spec) => topicName(spec, values.topicPrefix));
  let existing: Set<string>;
  try {
    existing = new Set(await transport.listTopics());
  } catch (error) {
    await transport.close().catch(() => {});
    fail(`cannot reach Kafka at ${values.brokers.join(",")}: ${(error as Error).message}`, 1);
  }
  const missing = needed.filter((name) => !existing.has(name));
  if (missing.length > 0) {
    await transport.close();
    fail(`missing topics: ${missing.join(", ")}; create them with \`pnpm topics:apply\``, 2);
  }
}

const controller = new AbortController();
const removeSignalHandlers = onShutdown(logger, async () => {
  controller.abort();
});

try {
  const summary = await runIngestIds({
    transport,
    logger,
    metrics: new PipelineMetrics(STAGE),
    config: values,
    stdin: process.stdin,
    out: process.stdout,
    errOut: process.stderr,
    signal: controller.signal,
  });
  removeSignalHandlers();
  await transport?.close();
  if (values.json) process.stdout.write(`${JSON.stringify({ summary })}\n`);
  else
    process.stderr.write(
      `${cli.definition.name}: ${describeSummary(summary, values.file === "-" ? "stdin" : values.file)}\n`,
    );
  process.exitCode = 0;
} catch (error) {
  removeSignalHandlers();
  await transport?.close().catch(() => {});
  if (error instanceof InputError) fail(error.message, 2);
  if (error instanceof IngestPublishError) {
    logger.error({ err: error, summary: error.summary }, "publishing failed");
    if (values.json)
      process.stdout.write(`${JSON.stringify({ summary: error.summary, error: error.message })}\n`);
    fail(error.message, 1);
  }
  logger.error({ err: error }, "ingest failed");
  fail((error as Error).message, 1);
}
