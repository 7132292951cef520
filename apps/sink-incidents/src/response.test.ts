// The sink's response side on the embedded transport: incident events reach a signed webhook and
// the store, an analyst's acknowledgment stops the ladder, a refused command is dead-lettered,
// and level-2 requests land on vigil.response.actions with their idempotency key.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhookSignature, webhookOutput } from "@vigil/incident-outputs";
import { openEmbeddedStore } from "@vigil/incident-store";
import { silentLogger } from "@vigil/observability";
import {
  dlqHeader,
  type FindingV1,
  type IncidentCommandV1,
  IncidentEventV1,
  IncidentV1,
  ResponseActionV1,
  topicName,
  topics,
} from "@vigil/schema";
import {
  createEmbeddedTransport,
  EmbeddedBroker,
  encodeValue,
  ensureRegistryTopics,
  type Transport,
} from "@vigil/stream";
import { waitFor } from "@vigil/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RunningSinkIncidents, startSinkIncidents } from "./index.ts";

const DAY = 24 * 60 * 60 * 1000;
const SECRET = "test-secret";
const logger = silentLogger();
let transport: Transport;
let server: Server;
let sink: RunningSinkIncidents | undefined;
const received: Array<{ body: string; headers: IncomingMessage["headers"] }> = [];

function exploitFinding(): FindingV1 {
  const time = "2024-03-12T08:00:00.000Z";
  return {
    schema: "vigil.finding/v1",
    id: "fnd-response-1",
    time,
    rule: { id: "core.ids.exploit-vulnerable-asset", name: "Exploit on a vulnerable asset", version: 1 },
    severity: "critical",
    title: "EternalBlue against wsus01, which lacks MS17-010",
    description: "test",
    asset: {
      id: "host-wsus01",
      ip: "10.20.1.30",
      hostname: "wsus01.corp.example",
      known: true,
      priority: "medium",
      priority_reason: "servers",
      owner: "Infrastructure",
      tags: [],
    },
    group_key: "sig:2024220",
    events: [{ topic: "vigil.ids.alerts", id: "ids-1", time, summary: "10.20.9.77 -> 10.20.1.30:445" }],
    explanation: { summary: "exploit on a vulnerable asset", conditions: [] },
    cves: ["CVE-2017-0144"],
    attack: ["T1210"],
    references: [],
  };
}

beforeEach(async () => {
  received.length = 0;
  transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
  await ensureRegistryTopics(transport);
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      received.push({ body, headers: request.headers });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
afterEach(async () => {
  await sink?.stop();
  sink = undefined;
  await transport.close();
  await new Promise((resolve) => server.close(resolve));
});

async function read<T>(spec: { name: string }, schema: { parse(value: unknown): T }): Promise<T[]> {
  return (await transport.readAll(topicName(spec))).map((record) =>
    schema.parse(JSON.parse(String(record.value))),
  );
}

describe("sink-incidents response side", () => {
  it("delivers signed incident events, fills the store, requests level-2 actions, and stops the ladder on acknowledgment", async () => {
    const store = openEmbeddedStore();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    sink = await startSinkIncidents({
      transport,
      logger,
      store,
      outputs: [webhookOutput({ url, secret: SECRET })],
      config: { topicPrefix: "", groupId: "sink", mergeWindow: DAY, clock: "event" },
    });
    const finding = exploitFinding();
    await transport.send(topicName(topics.findings), [
      encodeValue(topics.findings, finding, { key: finding.asset.id, source: "test" }),
    ]);
    await waitFor(async () => ((await read(topics.incidents, IncidentV1)).length > 0 ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 10,
      message: "incident raised",
    });
    await sink.delivered();

    const [incident] = await read(topics.incidents, IncidentV1);
    // An exploit on a vulnerable asset starts at level 2: the default accounts request is out.
    expect(incident?.escalation?.level).toBe(2);
    const actions = await read(topics.responseActions, ResponseActionV1);
    expect(actions.map((a) => [a.action, a.level, a.dry_run])).toEqual([
      ["disable_default_accounts", 2, true],
    ]);
    expect((await transport.readAll(topicName(topics.responseActions)))[0]?.key?.toString()).toBe(
      actions[0]?.id,
    );

    // Every event reached the webhook, signed, with its id as the idempotency key.
    const events = await read(topics.incidentEvents, IncidentEventV1);
    expect(received.map((r) => r.headers["idempotency-key"]).sort()).toEqual(events.map((e) => e.id).sort());
    for (const { body, headers } of received) {
      expect(
        verifyWebhookSignature(SECRET, {
          body,
          signature: String(headers["x-vigil-signature"]),
          timestamp: String(headers["x-vigil-timestamp"]),
        }),
      ).toBe(true);
    }
    expect((await store.get(incident!.id))?.version).toBe(incident?.version);
    expect((await store.events(incident!.id)).map((e) => e.id).sort()).toEqual(
      events.map((e) => e.id).sort(),
    );

    // The analyst acknowledges: the clock stops, the change is an incident event; a command for an
    // unknown incident is refused and parked with the reason.
    const command = (incidentId: string, id: string): IncidentCommandV1 => ({
      schema: "vigil.incident-command/v1",
      id,
      incident_id: incidentId,
      time: "2024-03-12T08:05:00.000Z",
      actor: "analyst@corp.example",
      type: "acknowledge",
    });
    await transport.send(topicName(topics.incidentCommands), [
      encodeValue(topics.incidentCommands, command(incident!.id, "cmd-1"), {
        key: incident!.id,
        source: "test",
      }),
      encodeValue(topics.incidentCommands, command("inc-nope", "cmd-2"), { key: "inc-nope", source: "test" }),
    ]);
    const acknowledged = await waitFor(
      async () => {
        const all = await read(topics.incidentEvents, IncidentEventV1);
        return all.find((event) => event.type === "acknowledged");
      },
      { timeoutMs: 5000, intervalMs: 10, message: "acknowledged event" },
    );
    expect(acknowledged.actor).toBe("analyst@corp.example");
    const latest = (await read(topics.incidents, IncidentV1)).at(-1);
    expect(latest?.escalation?.acknowledged_by).toBe("analyst@corp.example");
    expect(latest?.escalation?.next_at).toBeUndefined();
    const dead = await waitFor(
      async () => {
        const records = await transport.readAll(topicName(topics.dlq));
        return records.length > 0 ? records : undefined;
      },
      { timeoutMs: 5000, intervalMs: 10, message: "refused command dead-lettered" },
    );
    expect(dead[0]?.headers[dlqHeader.reason]).toMatch(/command refused/);
    expect(dead[0]?.headers[dlqHeader.sourceTopic]).toBe(topicName(topics.incidentCommands));
  });
});
