// kafkajs' produce retry (src/producer/sendMessages.js, patched in patches/kafkajs@2.2.4.patch):
// one send spans partitions led by several brokers; when one broker's request fails, the retry
// must send exactly the partitions not acknowledged yet, to their leaders now. Driven here with
// fake brokers and metadata: the 3-node fault test found both failures this checks (an incident
// version lost after a leader moved, the same version written twice after a concurrent error).
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

interface ProduceRequest {
  topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence: number }> }>;
}
type SendMessages = (options: {
  logger: unknown;
  cluster: unknown;
  partitioner: (args: { message: { partition: number } }) => number;
  eosManager: unknown;
  retrier: (
    attempt: (bail: (error: Error) => never, retryCount: number) => Promise<unknown>,
  ) => Promise<unknown>;
}) => (request: {
  acks: number;
  topicMessages: Array<{ topic: string; messages: Array<{ partition: number; value: string }> }>;
}) => Promise<Array<{ topicName: string; partition: number }>>;

const sendMessages = createRequire(import.meta.url)("kafkajs/src/producer/sendMessages.js") as SendMessages;

const TOPIC = "t";

/** A broker that answers each request with `answer(attempt)` (an error to throw, or a delay). */
function fakeBroker(nodeId: number, answer: (attempt: number) => Error | number) {
  const requests: ProduceRequest[] = [];
  return {
    nodeId,
    requests,
    produce: async (request: ProduceRequest) => {
      requests.push(structuredClone(request));
      const outcome = answer(requests.length);
      if (outcome instanceof Error) throw outcome;
      await new Promise((resolve) => setTimeout(resolve, outcome));
      return {
        topics: request.topicData.map(({ topic, partitions }) => ({
          topicName: topic,
          partitions: partitions.map(({ partition }) => ({ partition, errorCode: 0, baseOffset: "0" })),
        })),
      };
    },
  };
}

function retriable(type: string): Error {
  return Object.assign(new Error(type), { name: "KafkaJSProtocolError", type, retriable: true });
}

/** Leaders per partition (`leaders`), changed to `after` when the producer refreshes its metadata. */
function setup(brokers: Array<ReturnType<typeof fakeBroker>>, leaders: number[], after = leaders) {
  let current = leaders;
  const sequences = new Map<number, number>();
  const cluster = {
    targetTopics: new Set([TOPIC]),
    addMultipleTargetTopics: async () => {},
    refreshMetadataIfNecessary: async () => {},
    refreshMetadata: async () => {
      current = after;
    },
    isConnected: () => true,
    findTopicPartitionMetadata: () => current.map((leader, partitionId) => ({ partitionId, leader })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const result: Record<number, number[]> = {};
      for (const partition of partitions.map(Number)) {
        const leader = current[partition] as number;
        result[leader] = [...(result[leader] ?? []), partition];
      }
      return result;
    },
    findBroker: async ({ nodeId }: { nodeId: string }) => brokers.find((b) => b.nodeId === Number(nodeId)),
  };
  const eosManager = {
    isTransactional: () => false,
    acquireBrokerLock: async () => {},
    releaseBrokerLock: async () => {},
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getSequence: (_topic: string, partition: number) => sequences.get(partition) ?? 0,
    updateSequence: (_topic: string, partition: number, increment: number) => {
      sequences.set(partition, (sequences.get(partition) ?? 0) + increment);
    },
  };
  const retrier: Parameters<SendMessages>[0]["retrier"] = async (attempt) => {
    for (let retryCount = 0; ; retryCount++) {
      try {
        return await attempt((error) => {
          throw error;
        }, retryCount);
      } catch (error) {
        if (retryCount >= 5) throw error;
      }
    }
  };
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const send = sendMessages({
    logger: silent,
    cluster,
    partitioner: ({ message }) => message.partition,
    eosManager,
    retrier,
  });
  return { send, sequences };
}

const messages = (partitions: number[]) => ({
  acks: -1,
  topicMessages: [
    { topic: TOPIC, messages: partitions.map((partition) => ({ partition, value: `p${partition}` })) },
  ],
});

/** Every partition and first sequence a broker was sent, in order. */
const sent = (broker: ReturnType<typeof fakeBroker>) =>
  broker.requests.flatMap((request) =>
    request.topicData.flatMap(({ partitions }) =>
      partitions.map((p) => `p${p.partition}@${p.firstSequence}`),
    ),
  );

describe("kafkajs produce retries (patched)", () => {
  it("re-sends a partition whose leader moved to a broker that had already answered", async () => {
    // Partition 0 on broker 1 (which then stops leading it), partition 1 on broker 2 (answers).
    const broker1 = fakeBroker(1, () => retriable("NOT_LEADER_FOR_PARTITION"));
    const broker2 = fakeBroker(2, () => 0);
    const { send } = setup([broker1, broker2], [1, 2], [2, 2]);

    const responses = await send(messages([0, 1]));

    expect(sent(broker2)).toEqual(["p1@0", "p0@0"]);
    expect(responses.map((r) => r.partition).sort()).toEqual([0, 1]);
  });

  it("never sends a partition twice when another broker's request fails while it is in flight", async () => {
    // Broker 1 fails at once (then answers); broker 2 answers slowly: the retry is planned while
    // broker 2's request is still out.
    const broker1 = fakeBroker(1, (attempt) => (attempt === 1 ? retriable("LEADER_NOT_AVAILABLE") : 0));
    const broker2 = fakeBroker(2, () => 50);
    const { send, sequences } = setup([broker1, broker2], [1, 2]);

    await send(messages([0, 1]));

    expect(sent(broker2)).toEqual(["p1@0"]);
    // The failed request's sequence was given back and used again: one batch each, no gap.
    expect(sent(broker1)).toEqual(["p0@0", "p0@0"]);
    expect(Object.fromEntries(sequences)).toEqual({ 0: 1, 1: 1 });
  });
});
