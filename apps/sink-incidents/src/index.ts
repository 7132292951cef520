import { appendFile } from "node:fs/promises";
import { commonOptions, defineCli, durationSchema, type ParsedCli } from "@vigil/config";
import { applyFinding, DEFAULT_MAX_FINDING_IDS, IncidentStore, incidentIdFor } from "@vigil/incidents";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import { IncidentV1, topicName, topics } from "@vigil/schema";
import {
  decodeValue,
  type OutgoingMessage,
  output,
  type RetryPolicy,
  runProcessor,
  type Transport,
} from "@vigil/stream";
import { z } from "zod";

export const STAGE = "sink-incidents";
export const DEFAULT_GROUP_ID = "vigil-sink-incidents";
const MINUTE_MS = 60_000;

export const cli = defineCli({
  name: "vigil-sink-incidents",
  version: "0.1.0",
  summary: "merges findings into incidents with deterministic ids on the compacted vigil.incidents",
  options: {
    ...commonOptions,
    mergeWindow: {
      flag: "merge-window",
      env: "VIGIL_MERGE_WINDOW",
      type: "string",
      description:
        "Length of the fixed window in which findings of one rule, asset and group key are one incident",
      schema: durationSchema(MINUTE_MS, 30 * 24 * 60 * MINUTE_MS).prefault("24h"),
      defaultText: "24h",
    },
    groupId: {
      flag: "group-id",
      env: "VIGIL_SINK_INCIDENTS_GROUP_ID",
      type: "string",
      description: "Kafka consumer group id (the topic prefix is put in front of it)",
      schema: z.string().min(1).default(DEFAULT_GROUP_ID),
    },
    out: {
      flag: "out",
      env: "VIGIL_INCIDENTS_OUT",
      type: "string",
      description: "Also append each published incident version as a JSON line to this file",
      schema: z.string().min(1).optional(),
    },
  },
  epilog: `Restores the incident table from vigil.incidents, then reads vigil.findings and writes vigil.incidents
(keyed by incident id) and vigil.dlq.
Example: vigil-sink-incidents --brokers 127.0.0.1:9092 --merge-window 12h --out incidents.jsonl
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 invalid configuration or missing topics.`,
});

export type SinkIncidentsCliValues = ParsedCli<typeof cli.definition.options>;
export interface SinkIncidentsConfig {
  topicPrefix: string;
  groupId: string;
  /** Milliseconds (the `--merge-window` flag parsed). */
  mergeWindow: number;
  out?: string | undefined;
}

export interface SinkIncidentsDeps {
  transport: Transport;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: SinkIncidentsConfig;
  /** Processing clock for created_at/updated_at (tests pin it). */
  now?: () => Date;
  /** Retries of a failed publication before the batch is given back for redelivery. */
  sendRetry?: RetryPolicy;
}

export interface RunningSinkIncidents {
  store: IncidentStore;
  stop(): Promise<void>;
}

/**
 * Restores the incident table from the compacted topic, then merges findings into it and
 * publishes each changed incident's full state.
 *
 * Exactly-once effect on at-least-once delivery: a redelivered finding is recognised by the
 * store and not counted again. Two details keep that true across failures:
 * - a finding already applied whose incident version was never acknowledged by the broker
 *   (the send failed and the batch came back) republishes the current state, so no update is
 *   lost; `pending` tracks the versions produced but not yet confirmed;
 * - batches are at most `finding_ids`-bound long, so after a crash the redelivered findings are
 *   all in the restored records' `finding_ids`.
 *
 * One instance per consumer group: the table is restored once, at start, so an instance that
 * took over partitions from another in a rebalance would merge into stale state.
 */
export async function startSinkIncidents(deps: SinkIncidentsDeps): Promise<RunningSinkIncidents> {
  const { logger, config } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const now = deps.now ?? (() => new Date());
  const incidentsTopic = topicName(topics.incidents, config.topicPrefix);
  const store = new IncidentStore();
  // Versions produced but not yet acknowledged by the broker, and the finding that produced them.
  const pending = new Map<string, { version: number; partition: number; offset: number }>();

  await restore(deps.transport, incidentsTopic, store, logger);

  // Sees what the broker acknowledged: the --out file gets only published incidents, in order.
  const transport = tapAcknowledged(deps.transport, incidentsTopic, async (messages) => {
    const lines: string[] = [];
    for (const message of messages) {
      if (message.value === null) continue;
      const text = message.value.toString();
      const { id, version } = JSON.parse(text) as { id: string; version: number };
      if ((pending.get(id)?.version ?? Number.POSITIVE_INFINITY) <= version) pending.delete(id);
      lines.push(`${text}\n`);
    }
    if (!config.out || lines.length === 0) return;
    try {
      await appendFile(config.out, lines.join(""));
    } catch (error) {
      // The file is a convenience copy; Kafka is the record. A full disk must not stop the pipeline.
      logger.error({ err: error, file: config.out }, "cannot append incidents to the --out file");
    }
  });

  const publish = (incident: IncidentV1) =>
    output(topics.incidents, incident, {
      key: incident.id,
      source: `vigil/${STAGE}`,
      prefix: config.topicPrefix,
      time: incident.updated_at,
    });

  const processor = await runProcessor({
    stage: STAGE,
    transport,
    // The topic prefix namespaces a deployment: its consumer groups too.
    groupId: `${config.topicPrefix}${config.groupId}`,
    input: { topic: topicName(topics.findings, config.topicPrefix), schema: topics.findings.value },
    topicPrefix: config.topicPrefix,
    logger,
    metrics,
    maxBatchSize: DEFAULT_MAX_FINDING_IDS,
    ...(deps.sendRetry ? { sendRetry: deps.sendRetry } : {}),
    handle: (finding, message) => {
      const position = { partition: message.partition, offset: Number(message.offset) };
      const incident = applyFinding(store, finding, { mergeWindowMs: config.mergeWindow, now: now() });
      if (incident) {
        pending.set(incident.id, { version: incident.version, ...position });
        logger.debug(
          {
            incident: incident.id,
            version: incident.version,
            findings: incident.finding_count,
            finding: finding.id,
          },
          incident.version === 1 ? "incident raised" : "incident updated",
        );
        return [publish(incident)];
      }
      // Already applied. If the current state was produced by this record or a later one and is
      // still unacknowledged, this is a redelivery after a failed send: publish it again.
      // (Produced by an earlier record of the same batch: the batch's send is still to come.)
      const current = store.get(incidentIdFor(finding, config.mergeWindow));
      const unacknowledged = current ? pending.get(current.id) : undefined;
      if (
        current &&
        unacknowledged?.version === current.version &&
        (unacknowledged.partition !== position.partition || unacknowledged.offset >= position.offset)
      ) {
        logger.warn(
          { incident: current.id, version: current.version },
          "republishing an unacknowledged incident version",
        );
        pending.set(current.id, { version: current.version, ...position });
        return [publish(current)];
      }
      logger.debug({ finding: finding.id }, "finding already applied; nothing to publish");
      return [];
    },
  });
  return { store, stop: () => processor.stop() };
}

async function restore(
  transport: Transport,
  topic: string,
  store: IncidentStore,
  logger: Logger,
): Promise<void> {
  const records = await transport.readAll(topic);
  const latest = new Map<string, IncidentV1>();
  let skipped = 0;
  for (const record of records) {
    const key = record.key?.toString();
    if (record.value === null) {
      // A tombstone: the incident was deleted on purpose.
      if (key !== undefined) latest.delete(key);
      continue;
    }
    try {
      const incident = decodeValue(IncidentV1, record);
      const current = latest.get(incident.id);
      if (!current || current.version <= incident.version) latest.set(incident.id, incident);
    } catch (error) {
      skipped += 1;
      logger.warn(
        { err: error, topic, partition: record.partition, offset: record.offset },
        "skipping an unreadable incident record during restore",
      );
    }
  }
  store.restore(latest.values());
  logger.info({ topic, records: records.length, incidents: store.size, skipped }, "incident table restored");
}

/** The same transport, calling `onAcknowledged` with the messages of `topic` once a send to it resolved. */
function tapAcknowledged(
  transport: Transport,
  topic: string,
  onAcknowledged: (messages: Array<{ value: Buffer | null }>) => Promise<void>,
): Transport {
  return {
    kind: transport.kind,
    createTopics: (configs) => transport.createTopics(configs),
    listTopics: () => transport.listTopics(),
    // The sink publishes with `send` only; an atomic send passes through untapped.
    sendAtomically: (batches, transactionalId) => transport.sendAtomically(batches, transactionalId),
    send: async (name: string, messages: OutgoingMessage[]) => {
      await transport.send(name, messages);
      if (name === topic) {
        await onAcknowledged(
          messages.map((message) => ({
            value:
              message.value === null
                ? null
                : Buffer.isBuffer(message.value)
                  ? message.value
                  : Buffer.from(message.value),
          })),
        );
      }
    },
    subscribe: (options) => transport.subscribe(options),
    readAll: (name, options) => transport.readAll(name, options),
    endOffsets: (name) => transport.endOffsets(name),
    committedOffsets: (groupId, name) => transport.committedOffsets(groupId, name),
    close: () => transport.close(),
  };
}
