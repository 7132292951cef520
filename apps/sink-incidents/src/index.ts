import { appendFile } from "node:fs/promises";
import { commonOptions, defineCli, durationSchema, type ParsedCli } from "@vigil/config";
import {
  createDispatcher,
  type DispatcherOptions,
  type IncidentOutput,
  loadOutputsConfig,
  OutputsConfigError,
} from "@vigil/incident-outputs";
import { createIncidentStore, type IncidentStoreBackend } from "@vigil/incident-store";
import {
  DEFAULT_MAX_FINDING_IDS,
  IncidentDomain,
  loadEscalationPolicy,
  loadUrgencyMatrix,
  type OwnerDirectory,
  PolicyFileError,
} from "@vigil/incidents";
import { inSpan, type Logger, PipelineMetrics } from "@vigil/observability";
import { loadPriorityList, PriorityListError } from "@vigil/rules";
import {
  type FindingV1,
  type IncidentCommandV1,
  IncidentEventV1,
  IncidentV1,
  type ResponseActionV1,
  type TopicSpec,
  topicName,
  topics,
} from "@vigil/schema";
import {
  deadLetterMessage,
  deadLetterTopic,
  decodeValue,
  type OutgoingMessage,
  type Output,
  output,
  overrideTransport,
  type RetryPolicy,
  runProcessor,
  type Transport,
  withRetry,
} from "@vigil/stream";
import { z } from "zod";

export const STAGE = "sink-incidents";
export const DEFAULT_GROUP_ID = "vigil-sink-incidents";
const MINUTE_MS = 60_000;

export const cli = defineCli({
  name: "vigil-sink-incidents",
  version: "0.1.0",
  summary:
    "turns findings into incidents (urgency, merging, the escalation ladder, response actions) and delivers them",
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
    urgencyMatrix: {
      flag: "urgency-matrix",
      env: "VIGIL_URGENCY_MATRIX",
      type: "string",
      description: "Urgency matrix (YAML: asset tier x finding severity); default the built-in one",
      schema: z.string().min(1).optional(),
    },
    escalationPolicy: {
      flag: "escalation-policy",
      env: "VIGIL_ESCALATION_POLICY",
      type: "string",
      description: "Escalation ladder timers and start rules (YAML); default the built-in one",
      schema: z.string().min(1).optional(),
    },
    priorityList: {
      flag: "priority-list",
      env: "VIGIL_PRIORITY_LIST",
      type: "string",
      multiple: true,
      description: "Priority lists whose organisations and contacts route level-1 notifications (repeatable)",
      schema: z.array(z.string().min(1)).default([]),
    },
    outputs: {
      flag: "outputs",
      env: "VIGIL_OUTPUTS",
      type: "string",
      description: "Outputs (YAML: webhook, slack, email, thehive, jsonl) that receive incident events",
      schema: z.string().min(1).optional(),
    },
    databaseUrl: {
      flag: "database-url",
      env: "DATABASE_URL",
      type: "string",
      description: "PostgreSQL incident store the console and CLI query; default an embedded store",
      defaultText: "embedded",
      schema: z.string().min(1).optional(),
    },
    storeFile: {
      flag: "store-file",
      env: "VIGIL_STORE_FILE",
      type: "string",
      description: "Without --database-url: keep the embedded store in this JSON-lines file",
      schema: z.string().min(1).optional(),
    },
    clock: {
      flag: "clock",
      env: "VIGIL_CLOCK",
      type: "string",
      description:
        "What runs the ladder's timers: wall (the real time) or event (the newest finding time: replays, the demo)",
      schema: z.enum(["wall", "event"]).default("wall"),
    },
    tickInterval: {
      flag: "tick-interval",
      env: "VIGIL_TICK_INTERVAL",
      type: "string",
      description: "How often due escalations and SLA breaches are checked when no finding arrives",
      schema: durationSchema(1000, 60 * MINUTE_MS).prefault("30s"),
      defaultText: "30s",
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
  epilog: `Restores the incidents from vigil.incidents, then reads vigil.findings and vigil.incident-commands and writes
vigil.incidents (compacted, keyed by incident id), vigil.incident-events (the changelog), vigil.response.actions
(level-2/3 requests for SOAR/NAC, dry-run) and vigil.dlq. A second consumer group (<group>.outputs) reads
vigil.incident-events into the incident store and the outputs, committing once each is delivered or dead-lettered.
Example: vigil-sink-incidents --brokers 127.0.0.1:9092 --priority-list examples/assets/priority-list.yaml \\
  --outputs outputs.yaml --database-url postgres://vigil@127.0.0.1/vigil
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 invalid configuration or missing topics.`,
});

export type SinkIncidentsCliValues = ParsedCli<typeof cli.definition.options>;
export interface SinkIncidentsConfig {
  topicPrefix: string;
  groupId: string;
  /** Milliseconds (the `--merge-window` flag parsed). */
  mergeWindow: number;
  out?: string | undefined;
  urgencyMatrix?: string | undefined;
  escalationPolicy?: string | undefined;
  priorityList?: string[] | undefined;
  outputs?: string | undefined;
  databaseUrl?: string | undefined;
  storeFile?: string | undefined;
  clock?: "wall" | "event" | undefined;
  /** Milliseconds. */
  tickInterval?: number | undefined;
}

/** Every topic the sink reads or writes: what `prepareApp` checks exists. */
export const sinkTopics: TopicSpec[] = [
  topics.findings,
  topics.incidentCommands,
  topics.incidents,
  topics.incidentEvents,
  topics.responseActions,
  topics.dlq,
];

export interface SinkIncidentsDeps {
  transport: Transport;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: SinkIncidentsConfig;
  /** Processing clock for created_at/updated_at and the wall-clock ladder (tests pin it). */
  now?: () => Date;
  /** Retries of a failed publication before the batch is given back for redelivery. */
  sendRetry?: RetryPolicy;
  /** Outputs to deliver incident events to, besides (or instead of) `config.outputs`. */
  outputs?: IncidentOutput[];
  /** The incident store; default from `config.databaseUrl` / `config.storeFile`. */
  store?: IncidentStoreBackend;
}

export interface RunningSinkIncidents {
  domain: IncidentDomain;
  store: IncidentStoreBackend;
  /** Resolves when the outputs group has delivered every incident event published so far. */
  delivered(): Promise<void>;
  stop(): Promise<void>;
}

/** What a bad policy, priority list or outputs file throws at start: a configuration problem (exit 2). */
export function isConfigError(error: unknown): boolean {
  return (
    error instanceof PolicyFileError ||
    error instanceof OutputsConfigError ||
    error instanceof PriorityListError
  );
}

/**
 * Restores the incidents from the compacted topic, then turns findings and analysts' commands
 * into incident versions, incident events and response actions, and runs the escalation ladder.
 *
 * Exactly-once effect on at-least-once delivery: every id is derived from content, so a
 * redelivered finding or command produces nothing new. When a send fails and a batch comes back
 * in the same process, the in-memory state is ahead of what the broker holds: the domain is then
 * restored from vigil.incidents (exactly what was acknowledged) before the batch is applied again,
 * which reproduces the same versions, events and actions.
 *
 * Outputs and the store are fed by a second consumer group on vigil.incident-events that commits
 * only once every output delivered or dead-lettered each event: a crash redelivers, the
 * idempotency key (the event id) lets receivers drop what they already have.
 *
 * One instance per consumer group: incidents of one asset can come from findings of several
 * partitions; the table is whole in one process.
 */
export async function startSinkIncidents(deps: SinkIncidentsDeps): Promise<RunningSinkIncidents> {
  const { logger, config } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const wallNow = deps.now ?? (() => new Date());
  const prefix = config.topicPrefix;
  const name = (spec: Pick<TopicSpec, "name">) => topicName(spec, prefix);
  const incidentsTopic = name(topics.incidents);

  const directory = await ownerDirectory(config.priorityList ?? []);
  const domainOptions = {
    mergeWindowMs: config.mergeWindow,
    ...(config.urgencyMatrix ? { urgencyMatrix: await loadUrgencyMatrix(config.urgencyMatrix) } : {}),
    ...(config.escalationPolicy
      ? { escalationPolicy: await loadEscalationPolicy(config.escalationPolicy) }
      : {}),
    ...(directory ? { directory } : {}),
    isKnownExploited: (cve: string) => knownExploited.has(cve),
  };
  let domain = new IncidentDomain(domainOptions);
  // CVEs some finding said are exploited (its rule knows: KEV, vendor status); the ladder starts higher.
  const knownExploited = new Set<string>();
  const loaded = config.outputs ? await loadOutputsConfig(config.outputs) : undefined;
  const store =
    deps.store ??
    (await createIncidentStore({
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      ...(config.storeFile ? { file: config.storeFile } : {}),
    }));

  // One transaction per batch (incidents, events, actions together), under ids that fence a crashed
  // predecessor: its open transaction is aborted before the table is read back.
  const transactionalId = `${prefix}${config.groupId}.sink`;
  const tickTransactionalId = `${transactionalId}.ticks`;
  await deps.transport.sendAtomically([], transactionalId);
  await deps.transport.sendAtomically([], tickTransactionalId);
  await restore(deps.transport, incidentsTopic, domain, logger);

  // Event clock: the newest finding time, so a replay of last year's findings escalates as it did then.
  let eventNow = 0;
  const clock = (): Date =>
    config.clock === "event" ? new Date(eventNow > 0 ? eventNow : wallNow().getTime()) : wallNow();

  // A failed publication leaves the table ahead of the broker: the next batch starts from a table
  // rebuilt from what the broker acknowledged (batches run one at a time, so nothing interleaves).
  let behind = false;
  // Sees what the broker acknowledged: the --out file gets only published incidents, in order.
  const transport = tapAcknowledged(
    deps.transport,
    incidentsTopic,
    () => {
      behind = true;
    },
    async (messages) => {
      if (!config.out) return;
      const lines = messages.flatMap((message) => (message.value === null ? [] : [`${message.value}\n`]));
      if (lines.length === 0) return;
      try {
        await appendFile(config.out, lines.join(""));
      } catch (error) {
        // The file is a convenience copy; Kafka is the record. A full disk must not stop the pipeline.
        logger.error({ err: error, file: config.out }, "cannot append incidents to the --out file");
      }
    },
  );

  const source = `vigil/${STAGE}`;
  const publish = (result: {
    incidents: IncidentV1[];
    events: IncidentEventV1[];
    actions: ResponseActionV1[];
  }) => [
    ...result.incidents.map((incident) =>
      output(topics.incidents, incident, { key: incident.id, source, prefix, time: incident.updated_at }),
    ),
    ...result.events.map((event) =>
      output(topics.incidentEvents, event, { key: event.incident_id, source, prefix, time: event.time }),
    ),
    ...result.actions.map((action) =>
      output(topics.responseActions, action, { key: action.id, source, prefix }),
    ),
  ];

  const findingsTopic = name(topics.findings);
  const processor = await runProcessor({
    stage: STAGE,
    transport,
    // The topic prefix namespaces a deployment: its consumer groups too.
    groupId: `${prefix}${config.groupId}`,
    input: {
      topics: [
        { topic: findingsTopic, schema: topics.findings.value as z.ZodType },
        { topic: name(topics.incidentCommands), schema: topics.incidentCommands.value as z.ZodType },
      ],
    },
    topicPrefix: prefix,
    logger,
    metrics,
    maxBatchSize: DEFAULT_MAX_FINDING_IDS,
    transactionalId,
    exclusive: true,
    ...(deps.sendRetry ? { sendRetry: deps.sendRetry } : {}),
    // Before the batch, not in a record's handler: a restore that fails fails the batch (delivered
    // again), where a throw in the handler would dead-letter a finding that did nothing wrong.
    beforeBatch: async (batch) => {
      if (!behind) return;
      logger.warn(
        { topic: batch.topic, partition: batch.partition },
        "a publication failed: restoring incidents before going on",
      );
      // A fresh table: restoring into the current one would keep what the broker never got.
      const restored = new IncidentDomain(domainOptions);
      await restore(deps.transport, incidentsTopic, restored, logger);
      domain = restored;
      behind = false;
    },
    // Any failed batch (a hook's throw too) may have moved the table past what was published.
    onBatchFailed: () => {
      behind = true;
    },
    handle: async (value, message) => {
      if (message.topic === findingsTopic) {
        const finding = value as FindingV1;
        const time = Date.parse(finding.time);
        if (time > eventNow) eventNow = time;
        if (finding.rule.id.includes("exploit")) for (const cve of finding.cves) knownExploited.add(cve);
        return publish(domain.onFinding(finding, clock()));
      }
      const result = domain.onCommand(value as IncidentCommandV1, clock());
      // An analyst's command that cannot apply (unknown incident, closed) is parked with the reason.
      if (!result.ok) throw new Error(`command refused: ${result.reason}`);
      return publish(result);
    },
    // Timers that fell due while this batch moved the clock: published with the batch.
    // Its own trace: an escalation is caused by time passing, not by one record.
    afterBatch: () => inSpan(`${STAGE} escalate`, {}, () => publish(domain.onTick(clock()))),
  });

  // Wall clock: timers fall due while no finding arrives.
  let ticking = Promise.resolve();
  const timer =
    config.clock === "event"
      ? undefined
      : setInterval(() => {
          ticking = ticking
            .then(async () => {
              const outputs = inSpan(`${STAGE} escalate`, {}, () => publish(domain.onTick(clock())));
              if (outputs.length > 0) await sendOutputs(transport, outputs, tickTransactionalId);
            })
            .catch((error: unknown) =>
              logger.error({ err: error }, "escalation tick failed; retried next tick"),
            );
        }, config.tickInterval ?? 30_000);
  timer?.unref();

  const deliveries = await startDeliveries({
    transport: deps.transport,
    logger,
    metrics,
    prefix,
    groupId: `${prefix}${config.groupId}.outputs`,
    incident: (id) => domain.get(id),
    store,
    outputs: [...(loaded?.outputs ?? []), ...(deps.outputs ?? [])],
    ...(loaded ? { retry: loaded.retry } : {}),
  });
  logger.info(
    {
      outputs: loaded?.summary ?? [],
      store: store.kind,
      clock: config.clock ?? "wall",
      incidents: domain.size,
    },
    "sink-incidents running",
  );
  return {
    get domain() {
      return domain;
    },
    store,
    delivered: () => deliveries.caughtUp(),
    stop: async () => {
      if (timer) clearInterval(timer);
      await ticking;
      await processor.stop();
      await deliveries.stop();
      await store.close();
    },
  };
}

async function sendOutputs(transport: Transport, outputs: Output[], transactionalId: string): Promise<void> {
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const { topic, message } of outputs) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
  const batches = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  await withRetry(() => transport.sendAtomically(batches, transactionalId));
}

/** Organisations and contacts of the priority lists: where level-1 notifications go. */
async function ownerDirectory(paths: string[]): Promise<OwnerDirectory | undefined> {
  if (paths.length === 0) return undefined;
  const organisations: OwnerDirectory["organisations"][number][] = [];
  for (const path of paths) organisations.push(...(await loadPriorityList(path)).organisations);
  return { organisations };
}

interface DeliveryOptions {
  transport: Transport;
  logger: Logger;
  metrics: PipelineMetrics;
  prefix: string;
  groupId: string;
  /** The incident's current state (the sink's table). */
  incident: (id: string) => IncidentV1 | undefined;
  store: IncidentStoreBackend;
  outputs: IncidentOutput[];
  retry?: DispatcherOptions["retry"];
}

/**
 * The second half of the sink: each incident event into the store (with the incident's state)
 * and to every output. A batch is committed once the store has it and every output delivered or
 * dead-lettered each event; an output that is down only delays its own deliveries (retries),
 * then dead-letters them, and never blocks the others.
 */
async function startDeliveries(options: DeliveryOptions) {
  const { transport, logger, metrics, prefix, store } = options;
  const eventsTopic = topicName(topics.incidentEvents, prefix);
  const dispatcher = createDispatcher({
    outputs: options.outputs,
    ...(options.retry ? { retry: options.retry } : {}),
    logger,
    metrics,
    onDeadLetter: async (delivery, outputName, error) => {
      metrics.recordDeadLetter(eventsTopic, "output");
      await withRetry(() =>
        transport.send(deadLetterTopic(prefix), [
          deadLetterMessage({
            reason: `output ${outputName} gave up on incident event ${delivery.event.id}: ${error.message}`,
            kind: "output",
            stage: `${STAGE}.outputs`,
            value: Buffer.from(JSON.stringify(delivery.event)),
            key: Buffer.from(delivery.event.incident_id),
            source: { topic: eventsTopic, partition: -1, offset: "-1", headers: {} },
          }),
        ]),
      );
    },
  });
  const processor = await runProcessor({
    stage: `${STAGE}.outputs`,
    transport,
    groupId: options.groupId,
    input: { topic: eventsTopic, schema: topics.incidentEvents.value },
    topicPrefix: prefix,
    logger,
    metrics,
    handle: () => [],
    afterBatch: async (batch) => {
      const events = batch.messages.flatMap((message) => {
        const parsed = IncidentEventV1.safeParse(
          message.value === null ? null : JSON.parse(String(message.value)),
        );
        return parsed.success ? [parsed.data] : [];
      });
      const incidents = new Map<string, IncidentV1>();
      for (const event of events) {
        const incident = options.incident(event.incident_id);
        if (incident) incidents.set(incident.id, incident);
      }
      await store.upsertMany([...incidents.values()]);
      await store.appendEvents(events);
      const receipts = events.flatMap((event) => {
        const incident = incidents.get(event.incident_id);
        return incident ? [dispatcher.dispatch({ key: event.id, incident, event }).settled] : [];
      });
      const outcomes = (await Promise.all(receipts)).flat();
      // Abandoned: neither delivered nor safely dead-lettered (shutting down): redeliver the batch.
      if (outcomes.some((outcome) => outcome.status === "abandoned")) {
        throw new Error("some deliveries were abandoned; the batch will be delivered again");
      }
      return [];
    },
  });
  return {
    caughtUp: async () => {
      for (;;) {
        const ends = await transport.endOffsets(eventsTopic);
        const committed = await transport.committedOffsets(options.groupId, eventsTopic);
        const done = ends.every(
          ({ partition, offset }) =>
            offset === "0" || committed.find((c) => c.partition === partition)?.offset === offset,
        );
        if (done) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: async () => {
      await processor.stop();
      await dispatcher.close();
    },
  };
}

async function restore(
  transport: Transport,
  topic: string,
  domain: IncidentDomain,
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
  domain.restore(latest.values());
  logger.info({ topic, records: records.length, incidents: domain.size, skipped }, "incident table restored");
}

function asBuffer(message: OutgoingMessage): { value: Buffer | null } {
  if (message.value === null) return { value: null };
  return { value: Buffer.isBuffer(message.value) ? message.value : Buffer.from(message.value) };
}

/** The same transport, calling `onAcknowledged` with the messages of `topic` once a send to it resolved. */
function tapAcknowledged(
  transport: Transport,
  topic: string,
  onFailed: () => void,
  onAcknowledged: (messages: Array<{ value: Buffer | null }>) => Promise<void>,
): Transport {
  return overrideTransport(transport, {
    sendAtomically: async (batches, transactionalId) => {
      try {
        await transport.sendAtomically(batches, transactionalId);
      } catch (error) {
        onFailed();
        throw error;
      }
      for (const batch of batches)
        if (batch.topic === topic) await onAcknowledged(batch.messages.map(asBuffer));
    },
    send: async (name: string, messages: OutgoingMessage[]) => {
      try {
        await transport.send(name, messages);
      } catch (error) {
        onFailed();
        throw error;
      }
      if (name === topic) {
        await onAcknowledged(messages.map(asBuffer));
      }
    },
  });
}
