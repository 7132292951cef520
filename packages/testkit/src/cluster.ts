// A throwaway 3-node Kafka cluster (KRaft, every node broker and controller) from infra/kafka/kafka.sh,
// for fault tests: stop and start a node, find a partition's leader, wait for a node to catch up.
import kafkajs, { type Admin, Kafka, logLevel } from "kafkajs";
import { freeClusterPorts, startKafkaSh } from "./broker.ts";
import { waitFor } from "./helpers.ts";

// kafkajs is CommonJS and Node's export detection misses this name outside vitest: take it off the default export.
const { ConfigResourceTypes } = kafkajs;

export interface KafkaCluster {
  /** Bootstrap servers of every node, node 1 first. */
  brokers: string[];
  /** Node ids (1-based, as kafka.sh and the metadata number them). */
  nodeIds: number[];
  /** Where kafka.sh keeps the cluster's data, logs and pids (under TMPDIR, `vigil-kafka-*`). */
  stateDir: string;
  /** Controlled shutdown of one node (SIGTERM); resolves once its process has exited. */
  stopNode(nodeId: number): Promise<void>;
  /** Starts a stopped node again; resolves once the cluster lists it as a broker. */
  startNode(nodeId: number): Promise<void>;
  /** The node id leading a partition now. */
  leaderOf(topic: string, partition: number): Promise<number>;
  /**
   * Resolves once `nodeId` is in the in-sync replica set of every partition it replicates (all
   * topics, internal ones included): the cluster is whole again.
   */
  waitInSync(nodeId: number, timeoutMs?: number): Promise<void>;
  /** Partitions, replication factor (the smallest of any partition) and effective configs of a topic. */
  describeTopic(
    topic: string,
  ): Promise<{ partitions: number; replicationFactor: number; configs: Record<string, string> }>;
  /** Member ids of a consumer group now (empty when it has none). */
  groupMembers(groupId: string): Promise<string[]>;
  /** An admin client on the cluster, connected (closed by `stop`). */
  admin(): Promise<Admin>;
  /** Stops every node and deletes the state. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster of `nodes` (default 3) on free ports, with its state in a fresh
 * `$TMPDIR/vigil-kafka-*` (CI's exit trap stops brokers it finds there). Throws, with kafka.sh's
 * last log lines, when it cannot start: a fault test never skips.
 */
export async function startKafkaCluster(
  options: { nodes?: number; log?: (line: string) => void } = {},
): Promise<KafkaCluster> {
  const nodes = options.nodes ?? 3;
  const log = options.log ?? ((line: string) => process.stderr.write(`testkit: ${line}\n`));
  const port = await freeClusterPorts(nodes);
  const nodeIds = [...Array(nodes).keys()].map((i) => i + 1);
  const started = Date.now();
  log(`starting a ${nodes}-node Kafka cluster on 127.0.0.1:${port}-${port + nodes - 1} ...`);
  const run = await startKafkaSh({ port, nodes });
  const { brokers, stateDir } = run;
  if (brokers.length !== nodes) {
    await run.stop().catch(() => {});
    throw new Error(`kafka.sh up printed ${brokers.join(",") || "no brokers"}, not ${nodes} brokers`);
  }
  log(`${nodes}-node cluster ready in ${Math.round((Date.now() - started) / 1000)} s (${stateDir})`);

  const kafka = new Kafka({
    clientId: "vigil-testkit-cluster",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  let adminConnection: Promise<Admin> | undefined;
  const admin = () => {
    adminConnection ??= (async () => {
      const client = kafka.admin();
      await client.connect();
      return client;
    })();
    adminConnection.catch(() => {
      adminConnection = undefined;
    });
    return adminConnection;
  };
  const nodeIndex = (nodeId: number) => {
    if (!nodeIds.includes(nodeId)) throw new Error(`no node ${nodeId} in a ${nodes}-node cluster`);
    return String(nodeId);
  };
  const brokerIds = async () => (await (await admin()).describeCluster()).brokers.map((b) => b.nodeId);

  return {
    brokers,
    nodeIds,
    stateDir,
    admin,
    stopNode: async (nodeId) => {
      await run.kafkaSh(["stop-node", nodeIndex(nodeId)]);
    },
    startNode: async (nodeId) => {
      await run.kafkaSh(["start-node", nodeIndex(nodeId)]);
      await waitFor(async () => (await brokerIds()).includes(nodeId), {
        timeoutMs: 120_000,
        intervalMs: 250,
        message: `node ${nodeId} listed as a broker again`,
      });
    },
    leaderOf: async (topic, partition) => {
      const { topics } = await (await admin()).fetchTopicMetadata({ topics: [topic] });
      const leader = topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
      if (leader === undefined || leader < 0) throw new Error(`${topic}#${partition} has no leader`);
      return leader;
    },
    describeTopic: async (topic) => {
      const client = await admin();
      const { topics } = await client.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics[0]?.partitions ?? [];
      const { resources } = await client.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      });
      return {
        partitions: partitions.length,
        replicationFactor: Math.min(...partitions.map((p) => p.replicas.length)),
        configs: Object.fromEntries(
          (resources[0]?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue]),
        ),
      };
    },
    groupMembers: async (groupId) => {
      const { groups } = await (await admin()).describeGroups([groupId]);
      return (groups[0]?.members ?? []).map((member) => member.memberId);
    },
    waitInSync: async (nodeId, timeoutMs = 120_000) => {
      await waitFor(
        async () => {
          const client = await admin();
          // Internal topics too: the transaction and offsets logs are what a transactional sink needs.
          const { topics } = await client.fetchTopicMetadata({ topics: await client.listTopics() });
          return topics.every((topic) =>
            topic.partitions.every((p) => !p.replicas.includes(nodeId) || p.isr.includes(nodeId)),
          );
        },
        { timeoutMs, intervalMs: 250, message: `node ${nodeId} back in every in-sync replica set` },
      );
    },
    stop: async () => {
      try {
        await (await adminConnection?.catch(() => undefined))?.disconnect();
      } finally {
        await run.stop();
      }
    },
  };
}
