import type pg from "pg";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append only: a released migration is never edited, a change is a new migration. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "incidents and incident events",
    sql: `
CREATE TABLE incidents (
  id text COLLATE "C" PRIMARY KEY,
  version integer NOT NULL,
  status text NOT NULL,
  urgency text,
  urgency_rank smallint NOT NULL,
  severity text NOT NULL,
  severity_rank smallint NOT NULL,
  asset_id text NOT NULL,
  organisation text,
  last_seen timestamptz NOT NULL,
  last_seen_text text NOT NULL,
  updated_at timestamptz NOT NULL,
  search_text text NOT NULL,
  document jsonb NOT NULL,
  stored_at timestamptz NOT NULL
);
CREATE INDEX incidents_queue ON incidents (urgency_rank DESC, severity_rank DESC, last_seen DESC, id DESC);
CREATE INDEX incidents_status_queue
  ON incidents (status, urgency_rank DESC, severity_rank DESC, last_seen DESC, id DESC);
CREATE INDEX incidents_asset ON incidents (asset_id);
CREATE INDEX incidents_organisation ON incidents (organisation);
CREATE INDEX incidents_updated_at ON incidents (updated_at);

CREATE TABLE incident_events (
  id text COLLATE "C" PRIMARY KEY,
  incident_id text COLLATE "C" NOT NULL,
  time timestamptz NOT NULL,
  type text NOT NULL,
  document jsonb NOT NULL
);
CREATE INDEX incident_events_timeline ON incident_events (incident_id, time, id);
`,
  },
];

/** Any constant shared by every instance of this store: pg_advisory_xact_lock serializes on it. */
export const MIGRATION_LOCK_KEY = 7_316_001_424_117n;

/**
 * Applies the missing migrations in one transaction, holding an advisory lock so that instances
 * starting together apply each migration once. The trigram index is optional (pg_trgm may be
 * missing or not allowed): without it, text search scans.
 */
export async function migrate(client: pg.PoolClient): Promise<{ applied: number[]; trigramIndex: boolean }> {
  const applied: number[] = [];
  let trigramIndex = false;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS incident_store_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = await client.query<{ version: number }>("SELECT version FROM incident_store_migrations");
    const known = new Set(done.rows.map((row) => row.version));
    const newest = Math.max(0, ...known);
    const latest = migrations.at(-1)?.version ?? 0;
    if (newest > latest) {
      throw new Error(
        `the database's incident store schema is at version ${newest}, newer than this program knows ` +
          `(${latest}): upgrade the program`,
      );
    }
    for (const migration of migrations) {
      if (known.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query("INSERT INTO incident_store_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    trigramIndex = await ensureTrigramIndex(client);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return { applied, trigramIndex };
}

async function ensureTrigramIndex(client: pg.PoolClient): Promise<boolean> {
  await client.query("SAVEPOINT trigram");
  try {
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_trgm");
    await client.query(
      "CREATE INDEX IF NOT EXISTS incidents_search_trgm ON incidents USING gin (search_text gin_trgm_ops)",
    );
    await client.query("RELEASE SAVEPOINT trigram");
    return true;
  } catch {
    await client.query("ROLLBACK TO SAVEPOINT trigram");
    return false;
  }
}
