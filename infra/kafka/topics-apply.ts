// Applies the topic registry (@vigil/schema `allTopics`) to a Kafka cluster, idempotently:
// creates what is missing, adds partitions, and corrects config drift. `--help` for usage.
import { parseArgs } from "node:util";
import { allTopics, type TopicSpec, topicName } from "@vigil/schema";
import {
  createKafkaClient,
  type KafkaSecurity,
  KafkaSecurityConfigError,
  kafkaSecurityFromEnv,
} from "@vigil/stream";
import type { Admin } from "kafkajs";
import kafkajs from "kafkajs";

// kafkajs is CommonJS and Node's export detection misses these names: take them off the default export.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

const USAGE = `usage: pnpm topics:apply [--dry-run] [--json] [--help]

Creates every topic of the registry (packages/schema/src/topics.ts) on the cluster, or brings an
existing one in line: more partitions when it has fewer than wanted, configs when they drifted.
Never deletes, never shrinks; replication-factor differences are reported, not changed.

  --dry-run   say what would change, change nothing
  --json      print the result as JSON on stdout instead of a table

Environment:
  KAFKA_BROKERS             bootstrap servers (default 127.0.0.1:9092)
  VIGIL_TOPIC_PREFIX        prefix of every topic name (default none), e.g. "tenant-a."
  VIGIL_REPLICATION_FACTOR  replication factor of new topics (default: min(3, brokers in the cluster))
  KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_*   TLS and SASL, as for every app
                            (packages/stream/README.md)

Exit codes: 0 done, 1 Kafka failure, 2 invalid configuration.`;

interface DesiredTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

interface ObservedTopic {
  partitions: number;
  replicationFactor: number;
  /** Topic-level overrides (set on the topic itself), which a non-incremental alter must keep. */
  overrides: Record<string, string>;
  /** Effective values of the configs we manage. */
  effective: Record<string, string>;
}

type Change =
  | { kind: "create"; detail: string }
  | { kind: "add-partitions"; from: number; to: number }
  | { kind: "alter-config"; name: string; from: string | undefined; to: string }
  | { kind: "warning"; detail: string };

interface TopicResult {
  topic: string;
  status: "created" | "updated" | "unchanged" | "would change";
  changes: Change[];
}

const MANAGED_CONFIGS = ["cleanup.policy", "retention.ms", "min.insync.replicas"];

function desiredTopic(spec: TopicSpec, prefix: string, replicationFactor: number): DesiredTopic {
  const configs: Record<string, string> = {
    "cleanup.policy": spec.cleanupPolicy,
    "retention.ms": String(spec.retentionMs),
  };
  // With three replicas, an acknowledged write survives the loss of any one broker.
  if (replicationFactor >= 3) configs["min.insync.replicas"] = "2";
  return { name: topicName(spec, prefix), partitions: spec.partitions, replicationFactor, configs };
}

function plan(desired: DesiredTopic, observed: ObservedTopic | undefined): Change[] {
  if (observed === undefined) {
    const configs = Object.entries(desired.configs)
      .map(([name, value]) => `${name}=${value}`)
      .join(" ");
    return [
      {
        kind: "create",
        detail: `partitions=${desired.partitions} rf=${desired.replicationFactor} ${configs}`,
      },
    ];
  }
  const changes: Change[] = [];
  if (observed.partitions < desired.partitions) {
    changes.push({ kind: "add-partitions", from: observed.partitions, to: desired.partitions });
  } else if (observed.partitions > desired.partitions) {
    changes.push({
      kind: "warning",
      detail: `has ${observed.partitions} partitions, registry says ${desired.partitions}; partitions cannot be removed`,
    });
  }
  if (observed.replicationFactor !== desired.replicationFactor) {
    changes.push({
      kind: "warning",
      detail:
        `replication factor ${observed.replicationFactor}, wanted ${desired.replicationFactor}; ` +
        "changing it needs a partition reassignment, not done here",
    });
  }
  for (const [name, value] of Object.entries(desired.configs)) {
    if (observed.effective[name] !== value) {
      changes.push({ kind: "alter-config", name, from: observed.effective[name], to: value });
    }
  }
  return changes;
}

async function observe(admin: Admin, names: string[]): Promise<Map<string, ObservedTopic>> {
  const existing = new Set(await admin.listTopics());
  const present = names.filter((name) => existing.has(name));
  const observed = new Map<string, ObservedTopic>();
  if (present.length === 0) return observed;
  const metadata = await admin.fetchTopicMetadata({ topics: present });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  for (const topic of metadata.topics) {
    const resource = configs.resources.find((r) => r.resourceName === topic.name);
    const overrides: Record<string, string> = {};
    const effective: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? []) {
      if (entry.configSource === ConfigSource.TOPIC_CONFIG) overrides[entry.configName] = entry.configValue;
      if (MANAGED_CONFIGS.includes(entry.configName)) effective[entry.configName] = entry.configValue;
    }
    observed.set(topic.name, {
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((p) => p.replicas.length)),
      overrides,
      effective,
    });
  }
  return observed;
}

async function apply(
  admin: Admin,
  desired: DesiredTopic,
  observed: ObservedTopic | undefined,
  changes: Change[],
): Promise<void> {
  if (observed === undefined) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: desired.name,
          numPartitions: desired.partitions,
          replicationFactor: desired.replicationFactor,
          configEntries: Object.entries(desired.configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    return;
  }
  for (const change of changes) {
    if (change.kind === "add-partitions") {
      await admin.createPartitions({ topicPartitions: [{ topic: desired.name, count: change.to }] });
    }
  }
  if (changes.some((change) => change.kind === "alter-config")) {
    // AlterConfigs replaces the topic's whole override set: keep the overrides we do not manage.
    const configs = { ...observed.overrides, ...desired.configs };
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: desired.name,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  }
}

function describeChange(change: Change): string {
  switch (change.kind) {
    case "create":
      return `create: ${change.detail}`;
    case "add-partitions":
      return `partitions ${change.from} -> ${change.to}`;
    case "alter-config":
      return `${change.name} ${change.from ?? "(unset)"} -> ${change.to}`;
    case "warning":
      return `WARNING: ${change.detail}`;
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092")
    .split(",")
    .map((broker) => broker.trim())
    .filter(Boolean);
  const prefix = process.env.VIGIL_TOPIC_PREFIX ?? "";
  const dryRun = values["dry-run"];

  let security: KafkaSecurity;
  try {
    security = kafkaSecurityFromEnv(process.env);
  } catch (error) {
    if (!(error instanceof KafkaSecurityConfigError)) throw error;
    console.error(`topics:apply: ${error.message}`);
    return 2;
  }
  const client = createKafkaClient({ clientId: "vigil-topics-apply", brokers, logLevel: "error", security });
  const admin = client.kafka.admin();
  await client.failFast(admin.connect());
  try {
    const cluster = await admin.describeCluster();
    const requested = process.env.VIGIL_REPLICATION_FACTOR;
    const replicationFactor = requested ? Number(requested) : Math.min(3, cluster.brokers.length);
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
      throw new Error(`VIGIL_REPLICATION_FACTOR=${requested} is not a positive integer`);
    }
    if (replicationFactor > cluster.brokers.length) {
      throw new Error(
        `replication factor ${replicationFactor} needs at least that many brokers; the cluster has ${cluster.brokers.length}`,
      );
    }

    const wanted = allTopics.map((spec) => desiredTopic(spec, prefix, replicationFactor));
    const observed = await observe(
      admin,
      wanted.map((topic) => topic.name),
    );
    const results: TopicResult[] = [];
    for (const desired of wanted) {
      const current = observed.get(desired.name);
      const changes = plan(desired, current);
      const actionable = changes.filter((change) => change.kind !== "warning");
      if (!dryRun && actionable.length > 0) await apply(admin, desired, current, changes);
      const status: TopicResult["status"] =
        actionable.length === 0
          ? "unchanged"
          : dryRun
            ? "would change"
            : current === undefined
              ? "created"
              : "updated";
      results.push({ topic: desired.name, status, changes });
    }

    if (values.json) {
      console.log(
        JSON.stringify(
          { brokers, clusterBrokers: cluster.brokers.length, replicationFactor, dryRun, topics: results },
          null,
          2,
        ),
      );
    } else {
      const rows = [["TOPIC", "STATUS", "CHANGES"]];
      for (const result of results) {
        const details = result.changes.map(describeChange);
        rows.push([result.topic, result.status, details[0] ?? "-"]);
        for (const detail of details.slice(1)) rows.push(["", "", detail]);
      }
      console.log(
        `${dryRun ? "dry run: " : ""}${results.length} topics on ${brokers.join(",")} ` +
          `(${cluster.brokers.length} brokers, replication factor ${replicationFactor})\n${table(rows)}`,
      );
    }
    return 0;
  } finally {
    await admin.disconnect();
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`topics:apply: ${error instanceof Error ? error.message : String(error)}`);
  // Not just exitCode: after a refused certificate kafkajs' retry timers would hold the process a while.
  process.exit(1);
}
