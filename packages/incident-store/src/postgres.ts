import type { IncidentEventV1, IncidentV1 } from "@vigil/schema";
import pg from "pg";
import {
  asList,
  decodeCursor,
  emptyCounts,
  encodeCursor,
  type IncidentCounts,
  type IncidentFilter,
  type IncidentPage,
  type IncidentStoreBackend,
  type IndexedIncident,
  indexIncident,
  type ListQuery,
  pageLimit,
  searchTerms,
  type UpsertResult,
  validateEvents,
} from "./backend.ts";
import { migrate } from "./migrations.ts";

export interface PostgresStoreOptions {
  /** postgres://user:password@host:5432/database (libpq URL parameters such as sslmode are honoured). */
  databaseUrl: string;
  /** Named in errors about the URL. Default `DATABASE_URL`. */
  urlSource?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Server-side limit per statement; 0 disables it. Default 30 000 ms. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection. Default 10 000 ms. */
  connectionTimeoutMs?: number;
  applicationName?: string;
}

/** The URL with its password masked: safe to print. */
export function redactDatabaseUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== "") copy.password = "***";
  return copy.href;
}

/** Checks the URL's shape without ever echoing it whole (it may carry a password). */
export function parseDatabaseUrl(databaseUrl: string, source = "DATABASE_URL"): URL {
  const expected = "expected postgres://user:password@host:5432/database";
  let url: URL;
  try {
    url = new URL(databaseUrl.trim());
  } catch {
    throw new Error(`${source} is not a URL (${expected})`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(`${source} has the scheme "${url.protocol}" (${expected})`);
  }
  if (url.hostname === "") {
    throw new Error(`${source} names no host: ${redactDatabaseUrl(url)} (${expected})`);
  }
  return url;
}

const SELECT_COLUMNS = "document";

/** The incident store on PostgreSQL: one JSONB document per incident, indexed columns beside it. */
export class PostgresIncidentStore implements IncidentStoreBackend {
  readonly kind = "postgres";
  readonly pool: pg.Pool;
  readonly #where: string;
  #closed = false;

  private constructor(pool: pg.Pool, where: string) {
    this.pool = pool;
    this.#where = where;
  }

  /** Connects, then applies the migrations this version needs (serialized across instances). */
  static async open(options: PostgresStoreOptions): Promise<PostgresIncidentStore> {
    const source = options.urlSource ?? "DATABASE_URL";
    const url = parseDatabaseUrl(options.databaseUrl, source);
    const where = `${redactDatabaseUrl(url)} (${source})`;
    const statementTimeout = options.statementTimeoutMs ?? 30_000;
    const pool = new pg.Pool({
      connectionString: url.href,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      application_name: options.applicationName ?? "vigil-incident-store",
      ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on("error", () => {});
    const store = new PostgresIncidentStore(pool, where);
    try {
      await store.#run(async () => {
        const client = await pool.connect();
        try {
          await migrate(client);
        } finally {
          client.release();
        }
      });
    } catch (error) {
      await pool.end().catch(() => {});
      throw error;
    }
    return store;
  }

  async upsert(incident: IncidentV1): Promise<UpsertResult> {
    const [result] = await this.upsertMany([incident]);
    return result as UpsertResult;
  }

  async upsertMany(incidents: readonly IncidentV1[]): Promise<UpsertResult[]> {
    this.#open();
    if (incidents.length === 0) return [];
    const indexed = incidents.map((incident) => indexIncident(incident));
    // One row per id (the newest): a single INSERT may not touch a row twice.
    const newest = new Map<string, { incident: IncidentV1; indexed: IndexedIncident }>();
    for (const [i, incident] of incidents.entries()) {
      const row = { incident, indexed: indexed[i] as IndexedIncident };
      const seen = newest.get(row.indexed.id);
      if (seen === undefined || seen.indexed.version < row.indexed.version) newest.set(row.indexed.id, row);
    }
    // Sorted by id: concurrent batches lock rows in the same order and cannot deadlock.
    const rows = [...newest.values()].sort((a, b) => (a.indexed.id < b.indexed.id ? -1 : 1));
    const stored = new Map<string, { version: number; changed: boolean }>();
    await this.#transaction(async (client) => {
      for (let start = 0; start < rows.length; start += UPSERT_CHUNK) {
        const chunk = rows.slice(start, start + UPSERT_CHUNK);
        const written = await client.query<{ id: string; version: number }>(
          UPSERT_SQL,
          upsertParameters(chunk),
        );
        for (const row of written.rows) stored.set(row.id, { version: row.version, changed: true });
        const skipped = chunk.filter((row) => !stored.has(row.indexed.id)).map((row) => row.indexed.id);
        if (skipped.length > 0) {
          const current = await client.query<{ id: string; version: number }>(
            "SELECT id, version FROM incidents WHERE id = ANY($1::text[])",
            [skipped],
          );
          for (const row of current.rows) stored.set(row.id, { version: row.version, changed: false });
        }
      }
    });
    const reported = new Set<string>();
    return indexed.map((row) => {
      const result = stored.get(row.id);
      const version = result?.version ?? row.version;
      // Only the record that was written counts as the change, not its older twins in the batch.
      const changed = result?.changed === true && version === row.version && !reported.has(row.id);
      if (changed) reported.add(row.id);
      return { id: row.id, changed, version };
    });
  }

  async get(id: string): Promise<IncidentV1 | undefined> {
    this.#open();
    const result = await this.#run(() =>
      this.pool.query<{ document: IncidentV1 }>(`SELECT ${SELECT_COLUMNS} FROM incidents WHERE id = $1`, [
        id,
      ]),
    );
    return result.rows[0]?.document;
  }

  async list(query: ListQuery = {}): Promise<IncidentPage> {
    this.#open();
    const limit = pageLimit(query.limit);
    const where = new WhereBuilder();
    where.filter(query);
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor);
      where.add(
        (p) =>
          `(urgency_rank, severity_rank, last_seen, id) < (${p(after.urgencyRank)}::smallint, ` +
          `${p(after.severityRank)}::smallint, ${p(after.lastSeen)}::timestamptz, ${p(after.id)}::text)`,
      );
    }
    const sql =
      `SELECT document, urgency_rank, severity_rank, last_seen_text FROM incidents ${where.sql()} ` +
      `ORDER BY urgency_rank DESC, severity_rank DESC, last_seen DESC, id DESC LIMIT ${where.param(limit + 1)}`;
    const result = await this.#run(() =>
      this.pool.query<{
        document: IncidentV1;
        urgency_rank: number;
        severity_rank: number;
        last_seen_text: string;
      }>(sql, where.values),
    );
    const page = result.rows.slice(0, limit);
    const last = page.at(-1);
    return {
      incidents: page.map((row) => row.document),
      ...(result.rows.length > limit && last !== undefined
        ? {
            nextCursor: encodeCursor({
              urgencyRank: last.urgency_rank,
              severityRank: last.severity_rank,
              lastSeen: last.last_seen_text,
              lastSeenMicros: 0,
              id: last.document.id,
            }),
          }
        : {}),
    };
  }

  async appendEvents(events: readonly IncidentEventV1[]): Promise<number> {
    this.#open();
    const valid = validateEvents(events);
    if (valid.length === 0) return 0;
    const result = await this.#run(() =>
      this.pool.query(
        `INSERT INTO incident_events (id, incident_id, time, type, document)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::jsonb[])
         ON CONFLICT (id) DO NOTHING`,
        [
          valid.map((event) => event.id),
          valid.map((event) => event.incident_id),
          valid.map((event) => event.time),
          valid.map((event) => event.type),
          valid.map((event) => JSON.stringify(event)),
        ],
      ),
    );
    return result.rowCount ?? 0;
  }

  async events(incidentId: string): Promise<IncidentEventV1[]> {
    this.#open();
    const result = await this.#run(() =>
      this.pool.query<{ document: IncidentEventV1 }>(
        `SELECT document FROM incident_events WHERE incident_id = $1 ORDER BY time, id`,
        [incidentId],
      ),
    );
    return result.rows.map((row) => row.document);
  }

  async counts(filter: IncidentFilter = {}): Promise<IncidentCounts> {
    this.#open();
    const where = new WhereBuilder();
    where.filter(filter);
    const result = await this.#run(() =>
      this.pool.query<{ status: string; urgency: string | null; severity: string; count: string }>(
        `SELECT status, urgency, severity, count(*) AS count FROM incidents ${where.sql()}
         GROUP BY status, urgency, severity`,
        where.values,
      ),
    );
    const counts = emptyCounts();
    for (const row of result.rows) {
      const n = Number(row.count);
      counts.total += n;
      const status = row.status as keyof IncidentCounts["byStatus"];
      counts.byStatus[status] = (counts.byStatus[status] ?? 0) + n;
      const urgency = (row.urgency ?? "none") as keyof IncidentCounts["byUrgency"];
      counts.byUrgency[urgency] = (counts.byUrgency[urgency] ?? 0) + n;
      const severity = row.severity as keyof IncidentCounts["bySeverity"];
      counts.bySeverity[severity] = (counts.bySeverity[severity] ?? 0) + n;
    }
    return counts;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }

  #open(): void {
    if (this.#closed) throw new Error("the incident store is closed");
  }

  async #transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    await this.#run(async () => {
      const client = await this.pool.connect();
      try {
        await client.query("BEGIN");
        await work(client);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    });
  }

  /** Connection failures name the (redacted) database; query errors pass through as PostgreSQL gave them. */
  async #run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isConnectionError(error)) {
        throw new Error(`cannot connect to PostgreSQL at ${this.#where}: ${describe(error)}`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}

const UPSERT_CHUNK = 500;

const UPSERT_SQL = `
INSERT INTO incidents AS current
  (id, version, status, urgency, urgency_rank, severity, severity_rank, asset_id, organisation,
   last_seen, last_seen_text, updated_at, search_text, document, stored_at)
SELECT u.id, u.version, u.status, u.urgency, u.urgency_rank, u.severity, u.severity_rank, u.asset_id,
       u.organisation, u.last_seen::timestamptz, u.last_seen, u.updated_at::timestamptz, u.search_text,
       u.document, now()
FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::smallint[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[])
  AS u(id, version, status, urgency, urgency_rank, severity, severity_rank, asset_id, organisation,
       last_seen, updated_at, search_text, document)
ON CONFLICT (id) DO UPDATE SET
  version = excluded.version, status = excluded.status, urgency = excluded.urgency,
  urgency_rank = excluded.urgency_rank, severity = excluded.severity, severity_rank = excluded.severity_rank,
  asset_id = excluded.asset_id, organisation = excluded.organisation, last_seen = excluded.last_seen,
  last_seen_text = excluded.last_seen_text, updated_at = excluded.updated_at,
  search_text = excluded.search_text, document = excluded.document, stored_at = excluded.stored_at
WHERE current.version < excluded.version
RETURNING id, version`;

function upsertParameters(
  rows: ReadonlyArray<{ incident: IncidentV1; indexed: IndexedIncident }>,
): unknown[] {
  const column = <T>(pick: (indexed: IndexedIncident) => T): T[] => rows.map((row) => pick(row.indexed));
  return [
    column((i) => i.id),
    column((i) => i.version),
    column((i) => i.status),
    column((i) => i.urgency),
    column((i) => i.urgencyRank),
    column((i) => i.severity),
    column((i) => i.severityRank),
    column((i) => i.assetId),
    column((i) => i.organisation),
    column((i) => i.lastSeen),
    column((i) => i.updatedAt),
    column((i) => i.searchText),
    rows.map((row) => JSON.stringify(row.incident)),
  ];
}

/** Builds a WHERE clause whose every value is a bound parameter. */
class WhereBuilder {
  readonly values: unknown[] = [];
  readonly #conditions: string[] = [];

  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  add(condition: (param: (value: unknown) => string) => string): void {
    this.#conditions.push(condition((value) => this.param(value)));
  }

  filter(filter: IncidentFilter): void {
    const statuses = asList(filter.status);
    if (statuses) this.#oneOf("status", statuses);
    const urgencies = asList(filter.urgency);
    if (urgencies) this.#oneOf("urgency", urgencies);
    const severities = asList(filter.severity);
    if (severities) this.#oneOf("severity", severities);
    if (filter.asset !== undefined) this.add((p) => `asset_id = ${p(filter.asset)}`);
    if (filter.organisation !== undefined) this.add((p) => `organisation = ${p(filter.organisation)}`);
    for (const term of searchTerms(filter.text)) {
      this.add((p) => `search_text LIKE ${p(`%${escapeLike(term)}%`)} ESCAPE '\\'`);
    }
  }

  /** One value is an equality, so that the planner can walk the (status, queue order) index. */
  #oneOf(column: string, values: readonly string[]): void {
    if (values.length === 1) this.add((p) => `${column} = ${p(values[0])}`);
    else this.add((p) => `${column} = ANY(${p(values)}::text[])`);
  }

  sql(): string {
    return this.#conditions.length === 0 ? "" : `WHERE ${this.#conditions.join(" AND ")}`;
  }
}

function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
]);

function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("28") || code === "3D000")) {
    return true;
  }
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return /timeout exceeded when trying to connect|Connection terminated/i.test(error.message);
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describe).join("; ");
  }
  return error instanceof Error ? error.message : String(error);
}
