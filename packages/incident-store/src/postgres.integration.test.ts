import { type AcquiredPostgres, acquirePostgres } from "@vigil/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { incident, incidentStoreContract } from "./contract.ts";
import { createIncidentStore } from "./create.ts";
import { migrations } from "./migrations.ts";
import { PostgresIncidentStore, parseDatabaseUrl } from "./postgres.ts";

async function execute(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let server: AcquiredPostgres;
let databaseUrl: string;

beforeAll(async () => {
  server = await acquirePostgres({ execute });
  databaseUrl = await server.createDatabase("incident_store");
});

afterAll(async () => {
  await server?.stop();
});

const open = (url = databaseUrl, options: { poolSize?: number; statementTimeoutMs?: number } = {}) =>
  PostgresIncidentStore.open({ databaseUrl: url, poolSize: 4, ...options });

incidentStoreContract("postgres", async () => {
  const store = await open();
  await store.pool.query("TRUNCATE incidents, incident_events");
  await store.close();
  // Each connection is a pool of its own: two calls are two processes on one database.
  return () => open();
});

describe("PostgreSQL store specifics", () => {
  it("applies each migration once when several instances start together on an empty database", async () => {
    const url = await server.createDatabase("migrations");
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(url)));
    const applied = await stores[0]?.pool.query<{ version: number }>(
      "SELECT version FROM incident_store_migrations ORDER BY version",
    );
    expect(applied?.rows.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
    const indexes = await stores[0]?.pool.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE tablename = 'incidents' ORDER BY indexname",
    );
    expect(indexes?.rows.map((row) => row.indexname)).toEqual(
      expect.arrayContaining(["incidents_pkey", "incidents_queue", "incidents_search_trgm"]),
    );
    await Promise.all(stores.map((store) => store.close()));

    // A restart applies nothing and keeps the data.
    const again = await open(url);
    await again.upsert(incident({ id: "kept" }));
    await again.close();
    const third = await open(url);
    expect(await third.get("kept")).toMatchObject({ id: "kept" });
    await third.close();
  });

  it("refuses a database whose schema is newer than this program", async () => {
    const url = await server.createDatabase("newer");
    const store = await open(url);
    await store.pool.query("INSERT INTO incident_store_migrations (version, name) VALUES (999, 'future')");
    await store.close();
    await expect(open(url)).rejects.toThrow(/schema is at version 999, newer than this program knows/);
  });

  it("keeps the indexed columns in step with the document", async () => {
    const store = await open();
    await store.upsert(
      incident({
        id: "cols",
        version: 2,
        urgency: "high",
        severity: "critical",
        organisation: "ops",
        title: "Hi",
      }),
    );
    const row = await store.pool.query(
      `SELECT version, status, urgency, severity, asset_id, organisation, search_text,
              document->>'title' AS title, last_seen = (document->>'last_seen')::timestamptz AS same_time
       FROM incidents WHERE id = 'cols'`,
    );
    expect(row.rows[0]).toMatchObject({
      version: 2,
      status: "new",
      urgency: "high",
      severity: "critical",
      asset_id: "asset-1",
      organisation: "ops",
      title: "Hi",
      same_time: true,
    });
    expect(row.rows[0].search_text).toContain("hi\nasset-1");
    await store.close();
  });

  it("applies the statement timeout and the pool size it is given", async () => {
    const store = await open(databaseUrl, { poolSize: 2, statementTimeoutMs: 100 });
    expect(store.pool.options.max).toBe(2);
    await expect(store.pool.query("SELECT pg_sleep(5)")).rejects.toThrow(/statement timeout/);
    await store.close();
  });

  it("names DATABASE_URL and what it expects when the URL is wrong, never the password", async () => {
    await expect(createIncidentStore({ databaseUrl: "s3cret-not-a-url" })).rejects.toThrow(
      "DATABASE_URL is not a URL (expected postgres://user:password@host:5432/database)",
    );
    const wrongScheme = createIncidentStore({ databaseUrl: "mysql://root:s3cret@db:3306/x" });
    await expect(wrongScheme).rejects.toThrow(/DATABASE_URL has the scheme "mysql:"/);
    await expect(wrongScheme).rejects.not.toThrow(/s3cret/);

    // Nothing listens on port 1.
    const refused = await createIncidentStore({
      databaseUrl: "postgres://vigil:s3cret@127.0.0.1:1/incidents",
      connectionTimeoutMs: 2_000,
    }).then(
      () => new Error("expected a failure"),
      (e: unknown) => e as Error,
    );
    expect(refused.message).toContain(
      "cannot connect to PostgreSQL at postgres://vigil:***@127.0.0.1:1/incidents (DATABASE_URL)",
    );
    expect(refused.message).not.toContain("s3cret");

    const missingDatabase = new URL(databaseUrl);
    missingDatabase.pathname = "/no_such_database";
    missingDatabase.password = "s3cret";
    const absent = await createIncidentStore({ databaseUrl: missingDatabase.href }).then(
      () => new Error("expected a failure"),
      (e: unknown) => e as Error,
    );
    expect(absent.message).toMatch(
      /cannot connect to PostgreSQL at .*no_such_database \(DATABASE_URL\).*does not exist/,
    );
    expect(absent.message).not.toContain("s3cret");
    expect(() => parseDatabaseUrl("postgres:///db")).toThrow(/names no host/);
  });

  it("is the backend createIncidentStore picks for a database URL", async () => {
    const store = await createIncidentStore({ databaseUrl, file: "/nonexistent/ignored.jsonl" });
    expect(store.kind).toBe("postgres");
    await store.close();
  });
});
