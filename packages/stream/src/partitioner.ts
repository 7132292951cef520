import { randomInt } from "node:crypto";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2), as a signed 32-bit int.
 * Java wraps on 32-bit overflow, hence Math.imul and `| 0` instead of plain arithmetic.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const remaining = length & 3;
  if (remaining === 3) h ^= data[tail + 2]! << 16;
  if (remaining >= 2) h ^= data[tail + 1]! << 8;
  if (remaining >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: masks the sign bit (it is not `Math.abs`). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner (Java client and kafkajs DefaultPartitioner) picks for a key. */
export function partitionForKey(key: string | Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  return toPositive(murmur2(bytes)) % numPartitions;
}

export type Partitioner = (topic: string, key: string | Uint8Array | null, numPartitions: number) => number;

/**
 * Keyed records go where Kafka would put them; null keys round-robin per topic from a random
 * start (as kafkajs does), so many short-lived producers do not all pile onto partition 0.
 */
export function createDefaultPartitioner(): Partitioner {
  const counters = new Map<string, number>();
  return (topic, key, numPartitions) => {
    if (key !== null) return partitionForKey(key, numPartitions);
    const next = ((counters.get(topic) ?? randomInt(0, 0x7fffffff)) + 1) & 0x7fffffff;
    counters.set(topic, next);
    return next % numPartitions;
  };
}
