import {
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace-base";

/** Lets exporters be attached after the provider is registered (tests, host applications). */
class FanOutSpanProcessor implements SpanProcessor {
  readonly processors: SpanProcessor[] = [];
  onStart(span: Parameters<SpanProcessor["onStart"]>[0], parent: Context): void {
    for (const processor of this.processors) processor.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    for (const processor of this.processors) processor.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.shutdown()));
  }
}

const fanOut = new FanOutSpanProcessor();
let installed = false;

/**
 * Registers, once per process: W3C trace-context propagation, an async context manager, and a
 * tracer provider that creates real trace and span ids. Without a provider the OpenTelemetry API
 * is a no-op: no trace would start at ingest and no `traceparent` would reach Kafka headers.
 * Spans are exported only where an exporter is attached (`addSpanProcessor`, or
 * `installTelemetry` from `OTEL_TRACES_EXPORTER`). The first call's `resource` (service.name, ...)
 * is the one spans carry.
 */
export function installTracing(options: { resource?: Resource } = {}): void {
  if (installed) return;
  installed = true;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [fanOut],
      ...(options.resource ? { resource: options.resource } : {}),
    }),
  );
}

/** Exports what the attached processors still buffer (a batch processor's queue). */
export async function flushTracing(): Promise<void> {
  await fanOut.forceFlush();
}

/** Attaches a span processor (with its exporter) to the provider `installTracing` registered. */
export function addSpanProcessor(processor: SpanProcessor): void {
  fanOut.processors.push(processor);
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

export interface SpanRunOptions {
  /** The parent (e.g. the context extracted from a record); default the active context. */
  parent?: Context;
  /** Start a new trace whatever is active (work with many causes: give them as `links`). */
  root?: boolean;
  /** Spans this one follows from without being their child (`traceLinks`). */
  links?: Link[];
  kind?: SpanKind;
  attributes?: Record<string, string | number | boolean>;
}

/** Links to the spans that produced these records (those whose headers carry a valid `traceparent`). */
export function traceLinks(headers: Iterable<Record<string, string>>): Link[] {
  const links: Link[] = [];
  for (const carrier of headers) {
    const spanContext = trace.getSpanContext(extractTraceContext(carrier));
    if (spanContext !== undefined && trace.isSpanContextValid(spanContext))
      links.push({ context: spanContext });
  }
  return links;
}

function startSpan(name: string, options: SpanRunOptions): { span: Span; parent: Context } {
  const parent = options.root ? ROOT_CONTEXT : (options.parent ?? context.active());
  const span = tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.links && options.links.length > 0 ? { links: options.links } : {}),
    },
    parent,
  );
  return { span, parent };
}

/**
 * Runs `work` in a span that is a child of `parent` (e.g. the context extracted from a record).
 * The span records failure and always ends.
 */
export async function withSpan<T>(
  name: string,
  options: SpanRunOptions,
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const { span, parent } = startSpan(name, options);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

export { SpanKind };

/** `withSpan` for synchronous work (e.g. encoding a record, which stamps the span's `traceparent`). */
export function inSpan<T>(name: string, options: SpanRunOptions, work: (span: Span) => T): T {
  const { span, parent } = startSpan(name, options);
  try {
    return context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}
