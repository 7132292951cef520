import { randomUUID } from "node:crypto";
import { metrics } from "@opentelemetry/api";
import { OTLPMetricExporter as OtlpJsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OtlpProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter as OtlpJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { type Resource, resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { z } from "zod";
import { addSpanProcessor, flushTracing, installTracing } from "./tracing.ts";

/** A configuration error in an `OTEL_*` variable; the message names the variable and what was expected. */
export class TelemetryConfigError extends Error {
  override name = "TelemetryConfigError";
}

/** `a,b` -> ["a", "b"]: OpenTelemetry's exporter lists, each entry one of `allowed`. */
const exporterList = <const T extends readonly [string, ...string[]]>(allowed: T) =>
  z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((part) => part.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(
      z.array(z.enum(allowed, { error: `a comma-separated list of ${allowed.join(", ")}` }), {
        error: `a comma-separated list of ${allowed.join(", ")}`,
      }),
    );

const endpoint = z.url({
  protocol: /^https?$/,
  error: "an http:// or https:// URL, e.g. http://otel-collector:4318",
});

const protocol = z.enum(["http/protobuf", "http/json"], {
  error: "http/protobuf or http/json (grpc is not bundled: use a collector's HTTP port, 4318)",
});

/** `key1=value1,key2=value2`, values percent-encoded (the W3C Baggage octet rules, as the spec says). */
const resourceAttributes = z.string().transform((value, ctx) => {
  const attributes: Record<string, string> = {};
  for (const pair of value.split(",")) {
    if (pair.trim() === "") continue;
    const equals = pair.indexOf("=");
    const key = equals > 0 ? pair.slice(0, equals).trim() : "";
    let decoded: string | undefined;
    try {
      decoded = equals > 0 ? decodeURIComponent(pair.slice(equals + 1).trim()) : undefined;
    } catch {
      decoded = undefined;
    }
    if (key === "" || decoded === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `key=value pairs separated by commas, values percent-encoded; got "${pair.trim()}"`,
      });
      return z.NEVER;
    }
    attributes[key] = decoded;
  }
  return attributes;
});

/**
 * The OpenTelemetry SDK variables Vigil honours. Defaults differ from the specification's on
 * purpose: metrics go to Prometheus (scraped on `--health-listen`), traces nowhere, so that no
 * app pushes to a collector that was never configured.
 */
export const TelemetryEnv = z.object({
  OTEL_SERVICE_NAME: z.string().min(1, "a non-empty service name").optional(),
  OTEL_RESOURCE_ATTRIBUTES: resourceAttributes.optional(),
  OTEL_METRICS_EXPORTER: exporterList(["prometheus", "otlp", "none"]).default(["prometheus"]),
  OTEL_TRACES_EXPORTER: exporterList(["otlp", "console", "none"]).default(["none"]),
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.optional(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol.default("http/protobuf"),
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol.optional(),
  OTEL_METRIC_EXPORT_INTERVAL: z.coerce
    .number({ error: "milliseconds, a positive integer" })
    .int("milliseconds, a positive integer")
    .positive("milliseconds, a positive integer")
    .default(60_000),
});
export type TelemetryConfig = z.output<typeof TelemetryEnv>;

/** Validates the `OTEL_*` variables of `env`; an empty value counts as unset, as the specification says. */
export function parseTelemetryEnv(env: NodeJS.ProcessEnv): TelemetryConfig {
  const present = Object.fromEntries(
    Object.keys(TelemetryEnv.shape).flatMap((key) => {
      const value = env[key]?.trim();
      return value ? [[key, value]] : [];
    }),
  );
  const result = TelemetryEnv.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${String(issue.path[0])}: expected ${issue.message}`);
  throw new TelemetryConfigError(`invalid OpenTelemetry configuration:\n  ${problems.join("\n  ")}`);
}

/** service.name (OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES, else `vigil-<stage>`), version, instance id. */
export function telemetryResource(
  config: TelemetryConfig,
  service: { stage: string; version?: string },
): Resource {
  const fromEnv = config.OTEL_RESOURCE_ATTRIBUTES ?? {};
  return resourceFromAttributes({
    "service.name": `vigil-${service.stage}`,
    ...(service.version !== undefined ? { "service.version": service.version } : {}),
    // One per process, as the semantic conventions suggest; a pod name can be given through the env.
    "service.instance.id": randomUUID(),
    ...fromEnv,
    ...(config.OTEL_SERVICE_NAME !== undefined ? { "service.name": config.OTEL_SERVICE_NAME } : {}),
  });
}

/** The signal's URL: its own variable as given, else the base endpoint + `/v1/<signal>`, else the local default. */
function signalUrl(config: TelemetryConfig, signal: "metrics" | "traces"): string {
  const own =
    signal === "metrics"
      ? config.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
      : config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (own !== undefined) return own;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318";
  return `${base.replace(/\/+$/, "")}/v1/${signal}`;
}

let meterProvider: MeterProvider | undefined;
let prometheus: PrometheusExporter | undefined;

/** The Prometheus reader `/metrics` serves, when one was installed. */
export function prometheusExporter(): PrometheusExporter | undefined {
  return prometheus;
}

/**
 * Registers the global MeterProvider with the given readers (Prometheus when `prometheus`).
 * Call it before any `PipelineMetrics` is made: meters taken from the API before a provider
 * exists stay no-ops. Only the first call registers; later calls return what it installed.
 */
export function installMetrics(
  options: { prometheus?: boolean; readers?: MetricReader[]; resource?: Resource } = { prometheus: true },
): PrometheusExporter | undefined {
  if (meterProvider) return prometheus;
  // The health server serves the scrape: the exporter must not open a port of its own.
  if (options.prometheus) prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers = [...(prometheus ? [prometheus] : []), ...(options.readers ?? [])];
  meterProvider = new MeterProvider({
    readers,
    ...(options.resource ? { resource: options.resource } : {}),
  });
  metrics.setGlobalMeterProvider(meterProvider);
  return prometheus;
}

export interface TelemetryOptions {
  stage: string;
  version?: string;
  /** A health server will serve `/metrics`: the Prometheus exporter has somewhere to be scraped. */
  scrape: boolean;
  config: TelemetryConfig;
}

/**
 * Once per process, from the validated `OTEL_*` configuration: the resource (service.name,
 * service.version, service.instance.id), the tracer provider with the chosen span exporters,
 * and the meter provider with the chosen metric readers. With nothing to export to, metrics
 * stay no-ops (nothing pays for them).
 */
export function installTelemetry(options: TelemetryOptions): void {
  const { config } = options;
  const resource = telemetryResource(config, options);
  installTracing({ resource });
  const traces = new Set(config.OTEL_TRACES_EXPORTER);
  if (!traces.has("none")) {
    if (traces.has("otlp")) {
      const protocol = config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? config.OTEL_EXPORTER_OTLP_PROTOCOL;
      const url = signalUrl(config, "traces");
      addSpanProcessor(
        new BatchSpanProcessor(
          protocol === "http/json" ? new OtlpJsonTraceExporter({ url }) : new OtlpProtoTraceExporter({ url }),
        ),
      );
    }
    if (traces.has("console")) addSpanProcessor(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  }
  const metricsExporters = new Set(config.OTEL_METRICS_EXPORTER);
  if (metricsExporters.has("none")) return;
  const readers: MetricReader[] = [];
  if (metricsExporters.has("otlp")) {
    const protocol = config.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? config.OTEL_EXPORTER_OTLP_PROTOCOL;
    const url = signalUrl(config, "metrics");
    readers.push(
      new PeriodicExportingMetricReader({
        exporter:
          protocol === "http/json"
            ? new OtlpJsonMetricExporter({ url })
            : new OtlpProtoMetricExporter({ url }),
        exportIntervalMillis: config.OTEL_METRIC_EXPORT_INTERVAL,
        exportTimeoutMillis: Math.min(30_000, config.OTEL_METRIC_EXPORT_INTERVAL),
      }),
    );
  }
  const scraped = metricsExporters.has("prometheus") && options.scrape;
  if (scraped || readers.length > 0) installMetrics({ prometheus: scraped, readers, resource });
}

/**
 * Pushes what is buffered (the last metrics, batched spans) to the exporters: call it before
 * the process ends. Never throws: an unreachable collector must not change an exit code.
 */
export async function flushTelemetry(): Promise<void> {
  await Promise.allSettled([meterProvider?.forceFlush(), flushTracing()]);
}
