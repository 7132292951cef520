import { ConfigError, type OptionSpec, type ParsedCli } from "@vigil/config";
import { IngestPublishError } from "@vigil/ingest";
import {
  createLogger,
  flushTelemetry,
  type HealthServer,
  installTelemetry,
  type Logger,
  PipelineMetrics,
  parseTelemetryEnv,
  startHealthServer,
  type TelemetryConfig,
  TelemetryConfigError,
} from "@vigil/observability";
import { type TopicSpec, topicName } from "@vigil/schema";
import {
  createKafkaTransport,
  type KafkaSecurity,
  KafkaSecurityConfigError,
  kafkaSecurityFromEnv,
  onShutdown,
  type Transport,
} from "@vigil/stream";

/** What every app's command line has (from `commonOptions`). */
interface CommonValues {
  brokers?: string[] | undefined;
  topicPrefix: string;
  clientId?: string | undefined;
  logLevel: string;
  healthListen?: string | undefined;
}

type Cli<O extends Record<string, OptionSpec>> = {
  definition: { name: string; version?: string; options: O };
  parse(argv?: readonly string[], env?: NodeJS.ProcessEnv): { values: ParsedCli<O>; positionals: string[] };
};

/** Ends the process with an exit code and a one-line message: 2 for configuration, 1 for runtime. */
export class ExitError extends Error {
  override name = "ExitError";
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

export interface AppContext<V> {
  values: V;
  logger: Logger;
  metrics: PipelineMetrics;
  /** Absent only when `needsKafka` said no (e.g. `--dry-run`). */
  transport: Transport | undefined;
  /** Settles when a consumer of `transport` stopped for good (`runService` then exits 1). */
  consumerFailed?: Promise<Error>;
}

export interface ProcessIo {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
}

/**
 * Parses the configuration (ConfigError -> exit 2), creates the logger, connects to Kafka and
 * checks that the topics the app reads and writes exist (auto-creation is off on Vigil's
 * clusters: a missing topic is a deployment error, exit 2, naming `pnpm topics:apply`).
 */
export async function prepareApp<O extends Record<string, OptionSpec>>(
  cli: Cli<O>,
  options: {
    stage: string;
    topics: (values: ParsedCli<O>) => TopicSpec[];
    needsKafka?: (values: ParsedCli<O>) => boolean;
    /** Checks that should fail before connecting anywhere (e.g. an unreadable input file). */
    precheck?: (values: ParsedCli<O>) => Promise<void>;
    io?: ProcessIo;
  },
): Promise<AppContext<ParsedCli<O>>> {
  const env = options.io?.env ?? process.env;
  let values: ParsedCli<O>;
  let telemetry: TelemetryConfig;
  try {
    values = cli.parse(options.io?.argv ?? process.argv.slice(2), env).values;
    telemetry = parseTelemetryEnv(env);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TelemetryConfigError)
      throw new ExitError(error.message, 2);
    throw error;
  }
  const common = values as ParsedCli<O> & CommonValues;
  const logger = createLogger(options.stage, { level: common.logLevel });
  // Before any span or PipelineMetrics: instruments taken before their provider exists stay no-ops.
  installTelemetry({
    stage: options.stage,
    ...(cli.definition.version !== undefined ? { version: cli.definition.version } : {}),
    scrape: common.healthListen !== undefined,
    config: telemetry,
  });
  await options.precheck?.(values);
  const metrics = new PipelineMetrics(options.stage);
  if (options.needsKafka && !options.needsKafka(values))
    return { values, logger, metrics, transport: undefined };
  if (!common.brokers) {
    throw new ExitError(
      "no Kafka brokers: set --brokers or KAFKA_BROKERS (e.g. 127.0.0.1:9092); `pnpm demo` runs the pipeline without Kafka",
      2,
    );
  }
  // TLS and SASL from the KAFKA_* variables; an invalid setting is a configuration error.
  let security: KafkaSecurity;
  try {
    security = kafkaSecurityFromEnv(env);
  } catch (error) {
    if (error instanceof KafkaSecurityConfigError) throw new ExitError(error.message, 2);
    throw error;
  }
  const consumerFailed = Promise.withResolvers<Error>();
  const transport = createKafkaTransport({
    brokers: common.brokers,
    clientId: common.clientId ?? `vigil-${options.stage}`,
    logger,
    security,
    groupPrefix: common.topicPrefix,
    onConsumerFailed: ({ error }) => consumerFailed.resolve(error),
  });
  let existing: Set<string>;
  try {
    existing = new Set(await transport.listTopics());
  } catch (error) {
    await transport.close().catch(() => {});
    throw new ExitError(`cannot reach Kafka at ${common.brokers.join(",")}: ${(error as Error).message}`, 1);
  }
  const missing = options
    .topics(values)
    .map((spec) => topicName(spec, common.topicPrefix))
    .filter((name) => !existing.has(name));
  if (missing.length > 0) {
    await transport.close();
    throw new ExitError(
      `missing topics: ${missing.join(", ")}; create them with \`pnpm topics:apply\` (on a cluster with ACLs, a topic the user may not describe is missing to it too)`,
      2,
    );
  }
  return { values, logger, metrics, transport, consumerFailed: consumerFailed.promise };
}

export interface ServiceOptions<O extends Record<string, OptionSpec>> {
  stage: string;
  /** Topics the service reads and writes (checked at start). */
  topics: (values: ParsedCli<O>) => TopicSpec[];
  start: (context: AppContext<ParsedCli<O>> & { transport: Transport }) => Promise<{ stop(): Promise<void> }>;
  /** Start failures that are configuration problems (exit 2), e.g. a bad reference file. */
  isConfigError?: (error: unknown) => boolean;
}

/**
 * The whole `main` of a long-running service: prepare, start, and on SIGTERM/SIGINT stop the
 * service (finish in flight, commit, leave the group) and disconnect. Exit codes: 0 stopped
 * cleanly, 1 runtime failure, 2 configuration or deployment error.
 */
export async function runService<O extends Record<string, OptionSpec>>(
  cli: Cli<O>,
  options: ServiceOptions<O>,
): Promise<void> {
  await exitOnError(cli.definition.name, async () => {
    const context = await prepareApp(cli, options);
    const transport = context.transport!;
    const listen = (context.values as ParsedCli<O> & CommonValues).healthListen;
    // Alive from here; ready once started (connected, reference data restored) until stopping,
    // except while backpressured (a send being retried).
    let notReady: string | undefined = "starting: restoring state and reference data";
    const health = await serveHealth(listen, () => notReady ?? context.metrics.backpressure(), context);
    const starting = options.start({ ...context, transport });
    // Handled from before the start finishes: a SIGTERM while tables are restored (a rollout, a drain)
    // waits for the start, then stops cleanly: the group is left at once instead of after the session
    // timeout, and nothing is killed half-way.
    let stopping = false;
    const stop = async () => {
      stopping = true;
      notReady = "stopping";
      const service = await starting.catch(() => undefined);
      await service?.stop();
      await transport.close().catch(() => {});
      await health?.stop().catch(() => {});
      await flushTelemetry();
    };
    onShutdown(context.logger, stop);
    // A consumer kafkajs gave up on consumes nothing again: alive and ready, the service would
    // judge nothing unseen. It stops as on SIGTERM and exits 1, to be restarted and noticed.
    void context.consumerFailed?.then(async (error) => {
      if (stopping) return;
      context.logger.fatal({ err: error }, `${options.stage} cannot consume any more; exiting`);
      // A start that waited for the failed consumer (a table restore) would never finish: bounded.
      setTimeout(() => process.exit(1), 10_000);
      await stop().catch(() => {});
      process.stderr.write(`${cli.definition.name}: ${error.message}\n`);
      process.exit(1);
    });
    try {
      await starting;
    } catch (error) {
      context.logger.error({ err: error }, `${options.stage} failed to start`);
      await health?.stop().catch(() => {});
      await transport.close().catch(() => {});
      throw new ExitError((error as Error).message, options.isConfigError?.(error) ? 2 : 1);
    }
    if (!stopping) notReady = undefined;
  });
}

/**
 * /healthz, /readyz and /metrics on `listen` (`--health-listen`), or nothing without it. A port that
 * cannot be served is a configuration error: exit 2, after closing the Kafka connection.
 */
async function serveHealth(
  listen: string | undefined,
  notReady: () => string | undefined,
  context: { logger: Logger; transport: Transport | undefined },
): Promise<HealthServer | undefined> {
  if (listen === undefined) return undefined;
  return startHealthServer({ listen, notReady, logger: context.logger }).catch(async (error: unknown) => {
    await context.transport?.close().catch(() => {});
    throw new ExitError(`cannot serve health on ${listen}: ${(error as Error).message}`, 2);
  });
}

/**
 * Runs `main`; an ExitError prints `name: message` on stderr and sets the exit code. Buffered
 * telemetry (last metrics, batched spans) is pushed before a run-to-end app exits.
 */
export async function exitOnError(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
    await flushTelemetry();
  } catch (error) {
    if (error instanceof ExitError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      await flushTelemetry();
      process.exit(error.code);
    }
    throw error;
  }
}

/**
 * The second half of an ingest app's `main`: runs the ingest to the end of its input (or until
 * SIGTERM/SIGINT, after which what was read is still published), prints the summary (a line on
 * stderr, or `{"summary": ...}` on stdout with `--json`), and maps failures to exit codes:
 * 2 for the input's or configuration's fault (`inputError` gives the message), 1 when
 * publishing failed (the summary says how far it got) or anything else went wrong.
 * With `--health-listen` it serves /healthz, /readyz and /metrics while it runs: ready once
 * connected with its topics checked (`prepareApp` did both), not while held back (a send
 * retried, a full syslog queue: `metrics.backpressure()`) nor once stopping or finished.
 */
export async function runToEnd<S>(
  context: {
    logger: Logger;
    transport: Transport | undefined;
    metrics?: PipelineMetrics;
    values?: { healthListen?: string | undefined };
  },
  options: {
    json: boolean;
    run: (signal: AbortSignal) => Promise<S>;
    describe: (summary: S) => string;
    inputError: (error: unknown) => string | undefined;
    name: string;
  },
): Promise<void> {
  const { logger, transport } = context;
  const controller = new AbortController();
  let finished = false;
  const health = await serveHealth(
    context.values?.healthListen,
    () => (controller.signal.aborted ? "stopping" : finished ? "finished" : context.metrics?.backpressure()),
    context,
  );
  const removeSignalHandlers = onShutdown(logger, async () => controller.abort());
  try {
    const summary = await options.run(controller.signal);
    finished = true;
    if (options.json) process.stdout.write(`${JSON.stringify({ summary })}\n`);
    else process.stderr.write(`${options.name}: ${options.describe(summary)}\n`);
  } catch (error) {
    const inputProblem = options.inputError(error);
    if (inputProblem !== undefined) throw new ExitError(inputProblem, 2);
    if (error instanceof IngestPublishError) {
      logger.error({ err: error, summary: error.summary }, "publishing failed");
      if (options.json)
        process.stdout.write(`${JSON.stringify({ summary: error.summary, error: error.message })}\n`);
      throw new ExitError(error.message, 1);
    }
    logger.error({ err: error }, "ingest failed");
    throw new ExitError((error as Error).message, 1);
  } finally {
    finished = true;
    removeSignalHandlers();
    await transport?.close().catch(() => {});
    await health?.stop();
  }
}
