#!/usr/bin/env node
import { ConfigError } from "@vigil/config";
import { createLogger, installTracing, PipelineMetrics } from "@vigil/observability";
import { topicName, topics } from "@vigil/schema";
import { createKafkaTransport, onShutdown } from "@vigil/stream";
import { cli, STAGE, startSinkIncidents } from "./index.ts";

installTracing();

function fail(message: string, code = 2): never {
  process.stderr.write(`${cli.definition.name}: ${message}\n`);
  process.exit(code);
}

let values: ReturnType<typeof cli.parse>["values"];
try {
  values = cli.parse().values;
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}

const logger = createLogger(STAGE, { level: values.logLevel });
if (!values.brokers) {
  fail(
    "no Kafka brokers: set --brokers or KAFKA_BROKERS (e.g. 127.0.0.1:9092); to run without Kafka use `pnpm demo`",
  );
}

const transport = createKafkaTransport({
  brokers: values.brokers,
  clientId: values.clientId ?? "vigil-sink-incidents",
  logger,
});
const needed = [topics.findings, topics.incidents, topics.dlq].map((spec) =>
  topicName(spec, values.topicPrefix),
);
const existing = new Set(await transport.listTopics());
const missing = needed.filter((name) => !existing.has(name));
if (missing.length > 0) {
  await transport.close();
  fail(`missing topics: ${missing.join(", ")}; create them with \`pnpm topics:apply\``);
}

try {
  const sink = await startSinkIncidents({
    transport,
    logger,
    metrics: new PipelineMetrics(STAGE),
    config: values,
  });
  onShutdown(logger, async () => {
    await sink.stop();
    await transport.close();
  });
} catch (error) {
  logger.error({ err: error }, "sink-incidents failed to start");
  await transport.close();
  fail((error as Error).message, 1);
}
