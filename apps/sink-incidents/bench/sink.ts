// Findings -> incidents through the sink on a real broker: `KAFKA_BROKERS=127.0.0.1:9092 pnpm bench`
// (`pnpm kafka:up` starts one). Publishes N findings (default 20,000) over 2,000 assets into a fresh
// topic prefix, starts the sink in this process and times it until every finding is committed and
// every incident event delivered to the (embedded) store.
import { randomUUID } from "node:crypto";
import { silentLogger } from "@vigil/observability";
import { type FindingV1, type Severity, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, encodeValue, ensureRegistryTopics } from "@vigil/stream";
import { startSinkIncidents } from "../src/index.ts";

const brokers = process.env.KAFKA_BROKERS?.split(",");
if (!brokers) {
  process.stderr.write(
    "bench: set KAFKA_BROKERS (e.g. `pnpm kafka:up`, then KAFKA_BROKERS=127.0.0.1:9092)\n",
  );
  process.exit(2);
}
const total = Number(process.env.VIGIL_BENCH_FINDINGS ?? 20_000);
const prefix = `bench-${randomUUID().slice(0, 8)}.`;
const severities: Severity[] = ["low", "medium", "high", "critical"];
const tiers = ["critical", "high", "medium", "low"] as const;
const T0 = Date.parse("2024-03-12T08:00:00Z");

function finding(n: number): FindingV1 {
  const asset = n % 2000;
  const rule = ["core.ids.high-severity-priority-asset", "core.firewall.port-scan", "core.baseline.below"][
    n % 3
  ]!;
  const time = new Date(T0 + n * 100).toISOString();
  return {
    schema: "vigil.finding/v1",
    id: `fnd-bench-${n}`,
    time,
    rule: { id: rule, name: rule, version: 1 },
    severity: severities[n % 4]!,
    title: `${rule} on asset-${asset}`,
    description: "bench",
    asset: {
      id: `asset-${asset}`,
      ip: `10.${Math.floor(asset / 250)}.${asset % 250}.1`,
      known: true,
      priority: tiers[asset % 4]!,
      priority_reason: "bench",
      tags: [],
    },
    group_key: "g",
    events: [{ topic: "vigil.ids.alerts", id: `evt-${n}`, time, summary: "event" }],
    explanation: { summary: "bench", conditions: [] },
    cves: [],
    attack: [],
    references: [],
  };
}

const transport = createKafkaTransport({ brokers, clientId: "sink-bench" });
await ensureRegistryTopics(transport, prefix);
for (let start = 0; start < total; start += 1000) {
  const batch = Array.from({ length: Math.min(1000, total - start) }, (_, i) => finding(start + i));
  await transport.send(
    topicName(topics.findings, prefix),
    batch.map((f) => encodeValue(topics.findings, f, { key: f.asset.id, source: "bench" })),
  );
}
const started = performance.now();
const sink = await startSinkIncidents({
  transport,
  logger: silentLogger(),
  config: { topicPrefix: prefix, groupId: "sink-bench", mergeWindow: 24 * 3_600_000, clock: "event" },
});
const group = `${prefix}sink-bench`;
for (;;) {
  const ends = await transport.endOffsets(topicName(topics.findings, prefix));
  const done = await transport.committedOffsets(group, topicName(topics.findings, prefix));
  if (ends.every(({ partition, offset }) => done.find((d) => d.partition === partition)?.offset === offset))
    break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const findingsDone = performance.now();
await sink.delivered();
const deliveredAt = performance.now();
const incidents = sink.domain.size;
const records = await transport.readAll(topicName(topics.incidents, prefix));
const versions = records.length;
// A redelivered batch may write a version again; it must be the same version, never another one.
const byVersion = new Map<string, string>();
let conflicting = 0;
for (const record of records) {
  const incident = JSON.parse(String(record.value)) as { id: string; version: number; finding_count: number };
  const key = `${incident.id}@${incident.version}`;
  const seen = byVersion.get(key);
  if (seen !== undefined && seen !== String(incident.finding_count)) conflicting++;
  byVersion.set(key, String(incident.finding_count));
}
await sink.stop();
await transport.close();
const seconds = (findingsDone - started) / 1000;
process.stdout.write(
  `${total} findings -> ${incidents} incidents (${byVersion.size} incident versions, ${versions - byVersion.size} written twice, ${conflicting} conflicting) in ${seconds.toFixed(1)} s: ` +
    `${Math.round(total / seconds)} findings/s, ${Math.round(versions / seconds)} incident versions/s; ` +
    `store and outputs caught up ${((deliveredAt - findingsDone) / 1000).toFixed(1)} s later (node ${process.version}, one process)\n`,
);
