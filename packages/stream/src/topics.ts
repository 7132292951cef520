import { allTopics, type TopicSpec, topicName } from "@vigil/schema";
import type { TopicConfig, Transport } from "./transport.ts";

/** The registry's topics as transport topic configs, for a deployment prefix. */
export function registryTopicConfigs(prefix = "", specs: readonly TopicSpec[] = allTopics): TopicConfig[] {
  return specs.map((spec) => ({
    name: topicName(spec, prefix),
    partitions: spec.partitions,
    configs: {
      "cleanup.policy": spec.cleanupPolicy,
      "retention.ms": String(spec.retentionMs),
    },
  }));
}

/** Creates every registry topic that does not exist yet (apps call it at start; idempotent). */
export async function ensureRegistryTopics(transport: Transport, prefix = ""): Promise<void> {
  await transport.createTopics(registryTopicConfigs(prefix));
}
