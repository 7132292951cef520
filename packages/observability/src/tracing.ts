import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

let installed = false;

/**
 * Registers W3C trace-context propagation and an async context manager, once per process.
 * Without this the OpenTelemetry API is a no-op and `traceparent` would never reach Kafka headers.
 * An SDK (tracer provider, exporters) may be registered by the host application on top of it.
 */
export function installTracing(): void {
  if (installed) return;
  installed = true;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

export function tracer(name = "vigil"): Tracer {
  return trace.getTracer(name);
}

/** Writes the active (or given) context's `traceparent`/`tracestate` into Kafka-style string headers. */
export function injectTraceHeaders(
  headers: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  return headers;
}

/** The remote parent context carried in a consumed record's headers. */
export function extractTraceContext(headers: Record<string, string>): Context {
  return propagation.extract(context.active(), headers, {
    get: (carrier, key) => carrier[key],
    keys: (carrier) => Object.keys(carrier),
  });
}

/**
 * Runs `work` in a span that is a child of `parent` (e.g. the context extracted from a record).
 * The span records failure and always ends.
 */
export async function withSpan<T>(
  name: string,
  options: { parent?: Context; kind?: SpanKind; attributes?: Record<string, string | number | boolean> },
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const span = tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    options.parent ?? context.active(),
  );
  const ctx = trace.setSpan(options.parent ?? context.active(), span);
  try {
    return await context.with(ctx, () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

export { SpanKind };
