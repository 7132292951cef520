import { commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import {
  type CompiledRule,
  createEvaluator,
  type EventKind,
  type EventValues,
  loadPacks,
  MemoryStateStore,
  PackError,
  ReferenceDocumentError,
  ReferenceTableSet,
  type RuleEvent,
  ruleEvent,
  type StateEntry,
} from "@vigil/rules";
import {
  AdvisoryV1,
  advisoryKey,
  type FindingV1,
  HostV1,
  ReferenceDocumentV1,
  type RuleRepartitionV1,
  RuleStateV1,
  type TopicSpec,
  topicName,
  topics,
} from "@vigil/schema";
import {
  deadLetterMessage,
  deadLetterTopic,
  followGlobalTable,
  type GlobalTable,
  type Output,
  output,
  type RetryPolicy,
  runProcessor,
  type Subscription,
  type Transport,
} from "@vigil/stream";
import { z } from "zod";

export const STAGE = "rules-engine";
export const DEFAULT_GROUP_ID = "vigil-rules-engine";
export const DEFAULT_PACK = "@vigil/rules-core-pack";

const paths = (what: string) => z.array(z.string().min(1, `a path to ${what} is required`)).default([]);

export const cli = defineCli({
  name: "vigil-rules-engine",
  version: "0.1.0",
  summary:
    "holds the reference tables, evaluates rule packs over inventory, update, advisory, IDS and firewall events, emits findings",
  usage: "vigil-rules-engine [--pack NAME|PATH]... [--baselines FILE]... [--priority-list FILE]... [options]",
  options: {
    ...commonOptions,
    pack: {
      flag: "pack",
      env: "VIGIL_RULE_PACKS",
      type: "string",
      multiple: true,
      description: `Rule pack to evaluate: an npm package name or a path (repeatable). Default ${DEFAULT_PACK}`,
      schema: z.array(z.string().min(1, "a pack name or path is required")).default([DEFAULT_PACK]),
    },
    priorityList: {
      flag: "priority-list",
      env: "VIGIL_PRIORITY_LIST",
      type: "string",
      multiple: true,
      description:
        "Asset priority list (YAML), loaded before consuming, besides those published on vigil.reference",
      schema: paths("a priority list"),
    },
    baselines: {
      flag: "baselines",
      env: "VIGIL_BASELINES",
      type: "string",
      multiple: true,
      description: "Baselines file (YAML), repeatable, besides those published on vigil.reference",
      schema: paths("a baselines file"),
    },
    exceptions: {
      flag: "exceptions",
      env: "VIGIL_EXCEPTIONS",
      type: "string",
      multiple: true,
      description: "Exceptions file (YAML), repeatable, besides those published on vigil.reference",
      schema: paths("an exceptions file"),
    },
    groupId: {
      flag: "group-id",
      env: "VIGIL_RULES_ENGINE_GROUP_ID",
      type: "string",
      description: "Kafka consumer group id (the topic prefix is put in front of it)",
      schema: z.string().min(1).default(DEFAULT_GROUP_ID),
    },
  },
  epilog: `Reads the tables vigil.reference, vigil.inventory.hosts and vigil.advisories whole (every instance), and the
events of vigil.ids.alerts, vigil.firewall.events, vigil.inventory.hosts, vigil.inventory.audits, vigil.updates.agent,
vigil.advisories and vigil.rules.repartition (one consumer group); restores its correlation state from
vigil.rules.state; writes vigil.findings (keyed by asset id), vigil.rules.state, vigil.rules.repartition (events
re-keyed for the correlations keyed by something else than the asset) and vigil.dlq.
Example: vigil-rules-engine --brokers 127.0.0.1:9092 --baselines examples/baselines/windows.yaml \\
  --priority-list examples/assets/priority-list.yaml --exceptions examples/exceptions/exceptions.yaml
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 invalid configuration, reference file or pack, or missing topics.`,
});

export type RulesEngineCliValues = ParsedCli<typeof cli.definition.options>;
export type RulesEngineConfig = Pick<
  RulesEngineCliValues,
  "pack" | "priorityList" | "baselines" | "exceptions" | "groupId" | "topicPrefix"
>;

/** What a bad pack or reference document throws at start: a configuration problem (exit 2). */
export function isConfigError(error: unknown): boolean {
  return error instanceof PackError || error instanceof ReferenceDocumentError;
}

/** The event streams, by the topic they arrive on. */
const eventTopics: { [K in EventKind]: TopicSpec<z.ZodType<EventValues[K]>> } = {
  "ids.alert": topics.idsAlerts,
  "firewall.event": topics.firewallEvents,
  "inventory.host": topics.inventoryHosts,
  "inventory.audit": topics.inventoryAudits,
  "updates.agent": topics.updatesAgent,
  advisory: topics.advisories,
};

/** Every topic the engine reads or writes: what `prepareApp` checks exists. */
export const engineTopics: TopicSpec[] = [
  ...Object.values(eventTopics),
  topics.reference,
  topics.rulesState,
  topics.rulesRepartition,
  topics.findings,
  topics.dlq,
];

export interface RulesEngineDeps {
  transport: Transport;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: RulesEngineConfig;
  /** Rules to evaluate instead of loading `config.pack` (tests, embedding). */
  rules?: CompiledRule[];
  /** Retry of sends before a batch fails and is redelivered (default: @vigil/stream's). */
  sendRetry?: RetryPolicy;
}

export interface RunningRulesEngine {
  tables: ReferenceTableSet;
  rules: CompiledRule[];
  /** The highest event time seen, epoch ms: the watermark (each rule trails it by its own allowed lateness). */
  eventTime(): number;
  stop(): Promise<void>;
}

/**
 * Loads the packs and the local reference files, restores the tables (vigil.reference,
 * inventory hosts, advisories), and only then subscribes to the events: a finding judged against
 * half-loaded tables would be a wrong finding with a deterministic id, i.e. wrong on every replay.
 * The correlation state is read from vigil.rules.state before the first batch, again before a
 * batch of a partition newly assigned, and after a failed batch. A bad pack or reference file
 * fails the start.
 */
export async function startRulesEngine(deps: RulesEngineDeps): Promise<RunningRulesEngine> {
  const { transport, logger, config } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const prefix = config.topicPrefix;
  const name = (spec: Pick<TopicSpec, "name">) => topicName(spec, prefix);

  const packs = deps.rules
    ? { rules: deps.rules, references: [], packs: [] }
    : // Package names resolve from here (the engine depends on the core pack), paths from the working directory.
      await loadPacks(config.pack, { from: import.meta.url });
  const rules = packs.rules;
  const tables = new ReferenceTableSet();
  // The packs' own documents first (baseline fragments): a deployment's files may build on them.
  for (const document of packs.references) tables.setDocument(document);
  await tables.loadFiles({
    baselines: config.baselines,
    priorityLists: config.priorityList,
    exceptions: config.exceptions,
  });
  logger.info(
    {
      packs: packs.packs.map((pack) => `${pack.name}@${pack.version}`),
      rules: rules.map((rule) => `${rule.id}@${rule.version}`),
    },
    "rule packs loaded",
  );

  // Correlation state as published on vigil.rules.state. A batch's changes go out after its
  // findings and before its offsets are committed, so what was published agrees with what every
  // instance committed: the state to go on from wherever memory may be ahead of it or behind it.
  const publishedState = async (): Promise<StateEntry[]> =>
    (await transport.readAll(name(topics.rulesState))).flatMap((record) => {
      if (record.key === null) return [];
      if (record.value === null) return [{ key: String(record.key), value: undefined }];
      const parsed = RuleStateV1.safeParse(JSON.parse(String(record.value)));
      return parsed.success ? [{ key: parsed.data.key, value: parsed.data.value }] : [];
    });
  // Filled before the first batch (beforeBatch below), once the group has said which partitions are ours.
  const state = new MemoryStateStore();

  // Hosts and advisories arrive twice: here as tables (every instance, every partition) and as
  // events (one instance per partition). Whichever comes first applies; an older state never
  // replaces a newer one.
  const hostTimes = new Map<string, string>();
  const applyHost = (host: HostV1) => {
    const known = hostTimes.get(host.id);
    if (known !== undefined && Date.parse(known) > Date.parse(host.time)) return;
    hostTimes.set(host.id, host.time);
    tables.applyHost(host);
  };
  const advisoryTimes = new Map<string, string>();
  const applyAdvisory = (advisory: AdvisoryV1) => {
    const key = advisoryKey(advisory);
    const time = advisory.updated ?? advisory.published ?? "";
    const known = advisoryTimes.get(key);
    if (known !== undefined && known > time) return;
    advisoryTimes.set(key, time);
    tables.applyAdvisory(advisory);
  };

  const table: GlobalTable = await followGlobalTable({
    transport,
    topics: [name(topics.reference), name(topics.inventoryHosts), name(topics.advisories)],
    groupPrefix: `${prefix}${config.groupId}.tables`,
    logger,
    apply: (message) => {
      const key = message.key === null ? "" : String(message.key);
      const value = message.value === null ? null : JSON.parse(String(message.value));
      if (message.topic === name(topics.reference)) {
        const [kind, ...rest] = key.split("/");
        if (value === null) tables.removeDocument(kind as ReferenceDocumentV1["kind"], rest.join("/"));
        else tables.setDocument(ReferenceDocumentV1.parse(value));
      } else if (message.topic === name(topics.inventoryHosts)) {
        if (value === null) tables.removeHost(key);
        else applyHost(HostV1.parse(value));
      } else if (value === null) tables.removeAdvisory(key);
      else applyAdvisory(AdvisoryV1.parse(value));
    },
  });
  await table.ready;
  metrics.recordTableSizes(tables.sizes());
  logger.info({ tables: tables.sizes() }, "reference tables restored");

  // Rules keyed by a correlation key of their own (a scan's source) are judged where every event of
  // that key meets: events that concern them are re-keyed through vigil.rules.repartition, and
  // those rules run on what comes back from it, each alone (a record names the rules of its key).
  const keyedRules = rules.filter((rule) => rule.correlationKey !== undefined);
  const evaluator = createEvaluator({
    rules: rules.filter((rule) => !keyedRules.includes(rule)),
    tables,
    state,
  });
  const keyedEvaluators = new Map(
    keyedRules.map((rule) => [rule.id, createEvaluator({ rules: [rule], tables, state })]),
  );
  const keyedRulesByKind = new Map(
    (Object.keys(eventTopics) as EventKind[]).map((kind) => [
      kind,
      keyedRules.filter((rule) => rule.on.includes(kind)),
    ]),
  );
  const repartitionTopic = name(topics.rulesRepartition);
  const kindByTopic = new Map(
    (Object.entries(eventTopics) as Array<[EventKind, TopicSpec]>).map(([kind, spec]) => [name(spec), kind]),
  );
  const findingOutput = (finding: FindingV1) =>
    output(topics.findings, finding, { key: finding.asset.id, source: `vigil/${STAGE}`, prefix });
  let newest = 0;
  // The keyed rules' own watermark: their events come back later than the rest, through a topic.
  let newestKeyed = 0;

  /** The re-keyed copies of an event for the keyed rules that would count it, one per key. */
  const repartition = (event: RuleEvent, failures: string[]): Output[] => {
    const byKey = new Map<string, string[]>();
    for (const rule of keyedRulesByKind.get(event.kind) ?? []) {
      let key: string | undefined;
      try {
        key = rule.correlationKey?.(event, { tables, state });
      } catch (error) {
        failures.push(`rule ${rule.id}: ${(error as Error).message}`);
      }
      if (key !== undefined) byKey.set(key, [...(byKey.get(key) ?? []), rule.id]);
    }
    return [...byKey].map(([key, ruleIds]) =>
      output(
        topics.rulesRepartition,
        {
          schema: "vigil.rules.repartition/v1",
          kind: event.kind,
          topic: event.topic,
          key: event.key,
          rules: ruleIds,
          // Already validated against its kind (no transforms): validated again where it is judged.
          event: event.value,
        },
        { key, source: `vigil/${STAGE}`, prefix, id: `${event.id}/${key}` },
      ),
    );
  };

  /** An event read back from vigil.rules.repartition, as its source topic gave it, and the rules it is for. */
  const keyedEvent = (routed: RuleRepartitionV1): { event: RuleEvent; rules: string[] } => {
    const spec = eventTopics[routed.kind];
    const value = spec.value.parse(routed.event) as EventValues[typeof routed.kind];
    return { event: ruleEvent(routed.kind, value, routed.topic, routed.key), rules: routed.rules };
  };

  // Partitions whose keys' state in memory is the published one. Memory is re-read from the
  // changelog before a batch of any other partition (just assigned: its previous owner published
  // past what this instance read at start) and after a failed batch (its events changed the state
  // but their findings never went out; unread, the redelivery would see them as already counted).
  let current = new Set<string>();
  let stale = false;
  const { promise: subscribed, resolve: onSubscribed } = Promise.withResolvers<Subscription>();
  const assignedNow = (subscription: Subscription) =>
    new Set(subscription.assignment().map(({ topic, partition }) => `${topic}/${partition}`));

  const processor = await runProcessor({
    stage: STAGE,
    transport,
    // The topic prefix namespaces a deployment: its consumer groups too.
    groupId: `${prefix}${config.groupId}`,
    input: {
      topics: [
        ...[...kindByTopic].map(([topic, kind]) => ({ topic, schema: eventTopics[kind].value as z.ZodType })),
        { topic: repartitionTopic, schema: topics.rulesRepartition.value as z.ZodType },
      ],
    },
    topicPrefix: prefix,
    logger,
    metrics,
    // One batch at a time: a batch's changelog is the state changes of that batch alone.
    exclusive: true,
    ...(deps.sendRetry ? { sendRetry: deps.sendRetry } : {}),
    beforeBatch: async (batch) => {
      const partition = `${batch.topic}/${batch.partition}`;
      if (!stale && current.has(partition)) return;
      const subscription = await subscribed;
      // Assigned before the read: a partition given to this instance later is read again then.
      const assigned = assignedNow(subscription);
      state.replace(await publishedState());
      current = assigned.add(partition);
      logger.info(
        { partition, after: stale ? "a failed batch" : "a new partition", entries: state.size },
        "correlation state re-read from the changelog",
      );
      stale = false;
    },
    onBatchFailed: () => {
      stale = true;
    },
    handle: (value, message) => {
      const findings: FindingV1[] = [];
      const failures: string[] = [];
      const outputs: Output[] = [];
      let event: RuleEvent;
      if (message.topic === repartitionTopic) {
        const keyed = keyedEvent(value as RuleRepartitionV1);
        event = keyed.event;
        if (event.kind !== "advisory" && event.time > newestKeyed) newestKeyed = event.time;
        // A rule this engine does not have (a record from another pack version) is skipped.
        for (const rule of keyed.rules) {
          const result = keyedEvaluators.get(rule)?.evaluate(event);
          findings.push(...(result?.findings ?? []));
          failures.push(...(result?.errors ?? []).map((error) => `rule ${error.rule}: ${error.message}`));
        }
      } else {
        const kind = kindByTopic.get(message.topic) as EventKind;
        if (kind === "inventory.host") applyHost(value as HostV1);
        if (kind === "advisory") applyAdvisory(value as AdvisoryV1);
        const key = message.key === null ? "" : String(message.key);
        event = ruleEvent(kind, value as EventValues[typeof kind], message.topic, key);
        // Advisories are dated by publication, not by anything happening in the estate: replaying
        // last year's logs next to this year's advisories must not close every window at once.
        if (event.kind !== "advisory" && event.time > newest) newest = event.time;
        const result = evaluator.evaluate(event);
        findings.push(...result.findings);
        failures.push(...result.errors.map((error) => `rule ${error.rule}: ${error.message}`));
        outputs.push(...repartition(event, failures));
      }
      outputs.push(...findings.map(findingOutput));
      if (failures.length > 0) {
        // The other rules' findings stand; the record is parked with what failed, for a replay.
        const reason = failures.join("; ");
        logger.error({ event: event.id, topic: message.topic, reason }, "rule evaluation failed");
        metrics.recordDeadLetter(message.topic, "rule");
        outputs.push({
          topic: deadLetterTopic(prefix),
          message: deadLetterMessage({
            reason: `rule evaluation failed in ${STAGE}: ${reason}`,
            kind: "rule",
            stage: STAGE,
            value: message.value,
            key: message.key,
            source: message,
          }),
        });
      }
      return outputs;
    },
    afterBatch: async () => {
      // A revoked partition leaves: when it comes back, another instance may have moved its keys on.
      const assigned = assignedNow(await subscribed);
      for (const partition of current) if (!assigned.has(partition)) current.delete(partition);
      metrics.recordTableSizes(tables.sizes());
      const outputs: Output[] = [];
      const advance = (each: typeof evaluator, watermark: number) => {
        if (watermark <= 0) return;
        const { findings, errors } = each.advance(watermark);
        outputs.push(...findings.map(findingOutput));
        for (const error of errors) {
          logger.error({ rule: error.rule, err: error.error }, "rule failed while the watermark advanced");
        }
      };
      advance(evaluator, newest);
      for (const keyed of keyedEvaluators.values()) advance(keyed, newestKeyed);
      const time = new Date().toISOString();
      for (const change of state.drainChanges()) {
        outputs.push(
          change.value === undefined
            ? { topic: name(topics.rulesState), message: { key: change.key, value: null } }
            : output(
                topics.rulesState,
                { schema: "vigil.rules.state/v1", key: change.key, time, value: change.value },
                { key: change.key, source: `vigil/${STAGE}`, prefix },
              ),
        );
      }
      return outputs;
    },
  });
  onSubscribed(processor.subscription);
  return {
    tables,
    rules,
    eventTime: () => newest,
    stop: async () => {
      await processor.stop();
      await table.stop();
    },
  };
}
