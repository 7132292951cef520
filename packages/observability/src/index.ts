export {
  createLogger,
  type Logger,
  type LoggerFactoryOptions,
  redactedPaths,
  silentLogger,
} from "./logger.ts";
export { type PipelineCounts, PipelineMetrics } from "./metrics.ts";
export {
  extractTraceContext,
  injectTraceHeaders,
  installTracing,
  SpanKind,
  tracer,
  withSpan,
} from "./tracing.ts";
