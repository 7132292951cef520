import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { AdvisoryV1, advisoryKey, dlqHeader, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, runIngestAdvisories } from "./index.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const examples = fileURLToPath(new URL("../../../examples/advisories", import.meta.url));
const kevCorpus = resolve(
  import.meta.dirname,
  "../../..",
  "../shared/corpora/cisa-kev/known_exploited_vulnerabilities.json",
);
const workDir = mkdtempSync(join(tmpdir(), "ingest-advisories-it-"));
let transport: Transport;

beforeAll(() => {
  transport = createKafkaTransport({
    brokers: kafkaBrokers(),
    clientId: "ingest-advisories-integration-test",
  });
});
afterAll(async () => {
  await transport?.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function freshTopics(): Promise<string> {
  const prefix = uniqueTopicPrefix("ingest-advisories");
  await ensureRegistryTopics(transport, prefix);
  return prefix;
}

describe("ingest-advisories on a real Kafka broker", () => {
  it("in process: publishes the whole real KEV catalog, keyed <source>/<id>, and dead-letters a broken entry", async () => {
    const prefix = await freshTopics();
    const catalog = JSON.parse(readFileSync(kevCorpus, "utf8"));
    catalog.vulnerabilities[7].cveID = "CVE-BROKEN";
    const file = join(workDir, "kev.json");
    writeFileSync(file, JSON.stringify(catalog));
    const config = { ...cli.parse(["--file", file], {}).values, topicPrefix: prefix };
    const summary = await runIngestAdvisories({ transport, logger: silentLogger(), config });
    expect(summary).toMatchObject({ read: 1404, published: 1403, deadLettered: 1, lastAckedLine: 1404 });

    const published = await transport.readAll(topicName(topics.advisories, prefix));
    expect(published).toHaveLength(1403);
    for (const message of published) {
      const advisory = AdvisoryV1.parse(JSON.parse(message.value!.toString()));
      expect(message.key?.toString()).toBe(advisoryKey(advisory));
      expect(message.headers.ce_type).toBe(topics.advisories.ceType);
    }
    const letters = await transport.readAll(topicName(topics.dlq, prefix));
    expect(letters).toHaveLength(1);
    expect(letters[0]!.headers[dlqHeader.sourceLocation]).toBe(`${file}#vulnerabilities[7]`);
    expect(letters[0]!.headers[dlqHeader.reason]).toContain("vulnerabilities[7].cveID");
    expect(JSON.parse(letters[0]!.value!.toString())).toEqual(catalog.vulnerabilities[7]);
  });

  it("as a process: --dir of the examples publishes every advisory and prints the summary", async () => {
    const prefix = await freshTopics();
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith("KAFKA_") && !key.startsWith("VIGIL_")),
    );
    const result = spawnSync(
      process.execPath,
      [main, "--brokers", kafkaBrokers().join(","), "--topic-prefix", prefix, "--dir", examples, "--json"],
      { env: { ...clean, LOG_LEVEL: "warn" }, encoding: "utf8" },
    );
    expect(result.stderr).not.toContain('"level":50');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({
      summary: { read: 13, published: 13, deadLettered: 0, files: 5 },
    });
    const keys = (await transport.readAll(topicName(topics.advisories, prefix)))
      .map((m) => m.key?.toString())
      .sort();
    expect(keys).toHaveLength(13);
    expect(keys).toContain("csaf:msrc.microsoft.com/msrc_CVE-2020-1472");
    expect(keys).toContain("nvd/CVE-2021-44228");
    expect(keys.filter((key) => key === "cisa-kev/CVE-2021-44228")).toHaveLength(2);
  });
});
