export {
  type AcquiredBroker,
  acquireBroker,
  type BrokerEnvironment,
  type BrokerSource,
  defaultBrokerEnvironment,
  freeBrokerPort,
  freeClusterPorts,
  kafkaVersion,
  noBrokerMessage,
  parseBrokerList,
  SKIP_INTEGRATION_VARIABLE,
  verifyBrokers,
} from "./broker.ts";
export { type KafkaCluster, startKafkaCluster } from "./cluster.ts";
export { kafkaBrokers, uniqueTopicPrefix, type WaitForOptions, waitFor } from "./helpers.ts";
export { integrationSkipped } from "./integration-env.ts";
export { freePort } from "./ports.ts";
export {
  type AcquiredPostgres,
  acquirePostgres,
  type ExecuteSql,
  findPostgresBinaries,
  noPostgresMessage,
  type PostgresEnvironment,
  startLocalCluster,
} from "./postgres.ts";
export {
  type AclEntry,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  createTestPki,
  ResourcePatternTypes,
  type SaslUser,
  type SecuredBroker,
  type SecuredBrokerOptions,
  startSecuredBroker,
  type TestPki,
} from "./secured-broker.ts";
