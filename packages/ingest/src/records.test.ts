import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { silentLogger } from "@vigil/observability";
import { dlqHeader, topicName, topics } from "@vigil/schema";
import { createEmbeddedTransport, ensureRegistryTopics } from "@vigil/stream";
import { describe, expect, it } from "vitest";
import { type IngestRecord, runRecordIngest } from "./records.ts";
import type { ParsedLine } from "./run.ts";

const advisory = (id: string) => ({
  schema: "vigil.advisory/v1" as const,
  id,
  source: "cisa-kev",
  cves: [id],
  cwes: [],
  cpe_matches: [],
  products: [],
  product_status: [],
  remediations: [],
  fixing_kb_ids: [],
  cvss: [],
  references: [],
});
type Advisory = ReturnType<typeof advisory>;

function record(result: ParsedLine<Advisory>, index: number): IngestRecord<Advisory> {
  return { result, bytes: Buffer.from(`{"entry":${index}}`), location: `kev.json#vulnerabilities[${index}]` };
}

const encode = (value: Advisory, context: { prefix: string; source: string }) => {
  const spec = topics.advisories;
  return {
    topic: topicName(spec, context.prefix),
    message: {
      key: Buffer.from(`${value.source}/${value.id}`),
      value: Buffer.from(JSON.stringify(value)),
      headers: {},
    },
  };
};

describe("runRecordIngest", () => {
  it("publishes records and dead-letters invalid ones with their bytes, reason and location", async () => {
    const transport = createEmbeddedTransport();
    const prefix = `t-${randomBytes(4).toString("hex")}.`;
    await ensureRegistryTopics(transport, prefix);
    const records = [
      record({ status: "record", value: advisory("CVE-2021-44228") }, 0),
      record({ status: "invalid", kind: "schema", reason: "vulnerabilities[1].dueDate: not a date" }, 1),
      record({ status: "ignored", eventType: "draft" }, 2),
      record({ status: "record", value: advisory("CVE-2020-1472") }, 3),
    ];
    const summary = await runRecordIngest<Advisory>({
      transport,
      records,
      encode,
      topicPrefix: prefix,
      stage: "ingest-advisories",
      source: "kev.json",
      logger: silentLogger(),
    });
    expect(summary).toMatchObject({ read: 4, published: 2, ignored: 1, deadLettered: 1, lastAckedLine: 4 });
    const published = await transport.readAll(topicName(topics.advisories, prefix));
    expect(published.map((message) => message.key?.toString())).toEqual([
      "cisa-kev/CVE-2021-44228",
      "cisa-kev/CVE-2020-1472",
    ]);
    const [letter] = await transport.readAll(topicName(topics.dlq, prefix));
    expect(letter?.value?.toString()).toBe('{"entry":1}');
    expect(letter?.headers[dlqHeader.sourceLocation]).toBe("kev.json#vulnerabilities[1]");
    expect(letter?.headers[dlqHeader.reason]).toBe("vulnerabilities[1].dueDate: not a date");
    await transport.close();
  });

  it("dry run: records to out, dead letters to errOut, from an async source", async () => {
    const chunks = { out: "", err: "" };
    const sink = (key: keyof typeof chunks) =>
      new Writable({
        write(chunk, _encoding, done) {
          chunks[key] += String(chunk);
          done();
        },
      });
    async function* source() {
      yield record({ status: "record", value: advisory("CVE-2017-0144") }, 0);
      yield record({ status: "invalid", kind: "csaf-rule", reason: "6.1.1 /x: undefined product" }, 1);
    }
    const summary = await runRecordIngest<Advisory>({
      records: source(),
      encode,
      stage: "ingest-advisories",
      source: "dir",
      logger: silentLogger(),
      dryRun: true,
      out: sink("out"),
      errOut: sink("err"),
    });
    expect(summary).toMatchObject({ read: 2, published: 1, deadLettered: 1 });
    expect(JSON.parse(chunks.out)).toMatchObject({ id: "CVE-2017-0144" });
    expect(JSON.parse(chunks.err)).toMatchObject({
      dead_letter: {
        location: "kev.json#vulnerabilities[1]",
        kind: "csaf-rule",
        reason: "6.1.1 /x: undefined product",
      },
    });
  });
});
