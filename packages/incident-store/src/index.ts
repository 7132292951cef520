export {
  DEFAULT_LIMIT,
  type IncidentCounts,
  type IncidentFilter,
  type IncidentPage,
  type IncidentStoreBackend,
  type ListQuery,
  MAX_LIMIT,
  type UpsertResult,
} from "./backend.ts";
export {
  type CreateIncidentStoreOptions,
  createIncidentStore,
  incidentStoreOptionsFromEnv,
} from "./create.ts";
export {
  EmbeddedIncidentDatabase,
  EmbeddedIncidentStore,
  type EmbeddedStoreOptions,
  openEmbeddedStore,
} from "./embedded.ts";
export { type Migration, migrations } from "./migrations.ts";
export {
  PostgresIncidentStore,
  type PostgresStoreOptions,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from "./postgres.ts";
