import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { metrics } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import type { Logger } from "./logger.ts";

let exporter: PrometheusExporter | undefined;

/**
 * Registers an OpenTelemetry MeterProvider whose metrics a Prometheus scrape reads. Call it before
 * any `PipelineMetrics` is made: meters taken from the API before a provider exists stay no-ops.
 * Idempotent.
 */
export function installMetrics(): PrometheusExporter {
  if (exporter) return exporter;
  // The health server serves the scrape: the exporter must not open a port of its own.
  exporter = new PrometheusExporter({ preventServerStart: true });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
  return exporter;
}

export interface HealthServerOptions {
  /** `host:port`; port 0 picks a free one. */
  listen: string;
  /** Why the service is not ready (starting, restoring, stopping), or undefined when it is. */
  notReady: () => string | undefined;
  logger: Logger;
}

export interface HealthServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * `/healthz` (the process answers), `/readyz` (started: connected, reference data restored, not
 * stopping) and `/metrics` (Prometheus text of the OpenTelemetry metrics: records in, out,
 * dead-lettered per topic, retries, consumer lag per partition). For Kubernetes probes and scrapes.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const scrape = installMetrics();
  const colon = options.listen.lastIndexOf(":");
  const host = options.listen.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(options.listen.slice(colon + 1));
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const json = (status: number, body: object) => {
      response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(JSON.stringify(body));
    };
    if (request.method !== "GET") return json(405, { error: "GET only" });
    if (path === "/healthz") return json(200, { status: "alive" });
    if (path === "/readyz") {
      const reason = options.notReady();
      return reason === undefined
        ? json(200, { status: "ready" })
        : json(503, { status: "not ready", reason });
    }
    if (path === "/metrics") return scrape.getMetricsRequestHandler(request, response);
    return json(404, { error: "not found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  options.logger.info({ url }, "health and metrics serving");
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
