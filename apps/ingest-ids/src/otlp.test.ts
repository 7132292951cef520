// The app as a process exports its metrics and spans over OTLP to what OTEL_EXPORTER_OTLP_ENDPOINT
// names: here a loopback HTTP receiver of the test's own, in both of OTLP's HTTP encodings.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";

const main = path.resolve(import.meta.dirname, "main.ts");
const eve = path.resolve(import.meta.dirname, "../../../examples/suricata/eve.json");

interface Received {
  path: string;
  contentType: string;
  body: Buffer;
}

/** An OTLP/HTTP receiver that keeps every request and answers each with an empty success. */
async function startReceiver() {
  const received: Received[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({
      path: request.url ?? "",
      contentType: String(request.headers["content-type"]),
      body: Buffer.concat(chunks),
    });
    const json = String(request.headers["content-type"]).startsWith("application/json");
    response.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" });
    response.end(json ? "{}" : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Runs the ingest over the sample EVE file (dry run: no Kafka) and returns its exit code and stderr. */
async function runIngest(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [main, "--dry-run", "--file", eve], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stderr: stderr.join("") };
}

// What of OTLP/JSON (the protobuf messages' JSON mapping) the assertions read.
const Attributes = z
  .array(z.object({ key: z.string(), value: z.object({ stringValue: z.string().optional() }) }))
  .default([]);
const ExportMetrics = z.object({
  resourceMetrics: z.array(
    z.object({
      resource: z.object({ attributes: Attributes }),
      scopeMetrics: z.array(
        z.object({
          metrics: z.array(
            z.object({
              name: z.string(),
              sum: z
                .object({
                  dataPoints: z.array(
                    z.object({
                      // int64 may come as a JSON string; double counters as asDouble.
                      asInt: z.number().or(z.string().transform(Number)).optional(),
                      asDouble: z.number().optional(),
                      attributes: Attributes,
                    }),
                  ),
                })
                .optional(),
            }),
          ),
        }),
      ),
    }),
  ),
});
const ExportTraces = z.object({
  resourceSpans: z.array(
    z.object({
      resource: z.object({ attributes: Attributes }),
      scopeSpans: z.array(z.object({ spans: z.array(z.object({ name: z.string() })) })),
    }),
  ),
});
const attribute = (attributes: z.output<typeof Attributes>, key: string) =>
  attributes.find((entry) => entry.key === key)?.value.stringValue;

describe("OTLP export from an app process", () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it("sends its metrics and spans as OTLP/JSON with service.name, service.version and the resource attributes given", async () => {
    const receiver = await startReceiver();
    stop = receiver.stop;
    const { code, stderr } = await runIngest({
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_RESOURCE_ATTRIBUTES: "service.instance.id=pod-7,deployment.environment.name=ci%20test",
    });
    expect(code, stderr).toBe(0);

    const metrics = receiver.received.filter((request) => request.path === "/v1/metrics");
    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics[0]?.contentType).toMatch(/^application\/json/);
    const exported = metrics.flatMap(
      (request) => ExportMetrics.parse(JSON.parse(request.body.toString())).resourceMetrics,
    );
    const resource = exported[0]?.resource.attributes ?? [];
    expect(attribute(resource, "service.name")).toBe("vigil-ingest-ids");
    expect(attribute(resource, "service.version")).toMatch(/^\d+\.\d+\.\d+/);
    expect(attribute(resource, "service.instance.id")).toBe("pod-7");
    expect(attribute(resource, "deployment.environment.name")).toBe("ci test");
    const recordsIn = exported
      .flatMap((entry) => entry.scopeMetrics)
      .flatMap((scope) => scope.metrics)
      .find((metric) => metric.name === "vigil.records.in");
    // The sample file's 65 lines, all counted against their source.
    const point = recordsIn?.sum?.dataPoints[0];
    expect(point?.asInt ?? point?.asDouble).toBe(65);
    expect(attribute(point?.attributes ?? [], "stage")).toBe("ingest-ids");

    const traces = receiver.received.filter((request) => request.path === "/v1/traces");
    const spans = traces
      .flatMap((request) => ExportTraces.parse(JSON.parse(request.body.toString())).resourceSpans)
      .flatMap((entry) => {
        expect(attribute(entry.resource.attributes, "service.name")).toBe("vigil-ingest-ids");
        return entry.scopeSpans.flatMap((scope) => scope.spans);
      });
    // One span per published record: where each record's trace starts.
    expect(spans.filter((span) => span.name === "ingest-ids publish")).toHaveLength(59);
  });

  it("sends OTLP/protobuf by default, under OTEL_SERVICE_NAME when it is set", async () => {
    const receiver = await startReceiver();
    stop = receiver.stop;
    const { code, stderr } = await runIngest({
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.endpoint}/`,
      OTEL_SERVICE_NAME: "ids-sensor-dmz",
    });
    expect(code, stderr).toBe(0);
    const byPath = (route: string) => receiver.received.filter((request) => request.path === route);
    for (const [route, name] of [
      ["/v1/metrics", "vigil.records.in"],
      ["/v1/traces", "ingest-ids publish"],
    ] as const) {
      const requests = byPath(route);
      expect(requests.length, route).toBeGreaterThan(0);
      expect(requests[0]?.contentType).toBe("application/x-protobuf");
      // Protobuf keeps strings as their UTF-8 bytes: the service and the instrument are there.
      const body = Buffer.concat(requests.map((request) => request.body));
      expect(body.includes("ids-sensor-dmz"), route).toBe(true);
      expect(body.includes("vigil-ingest-ids"), route).toBe(false);
      expect(body.includes(name), route).toBe(true);
    }
  });

  it("refuses an invalid OTEL_* value with exit 2, naming the variable", async () => {
    const { code, stderr } = await runIngest({ OTEL_TRACES_EXPORTER: "jaeger" });
    expect(code).toBe(2);
    expect(stderr).toContain("OTEL_TRACES_EXPORTER: expected a comma-separated list of otlp, console, none");
  });
});
