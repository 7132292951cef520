import { commonOptions, defineCli, type ParsedCli } from "@vigil/config";
import { type Logger, PipelineMetrics } from "@vigil/observability";
import { type AssetTable, createIdsAlertRule, loadPriorityList, type Rule } from "@vigil/rules";
import { type IdsAlertV1, Severity, topicName, topics } from "@vigil/schema";
import { output, runProcessor, type Transport } from "@vigil/stream";
import { z } from "zod";

export const STAGE = "rules-engine";
export const DEFAULT_GROUP_ID = "vigil-rules-engine";

export const cli = defineCli({
  name: "vigil-rules-engine",
  version: "0.1.0",
  summary: "enriches IDS alerts with the asset priority list, evaluates the rules and emits findings",
  usage: "vigil-rules-engine --priority-list FILE [options]",
  options: {
    ...commonOptions,
    priorityList: {
      flag: "priority-list",
      env: "VIGIL_PRIORITY_LIST",
      type: "string",
      description: "Asset priority list (YAML), loaded before consuming",
      schema: z.string({ error: () => "a path is required" }).min(1, "a path is required"),
    },
    minSeverity: {
      flag: "min-severity",
      env: "VIGIL_MIN_SEVERITY",
      type: "string",
      description: `Lowest IDS alert severity that becomes a finding: ${Severity.options.join(", ")}`,
      schema: Severity.default("low"),
    },
    groupId: {
      flag: "group-id",
      env: "VIGIL_RULES_ENGINE_GROUP_ID",
      type: "string",
      description: "Kafka consumer group id (the topic prefix is put in front of it)",
      schema: z.string().min(1).default(DEFAULT_GROUP_ID),
    },
  },
  epilog: `Reads vigil.ids.alerts, writes vigil.findings (keyed by asset id) and vigil.dlq.
Example: vigil-rules-engine --brokers 127.0.0.1:9092 --priority-list examples/assets/priority-list.yaml
Exit codes: 0 stopped cleanly, 1 runtime failure, 2 invalid configuration or missing topics.`,
});

export type RulesEngineCliValues = ParsedCli<typeof cli.definition.options>;
export type RulesEngineConfig = Pick<
  RulesEngineCliValues,
  "priorityList" | "minSeverity" | "groupId" | "topicPrefix"
>;

export interface RulesEngineDeps {
  transport: Transport;
  logger: Logger;
  metrics?: PipelineMetrics;
  config: RulesEngineConfig;
}

export interface RunningRulesEngine {
  assets: AssetTable;
  stop(): Promise<void>;
}

/**
 * Loads the reference data, then consumes IDS alerts. The priority list is loaded before
 * subscribing: an alert judged against half-loaded reference data would be a wrong finding with
 * a deterministic id, i.e. a wrong finding forever. A bad list fails the start.
 */
export async function startRulesEngine(deps: RulesEngineDeps): Promise<RunningRulesEngine> {
  const { transport, logger, config } = deps;
  const metrics = deps.metrics ?? new PipelineMetrics(STAGE);
  const assets = await loadPriorityList(config.priorityList);
  logger.info(
    {
      source: assets.source,
      assets: assets.assetCount,
      selectors: assets.selectorCount,
      defaultTier: assets.defaultTier,
    },
    "priority list loaded",
  );

  const rules: Rule<IdsAlertV1>[] = [createIdsAlertRule({ minSeverity: config.minSeverity })];
  const inputTopic = topicName(topics.idsAlerts, config.topicPrefix);
  const processor = await runProcessor({
    stage: STAGE,
    transport,
    // The topic prefix namespaces a deployment: its consumer groups too.
    groupId: `${config.topicPrefix}${config.groupId}`,
    input: { topic: inputTopic, schema: topics.idsAlerts.value },
    topicPrefix: config.topicPrefix,
    logger,
    metrics,
    handle: (alert) =>
      rules
        .flatMap((rule) => rule.evaluate(alert, { assets, eventTopic: inputTopic }))
        .map((finding) =>
          output(topics.findings, finding, {
            key: finding.asset.id,
            source: `vigil/${STAGE}`,
            prefix: config.topicPrefix,
          }),
        ),
  });
  return { assets, stop: () => processor.stop() };
}
