import { z } from "zod";
import { advisoriesTopics } from "./advisories.ts";
import { FindingV1 } from "./finding.ts";
import { firewallTopics } from "./firewall.ts";
import { IdsAlertV1 } from "./ids-alert.ts";
import { IdsContextV1 } from "./ids-context.ts";
import { IncidentV1 } from "./incident.ts";
import { IncidentCommandV1 } from "./incident-command.ts";
import { IncidentEventV1 } from "./incident-events.ts";
import { IngestCheckpointV1 } from "./ingest-checkpoint.ts";
import { inventoryTopics } from "./inventory.ts";
import { referenceTopics } from "./reference.ts";
import { ResponseActionV1 } from "./response-action.ts";
import { DAY_MS, type TopicSpec, topic } from "./topic-spec.ts";
import { updatesTopics } from "./updates.ts";

/** Dead-letter records keep the original bytes as the value; the schema is "any bytes". */
const DeadLetterValue = z.unknown();

/** The topic registry: the one place topic names, keys, partitioning and retention are decided. */
export const topics = {
  ...inventoryTopics,
  ...updatesTopics,
  ...advisoriesTopics,
  ...firewallTopics,
  ...referenceTopics,
  idsAlerts: topic({
    name: "vigil.ids.alerts",
    description: "Normalized IDS alerts (Suricata, Snort, Zeek).",
    key: "asset_ip: the internal address of the flow (device.hostname when the alert has no address)",
    partitions: 6,
    cleanupPolicy: "delete",
    retentionMs: 7 * DAY_MS,
    ceType: "dev.vigil.ids.alert.v1",
    value: IdsAlertV1,
  }),
  idsContext: topic({
    name: "vigil.ids.context",
    description: "IDS context events (Suricata flow, http, dns, tls, ssh, fileinfo) around the alerts.",
    key: "asset_ip: the internal address of the flow (device.hostname when the event has no address)",
    partitions: 6,
    cleanupPolicy: "delete",
    retentionMs: 3 * DAY_MS,
    ceType: "dev.vigil.ids.context.v1",
    value: IdsContextV1,
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
  incidentEvents: topic({
    name: "vigil.incident-events",
    description:
      "Incident changelog: one record per change (created, merged, escalated, acknowledged, resolved, ...).",
    key: "incident id",
    partitions: 3,
    cleanupPolicy: "delete",
    retentionMs: 90 * DAY_MS,
    ceType: "dev.vigil.incident-event.v1",
    value: IncidentEventV1,
  }),
  responseActions: topic({
    name: "vigil.response.actions",
    description:
      "Escalation commands for SOAR / network access control (disable default accounts, remove from the network); dry-run by default.",
    key: "action id: the idempotency key (incident id + level + action)",
    partitions: 3,
    cleanupPolicy: "delete",
    retentionMs: 90 * DAY_MS,
    ceType: "dev.vigil.response-action.v1",
    value: ResponseActionV1,
  }),
  incidentCommands: topic({
    name: "vigil.incident-commands",
    description:
      "What analysts do to incidents (acknowledge, assign, status, verdict, resolve, close, reopen, comment); the incident sink applies them.",
    key: "incident id",
    partitions: 3,
    cleanupPolicy: "delete",
    retentionMs: 90 * DAY_MS,
    ceType: "dev.vigil.incident-command.v1",
    value: IncidentCommandV1,
  }),
  ingestCheckpoints: topic({
    name: "vigil.ingest.checkpoints",
    description: "Where each file source stands, written in the same transaction as its records.",
    key: "the source id",
    partitions: 1,
    cleanupPolicy: "compact",
    retentionMs: -1,
    ceType: "dev.vigil.ingest.checkpoint.v1",
    value: IngestCheckpointV1,
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

export { type TopicSpec, topicName } from "./topic-spec.ts";
