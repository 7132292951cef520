import path from "node:path";
import { PassThrough } from "node:stream";
import { ReferenceDocumentV1, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referenceCommand } from "./reference-command.ts";

const examples = path.resolve(import.meta.dirname, "../../../examples");

describe("vigil reference on Kafka", () => {
  const prefix = uniqueTopicPrefix("reference-it");
  let transport: Transport;
  beforeAll(async () => {
    transport = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "reference-it" });
    await ensureRegistryTopics(transport, prefix);
  });
  afterAll(() => transport.close());

  it("publishes documents keyed kind/name, and withdraws one with a tombstone", async () => {
    const env = { KAFKA_BROKERS: kafkaBrokers().join(","), VIGIL_TOPIC_PREFIX: prefix };
    const streams = { stdout: new PassThrough(), stderr: new PassThrough(), env };
    const file = path.join(examples, "exceptions/exceptions.yaml");
    expect(await referenceCommand(["publish", "--kind", "exceptions", file], streams)).toBe(0);
    expect(await referenceCommand(["withdraw", "--kind", "exceptions", "exceptions"], streams)).toBe(0);
    const records = await transport.readAll(topicName(topics.reference, prefix));
    expect(records.map((r) => String(r.key))).toEqual(["exceptions/exceptions", "exceptions/exceptions"]);
    const document = ReferenceDocumentV1.parse(JSON.parse(String(records[0]?.value)));
    expect(document).toMatchObject({ kind: "exceptions", name: "exceptions", origin: file });
    expect(records[0]?.headers.ce_type).toBe(topics.reference.ceType);
    expect(records[1]?.value).toBeNull();
  });
});
