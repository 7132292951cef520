// The sink as a process on a real broker, killed with SIGKILL mid-stream several times, then
// reconciled against the same findings applied in memory: no finding lost, none counted twice,
// no twin incident, no response action requested twice under different keys.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { IncidentDomain } from "@vigil/incidents";
import {
  type FindingV1,
  IncidentEventV1,
  IncidentV1,
  ResponseActionV1,
  type Severity,
  topicName,
  topics,
} from "@vigil/schema";
import { createKafkaTransport, encodeValue, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const main = path.resolve(import.meta.dirname, "main.ts");
const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse("2024-03-12T08:00:00Z");
const severities: Severity[] = ["low", "medium", "high", "critical"];
const tiers = ["critical", "high", "medium", "low"] as const;

/** 40 assets x 3 rules x 5 repeats: 120 incidents, 600 findings, exploit findings start the ladder at level 2. */
function findings(): FindingV1[] {
  const all: FindingV1[] = [];
  for (let n = 0; n < 600; n++) {
    const asset = n % 40;
    const rule = ["core.ids.exploit-vulnerable-asset", "core.firewall.port-scan", "core.baseline.below"][
      Math.floor(n / 40) % 3
    ]!;
    const time = new Date(T0 + n * 1000).toISOString();
    all.push({
      schema: "vigil.finding/v1",
      id: `fnd-crash-${n}`,
      time,
      rule: { id: rule, name: rule, version: 1 },
      severity: severities[asset % 4]!,
      title: `${rule} on asset-${asset}`,
      description: "crash test finding",
      asset: {
        id: `asset-${asset}`,
        ip: `10.20.0.${asset + 1}`,
        hostname: `asset-${asset}.corp.example`,
        known: true,
        priority: tiers[asset % 4]!,
        priority_reason: "test",
        owner: "Infrastructure",
        tags: [],
      },
      group_key: "g",
      events: [{ topic: "vigil.ids.alerts", id: `evt-${n}`, time, summary: "event" }],
      explanation: { summary: "test", conditions: [] },
      cves: rule.includes("exploit") ? ["CVE-2017-0144"] : [],
      attack: [],
      references: [],
    });
  }
  return all;
}

interface Proc {
  child: ChildProcess;
  stderr: string[];
}

describe("sink-incidents killed mid-stream", () => {
  const prefix = uniqueTopicPrefix("sink-crash");
  let admin: Transport;
  const running: Proc[] = [];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    admin = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "sink-crash-admin" });
    await ensureRegistryTopics(admin, prefix);
    env = {
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers().join(","),
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_CLOCK: "event",
      LOG_LEVEL: "warn",
    };
  });
  afterAll(async () => {
    for (const proc of running) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await admin?.close();
  });

  const start = (): Proc => {
    const child = spawn(process.execPath, [main], { env, stdio: ["ignore", "ignore", "pipe"] });
    const stderr: string[] = [];
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    const proc = { child, stderr };
    running.push(proc);
    return proc;
  };

  const lag = async (groupId: string, spec: { name: string }) => {
    const topic = topicName(spec, prefix);
    const ends = await admin.endOffsets(topic);
    const done = await admin.committedOffsets(groupId, topic);
    return ends.reduce((sum, { partition, offset }) => {
      const at = Number(done.find((c) => c.partition === partition)?.offset ?? "-1");
      return sum + (Number(offset) === 0 ? 0 : Math.max(0, Number(offset) - Math.max(at, 0)));
    }, 0);
  };

  it("loses no finding and duplicates no incident or action across repeated SIGKILLs", async () => {
    const input = findings();
    // Published in five waves, one per process life, so every kill lands mid-stream.
    const waves = [0, 1, 2, 3, 4].map((w) => input.slice(w * 120, (w + 1) * 120));
    let kills = 0;
    const leftAtKill: number[] = [];
    for (const [index, wave] of waves.entries()) {
      await admin.send(
        topicName(topics.findings, prefix),
        wave.map((finding) =>
          encodeValue(topics.findings, finding, { key: finding.asset.id, source: "crash-test" }),
        ),
      );
      const before = await lag(`${prefix}vigil-sink-incidents`, topics.findings);
      const proc = start();
      if (index < waves.length - 1) {
        // Kill it mid-stream: as soon as it has committed part of what is waiting (batches of 50).
        const left = await waitFor(
          async () => {
            const now = await lag(`${prefix}vigil-sink-incidents`, topics.findings);
            return now < before ? now : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 20, message: `sink #${index + 1} made progress` },
        );
        proc.child.kill("SIGKILL");
        leftAtKill.push(left);
        await once(proc.child, "exit");
        kills++;
      }
    }
    const last = running.at(-1)!;
    const started = Date.now();
    await waitFor(
      async () =>
        (await lag(`${prefix}vigil-sink-incidents`, topics.findings)) === 0 &&
        (await lag(`${prefix}vigil-sink-incidents.outputs`, topics.incidentEvents)) === 0
          ? true
          : undefined,
      { timeoutMs: 120_000, intervalMs: 250, message: "the last sink caught up with findings and events" },
    );
    console.log(
      `sink crash test: ${kills} SIGKILLs with ${leftAtKill.join(", ")} findings still uncommitted; the last instance caught up ${Date.now() - started} ms after its start (a killed member's session expires first)`,
    );
    last.child.kill("SIGTERM");
    const [code] = (await once(last.child, "exit")) as [number | null];
    expect(code, last.stderr.join("")).toBe(0);

    // What the same findings give applied once each, in memory.
    const expected = new IncidentDomain({ mergeWindowMs: DAY });
    const expectedActions = new Set<string>();
    let clock = 0;
    for (const finding of input) {
      clock = Math.max(clock, Date.parse(finding.time));
      for (const action of expected.onFinding(finding, new Date(clock)).actions)
        expectedActions.add(action.id);
    }

    const latest = new Map<string, IncidentV1>();
    for (const record of await admin.readAll(topicName(topics.incidents, prefix))) {
      const incident = IncidentV1.parse(JSON.parse(String(record.value)));
      if ((latest.get(incident.id)?.version ?? 0) < incident.version) latest.set(incident.id, incident);
    }
    expect(latest.size).toBe(expected.size);
    for (const incident of expected.values()) {
      expect(latest.get(incident.id)?.finding_count, incident.id).toBe(incident.finding_count);
    }
    expect([...latest.values()].reduce((sum, i) => sum + i.finding_count, 0)).toBe(input.length);

    // Actions: a redelivery may write a record again, but only ever under the same idempotency key
    // with the same request.
    const actions = new Map<string, string>();
    for (const record of await admin.readAll(topicName(topics.responseActions, prefix))) {
      const action = ResponseActionV1.parse(JSON.parse(String(record.value)));
      const request = JSON.stringify([action.incident_id, action.level, action.action]);
      expect(actions.get(action.id) ?? request).toBe(request);
      actions.set(action.id, request);
    }
    expect(new Set(actions.keys())).toEqual(expectedActions);
    expect(expectedActions.size).toBeGreaterThan(0);

    // Every incident event id is unique per meaning: a repeated id is a republished, identical change.
    const events = new Map<string, string>();
    for (const record of await admin.readAll(topicName(topics.incidentEvents, prefix))) {
      const event = IncidentEventV1.parse(JSON.parse(String(record.value)));
      const meaning = JSON.stringify([event.incident_id, event.type, event.finding_id ?? event.level ?? ""]);
      expect(events.get(event.id) ?? meaning).toBe(meaning);
      events.set(event.id, meaning);
    }
    const created = [...events.values()].filter((meaning) => meaning.includes('"created"')).length;
    expect(created).toBe(expected.size);
  });
});
