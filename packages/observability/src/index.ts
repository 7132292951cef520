export { type HealthServer, type HealthServerOptions, installMetrics, startHealthServer } from "./health.ts";
export {
  createLogger,
  type Logger,
  type LoggerFactoryOptions,
  redactedPaths,
  silentLogger,
} from "./logger.ts";
export { type PipelineCounts, PipelineMetrics } from "./metrics.ts";
export {
  addSpanProcessor,
  extractTraceContext,
  injectTraceHeaders,
  inSpan,
  installTracing,
  SpanKind,
  tracer,
  withSpan,
} from "./tracing.ts";
