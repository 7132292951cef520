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
}

const small: Resources = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { cpu: "1", memory: "512Mi" },
};
const large: Resources = { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } };

const fileIngester = (name: AppName, description: string, args: string[]): AppSpec => ({
  name,
  description,
  args,
  ports: [],
  resources: small,
  reference: false,
  input: true,
  singleInstanceReason:
    "reads one input with a checkpoint or processed-file list: two instances would read it twice",
});

export const apps: readonly AppSpec[] = [
  fileIngester("ingest-ids", "IDS alerts and context (Suricata EVE, Snort, Zeek)", [
    `--file=${INPUT_DIR}/suricata/eve.json`,
    "--follow",
    `--checkpoint=${DATA_DIR}/eve.ckpt`,
  ]),
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
  },
  fileIngester("ingest-inventory", "Inventory exports (a watched directory)", [
    "--format=osquery",
    `--dir=${INPUT_DIR}/inventory`,
    `--state=${DATA_DIR}/inventory-state.json`,
  ]),
  fileIngester("ingest-updates", "Update-agent and update-server logs (a watched directory)", [
    `--dir=${INPUT_DIR}/updates`,
    `--state=${DATA_DIR}/updates-state.json`,
  ]),
  {
    // It reads the directory once and exits: a Deployment would restart it in a loop.
    ...fileIngester("ingest-advisories", "CISA KEV, NVD and CSAF advisories (a mirrored directory)", [
      `--dir=${INPUT_DIR}/advisories`,
    ]),
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
    scaling: {
      consumerGroup: "vigil-rules-engine",
      topics: [
        topics.idsAlerts,
        topics.firewallEvents,
        topics.inventoryHosts,
        topics.inventoryAudits,
        topics.updatesAgent,
        topics.advisories,
      ],
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
  },
];
