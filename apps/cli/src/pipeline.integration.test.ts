// The apps, started as separate processes against a real Kafka broker with the very command lines
// of the demo, turn the sample estate, advisories, update logs, firewall and IDS events into
// incidents that any Kafka client reads from vigil.incidents: the same incidents (ids and merge
// counts) the embedded demo raises.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { IncidentV1, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EVENT_TOPICS, DEMO_REFERENCE_TOPICS, type DemoStep, demoPlan, runDemo } from "./demo.ts";
import { latestIncidents } from "./present.ts";
import {
  incidentSummary,
  ORDER_DEPENDENT_RULES,
  orderDependentRulesFired,
  stableFindingCount,
  stableIncidents,
} from "./testing.ts";

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

describe("the pipeline as separate processes on a real broker", () => {
  const prefix = uniqueTopicPrefix("e2e");
  let transport: Transport;
  let env: NodeJS.ProcessEnv;
  const running: Proc[] = [];
  let scratch: string;

  beforeAll(async () => {
    const brokers = kafkaBrokers();
    transport = createKafkaTransport({ brokers, clientId: "e2e-test" });
    await ensureRegistryTopics(transport, prefix);
    env = { ...process.env, KAFKA_BROKERS: brokers.join(","), VIGIL_TOPIC_PREFIX: prefix, LOG_LEVEL: "info" };
    scratch = await mkdtemp(path.join(tmpdir(), "vigil-e2e-"));
  });

  afterAll(async () => {
    for (const proc of running) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await transport?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** One ingest run as its own process; it must finish with exit code 0. */
  async function ingest(step: DemoStep): Promise<void> {
    const proc = start(app(step.app), step.args, env);
    running.push(proc);
    expect(await exitOf(proc), `${step.app} ${step.args.join(" ")}\n${proc.stderr.join("")}`).toBe(0);
  }

  /** Resolves when a group has committed everything on these topics. */
  async function consumed(groupId: string, specs: Array<{ name: string }>): Promise<void> {
    await waitFor(
      async () => {
        for (const spec of specs) {
          const topic = topicName(spec, prefix);
          const ends = await transport.endOffsets(topic);
          const committed = await transport.committedOffsets(groupId, topic);
          for (const { partition, offset } of ends) {
            if (offset !== "0" && committed.find((c) => c.partition === partition)?.offset !== offset)
              return false;
          }
        }
        return true;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 250,
        message: `${groupId} consumed ${specs.map((s) => s.name).join(", ")}`,
      },
    );
  }

  it("raises the demo's incidents, and every app stops cleanly on SIGTERM", async () => {
    const plan = demoPlan(examples, scratch);
    const rules = start(app("rules-engine"), plan.engineArgs, env);
    const sink = start(app("sink-incidents"), plan.sinkArgs, env);
    running.push(rules, sink);
    // As the demo does: the estate and advisories judged before the events.
    for (const step of plan.reference) await ingest(step);
    await consumed(`${prefix}vigil-rules-engine`, DEMO_REFERENCE_TOPICS);
    for (const step of plan.events) await ingest(step);

    const expected = (await runDemo({ examplesDir: examples, logLevel: "silent", progress: () => {} }))
      .incidents;
    expect(expected.length).toBeGreaterThan(0);
    // Order-dependent rules are compared by rule id only (ORDER_DEPENDENT_RULES says why).

    // Any Kafka client sees them: read the compacted topic from the beginning.
    let latest: IncidentV1[] = [];
    const wanted = stableFindingCount(expected);
    await waitFor(
      async () => {
        const records = await transport.readAll(topicName(topics.incidents, prefix));
        latest = latestIncidents(records.map((r) => IncidentV1.parse(JSON.parse(String(r.value)))));
        const total = stableFindingCount(latest);
        return stableIncidents(latest).length === stableIncidents(expected).length && total === wanted
          ? true
          : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, message: "the incidents of the sample data on vigil.incidents" },
    ).catch(() => {
      // Show what differs rather than only that it did not converge.
      expect(incidentSummary(latest)).toEqual(incidentSummary(expected));
    });
    // The correlations by source are judged one hop later (vigil.rules.repartition): once the engine
    // consumed its events and what it re-keyed, and the sink every finding, nothing is on its way.
    await consumed(`${prefix}vigil-rules-engine`, DEMO_EVENT_TOPICS);
    await consumed(`${prefix}vigil-rules-engine`, [topics.rulesRepartition]);
    await consumed(`${prefix}vigil-sink-incidents`, [topics.findings]);
    latest = latestIncidents(
      (await transport.readAll(topicName(topics.incidents, prefix))).map((r) =>
        IncidentV1.parse(JSON.parse(String(r.value))),
      ),
    );
    expect(incidentSummary(latest)).toEqual(incidentSummary(expected));
    expect(orderDependentRulesFired(latest)).toEqual(orderDependentRulesFired(expected));
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
    expect(firstVersions.filter(({ incident }) => !ORDER_DEPENDENT_RULES.has(incident.rule_id))).toHaveLength(
      stableIncidents(expected).length,
    );
    const fromAlerts = firstVersions.filter(({ incident }) => incident.rule_id.startsWith("core.ids."));
    expect(fromAlerts.length).toBeGreaterThan(10);
    for (const { incident, trace } of fromAlerts) {
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
      [`${prefix}vigil-rules-engine`, topics.firewallEvents],
      [`${prefix}vigil-rules-engine`, topics.inventoryHosts],
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
  }, 300_000); // 17 processes on two cores: a loaded machine needs more than the default 2 minutes
});
