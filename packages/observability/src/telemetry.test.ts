import { describe, expect, it } from "vitest";
import { PipelineMetrics } from "./metrics.ts";
import { parseTelemetryEnv, TelemetryConfigError, telemetryResource } from "./telemetry.ts";

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    parseTelemetryEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(TelemetryConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a TelemetryConfigError");
}

describe("parseTelemetryEnv", () => {
  it("defaults to Prometheus metrics, no traces, OTLP over http/protobuf; empty values count as unset", () => {
    expect(parseTelemetryEnv({ OTEL_TRACES_EXPORTER: "", OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toEqual({
      OTEL_METRICS_EXPORTER: ["prometheus"],
      OTEL_TRACES_EXPORTER: ["none"],
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_METRIC_EXPORT_INTERVAL: 60_000,
    });
  });

  it("reads exporter lists, endpoints, protocols and the export interval", () => {
    const config = parseTelemetryEnv({
      OTEL_METRICS_EXPORTER: " Prometheus, otlp ",
      OTEL_TRACES_EXPORTER: "otlp,console",
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.monitoring:4318",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_METRIC_EXPORT_INTERVAL: "15000",
      UNRELATED: "x",
    });
    expect(config).toMatchObject({
      OTEL_METRICS_EXPORTER: ["prometheus", "otlp"],
      OTEL_TRACES_EXPORTER: ["otlp", "console"],
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.monitoring:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_METRIC_EXPORT_INTERVAL: 15_000,
    });
  });

  it("names every invalid variable and what it expects", () => {
    const message = errorOf({
      OTEL_METRICS_EXPORTER: "prometheus,statsd",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "collector:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_METRIC_EXPORT_INTERVAL: "soon",
      OTEL_RESOURCE_ATTRIBUTES: "team=soc,=x",
    });
    expect(message).toContain(
      "OTEL_METRICS_EXPORTER: expected a comma-separated list of prometheus, otlp, none",
    );
    expect(message).toContain("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: expected an http:// or https:// URL");
    expect(message).toContain("OTEL_EXPORTER_OTLP_PROTOCOL: expected http/protobuf or http/json");
    expect(message).toContain("OTEL_METRIC_EXPORT_INTERVAL: expected milliseconds, a positive integer");
    expect(message).toContain("OTEL_RESOURCE_ATTRIBUTES: expected key=value pairs separated by commas");
    expect(message).toContain('got "=x"');
  });
});

describe("telemetryResource", () => {
  it("names the service vigil-<stage> with its version and a per-process instance id", () => {
    const attributes = telemetryResource(parseTelemetryEnv({}), {
      stage: "rules-engine",
      version: "1.2.3",
    }).attributes;
    expect(attributes["service.name"]).toBe("vigil-rules-engine");
    expect(attributes["service.version"]).toBe("1.2.3");
    expect(attributes["service.instance.id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("takes OTEL_RESOURCE_ATTRIBUTES (percent-decoded) over the defaults, and OTEL_SERVICE_NAME over both", () => {
    const fromAttributes = telemetryResource(
      parseTelemetryEnv({
        OTEL_RESOURCE_ATTRIBUTES: "service.name=ids-dmz,service.instance.id=pod%2D7,k8s.namespace.name=soc",
      }),
      { stage: "ingest-ids" },
    ).attributes;
    expect(fromAttributes).toMatchObject({
      "service.name": "ids-dmz",
      "service.instance.id": "pod-7",
      "k8s.namespace.name": "soc",
    });
    const named = telemetryResource(
      parseTelemetryEnv({ OTEL_RESOURCE_ATTRIBUTES: "service.name=ids-dmz", OTEL_SERVICE_NAME: "ids-edge" }),
      { stage: "ingest-ids" },
    ).attributes;
    expect(named["service.name"]).toBe("ids-edge");
  });
});

describe("PipelineMetrics backpressure", () => {
  it("is held while any holder has not released, and while a watched condition says so", () => {
    const metrics = new PipelineMetrics("pressure-test");
    expect(metrics.backpressure()).toBeUndefined();
    const first = metrics.holdBack("send retrying");
    const second = metrics.holdBack("send retrying");
    first();
    first();
    expect(metrics.backpressure()).toBe("send retrying");
    second();
    expect(metrics.backpressure()).toBeUndefined();
    let full = true;
    metrics.watchBackpressure(() => (full ? "queue full" : undefined));
    expect(metrics.backpressure()).toBe("queue full");
    full = false;
    expect(metrics.backpressure()).toBeUndefined();
  });
});
