import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "./index.ts";

describe("the broker fixture", () => {
  it("hands every test a broker that creates topics and round-trips a record", async () => {
    const brokers = kafkaBrokers();
    expect(brokers.length).toBeGreaterThan(0);
    expect(process.env.KAFKA_BROKERS?.split(",")).toEqual(brokers);

    const kafka = new Kafka({ clientId: "testkit-fixture-test", brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const topic = `${uniqueTopicPrefix()}fixture`;
    const consumer = kafka.consumer({ groupId: `${topic}.group` });
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: "asset-1", value: "hello" }] });

      const received: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.push(`${message.key?.toString()}=${message.value?.toString()}`);
        },
      });
      await waitFor(() => received.length > 0, { timeoutMs: 30_000, message: "the record to come back" });
      expect(received).toEqual(["asset-1=hello"]);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});
