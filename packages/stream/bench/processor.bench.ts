// Throughput of the consume-transform-produce loop on the embedded transport: decode + zod
// validation + handler + encode (validation, CloudEvents headers, trace context) + send + commit.
// It measures Vigil's own per-record cost, not a broker's. Run: pnpm --filter @vigil/stream bench
import { performance } from "node:perf_hooks";
import { silentLogger } from "@vigil/observability";
import { topics } from "@vigil/schema";
import { z } from "zod";
import { output } from "../src/codec.ts";
import { createEmbeddedTransport, EmbeddedBroker } from "../src/embedded.ts";
import { runProcessor } from "../src/processor.ts";
import { ensureRegistryTopics } from "../src/topics.ts";

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const Input = z.object({ id: z.string(), n: z.number().int(), text: z.string() });

const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
await transport.createTopics([{ name: "bench.in", partitions: 6 }]);
await ensureRegistryTopics(transport, "bench.");
const batch = Array.from({ length: 1000 }, (_, i) => ({
  key: `host-${i % 97}`,
  value: JSON.stringify({ id: `r-${i}`, n: i, text: "ET EXPLOIT Apache log4j RCE Attempt (CVE-2021-44228)" }),
}));
for (let sent = 0; sent < RECORDS; sent += batch.length) await transport.send("bench.in", batch);

let processed = 0;
let finished: () => void = () => {};
const done = new Promise<void>((resolve) => {
  finished = resolve;
});
const started = performance.now();
const running = await runProcessor({
  stage: "bench",
  transport,
  groupId: "bench",
  input: { topic: "bench.in", schema: Input },
  topicPrefix: "bench.",
  logger: silentLogger(),
  handle: (value) => {
    if (++processed === RECORDS) finished();
    return [output(topics.dlq, value, { key: value.id, source: "bench", prefix: "bench." })];
  },
});
await done;
const seconds = (performance.now() - started) / 1000;
await running.stop();
await transport.close();
const rate = Math.round(RECORDS / seconds);
console.log(
  `processor (embedded): ${RECORDS} records in ${seconds.toFixed(2)} s = ${rate} records/s on Node ${process.version}`,
);
