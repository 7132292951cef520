import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { createDefaultPartitioner, murmur2, partitionForKey, toPositive } from "./partitioner.ts";

describe("murmur2", () => {
  // Vectors from Apache Kafka's UtilsTest#testMurmur2 (the Java client's own expectations).
  const javaVectors: Array<[string, number]> = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];

  it.each(javaVectors)("hashes %j like the Java client", (input, expected) => {
    expect(murmur2(Buffer.from(input, "utf8"))).toBe(expected);
  });

  it("hashes raw bytes, not their text form", () => {
    expect(murmur2(new Uint8Array([0x61, 0x62, 0x63]))).toBe(479470107);
    expect(murmur2(new Uint8Array([0xff, 0x00, 0x80]))).not.toBe(
      murmur2(Buffer.from("\xff\x00\x80", "utf8")),
    );
  });
});

describe("toPositive", () => {
  it("masks the sign bit instead of negating", () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(42)).toBe(42);
  });
});

describe("partitionForKey", () => {
  const keys = [
    "",
    "0",
    "1",
    "asset-42",
    "10.0.0.7",
    "héllo 🛡️",
    "日本語のキー",
    "a-little-bit-longer-string",
    ...Array.from({ length: 200 }, (_, i) => `host-${i * 7919}`),
  ];

  it("agrees with kafkajs's DefaultPartitioner for string and binary keys", () => {
    const kafkajsPartitioner = Partitioners.DefaultPartitioner();
    for (const numPartitions of [1, 2, 3, 6, 12, 50]) {
      const partitionMetadata = Array.from({ length: numPartitions }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (const key of keys) {
        for (const form of [key, Buffer.from(key, "utf8")]) {
          const expected = kafkajsPartitioner({
            topic: "t",
            partitionMetadata,
            message: { key: form, value: null },
          });
          expect(partitionForKey(form, numPartitions)).toBe(expected);
        }
      }
    }
  });

  it("uses Kafka's toPositive(hash) % n, e.g. 'foobar' on 7 partitions", () => {
    expect(partitionForKey("foobar", 7)).toBe((-790332482 & 0x7fffffff) % 7);
  });

  it("rejects a non-positive partition count", () => {
    expect(() => partitionForKey("k", 0)).toThrow(RangeError);
  });
});

describe("createDefaultPartitioner", () => {
  it("sends keyed records by hash and null keys round-robin over every partition", () => {
    const partition = createDefaultPartitioner();
    expect(partition("t", "foobar", 7)).toBe(partitionForKey("foobar", 7));
    const seen = Array.from({ length: 8 }, () => partition("t", null, 4));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(((seen[i - 1] ?? 0) + 1) % 4);
    expect(new Set(seen).size).toBe(4);
  });
});
