import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.ts";
import { prometheusExporter } from "./telemetry.ts";

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
 * `/healthz` (the process answers), `/readyz` (connected, reference data restored, not
 * backpressured, not stopping: `notReady` says) and `/metrics` (Prometheus text of the
 * OpenTelemetry metrics, when `installMetrics` installed the Prometheus reader; 404 when
 * `OTEL_METRICS_EXPORTER` left Prometheus out). For Kubernetes probes and scrapes.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
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
    if (path === "/metrics") {
      const scrape = prometheusExporter();
      return scrape
        ? scrape.getMetricsRequestHandler(request, response)
        : json(404, { error: "metrics are not exported to Prometheus (OTEL_METRICS_EXPORTER)" });
    }
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
