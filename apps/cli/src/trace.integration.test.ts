// One trace per ingested event, from the ingest app to its incident, across Kafka headers: the
// ingest (library call of ingest-ids), the rules engine and the sink run in this process on the
// real broker, and an in-memory exporter collects every span they make.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { cli as idsCli, runIngestIds } from "@vigil/ingest-ids";
import { addSpanProcessor, installTracing, silentLogger } from "@vigil/observability";
import { createIdsAlertRule } from "@vigil/rules";
import { cli as engineCli, startRulesEngine } from "@vigil/rules-engine";
import { IncidentV1, topicName, topics } from "@vigil/schema";
import { startSinkIncidents } from "@vigil/sink-incidents";
import {
  type ConsumedMessage,
  createKafkaTransport,
  ensureRegistryTopics,
  type Transport,
} from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const logger = silentLogger();
const DAY = 24 * 60 * 60 * 1000;

/** Two Suricata alerts on one asset a minute apart: one incident, merged into version 2. */
const eve = [0, 1].map((index) =>
  JSON.stringify({
    timestamp: `2024-03-12T08:0${2 + index}:11.363972+0100`,
    flow_id: 1_891_776_517_013_021 + index,
    in_iface: "ens192",
    event_type: "alert",
    src_ip: "192.0.2.77",
    src_port: 61_000 + index,
    dest_ip: "172.16.10.5",
    dest_port: 22,
    proto: "TCP",
    host: "sensor-dmz-1",
    alert: {
      action: "allowed",
      gid: 1,
      signature_id: 2_001_219,
      rev: 20,
      signature: "ET SCAN Potential SSH Scan",
      category: "Attempted Information Leak",
      severity: 2,
    },
  }),
);

/** `traceparent` = version-traceid-spanid-flags: the span that produced the record. */
function producerOf(message: ConsumedMessage): { traceId: string; spanId: string } {
  const header = message.headers.traceparent;
  expect(header, `traceparent on ${message.topic} ${message.offset}`).toMatch(
    /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
  );
  const [, traceId, spanId] = (header as string).split("-");
  return { traceId: traceId as string, spanId: spanId as string };
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const traceOf = (span: ReadableSpan) => span.spanContext().traceId;

describe("a trace from ingest to incident on a real broker", () => {
  const prefix = uniqueTopicPrefix("trace-it");
  const run = randomUUID().slice(0, 8);
  const exporter = new InMemorySpanExporter();
  const open: Transport[] = [];
  const stops: Array<() => Promise<void>> = [];
  let admin: Transport;
  let scratch: string;

  const kafka = (label: string): Transport => {
    const transport = createKafkaTransport({
      brokers: kafkaBrokers(),
      clientId: `vigil-${label}-trace-${run}`,
    });
    open.push(transport);
    return transport;
  };

  beforeAll(async () => {
    installTracing();
    addSpanProcessor(new SimpleSpanProcessor(exporter));
    scratch = await mkdtemp(path.join(tmpdir(), "vigil-trace-"));
    admin = kafka("admin");
    await ensureRegistryTopics(admin, prefix);
    const engine = await startRulesEngine({
      transport: kafka("rules-engine"),
      logger,
      // The catch-all rule: each alert one finding.
      rules: [createIdsAlertRule()],
      config: { ...engineCli.parse([], {}).values, groupId: `vigil-rules-trace-${run}`, topicPrefix: prefix },
    });
    stops.push(engine.stop);
    const sink = await startSinkIncidents({
      transport: kafka("sink"),
      logger,
      config: { topicPrefix: prefix, groupId: `vigil-sink-trace-${run}`, mergeWindow: DAY },
    });
    stops.push(sink.stop);
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await Promise.allSettled(open.map((transport) => transport.close()));
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("follows each alert through its finding to its incident version: ingest -> rules -> sink, traceparent in the headers", async () => {
    const file = path.join(scratch, "eve.json");
    await writeFile(file, `${eve.join("\n")}\n`);
    const { values } = idsCli.parse(["--file", file], { VIGIL_TOPIC_PREFIX: prefix });
    const summary = await runIngestIds({ transport: kafka("ingest-ids"), logger, config: values });
    expect(summary.published).toBe(2);

    const incidents = await waitFor(
      async () => {
        const records = await admin.readAll(topicName(topics.incidents, prefix));
        return records.length >= 2 ? records : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, message: "two incident versions published" },
    );
    const findings = await admin.readAll(topicName(topics.findings, prefix));
    expect(findings).toHaveLength(2);
    const versions = incidents.map((record) => IncidentV1.parse(JSON.parse(String(record.value))));
    expect(versions.map((incident) => [incident.id, incident.version])).toEqual([
      [versions[0]?.id, 1],
      [versions[0]?.id, 2],
    ]);

    const spans = exporter.getFinishedSpans();
    const ingest = spans.filter((span) => span.name === "ingest-ids publish");
    expect(ingest).toHaveLength(2);
    for (const span of ingest) expect(parentOf(span), "an ingest span starts its trace").toBeUndefined();
    expect(new Set(ingest.map(traceOf)).size).toBe(2);

    // Version k of the incident was made by the k-th alert: its trace, parent chain sink -> rules -> ingest.
    for (const [index, incident] of incidents.entries()) {
      const fromSink = producerOf(incident);
      const sinkSpan = spans.find((span) => idOf(span) === fromSink.spanId);
      expect(sinkSpan?.name).toBe("sink-incidents process");
      const rulesSpan = spans.find((span) => idOf(span) === parentOf(sinkSpan!));
      expect(rulesSpan?.name).toBe("rules-engine process");
      const ingestSpan = spans.find((span) => idOf(span) === parentOf(rulesSpan!));
      expect(ingestSpan?.name).toBe("ingest-ids publish");
      expect(ingestSpan?.attributes["vigil.source"]).toBe(`${file}:${index + 1}`);
      for (const span of [sinkSpan!, rulesSpan!]) expect(traceOf(span)).toBe(traceOf(ingestSpan!));
      expect(fromSink.traceId).toBe(traceOf(ingestSpan!));

      // The finding the sink consumed carries the rules engine's span; the alert, the ingest's.
      const finding = findings.find((record) => producerOf(record).spanId === idOf(rulesSpan!));
      expect(finding, "a finding produced in the rules span").toBeDefined();
      expect(producerOf(finding!).traceId).toBe(traceOf(ingestSpan!));
      expect(sinkSpan?.attributes["messaging.kafka.message.offset"]).toBe(Number(finding!.offset));
    }

    // The engine's per-batch work (state changelog, watermark findings) has a trace of its own,
    // linked to the records it followed from.
    const ingestIds = new Set(ingest.map(idOf));
    const batchLinks = spans
      .filter((span) => span.name === "rules-engine batch")
      .flatMap((span) => span.links.map((link) => link.context.spanId));
    expect(batchLinks.filter((id) => ingestIds.has(id)).sort()).toEqual([...ingestIds].sort());
  });
});
