import type { IncidentStoreBackend } from "./backend.ts";
import { openEmbeddedStore } from "./embedded.ts";
import { PostgresIncidentStore, type PostgresStoreOptions } from "./postgres.ts";

export interface CreateIncidentStoreOptions extends Omit<PostgresStoreOptions, "databaseUrl"> {
  /** PostgreSQL when given (and not blank). */
  databaseUrl?: string | undefined;
  /** The embedded store's JSON-lines file, when there is no database URL; in memory without either. */
  file?: string | undefined;
  /** Embedded store: fsync after every write. */
  fsync?: boolean;
}

/** PostgreSQL when a database URL is given, else the embedded store (persisted to `file` if given). */
export async function createIncidentStore(
  options: CreateIncidentStoreOptions = {},
): Promise<IncidentStoreBackend> {
  const { databaseUrl, file, fsync, ...postgres } = options;
  if (databaseUrl !== undefined && databaseUrl.trim() !== "") {
    return PostgresIncidentStore.open({ ...postgres, databaseUrl });
  }
  return openEmbeddedStore({
    ...(file !== undefined ? { file } : {}),
    ...(fsync !== undefined ? { fsync } : {}),
  });
}

/** The store options the apps read from their environment: DATABASE_URL, else VIGIL_INCIDENT_STORE_FILE. */
export function incidentStoreOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): CreateIncidentStoreOptions {
  return { databaseUrl: env.DATABASE_URL, file: env.VIGIL_INCIDENT_STORE_FILE };
}
