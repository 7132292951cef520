import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { incidentIdFor } from "@vigil/incidents";
import { silentLogger } from "@vigil/observability";
import { createIdsAlertRule } from "@vigil/rules";
import { buildIdsAlert, idsFindingInfo } from "@vigil/rules/testing";
import { cli as engineCli, startRulesEngine } from "@vigil/rules-engine";
import {
  dlqHeader,
  FindingV1,
  type IdsAlertV1,
  IncidentV1,
  idsRecordKey,
  topicName,
  topics,
} from "@vigil/schema";
import {
  type ConsumedMessage,
  createEmbeddedTransport,
  EmbeddedBroker,
  encodeValue,
  ensureRegistryTopics,
  overrideTransport,
  type Transport,
} from "@vigil/stream";
import { waitFor } from "@vigil/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSinkIncidents } from "./index.ts";

const engineDefaults = engineCli.parse([], {}).values;
const priorityList = fileURLToPath(new URL("../../../examples/assets/priority-list.yaml", import.meta.url));
const DAY = 24 * 60 * 60 * 1000;
const prefix = "p.";
const now = () => new Date("2026-03-10T12:00:00.000Z");
const logger = silentLogger();

let transport: Transport;
let stops: Array<() => Promise<void>>;
let workdir: string;

beforeEach(async () => {
  transport = createEmbeddedTransport({
    broker: new EmbeddedBroker(),
    retryBackoff: { initialMs: 10, maxMs: 50 },
  });
  await ensureRegistryTopics(transport, prefix);
  stops = [];
  workdir = await mkdtemp(join(tmpdir(), "vigil-sink-"));
});

afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  await transport.close();
  await rm(workdir, { recursive: true, force: true });
});

async function startEngine(): Promise<void> {
  const engine = await startRulesEngine({
    transport,
    logger,
    // The catch-all rule: every alert a finding, so the sink sees what the tests send.
    rules: [createIdsAlertRule()],
    config: { ...engineDefaults, priorityList: [priorityList], groupId: "rules", topicPrefix: prefix },
  });
  stops.push(engine.stop);
}

async function startSink(out?: string) {
  const sink = await startSinkIncidents({
    transport,
    logger,
    now,
    config: { topicPrefix: prefix, groupId: "sink", mergeWindow: DAY, ...(out ? { out } : {}) },
  });
  stops.push(sink.stop);
  return sink;
}

async function publishAlerts(alerts: IdsAlertV1[]): Promise<void> {
  await transport.send(
    topicName(topics.idsAlerts, prefix),
    alerts.map((alert) => encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "test" })),
  );
}

async function read(spec: { name: string }): Promise<ConsumedMessage[]> {
  return transport.readAll(topicName(spec, prefix));
}

async function incidents(): Promise<IncidentV1[]> {
  return (await read(topics.incidents)).map((m) => IncidentV1.parse(JSON.parse(m.value!.toString())));
}

/** The latest version of each incident, as a compacted topic reader sees it. */
async function latestIncidents(): Promise<Map<string, IncidentV1>> {
  const latest = new Map<string, IncidentV1>();
  for (const incident of await incidents()) {
    if ((latest.get(incident.id)?.version ?? 0) < incident.version) latest.set(incident.id, incident);
  }
  return latest;
}

/** Waits until both groups have committed everything on their input topics. */
async function drained(): Promise<void> {
  await waitFor(
    async () => {
      for (const [group, spec] of [
        ["rules", topics.idsAlerts],
        ["sink", topics.findings],
      ] as const) {
        const name = topicName(spec, prefix);
        const ends = await transport.endOffsets(name);
        const committed = await transport.committedOffsets(`${prefix}${group}`, name);
        for (const { partition, offset } of ends) {
          const done = committed.find((c) => c.partition === partition)?.offset ?? "-1";
          if (offset !== "0" && done !== offset) return false;
        }
      }
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 10, message: "pipeline drained" },
  );
}

const log4jOnDc01 = buildIdsAlert();
const log4jOnDc01Later = buildIdsAlert({
  time: "2026-03-10T10:42:00.000Z",
  src: { ip: "198.51.100.7", port: 40001 },
});
const scanOnWorkstation = buildIdsAlert({
  asset_ip: "10.20.41.23",
  dst: { ip: "10.20.41.23", port: 3389 },
  severity: "medium",
  finding_info: idsFindingInfo(2001219, "ET SCAN Potential SSH Scan", "Attempted Information Leak"),
  cves: [],
  rule_metadata: {},
});

describe("rules-engine -> sink-incidents (embedded transport)", () => {
  it("raises an enriched incident with a deterministic id from an IDS alert", async () => {
    await startEngine();
    const out = join(workdir, "incidents.jsonl");
    await startSink(out);
    await publishAlerts([log4jOnDc01, scanOnWorkstation]);
    await drained();

    const findings = (await read(topics.findings)).map((m) =>
      FindingV1.parse(JSON.parse(m.value!.toString())),
    );
    expect(findings).toHaveLength(2);
    const dcFinding = findings.find((f) => f.asset.id === "dc01")!;
    expect((await read(topics.findings)).find((m) => m.key?.toString() === "dc01")).toBeDefined();

    const all = await latestIncidents();
    expect(all.size).toBe(2);
    const dc = all.get(incidentIdFor(dcFinding, DAY))!;
    expect(dc).toMatchObject({
      status: "new",
      version: 1,
      finding_count: 1,
      severity: "critical",
      asset: { id: "dc01", hostname: "dc01.corp.example", priority: "critical", known: true },
      title: expect.stringMatching(/^IDS alert on dc01\.corp\.example: ET EXPLOIT Apache log4j/),
      first_seen: log4jOnDc01.time_dt,
      created_at: now().toISOString(),
      cves: ["CVE-2021-44228"],
      attack: ["T1190", "TA0001"],
    });
    expect(dc.explanation).toContain("tier critical from priority list entry dc01: domain controller");
    const ws = [...all.values()].find((i) => i.asset.id === "10.20.41.23")!;
    expect(ws).toMatchObject({
      severity: "medium",
      asset: { known: false, priority: "low", owner: "Desktop Services" },
    });

    // Keyed by incident id on the compacted topic.
    const keys = (await read(topics.incidents)).map((m) => m.key?.toString());
    expect(new Set(keys)).toEqual(new Set(all.keys()));
    // The --out file holds every published version.
    const lines = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((line) => IncidentV1.parse(JSON.parse(line)));
    expect(lines.map((i) => i.id).sort()).toEqual([...all.keys()].sort());
  });

  it("counts the same alert delivered twice once", async () => {
    await startEngine();
    await startSink();
    await publishAlerts([log4jOnDc01, log4jOnDc01]);
    await drained();
    const all = await latestIncidents();
    expect(all.size).toBe(1);
    expect([...all.values()][0]).toMatchObject({ finding_count: 1, version: 1 });
    expect(await incidents()).toHaveLength(1);
  });

  it("merges two alerts of one signature on one asset into one incident", async () => {
    await startEngine();
    await startSink();
    await publishAlerts([log4jOnDc01, log4jOnDc01Later]);
    await drained();
    const all = await latestIncidents();
    expect(all.size).toBe(1);
    expect([...all.values()][0]).toMatchObject({
      finding_count: 2,
      version: 2,
      first_seen: log4jOnDc01.time_dt,
      last_seen: log4jOnDc01Later.time_dt,
    });
    expect([...all.values()][0]!.evidence.map((e) => e.id)).toEqual([log4jOnDc01.id, log4jOnDc01Later.id]);
  });

  it("dead-letters malformed records with a reason and keeps going", async () => {
    await startEngine();
    await startSink();
    await transport.send(topicName(topics.idsAlerts, prefix), [
      { key: "10.20.1.10", value: "{not json" },
      { key: "10.20.1.10", value: JSON.stringify({ ...log4jOnDc01, severity: "apocalyptic" }) },
    ]);
    await transport.send(topicName(topics.findings, prefix), [
      { key: "dc01", value: JSON.stringify({ schema: "vigil.finding/v1", id: "fnd-x" }) },
    ]);
    await publishAlerts([log4jOnDc01]);
    await drained();

    const letters = await read(topics.dlq);
    expect(letters).toHaveLength(3);
    const byKind = letters.map((m) => ({
      kind: m.headers[dlqHeader.kind],
      stage: m.headers[dlqHeader.stage],
      source: m.headers[dlqHeader.sourceTopic],
      reason: m.headers[dlqHeader.reason],
    }));
    expect(byKind).toEqual(
      expect.arrayContaining([
        {
          kind: "json",
          stage: "rules-engine",
          source: "p.vigil.ids.alerts",
          reason: expect.stringMatching(/not valid JSON/),
        },
        {
          kind: "schema",
          stage: "rules-engine",
          source: "p.vigil.ids.alerts",
          reason: expect.stringMatching(/severity/),
        },
        {
          kind: "schema",
          stage: "sink-incidents",
          source: "p.vigil.findings",
          reason: expect.stringMatching(/time/),
        },
      ]),
    );
    expect((await latestIncidents()).size).toBe(1);
  });

  it("restores its table on restart: no twin incident, no double count", async () => {
    await startEngine();
    const first = await startSink();
    await publishAlerts([log4jOnDc01]);
    await drained();
    await first.stop();
    stops = stops.filter((stop) => stop !== first.stop);

    // Replay what the first instance already did: its group forgets its offsets (a new group),
    // and the rules engine re-emits the same finding.
    const second = await startSinkIncidents({
      transport,
      logger,
      now,
      config: { topicPrefix: prefix, groupId: "sink-replay", mergeWindow: DAY },
    });
    stops.push(second.stop);
    expect(second.domain.size).toBe(1);
    await publishAlerts([log4jOnDc01, log4jOnDc01Later]);
    await waitFor(async () => [...(await latestIncidents()).values()][0]?.version === 2, {
      timeoutMs: 10_000,
      intervalMs: 10,
      message: "second finding merged",
    });
    await waitFor(
      async () => {
        const ends = await transport.endOffsets(topicName(topics.findings, prefix));
        const committed = await transport.committedOffsets(
          `${prefix}sink-replay`,
          topicName(topics.findings, prefix),
        );
        return ends.every(
          (end) =>
            end.offset === "0" || committed.find((c) => c.partition === end.partition)?.offset === end.offset,
        );
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    );

    const versions = await incidents();
    expect(new Set(versions.map((i) => i.id)).size).toBe(1);
    expect(versions.map((i) => [i.version, i.finding_count])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it("republishes an incident whose publication was never acknowledged", async () => {
    await startEngine();
    // A transport that fails the first incident publication, as a broker outage would.
    let failures = 1;
    const flaky = overrideTransport(transport, {
      // The sink publishes each batch in one transaction: fail the first one that carries incidents.
      sendAtomically: async (batches, id) => {
        if (batches.some((b) => b.topic === topicName(topics.incidents, prefix)) && failures-- > 0)
          throw new Error("broker unavailable");
        return transport.sendAtomically(batches, id);
      },
    });
    const sink = await startSinkIncidents({
      transport: flaky,
      logger,
      now,
      sendRetry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1, factor: 1 },
      config: { topicPrefix: prefix, groupId: "sink", mergeWindow: DAY },
    });
    stops.push(sink.stop);
    await publishAlerts([log4jOnDc01, log4jOnDc01Later]);
    await drained();
    expect(failures).toBe(-1);
    // The failed batch came back and the table was rebuilt from what the broker held: each version
    // is published once, none is lost, and the last one counts both findings.
    const published = await incidents();
    expect(published.map((i) => [i.version, i.finding_count])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });
});
