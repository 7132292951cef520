import { describe, expect, it } from "vitest";
import { startHealthServer } from "./health.ts";
import { silentLogger } from "./logger.ts";
import { PipelineMetrics } from "./metrics.ts";
import { installMetrics } from "./telemetry.ts";

describe("startHealthServer", () => {
  it("answers /healthz always, /readyz once ready, and serves the pipeline metrics to Prometheus", async () => {
    installMetrics();
    // Made after the provider exists: its counters are real, not no-ops.
    const metrics = new PipelineMetrics("health-test");
    let reason: string | undefined = "restoring reference tables";
    const server = await startHealthServer({
      listen: "127.0.0.1:0",
      notReady: () => reason,
      logger: silentLogger(),
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const starting = await fetch(`${server.url}/readyz`);
      expect(starting.status).toBe(503);
      expect(await starting.json()).toEqual({ status: "not ready", reason: "restoring reference tables" });
      reason = undefined;
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

      metrics.recordIn("vigil.ids.alerts", 3);
      metrics.recordDeadLetter("vigil.ids.alerts", "schema");
      metrics.recordLag("vigil.ids.alerts", 2, 17);
      metrics.recordProcessing("vigil.ids.alerts", 4.2);
      metrics.recordTableSizes({ hosts: 223, advisories: 13 });
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(
        /vigil_records_in(_total)?\{[^}]*stage="health-test"[^}]*topic="vigil.ids.alerts"[^}]*\} 3/,
      );
      expect(text).toMatch(/vigil_records_dead_lettered(_total)?\{[^}]*kind="schema"/);
      expect(text).toMatch(/vigil_consumer_lag\{[^}]*partition="2"[^}]*\} 17/);
      expect(text).toMatch(
        /vigil_processing_duration(_milliseconds)?_count\{[^}]*topic="vigil.ids.alerts"[^}]*\} 1/,
      );
      expect(text).toMatch(/vigil_table_size\{[^}]*table="hosts"[^}]*\} 223/);
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
      expect((await fetch(`${server.url}/healthz`, { method: "POST" })).status).toBe(405);
    } finally {
      await server.stop();
    }
  });
});
