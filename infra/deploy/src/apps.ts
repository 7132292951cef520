import { type TopicSpec, topics } from "@vigil/schema";

export const appNames = [
  "ingest-ids",
  "ingest-firewall",
  "ingest-inventory",
  "ingest-updates",
  "ingest-advisories",
  "rules-engine",
  "sink-incidents",
  "console",
] as const;
export type AppName = (typeof appNames)[number];

/** Where the reference files (examples/ at generation time) are mounted in the rules engine and console. */
export const REFERENCE_DIR = "/etc/vigil/reference";
/** Where single-module rule packs given with --rule-pack are mounted. */
export const PACKS_DIR = "/etc/vigil/packs";
/** Writable state (checkpoints, processed-file lists): the root filesystem stays read-only. */
export const DATA_DIR = "/var/lib/vigil";
/** Inputs the ingesters read (a PersistentVolumeClaim the platform team points at the log shipper's output). */
export const INPUT_DIR = "/var/log/vigil-input";

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export interface ServicePort {
  name: string;
  containerPort: number;
  protocol: "TCP" | "UDP";
}

/** How an ACL names its resource: exactly, or every name that starts with it (a random or derived suffix follows). */
export type PatternType = "literal" | "prefix";

/** A consumer group or transactional id, as the app's code builds it. */
export interface KafkaName {
  name: string;
  pattern: PatternType;
  /** The deployment's topic prefix (VIGIL_TOPIC_PREFIX) goes in front, as the code does for most names. */
  prefixed: boolean;
}

/**
 * What an app does on Kafka: the one place its least-privilege KafkaUser (manifests.ts) is derived
 * from. manifests.test.ts checks it against the topics each app's main checks at start, the group
 * ids the apps' code builds and their defaults, so it cannot drift from the code unnoticed.
 */
export interface KafkaAccess {
  /** Topics it consumes: subscribed, followed whole as tables, or read whole at start (`readAll`). */
  reads: readonly TopicSpec[];
  /** Topics it produces to. */
  writes: readonly TopicSpec[];
  /** Consumer groups it joins; `delete`: it also deletes them once done (`readAll`'s throwaway groups). */
  groups: readonly (KafkaName & { delete?: true })[];
  /** Transactional ids of its `Transport.sendAtomically` writers. */
  transactionalIds: readonly KafkaName[];
}

export interface AppSpec {
  name: AppName;
  description: string;
  /** Arguments after the image's entrypoint (`tini -- node --enable-source-maps dist/main.js`). */
  args: string[];
  /** Ports other workloads or users reach through a Service. */
  ports: ServicePort[];
  resources: Resources;
  /** Mounts the reference ConfigMaps (baselines, priority lists, exceptions). */
  reference: boolean;
  /** Mounts the input PVC (file ingesters). */
  input: boolean;
  /**
   * Lag-based autoscaling: the consumer group (without prefix) and the event topics it reads.
   * Absent: a fixed single instance (file positions, in-memory tables or sessions are per process).
   */
  scaling?: { consumerGroup: string; topics: readonly TopicSpec[] };
  /** Why an app without `scaling` stays at one instance; said in the manifest and the README. */
  singleInstanceReason?: string;
  /** A batch app: run on this cron schedule (a CronJob) instead of a Deployment. */
  schedule?: string;
  kafka: KafkaAccess;
}

const small: Resources = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { cpu: "1", memory: "512Mi" },
};
const large: Resources = { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } };

/**
 * `Transport.readAll` (packages/stream/src/kafka.ts) reads a topic whole through a group of its own,
 * `<prefix>vigil-read-all-<uuid>` (the runtime gives the transport the topic prefix), and deletes it
 * afterwards.
 */
const readAllGroup = { name: "vigil-read-all-", pattern: "prefix", prefixed: true, delete: true } as const;

/** Writes only: the topics a producer-only app publishes to. */
const producer = (...writes: TopicSpec[]): KafkaAccess => ({
  reads: [],
  writes,
  groups: [],
  transactionalIds: [],
});

const fileIngester = (name: AppName, description: string, args: string[], kafka: KafkaAccess): AppSpec => ({
  name,
  description,
  args,
  ports: [],
  resources: small,
  reference: false,
  input: true,
  singleInstanceReason:
    "reads one input with a checkpoint or processed-file list: two instances would read it twice",
  kafka,
});

/** The rules engine's consumer group (`--group-id`'s default): KEDA watches its lag. */
const ENGINE_GROUP = "vigil-rules-engine";
/** The sink's consumer group (`--group-id`'s default): its outputs group and transactional ids start with it. */
const SINK_GROUP = "vigil-sink-incidents";
/**
 * The streams the rules engine consumes in its group (and scales on): the events, and its own
 * repartition topic (events re-keyed by correlation key, judged by whichever instance owns the key).
 */
const engineEvents = [
  topics.idsAlerts,
  topics.firewallEvents,
  topics.inventoryHosts,
  topics.inventoryAudits,
  topics.updatesAgent,
  topics.advisories,
  topics.rulesRepartition,
];

export const apps: readonly AppSpec[] = [
  fileIngester(
    "ingest-ids",
    "IDS alerts and context (Suricata EVE, Snort, Zeek)",
    [`--file=${INPUT_DIR}/suricata/eve.json`, "--follow", `--checkpoint=${DATA_DIR}/eve.ckpt`],
    {
      // With --checkpoint the file position is committed with the records (packages/ingest,
      // committed-checkpoint.ts): read back whole at start, written in the same transaction.
      reads: [topics.ingestCheckpoints],
      writes: [topics.idsAlerts, topics.idsContext, topics.dlq, topics.ingestCheckpoints],
      groups: [readAllGroup],
      // `<prefix>vigil-<stage>-<digest of prefix and source>`.
      transactionalIds: [{ name: "vigil-ingest-ids-", pattern: "prefix", prefixed: true }],
    },
  ),
  {
    name: "ingest-firewall",
    description: "Firewall syslog receiver",
    // Unprivileged ports: the container runs as non-root without NET_BIND_SERVICE; the Service maps 514/601.
    args: ["--listen-udp=0.0.0.0:5514", "--listen-tcp=0.0.0.0:5601"],
    ports: [
      { name: "syslog-udp", containerPort: 5514, protocol: "UDP" },
      { name: "syslog-tcp", containerPort: 5601, protocol: "TCP" },
    ],
    resources: small,
    reference: false,
    input: false,
    singleInstanceReason: "syslog senders pin one address; scale by adding receivers per site",
    kafka: producer(topics.firewallEvents, topics.dlq),
  },
  fileIngester(
    "ingest-inventory",
    "Inventory exports (a watched directory)",
    ["--format=osquery", `--dir=${INPUT_DIR}/inventory`, `--state=${DATA_DIR}/inventory-state.json`],
    {
      // The asset table is restored from the compacted hosts topic to tell changes and removals.
      reads: [topics.inventoryHosts],
      writes: [topics.inventoryHosts, topics.inventoryAudits, topics.dlq],
      groups: [readAllGroup],
      transactionalIds: [],
    },
  ),
  fileIngester(
    "ingest-updates",
    "Update-agent and update-server logs (a watched directory)",
    [`--dir=${INPUT_DIR}/updates`, `--state=${DATA_DIR}/updates-state.json`],
    producer(topics.updatesAgent, topics.dlq),
  ),
  {
    // It reads the directory once and exits: a Deployment would restart it in a loop.
    ...fileIngester(
      "ingest-advisories",
      "CISA KEV, NVD and CSAF advisories (a mirrored directory)",
      [`--dir=${INPUT_DIR}/advisories`],
      producer(topics.advisories, topics.dlq),
    ),
    schedule: "17 */6 * * *",
  },
  {
    name: "rules-engine",
    description: "Reference tables, rule packs, findings",
    args: [], // reference files and packs are appended by the generator
    ports: [],
    resources: large,
    reference: true,
    input: false,
    scaling: { consumerGroup: ENGINE_GROUP, topics: engineEvents },
    kafka: {
      // Events in its group; vigil.reference, hosts and advisories also whole as tables; its
      // correlation state read back whole (before the first batch, and after a rebalance).
      reads: [...engineEvents, topics.reference, topics.rulesState],
      writes: [topics.findings, topics.rulesState, topics.rulesRepartition, topics.dlq],
      groups: [
        { name: ENGINE_GROUP, pattern: "literal", prefixed: true },
        // The table followers (followGlobalTable): `<prefix><group>.tables.<uuid>`, one per instance and start.
        { name: `${ENGINE_GROUP}.tables.`, pattern: "prefix", prefixed: true },
        readAllGroup,
      ],
      transactionalIds: [],
    },
  },
  {
    name: "sink-incidents",
    description: "Findings to incidents, escalation, outputs",
    args: [`--priority-list=${REFERENCE_DIR}/priority-lists/priority-list.yaml`],
    ports: [],
    resources: large,
    reference: true,
    input: false,
    singleInstanceReason:
      "one instance per group: the incident table is whole in one process (apps/sink-incidents/README.md)",
    kafka: {
      // Findings and commands in its group, incident events in its outputs group, incidents read
      // back whole at start (the table).
      reads: [topics.findings, topics.incidentCommands, topics.incidents, topics.incidentEvents],
      writes: [topics.incidents, topics.incidentEvents, topics.responseActions, topics.dlq],
      groups: [
        { name: SINK_GROUP, pattern: "literal", prefixed: true },
        { name: `${SINK_GROUP}.outputs`, pattern: "literal", prefixed: true },
        readAllGroup,
      ],
      // One transaction per batch, and one per escalation tick (apps/sink-incidents/src/index.ts).
      transactionalIds: [
        { name: `${SINK_GROUP}.sink`, pattern: "literal", prefixed: true },
        { name: `${SINK_GROUP}.sink.ticks`, pattern: "literal", prefixed: true },
      ],
    },
  },
  {
    name: "console",
    description: "SOC web console",
    args: ["--listen=0.0.0.0:8080"],
    ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
    resources: small,
    reference: true,
    input: false,
    singleInstanceReason: "sessions live in the process's memory (apps/console/README.md)",
    kafka: {
      reads: [
        topics.incidents,
        topics.incidentEvents,
        topics.reference,
        topics.inventoryHosts,
        topics.advisories,
      ],
      // Analysts' acknowledge/resolve commands, for the sink to apply. No dead letters: it parks nothing.
      writes: [topics.incidentCommands],
      groups: [
        // Reference tables and the live feed, each with a random suffix per start.
        { name: "vigil-console.tables.", pattern: "prefix", prefixed: true },
        { name: "vigil-console.live.", pattern: "prefix", prefixed: true },
        // Its own copy of the incidents without the sink's database (the generated default).
        readAllGroup,
      ],
      transactionalIds: [],
    },
  },
];
