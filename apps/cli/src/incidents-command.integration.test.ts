import { PassThrough } from "node:stream";
import { IncidentCommandV1, type IncidentEventV1, IncidentV1, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, encodeValue, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { incidentsCommand } from "./incidents-command.ts";

function incident(id: string, hostname: string, changes: Partial<IncidentV1> = {}): IncidentV1 {
  return IncidentV1.parse({
    schema: "vigil.incident/v1",
    id,
    title: `Exploit attempt against ${hostname}`,
    description: "IDS alerts",
    severity: "high",
    status: "new",
    rule_id: "ids.exploit-attempt",
    asset: {
      id: `asset-${hostname}`,
      hostname,
      known: true,
      priority: "high",
      priority_reason: "priority list",
      owner: "Finance",
      tags: [],
    },
    group_key: "g",
    window_start: "2024-03-12T00:00:00.000Z",
    first_seen: "2024-03-12T04:10:00.000Z",
    last_seen: "2024-03-12T05:20:00.000Z",
    created_at: "2024-03-12T04:10:05.000Z",
    updated_at: "2024-03-12T05:20:05.000Z",
    finding_count: 1,
    finding_ids: ["f-1"],
    evidence: [{ topic: "vigil.ids.alerts", id: "ev-1", time: "2024-03-12T04:10:00.000Z", summary: "alert" }],
    explanation: `Exploit attempt against ${hostname}, a high-priority server.`,
    cves: [],
    attack: [],
    version: 1,
    urgency: "high",
    ...changes,
  });
}

function streams(env: NodeJS.ProcessEnv, signal?: AbortSignal) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: "", err: "" };
  stdout.on("data", (chunk: Buffer) => {
    text.out += chunk.toString();
  });
  stderr.on("data", (chunk: Buffer) => {
    text.err += chunk.toString();
  });
  return { io: { stdout, stderr, env, ...(signal ? { signal } : {}) }, text };
}

describe("vigil incidents on Kafka", () => {
  const prefix = uniqueTopicPrefix("incidents-cli-it");
  const env = { KAFKA_BROKERS: kafkaBrokers().join(","), VIGIL_TOPIC_PREFIX: prefix, USER: "ana" };
  let transport: Transport;
  const publishIncidents = (records: Array<IncidentV1 | { id: string; tombstone: true }>) =>
    transport.send(
      topicName(topics.incidents, prefix),
      records.map((record) =>
        "tombstone" in record
          ? { key: record.id, value: null }
          : encodeValue(topics.incidents, record, { key: record.id, source: "test" }),
      ),
    );

  beforeAll(async () => {
    transport = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "incidents-cli-it" });
    await ensureRegistryTopics(transport, prefix);
    await publishIncidents([
      incident("inc-a", "web-01"),
      incident("inc-a", "web-01", { version: 2, status: "in_progress", urgency: "critical" }),
      incident("inc-b", "db-01", { urgency: "low", severity: "low" }),
      incident("inc-gone", "old-01"),
      { id: "inc-gone", tombstone: true },
    ]);
    const event = (n: number, type: IncidentEventV1["type"], summary: string): IncidentEventV1 => ({
      schema: "vigil.incident-event/v1",
      id: `inc-a:e${n}`,
      incident_id: "inc-a",
      incident_version: n,
      time: `2024-03-12T0${4 + n}:00:00.000Z`,
      type,
      actor: "vigil",
      summary,
    });
    await transport.send(topicName(topics.incidentEvents, prefix), [
      encodeValue(topics.incidentEvents, event(1, "created", "raised from 1 finding"), {
        key: "inc-a",
        source: "test",
      }),
      encodeValue(topics.incidentEvents, event(2, "urgency_changed", "urgency high to critical"), {
        key: "inc-a",
        source: "test",
      }),
    ]);
  });
  afterAll(() => transport.close());

  it("lists the latest version of each incident on the compacted topic, tombstones removed", async () => {
    const { io, text } = streams(env);
    expect(await incidentsCommand(["list", "--json"], io), text.err).toBe(0);
    const listed = text.out
      .trim()
      .split("\n")
      .map((line) => IncidentV1.parse(JSON.parse(line)));
    expect(listed.map((i) => [i.id, i.version, i.status])).toEqual([
      ["inc-a", 2, "in_progress"],
      ["inc-b", 1, "new"],
    ]);
    const table = streams(env);
    expect(await incidentsCommand(["list", "--urgency", "critical"], table.io)).toBe(0);
    expect(table.text.out).toMatch(/critical\s+high\s+in_progress\s+-\s+Exploit attempt against web-01/);
    expect(table.text.out).not.toContain("inc-b");
  });

  it("shows an incident with its timeline from vigil.incident-events", async () => {
    const { io, text } = streams(env);
    expect(await incidentsCommand(["show", "inc-a"], io), text.err).toBe(0);
    expect(text.out).toContain("Exploit attempt against web-01, a high-priority server.");
    expect(text.out).toMatch(/created\s+vigil: raised from 1 finding/);
    expect(text.out).toMatch(/urgency_changed\s+vigil: urgency high to critical/);
    const json = streams(env);
    expect(await incidentsCommand(["show", "inc-a", "--json"], json.io)).toBe(0);
    const shown = JSON.parse(json.text.out) as { incident: IncidentV1; events: IncidentEventV1[] };
    expect(shown.incident.version).toBe(2);
    expect(shown.events.map((e) => e.id)).toEqual(["inc-a:e1", "inc-a:e2"]);
  });

  it("publishes ack and resolve commands keyed by incident id, and refuses an unknown incident", async () => {
    const ack = streams(env);
    expect(await incidentsCommand(["ack", "inc-a", "--note", "on it"], ack.io), ack.text.err).toBe(0);
    const resolve = streams(env);
    expect(
      await incidentsCommand(
        ["resolve", "inc-b", "--reason", "patched", "--verdict", "true_positive", "--actor", "bo"],
        resolve.io,
      ),
      resolve.text.err,
    ).toBe(0);
    const unknown = streams(env);
    expect(await incidentsCommand(["ack", "inc-gone"], unknown.io)).toBe(2);
    expect(unknown.text.err).toMatch(/no incident inc-gone; nothing published/);

    const records = await transport.readAll(topicName(topics.incidentCommands, prefix));
    expect(records.map((r) => String(r.key))).toEqual(["inc-a", "inc-b"]);
    const [acknowledge, resolved] = records.map((r) => IncidentCommandV1.parse(JSON.parse(String(r.value))));
    expect(acknowledge).toMatchObject({
      type: "acknowledge",
      incident_id: "inc-a",
      actor: "ana",
      note: "on it",
    });
    expect(acknowledge?.id).toBe(ack.text.out.trim());
    expect(resolved).toMatchObject({
      type: "resolve",
      incident_id: "inc-b",
      actor: "bo",
      summary: "patched",
      verdict: "true_positive",
    });
    expect(resolved?.id).toBe(resolve.text.out.trim());
    expect(records[0]?.headers.ce_type).toBe(topics.incidentCommands.ceType);
  });

  it("tails new incidents and events until stopped", async () => {
    const controller = new AbortController();
    const { io, text } = streams(env, controller.signal);
    const tail = incidentsCommand(["tail"], io);
    await waitFor(() => text.err.includes("following"), { message: "tail subscribed" });
    // A group starting at the end takes its position at its first fetch: publish until it is seen.
    let version = 0;
    await waitFor(
      async () => {
        version++;
        await publishIncidents([incident("inc-new", "fresh-01", { version, urgency: "critical" })]);
        return text.out.includes("Exploit attempt against fresh-01");
      },
      { intervalMs: 500, message: "the new incident printed by tail" },
    );
    const acknowledged: IncidentEventV1 = {
      schema: "vigil.incident-event/v1",
      id: "inc-new:ack",
      incident_id: "inc-new",
      incident_version: version + 1,
      time: "2024-03-12T06:30:00.000Z",
      type: "acknowledged",
      actor: "ana",
      summary: "acknowledged: looking into it",
    };
    await transport.send(topicName(topics.incidentEvents, prefix), [
      encodeValue(topics.incidentEvents, acknowledged, { key: "inc-new", source: "test" }),
    ]);
    await waitFor(() => text.out.includes("looking into it"), { message: "the event printed by tail" });
    controller.abort();
    expect(await tail, text.err).toBe(0);
    expect(text.out).toContain(
      "2024-03-12 06:30:00  event     acknowledged      inc-new  by ana:  acknowledged: looking into it",
    );
    expect(text.out).toMatch(
      /incident {2}CRITICAL\s+new\s+L0 {2}Exploit attempt against fresh-01 {2}on fresh-01 {2}inc-new v\d/,
    );
    // What was on the topic before tail started is not printed.
    expect(text.out).not.toContain("web-01");
  });
});
