// The foundation's "done when": the three apps, started as separate processes against a real
// Kafka broker, turn the sample Suricata alerts into incidents that any Kafka client reads from
// vigil.incidents, the same incidents (ids and merge counts) the embedded demo raises.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { IncidentV1, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "./demo.ts";
import { latestIncidents } from "./present.ts";

const repo = path.resolve(import.meta.dirname, "../../..");
const examples = path.join(repo, "examples");
const app = (name: string) => path.join(repo, "apps", name, "src", "main.ts");

interface Proc {
  child: ChildProcess;
  stderr: string[];
}

function start(script: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  child.stdout?.resume();
  return { child, stderr };
}

async function exitOf(proc: Proc, timeoutMs = 60_000): Promise<number | null> {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
  const [code] = (await once(proc.child, "exit")) as [number | null];
  clearTimeout(timer);
  return code;
}

describe("the pipeline as three processes on a real broker", () => {
  const prefix = uniqueTopicPrefix("e2e");
  let transport: Transport;
  let env: NodeJS.ProcessEnv;
  const running: Proc[] = [];

  beforeAll(async () => {
    const brokers = kafkaBrokers();
    transport = createKafkaTransport({ brokers, clientId: "e2e-test" });
    await ensureRegistryTopics(transport, prefix);
    env = { ...process.env, KAFKA_BROKERS: brokers.join(","), VIGIL_TOPIC_PREFIX: prefix, LOG_LEVEL: "info" };
  });

  afterAll(async () => {
    for (const proc of running) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await transport?.close();
  });

  it("raises the demo's incidents, and every app stops cleanly on SIGTERM", async () => {
    const rules = start(
      app("rules-engine"),
      ["--priority-list", path.join(examples, "assets", "priority-list.yaml")],
      env,
    );
    const sink = start(app("sink-incidents"), [], env);
    running.push(rules, sink);
    const ingest = start(
      app("ingest-ids"),
      ["--file", path.join(examples, "suricata", "eve.json"), "--json"],
      env,
    );
    running.push(ingest);
    expect(await exitOf(ingest), ingest.stderr.join("")).toBe(0);

    const expected = (await runDemo({ examplesDir: examples, logLevel: "silent", progress: () => {} }))
      .incidents;
    expect(expected.length).toBeGreaterThan(0);
    const summary = (incidents: IncidentV1[]) =>
      incidents.map((i) => ({
        id: i.id,
        findings: i.finding_count,
        asset: i.asset.id,
        severity: i.severity,
      }));

    // Any Kafka client sees them: read the compacted topic from the beginning.
    const incidents = await waitFor(
      async () => {
        const records = await transport.readAll(topicName(topics.incidents, prefix));
        const latest = latestIncidents(records.map((r) => IncidentV1.parse(JSON.parse(String(r.value)))));
        const total = latest.reduce((sum, i) => sum + i.finding_count, 0);
        const wanted = expected.reduce((sum, i) => sum + i.finding_count, 0);
        return latest.length === expected.length && total === wanted ? latest : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: "the incidents of the sample data on vigil.incidents" },
    );
    expect(summary(incidents)).toEqual(summary(expected));
    for (const record of await transport.readAll(topicName(topics.incidents, prefix))) {
      expect(String(record.key)).toBe(IncidentV1.parse(JSON.parse(String(record.value))).id);
      expect(record.headers.ce_type).toBe(topics.incidents.ceType);
      expect(record.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    }

    // One trace from ingest to incident: a first version carries the trace of the alert that raised it.
    const traceOf = (headers: Record<string, string>) => headers.traceparent?.split("-")[1];
    // (The sample repeats one line on purpose: the same alert id then has two traces.)
    const alertTraces = new Map<string, Array<string | undefined>>();
    for (const record of await transport.readAll(topicName(topics.idsAlerts, prefix))) {
      const id = JSON.parse(String(record.value)).id as string;
      alertTraces.set(id, [...(alertTraces.get(id) ?? []), traceOf(record.headers)]);
    }
    const firstVersions = (await transport.readAll(topicName(topics.incidents, prefix)))
      .map((r) => ({ incident: IncidentV1.parse(JSON.parse(String(r.value))), trace: traceOf(r.headers) }))
      .filter(({ incident }) => incident.version === 1);
    expect(firstVersions).toHaveLength(expected.length);
    for (const { incident, trace } of firstVersions) {
      expect(trace).toBeDefined();
      expect(alertTraces.get(incident.evidence[0]?.id ?? "")).toContain(trace);
    }

    // Clean shutdown: finish, commit, leave; exit code 0.
    rules.child.kill("SIGTERM");
    sink.child.kill("SIGTERM");
    expect(await exitOf(rules), rules.stderr.join("")).toBe(0);
    expect(await exitOf(sink), sink.stderr.join("")).toBe(0);
    expect(rules.stderr.join("")).toContain("stopped cleanly");
    for (const [groupId, spec] of [
      [`${prefix}vigil-rules-engine`, topics.idsAlerts],
      [`${prefix}vigil-sink-incidents`, topics.findings],
    ] as const) {
      const topic = topicName(spec, prefix);
      const ends = await transport.endOffsets(topic);
      const committed = await transport.committedOffsets(groupId, topic);
      for (const { partition, offset } of ends) {
        if (offset === "0") continue;
        expect(
          committed.find((c) => c.partition === partition)?.offset,
          `${groupId} ${topic}#${partition}`,
        ).toBe(offset);
      }
    }
  });
});
