// The engine as a process on the real broker serves /healthz, /readyz (ready once its tables are
// restored) and /metrics (Prometheus) on --health-listen, and stops cleanly on SIGTERM.
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { buildIdsAlert } from "@vigil/rules/testing";
import { idsRecordKey, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, encodeValue, ensureRegistryTopics } from "@vigil/stream";
import { freePort, kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { describe, expect, it } from "vitest";

describe("rules-engine health and metrics", () => {
  it("is alive, becomes ready once restored, and exposes its counters to Prometheus", async () => {
    const prefix = uniqueTopicPrefix("health-it");
    const admin = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "health-it" });
    await ensureRegistryTopics(admin, prefix);
    const port = await freePort();
    const child = spawn(process.execPath, [path.resolve(import.meta.dirname, "main.ts")], {
      env: {
        ...process.env,
        KAFKA_BROKERS: kafkaBrokers().join(","),
        VIGIL_TOPIC_PREFIX: prefix,
        VIGIL_HEALTH_LISTEN: `127.0.0.1:${port}`,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const stderr: string[] = [];
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      const status = async (route: string) => (await fetch(`${base}${route}`).catch(() => undefined))?.status;
      await waitFor(async () => ((await status("/readyz")) === 200 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: "/readyz answers 200",
      });
      expect(await status("/healthz")).toBe(200);
      const alert = buildIdsAlert();
      await admin.send(topicName(topics.idsAlerts, prefix), [
        encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "health-it" }),
      ]);
      const scraped = await waitFor(
        async () => {
          const text = await (await fetch(`${base}/metrics`)).text();
          return /vigil_records_in(_total)?\{[^}]*stage="rules-engine"/.test(text) ? text : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250, message: "records in on /metrics" },
      );
      expect(scraped).toContain(`topic="${topicName(topics.idsAlerts, prefix)}"`);
    } finally {
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      await admin.close();
      expect(code, stderr.join("")).toBe(0);
    }
  });
});
