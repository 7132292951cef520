/**
 * End to end into Kafka: `vigil-ingest-ids --file` (whole process: read, parse, validate, encode,
 * publish in acknowledged batches) over generated EVE alert lines, on fresh topics of a real broker.
 * Needs KAFKA_BROKERS. Run: `KAFKA_BROKERS=127.0.0.1:9092 pnpm --filter @vigil/ingest-ids bench [lines]`.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics } from "@vigil/stream";
import { alertLine } from "../src/testing.ts";

const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
if (brokers.length === 0) {
  console.error("set KAFKA_BROKERS=host:port");
  process.exit(2);
}
const total = Number(process.argv[2] ?? 100_000);
const prefix = `bench-${randomBytes(4).toString("hex")}.`;
const transport = createKafkaTransport({ brokers, clientId: "ingest-ids-bench" });
await ensureRegistryTopics(transport, prefix);

const dir = mkdtempSync(join(tmpdir(), "ingest-ids-bench-"));
try {
  const file = join(dir, "eve.json");
  writeFileSync(
    file,
    `${Array.from({ length: total }, (_, index) => alertLine(index, { src_port: 1024 + (index % 60_000) })).join("\n")}\n`,
  );
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [main, "--file", file, "--json"], {
    env: { ...process.env, VIGIL_TOPIC_PREFIX: prefix, LOG_LEVEL: "warn" },
    encoding: "utf8",
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`ingest failed (${result.status}): ${result.stderr}`);
  const offsets = await transport.endOffsets(topicName(topics.idsAlerts, prefix));
  const published = offsets.reduce((sum, { offset }) => sum + Number(offset), 0);
  console.log(
    `into Kafka (process start and topic checks included): ${total} lines in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} lines/s; ${published} records on ${topicName(topics.idsAlerts, prefix)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
  await transport.close();
}
