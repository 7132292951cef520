// The rules engine on a real broker: reference documents restored from the compacted
// vigil.reference before judging, correlation state carried across a restart through
// vigil.rules.state, and a second instance in the group seeing the same tables.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { buildDeniedConnection, buildIdsAlert } from "@vigil/rules/testing";
import {
  FindingV1,
  type FirewallEventV1,
  idsRecordKey,
  type ReferenceDocumentV1,
  referenceKey,
  topicName,
  topics,
} from "@vigil/schema";
import { createKafkaTransport, encodeValue, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type RunningRulesEngine, startRulesEngine } from "./index.ts";

const priorityList = fileURLToPath(new URL("../../../examples/assets/priority-list.yaml", import.meta.url));

// After the alerts these tests also send: event time only moves forward, and older events would be late.
const denied = (n: number, port: number) => buildDeniedConnection(n, port, "2026-03-10T12:00:00Z");

describe("rules-engine on Kafka", () => {
  const prefix = uniqueTopicPrefix("rules-it");
  const open: Transport[] = [];
  const engines: RunningRulesEngine[] = [];
  let admin: Transport;
  const config = { ...cli.parse([], {}).values, topicPrefix: prefix, groupId: "rules" };
  const kafka = (label: string) => {
    const transport = createKafkaTransport({
      brokers: kafkaBrokers(),
      clientId: `rules-it-${label}`,
      redelivery: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    open.push(transport);
    return transport;
  };
  const start = async (label: string) => {
    const engine = await startRulesEngine({ transport: kafka(label), logger: silentLogger(), config });
    engines.push(engine);
    return engine;
  };
  const findings = async () =>
    (await admin.readAll(topicName(topics.findings, prefix))).map((r) =>
      FindingV1.parse(JSON.parse(String(r.value))),
    );
  const sendFirewall = (events: FirewallEventV1[]) =>
    admin.send(
      topicName(topics.firewallEvents, prefix),
      events.map((event) =>
        encodeValue(topics.firewallEvents, event, { key: event.asset_ip ?? "", source: "it" }),
      ),
    );

  beforeAll(async () => {
    admin = kafka("admin");
    await ensureRegistryTopics(admin, prefix);
  });
  afterAll(async () => {
    for (const engine of engines.reverse()) await engine.stop().catch(() => {});
    await Promise.allSettled(open.map((transport) => transport.close()));
  });

  it("judges with the priority list published on vigil.reference, restored before the first event", async () => {
    const content = await readFile(priorityList, "utf8");
    const document: ReferenceDocumentV1 = {
      schema: "vigil.reference/v1",
      kind: "priority-list",
      name: "assets",
      time: "2024-03-12T06:00:00Z",
      origin: priorityList,
      sha256: createHash("sha256").update(content).digest("hex"),
      content,
    };
    await admin.send(topicName(topics.reference, prefix), [
      encodeValue(topics.reference, document, { key: referenceKey(document), source: "it" }),
    ]);
    const alert = buildIdsAlert({ severity: "high" });
    await admin.send(topicName(topics.idsAlerts, prefix), [
      encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "it" }),
    ]);
    const engine = await start("a");
    // Restored whole before anything is judged: the document is there when start resolves.
    expect(engine.tables.documents().map((d) => d.name)).toEqual(["assets"]);
    const [finding] = await waitFor(
      async () => {
        const all = await findings();
        return all.length > 0 ? all : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: "a finding for the alert" },
    );
    expect(finding).toMatchObject({
      rule: { id: "core.ids.high-severity-priority-asset" },
      severity: "critical",
      asset: { priority: "critical" },
    });
  });

  it("carries a correlation window across a restart, and a second instance holds the same tables", async () => {
    const first = engines[0]!;
    await sendFirewall([20, 21, 22, 23, 25, 53].map((port, n) => denied(n, port)));
    await waitFor(
      async () => ((await admin.readAll(topicName(topics.rulesState, prefix))).length > 0 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200, message: "state changes on vigil.rules.state" },
    );
    await first.stop();
    engines.splice(0, 1);

    const second = await start("b");
    expect(second.tables.documents().map((d) => d.name)).toEqual(["assets"]);
    await sendFirewall([80, 110, 143, 443].map((port, n) => denied(n + 6, port)));
    const scan = await waitFor(
      async () => (await findings()).find((f) => f.rule.id === "core.firewall.port-scan"),
      { timeoutMs: 60_000, intervalMs: 200, message: "the port scan across the restart" },
    );
    expect(scan.title).toContain("198.51.100.23");
    expect(scan.events.length).toBeGreaterThanOrEqual(10);
  });
});
