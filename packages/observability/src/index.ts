export { type HealthServer, type HealthServerOptions, startHealthServer } from "./health.ts";
export {
  createLogger,
  type Logger,
  type LoggerFactoryOptions,
  redactedPaths,
  silentLogger,
} from "./logger.ts";
export { type PipelineCounts, PipelineMetrics } from "./metrics.ts";
export {
  flushTelemetry,
  installMetrics,
  installTelemetry,
  parseTelemetryEnv,
  prometheusExporter,
  type TelemetryConfig,
  TelemetryConfigError,
  TelemetryEnv,
  type TelemetryOptions,
  telemetryResource,
} from "./telemetry.ts";
export {
  addSpanProcessor,
  extractTraceContext,
  flushTracing,
  injectTraceHeaders,
  inSpan,
  installTracing,
  SpanKind,
  type SpanRunOptions,
  traceLinks,
  tracer,
  withSpan,
} from "./tracing.ts";
