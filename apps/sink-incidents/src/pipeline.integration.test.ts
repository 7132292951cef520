import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { incidentIdFor } from "@vigil/incidents";
import { silentLogger } from "@vigil/observability";
import { createIdsAlertRule, MemoryStateStore, ReferenceTableSet, ruleEvent } from "@vigil/rules";
import { buildIdsAlert, idsFindingInfo } from "@vigil/rules/testing";
import { cli as engineCli, startRulesEngine } from "@vigil/rules-engine";
import { type IdsAlertV1, IncidentV1, idsRecordKey, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, encodeValue, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSinkIncidents } from "./index.ts";

const engineDefaults = engineCli.parse([], {}).values;
const priorityList = fileURLToPath(new URL("../../../examples/assets/priority-list.yaml", import.meta.url));
const DAY = 24 * 60 * 60 * 1000;
const logger = silentLogger();

describe("rules-engine -> sink-incidents on a real Kafka broker", () => {
  const prefix = uniqueTopicPrefix("sink-it");
  const run = randomUUID().slice(0, 8);
  const rulesGroup = `vigil-rules-engine-it-${run}`;
  const sinkGroup = `vigil-sink-incidents-it-${run}`;
  const open: Transport[] = [];
  const stops: Array<() => Promise<void>> = [];
  let admin: Transport;

  const kafka = (label: string): Transport => {
    const transport = createKafkaTransport({
      brokers: kafkaBrokers(),
      clientId: `vigil-${label}-it-${run}`,
      redelivery: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    open.push(transport);
    return transport;
  };

  const startSink = async (transport: Transport) => {
    const sink = await startSinkIncidents({
      transport,
      logger,
      config: { topicPrefix: prefix, groupId: sinkGroup, mergeWindow: DAY },
    });
    stops.push(sink.stop);
    return sink;
  };

  const publish = (alerts: IdsAlertV1[]) =>
    admin.send(
      topicName(topics.idsAlerts, prefix),
      alerts.map((alert) =>
        encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "test" }),
      ),
    );

  const incidentVersions = async (): Promise<IncidentV1[]> =>
    (await admin.readAll(topicName(topics.incidents, prefix))).map((m) =>
      IncidentV1.parse(JSON.parse(m.value!.toString())),
    );

  const latest = async (): Promise<Map<string, IncidentV1>> => {
    const byId = new Map<string, IncidentV1>();
    for (const incident of await incidentVersions()) {
      if ((byId.get(incident.id)?.version ?? 0) < incident.version) byId.set(incident.id, incident);
    }
    return byId;
  };

  /** True once `group` has committed every record of `spec`'s topic. */
  const caughtUp = async (group: string, spec: { name: string }): Promise<boolean> => {
    const topic = topicName(spec, prefix);
    const [ends, committed] = await Promise.all([
      admin.endOffsets(topic),
      admin.committedOffsets(`${prefix}${group}`, topic),
    ]);
    return ends.every(
      ({ partition, offset }) =>
        offset === "0" || committed.find((c) => c.partition === partition)?.offset === offset,
    );
  };

  const log4j = buildIdsAlert({ time: "2026-03-10T09:15:02.123Z" });
  const log4jAgain = buildIdsAlert({
    time: "2026-03-10T09:47:10.500Z",
    src: { ip: "198.51.100.7", port: 40001 },
  });
  const payrollScan = buildIdsAlert({
    asset_ip: "10.20.5.20",
    dst: { ip: "10.20.5.20", port: 22 },
    severity: "medium",
    finding_info: idsFindingInfo(2001219, "ET SCAN Potential SSH Scan"),
    cves: [],
    rule_metadata: {},
  });

  beforeAll(async () => {
    admin = kafka("admin");
    await ensureRegistryTopics(admin, prefix);
    const engine = await startRulesEngine({
      transport: kafka("rules-engine"),
      logger,
      // The catch-all rule: every alert a finding, so the sink sees what the tests send.
      rules: [createIdsAlertRule()],
      config: { ...engineDefaults, priorityList: [priorityList], groupId: rulesGroup, topicPrefix: prefix },
    });
    stops.push(engine.stop);
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await Promise.allSettled(open.map((transport) => transport.close()));
  });

  it("raises incidents with deterministic ids, merges repeats, and survives a sink restart without double counting", async () => {
    const firstTransport = kafka("sink-1");
    const first = await startSink(firstTransport);
    await publish([log4j, log4j, log4jAgain, payrollScan]);

    // The ids are a function of rule, asset, signature and window: computable without the pipeline.
    const tables = new ReferenceTableSet();
    await tables.loadFiles({ priorityLists: [priorityList] });
    const rule = createIdsAlertRule();
    const expectedId = (alert: IdsAlertV1) =>
      incidentIdFor(
        rule.evaluate(
          ruleEvent("ids.alert", alert, topicName(topics.idsAlerts, prefix), idsRecordKey(alert)),
          { tables, state: new MemoryStateStore() },
        )[0]!,
        DAY,
      );
    const dcIncidentId = expectedId(log4j);
    const payrollIncidentId = expectedId(payrollScan);
    expect(expectedId(log4jAgain)).toBe(dcIncidentId);

    await waitFor(
      async () =>
        (await latest()).get(dcIncidentId)?.finding_count === 2 && (await latest()).has(payrollIncidentId),
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        message: "both incidents published",
      },
    );
    await waitFor(() => caughtUp(sinkGroup, topics.findings), {
      timeoutMs: 60_000,
      message: "sink committed",
    });

    const before = await latest();
    expect([...before.keys()].sort()).toEqual([dcIncidentId, payrollIncidentId].sort());
    expect(before.get(dcIncidentId)).toMatchObject({
      version: 2,
      finding_count: 2,
      severity: "critical",
      asset: { id: "dc01", priority: "critical" },
      first_seen: log4j.time_dt,
      last_seen: log4jAgain.time_dt,
      window_start: "2026-03-10T00:00:00.000Z",
    });
    expect(before.get(payrollIncidentId)).toMatchObject({ version: 1, finding_count: 1, severity: "high" });
    // The same alert twice made one finding count once: versions 1 and 2 only.
    expect(
      (await incidentVersions()).filter((i) => i.id === dcIncidentId).map((i) => i.finding_count),
    ).toEqual([1, 2]);

    // Restart: stop the sink, start a new one in the same group on a new connection.
    await first.stop();
    await firstTransport.close();
    const second = await startSink(kafka("sink-2"));
    expect(second.domain.get(dcIncidentId)).toMatchObject({ version: 2, finding_count: 2 });

    // Re-publish a finding the first instance already processed, byte for byte.
    const findingsTopic = topicName(topics.findings, prefix);
    const processed = (await admin.readAll(findingsTopic)).find((m) => m.key?.toString() === "dc01")!;
    await admin.send(findingsTopic, [
      { key: processed.key, value: processed.value, headers: processed.headers },
    ]);
    // And a new alert after it, on the same asset (same partition): proof the new instance is live.
    const third = buildIdsAlert({ time: "2026-03-10T11:02:00.000Z", src: { ip: "192.0.2.80", port: 50000 } });
    await publish([third]);

    await waitFor(async () => (await latest()).get(dcIncidentId)?.version === 3, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: "the new alert merged after the restart",
    });
    await waitFor(() => caughtUp(sinkGroup, topics.findings), {
      timeoutMs: 60_000,
      message: "sink committed",
    });

    const versions = (await incidentVersions()).filter((i) => i.id === dcIncidentId);
    expect(versions.map((i) => [i.version, i.finding_count])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect((await latest()).size).toBe(2);
  });
});
