export {
  DecodeError,
  decodeValue,
  describeZodError,
  type EncodeOptions,
  encodeValue,
  type Output,
  output,
} from "./codec.ts";
export { type DeadLetter, deadLetterMessage, deadLetterTopic } from "./dead-letter.ts";
export {
  createEmbeddedTransport,
  defaultEmbeddedBroker,
  EmbeddedBroker,
  EmbeddedTransport,
  type EmbeddedTransportOptions,
} from "./embedded.ts";
export {
  createKafkaClient,
  createKafkaTransport,
  type KafkaClient,
  type KafkaClientOptions,
  KafkaSecurityError,
  type KafkaTransportOptions,
  tlsFailure,
} from "./kafka.ts";
export { partitionForKey } from "./partitioner.ts";
export { type ProcessorOptions, type RunningProcessor, runProcessor } from "./processor.ts";
export { backoffDelay, defaultRetryPolicy, type RetryPolicy, withRetry } from "./retry.ts";
export {
  describeSecurity,
  type KafkaSecurity,
  KafkaSecurityConfigError,
  type KafkaSecurityOptions,
  kafkaSecurityFromEnv,
  kafkaSecurityVariables,
  type OauthBearerProvider,
  type SaslMechanism,
  type SecurityProtocol,
  type SecuritySummary,
} from "./security.ts";
export { onShutdown } from "./shutdown.ts";
export { followGlobalTable, type GlobalTable, type GlobalTableOptions } from "./table.ts";
export { ensureRegistryTopics, registryTopicConfigs } from "./topics.ts";
export type {
  Batch,
  ConsumedMessage,
  OutgoingMessage,
  ReadOptions,
  SubscribeOptions,
  Subscription,
  TopicConfig,
  Transport,
} from "./transport.ts";
export { overrideTransport } from "./transport.ts";
