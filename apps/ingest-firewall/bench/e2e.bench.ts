/**
 * End to end: syslog over TCP -> parse -> Kafka (acknowledged), lines per second.
 * Needs a broker: `KAFKA_BROKERS=127.0.0.1:9092 pnpm --filter @vigil/ingest-firewall bench [lines]`.
 * Creates its own prefixed topics (bench-fw-<random>.) and leaves them for inspection.
 */
import { once } from "node:events";
import { connect } from "node:net";
import type { SyslogServer } from "@vigil/ingest";
import { silentLogger } from "@vigil/observability";
import { createKafkaTransport, ensureRegistryTopics } from "@vigil/stream";
import { cli, runIngestFirewall } from "../src/index.ts";

const brokers = process.env.KAFKA_BROKERS?.split(",").filter(Boolean);
if (!brokers?.length) {
  console.error("set KAFKA_BROKERS (e.g. 127.0.0.1:9092)");
  process.exit(2);
}
const total = Number(process.argv[2] ?? 200_000);
const prefix = `bench-fw-${Math.random().toString(36).slice(2, 8)}.`;
const transport = createKafkaTransport({ brokers, clientId: "ingest-firewall-bench" });
await ensureRegistryTopics(transport, prefix);

const { values } = cli.parse(
  ["--listen-tcp", "127.0.0.1:0", "--topic-prefix", prefix, "--home-net", "10.20.0.0/16"],
  {},
);
const controller = new AbortController();
let server: SyslogServer | undefined;
const done = runIngestFirewall({
  transport,
  logger: silentLogger(),
  config: values,
  signal: controller.signal,
  onListening: (bound) => {
    server = bound;
  },
});
while (!server) await new Promise((resolve) => setTimeout(resolve, 10));

const started = Date.now();
const client = connect(server.addresses.tcp!.port, "127.0.0.1");
await once(client, "connect");
let chunk = "";
for (let index = 0; index < total; index += 1) {
  chunk += `<4>Mar 12 09:10:03 edge-fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.${(index >> 8) & 255}.${index & 255} DST=10.20.40.${index & 255} LEN=60 TTL=52 ID=${index} PROTO=TCP SPT=${1024 + (index % 60000)} DPT=445 SYN URGP=0\n`;
  if (chunk.length > 256 * 1024) {
    if (!client.write(chunk)) await once(client, "drain");
    chunk = "";
  }
}
client.end(chunk);
await once(client, "close");
while (server.stats.received < total) await new Promise((resolve) => setTimeout(resolve, 20));
controller.abort();
const summary = await done;
const seconds = (Date.now() - started) / 1000;
await transport.close();
console.log(
  `${summary.published} of ${total} lines published and acknowledged in ${seconds.toFixed(1)} s: ${Math.round(summary.published / seconds).toLocaleString("en-US")} lines/s end to end (TCP -> Kafka, ${summary.syslog?.pauses ?? 0} backpressure pauses)`,
);
