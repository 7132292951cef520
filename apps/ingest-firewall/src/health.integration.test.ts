// The firewall ingest as a process on the real broker, listening for syslog: it serves /healthz,
// /readyz and /metrics on --health-listen while it runs, says not ready while its queue is full
// (TCP senders paused), ready again once drained, and stops cleanly on SIGTERM.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import path from "node:path";
import { topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics } from "@vigil/stream";
import { freePort, kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { describe, expect, it } from "vitest";

const line = (index: number) =>
  `<4>Mar 12 09:12:${String(index % 60).padStart(2, "0")} edge-fw kernel: [UFW BLOCK] IN=ens192 OUT= ` +
  `SRC=198.51.100.${index % 250} DST=172.16.10.5 LEN=44 PROTO=TCP SPT=${1024 + (index % 60_000)} DPT=445 SYN`;

describe("ingest-firewall health and metrics", () => {
  it("answers /healthz, /readyz and /metrics while it listens, not ready while its queue is full", async () => {
    const prefix = uniqueTopicPrefix("fw-health-it");
    const admin = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "fw-health-it" });
    await ensureRegistryTopics(admin, prefix);
    const [healthPort, syslogPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        path.resolve(import.meta.dirname, "main.ts"),
        "--listen-tcp",
        `127.0.0.1:${syslogPort}`,
        "--queue-capacity",
        "200",
        "--health-listen",
        `127.0.0.1:${healthPort}`,
      ],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS: kafkaBrokers().join(","),
          VIGIL_TOPIC_PREFIX: prefix,
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    const stderr: string[] = [];
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    const base = `http://127.0.0.1:${healthPort}`;
    const readyz = async () => {
      const response = await fetch(`${base}/readyz`).catch(() => undefined);
      return response && { status: response.status, body: (await response.json()) as { reason?: string } };
    };
    let flooding = true;
    try {
      await waitFor(async () => ((await readyz())?.status === 200 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: "/readyz answers 200",
      });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);

      // Syslog over TCP faster than Kafka takes it, until the queue fills and /readyz says so.
      const client = connect(syslogPort, "127.0.0.1");
      await once(client, "connect");
      let sent = 0;
      const flood = (async () => {
        while (flooding) {
          let chunk = "";
          for (let index = 0; index < 2_000; index += 1) chunk += `${line(sent++)}\n`;
          if (!client.write(chunk)) await once(client, "drain");
        }
        client.end();
        await once(client, "close");
      })();
      const held = await waitFor(
        async () => {
          const answer = await readyz();
          return answer?.status === 503 ? answer.body : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 20, message: "/readyz 503 while the syslog queue is full" },
      );
      flooding = false;
      await flood;
      expect(held.reason).toBe("syslog queue full: TCP senders paused");

      // Drained: ready again, and every line sent is counted in and published.
      await waitFor(async () => ((await readyz())?.status === 200 ? true : undefined), {
        timeoutMs: 90_000,
        intervalMs: 200,
        message: "/readyz back to 200 once the queue drained",
      });
      const topic = topicName(topics.firewallEvents, prefix);
      const scraped = await waitFor(
        async () => {
          const text = await (await fetch(`${base}/metrics`)).text();
          const out = new RegExp(
            `vigil_records_out(_total)?\\{[^}]*stage="ingest-firewall"[^}]*topic="${topic}"[^}]*\\} (\\d+)`,
          ).exec(text);
          return Number(out?.[2]) === sent ? text : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500, message: `all ${sent} lines published per /metrics` },
      );
      expect(scraped).toMatch(
        /vigil_records_in(_total)?\{[^}]*stage="ingest-firewall"[^}]*topic="syslog"[^}]*\} \d+/,
      );
      expect(scraped).toMatch(/vigil_backpressure\{[^}]*stage="ingest-firewall"[^}]*\} 0/);
    } finally {
      flooding = false;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      await admin.close();
      expect(code, stderr.join("")).toBe(0);
    }
  });
});
