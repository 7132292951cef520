import { z } from "zod";
import { FindingV1 } from "./finding.ts";
import { IdsAlertV1 } from "./ids-alert.ts";
import { IncidentV1 } from "./incident.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TopicSpec<S extends z.ZodType = z.ZodType> {
  /** Base name; deployments may prefix it (see `topicName`). */
  name: string;
  description: string;
  /** What the record key is: consumers rely on it for partitioning and compaction. */
  key: string;
  partitions: number;
  cleanupPolicy: "delete" | "compact";
  /** -1: kept forever (compacted tables). */
  retentionMs: number;
  /** CloudEvents `ce_type` of the records. */
  ceType: string;
  value: S;
}

function topic<S extends z.ZodType>(spec: TopicSpec<S>): TopicSpec<S> {
  return spec;
}

/** Dead-letter records keep the original bytes as the value; the schema is "any bytes". */
const DeadLetterValue = z.unknown();

/** The topic registry: the one place topic names, keys, partitioning and retention are decided. */
export const topics = {
  idsAlerts: topic({
    name: "vigil.ids.alerts",
    description: "Normalized IDS alerts (Suricata, Snort, Zeek).",
    key: "asset_ip: the internal address of the flow",
    partitions: 6,
    cleanupPolicy: "delete",
    retentionMs: 7 * DAY_MS,
    ceType: "dev.vigil.ids.alert.v1",
    value: IdsAlertV1,
  }),
  findings: topic({
    name: "vigil.findings",
    description: "Rule findings: one judgement about one asset, with its explanation.",
    key: "asset.id",
    partitions: 6,
    cleanupPolicy: "delete",
    retentionMs: 30 * DAY_MS,
    ceType: "dev.vigil.finding.v1",
    value: FindingV1,
  }),
  incidents: topic({
    name: "vigil.incidents",
    description: "Incidents, full current state; compacted, so the topic is the incident table.",
    key: "incident id",
    partitions: 3,
    cleanupPolicy: "compact",
    retentionMs: -1,
    ceType: "dev.vigil.incident.v1",
    value: IncidentV1,
  }),
  dlq: topic({
    name: "vigil.dlq",
    description: "Dead letters: original bytes as value; reason and source position in headers.",
    key: "the original record's key, when it had one",
    partitions: 3,
    cleanupPolicy: "delete",
    retentionMs: 30 * DAY_MS,
    ceType: "dev.vigil.dead-letter.v1",
    value: DeadLetterValue,
  }),
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof topics;
export type TopicValue<K extends TopicKey> = z.infer<(typeof topics)[K]["value"]>;

export const allTopics: readonly TopicSpec[] = Object.values(topics);

/** Deployments and tests may namespace every topic (e.g. `test-1a2b.` or `tenant-a.`). */
export function topicName(spec: Pick<TopicSpec, "name">, prefix = ""): string {
  return `${prefix}${spec.name}`;
}
