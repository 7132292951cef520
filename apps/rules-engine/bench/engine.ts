// Throughput of the rules engine with the core pack on the embedded transport: firewall events in
// (decode, zod, the rules, re-keying the source-keyed correlations through vigil.rules.repartition
// and judging them there), findings and state changes out, offsets committed. It measures Vigil's
// own cost per event, not a broker's. Run: pnpm --filter @vigil/rules-engine bench
import { performance } from "node:perf_hooks";
import { silentLogger } from "@vigil/observability";
import { buildDeniedConnection } from "@vigil/rules/testing";
import { topicName, topics } from "@vigil/schema";
import {
  createEmbeddedTransport,
  EmbeddedBroker,
  encodeValue,
  ensureRegistryTopics,
  type OutgoingMessage,
} from "@vigil/stream";
import { DEFAULT_GROUP_ID, startRulesEngine } from "../src/index.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
await ensureRegistryTopics(transport);

const ended = async (topic: string) => {
  const ends = await transport.endOffsets(topic);
  const committed = new Map(
    (await transport.committedOffsets(DEFAULT_GROUP_ID, topic)).map((entry) => [
      entry.partition,
      entry.offset,
    ]),
  );
  return ends.every(({ partition, offset }) => offset === "0" || committed.get(partition) === offset);
};
const repartition = topicName(topics.rulesRepartition);
// Started first (pack loaded, tables restored): the figure is judging events, not starting.
const engine = await startRulesEngine({
  transport,
  logger: silentLogger(),
  config: {
    pack: ["@vigil/rules-core-pack"],
    priorityList: [],
    baselines: [],
    exceptions: [],
    groupId: DEFAULT_GROUP_ID,
    topicPrefix: "",
  },
});
const firewall = topicName(topics.firewallEvents);
// Denied connections from 40 outside sources to 250 inside hosts, one per 100 ms of event time:
// every event reaches the three source-keyed rules, and some sources scan and sweep.
const start = "2024-03-12T09:00:00Z";
const batches: OutgoingMessage[][] = [];
for (let sent = 0; sent < EVENTS; sent += 1000) {
  const batch = Array.from({ length: Math.min(1000, EVENTS - sent) }, (_, i) => {
    const n = sent + i;
    const base = buildDeniedConnection(n, 20 + (n % 1000), start);
    const host = `172.16.${10 + ((n >> 8) % 4)}.${n % 250}`;
    const event = {
      ...base,
      time: Date.parse(start) + n * 100,
      src_endpoint: { ip: `198.51.100.${n % 40}`, port: 40000 + (n % 20000) },
      dst_endpoint: { ip: host, port: 20 + (n % 1000) },
      asset_ip: host,
    };
    return encodeValue(topics.firewallEvents, event, { key: host, source: "bench" });
  });
  batches.push(batch);
}
const started = performance.now();
for (const batch of batches) await transport.send(firewall, batch);

const hasRepartition = (await transport.listTopics()).includes(repartition);
for (;;) {
  if ((await ended(firewall)) && (!hasRepartition || (await ended(repartition)))) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const seconds = (performance.now() - started) / 1000;
const findings = (await transport.readAll(topicName(topics.findings))).length;
const rekeyed = hasRepartition ? (await transport.readAll(repartition)).length : 0;
await engine.stop();
await transport.close();
console.log(
  `rules-engine (embedded, core pack): ${EVENTS} firewall events in ${seconds.toFixed(2)} s = ${Math.round(EVENTS / seconds)} events/s; ${rekeyed} re-keyed records, ${findings} findings; Node ${process.version}`,
);
