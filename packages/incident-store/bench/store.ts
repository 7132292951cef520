/**
 * Upserts per second and list queries per second, for the embedded store and PostgreSQL.
 * PostgreSQL: DATABASE_URL (a throwaway database is created on it and dropped), else a throwaway
 * cluster started from the local binaries, with fsync on (durable, as a real server would run).
 *
 *   pnpm --filter @vigil/incident-store bench [-- --incidents 10000 --seconds 2]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { IncidentV1 } from "@vigil/schema";
import { acquirePostgres, findPostgresBinaries, startLocalCluster } from "@vigil/testkit";
import pg from "pg";
import type { IncidentStoreBackend, ListQuery } from "../src/index.ts";
import { openEmbeddedStore, PostgresIncidentStore } from "../src/index.ts";

const { values } = parseArgs({
  options: {
    incidents: { type: "string", default: "10000" },
    seconds: { type: "string", default: "2" },
  },
});
const INCIDENTS = Number(values.incidents);
const SECONDS = Number(values.seconds);

const URGENCIES = ["critical", "high", "medium", "low"] as const;
const SEVERITIES = ["informational", "low", "medium", "high", "critical"] as const;
const STATUSES = ["new", "in_progress", "on_hold", "resolved", "closed"] as const;
const WORDS = ["wsus", "telnet", "default", "scan", "blocked", "exposed", "smb", "rdp", "update", "beacon"];
const BASE = Date.parse("2026-03-01T00:00:00.000Z");

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length] as T;
}

function makeIncident(n: number, version = 1): IncidentV1 {
  const time = new Date(BASE + (n % 5_000) * 60_000).toISOString();
  const record = {
    schema: "vigil.incident/v1",
    id: `bench-${n}`,
    title: `${pick(WORDS, n)} ${pick(WORDS, n * 7 + 3)} on host-${n % 900}`,
    description: `Finding ${n}: ${pick(WORDS, n * 13 + 1)} seen from 10.${n % 250}.${(n * 7) % 250}.1`,
    severity: pick(SEVERITIES, n * 3),
    status: pick(STATUSES, n * 11),
    rule_id: `core.rule-${n % 20}`,
    asset: {
      id: `asset-${n % 900}`,
      hostname: `host-${n % 900}.example`,
      known: true,
      priority: "high",
      priority_reason: "bench",
      tags: [],
    },
    group_key: "",
    window_start: time,
    first_seen: time,
    last_seen: time,
    created_at: time,
    updated_at: time,
    finding_count: 1,
    finding_ids: [`f-${n}`],
    evidence: [],
    explanation: "bench",
    cves: [],
    attack: [],
    version,
    urgency: pick(URGENCIES, n * 5),
    owner: { organisation: `org-${n % 12}`, contacts: [] },
    timeline: [{ time, type: "created", actor: "vigil", summary: "raised" }],
  };
  return record as unknown as IncidentV1;
}

async function rate(what: string, work: (i: number) => Promise<number>): Promise<number> {
  const deadline = performance.now() + SECONDS * 1_000;
  const started = performance.now();
  let operations = 0;
  let i = 0;
  while (performance.now() < deadline) operations += await work(i++);
  const perSecond = operations / ((performance.now() - started) / 1_000);
  console.log(`  ${what.padEnd(46)} ${Math.round(perSecond).toLocaleString("en-US").padStart(10)} /s`);
  return perSecond;
}

/** `fresh` opens the store on an empty database. */
async function bench(name: string, fresh: () => Promise<IncidentStoreBackend>): Promise<void> {
  console.log(`${name}:`);
  let store = await fresh();
  let next = 0;
  await rate("upsert, one at a time (new incidents)", async () => {
    await store.upsert(makeIncident(1_000_000 + next++));
    return 1;
  });
  let updates = 0;
  await rate("upsert, one at a time (a newer version)", async () => {
    const n = updates++;
    await store.upsert(makeIncident(1_000_000 + (n % next), 2 + Math.floor(n / next)));
    return 1;
  });
  let batch = 0;
  await rate("upsertMany, batches of 500", async () => {
    const incidents = Array.from({ length: 500 }, (_, k) => makeIncident(2_000_000 + batch * 500 + k));
    batch++;
    await store.upsertMany(incidents);
    return incidents.length;
  });

  // The upserts above ran for a time, not a count: the queries get a table of a known size.
  await store.close();
  store = await fresh();
  for (let start = 0; start < INCIDENTS; start += 1_000) {
    await store.upsertMany(
      Array.from({ length: Math.min(1_000, INCIDENTS - start) }, (_, k) => makeIncident(start + k)),
    );
  }
  // As autovacuum would after a load: the planner needs the table's statistics.
  if (store instanceof PostgresIncidentStore) await store.pool.query("ANALYZE incidents");
  const total = (await store.counts()).total;
  console.log(`  (list queries over ${total.toLocaleString("en-US")} incidents)`);
  const queries: Array<[string, ListQuery]> = [
    ["list: the queue's first page (50)", { limit: 50 }],
    ["list: status new, urgency high (50)", { status: "new", urgency: "high", limit: 50 }],
    [
      "list: organisation + status (50)",
      { organisation: "org-3", status: ["new", "in_progress"], limit: 50 },
    ],
    ["list: text search, two terms (50)", { text: "wsus host-42", limit: 50 }],
  ];
  for (const [what, query] of queries) {
    await rate(what, async () => {
      await store.list(query);
      return 1;
    });
  }
  const third = await store.list({ limit: 50 });
  const cursor = (await store.list({ limit: 50, ...(third.nextCursor ? { cursor: third.nextCursor } : {}) }))
    .nextCursor;
  await rate("list: a later page, by cursor (50)", async () => {
    await store.list({ limit: 50, ...(cursor ? { cursor } : {}) });
    return 1;
  });
  await rate("counts (dashboard)", async () => {
    await store.counts();
    return 1;
  });
  await store.close();
}

async function execute(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const [load1] = loadavg();
console.log(
  `incident store bench: ${INCIDENTS.toLocaleString("en-US")} incidents, ${SECONDS} s per figure, ` +
    `node ${process.version}, ${cpus().length} cores, load ${load1?.toFixed(2)}`,
);

await bench("embedded (in memory)", async () => openEmbeddedStore());
const dir = mkdtempSync(join(tmpdir(), "vigil-store-bench-"));
try {
  let files = 0;
  await bench("embedded (JSON-lines file, no fsync)", async () =>
    openEmbeddedStore({ file: join(dir, `incidents-${files++}.jsonl`) }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

let stopServer: () => Promise<void>;
let databaseUrl: string;
let where = "a throwaway local cluster, fsync on";
if (process.env.DATABASE_URL) {
  const server = await acquirePostgres({ execute });
  databaseUrl = await server.createDatabase("bench");
  stopServer = () => server.stop();
  where = "DATABASE_URL";
} else {
  const binaries = findPostgresBinaries();
  if (typeof binaries === "string")
    throw new Error(`no PostgreSQL for the bench: ${binaries}; set DATABASE_URL`);
  const cluster = await startLocalCluster(binaries, { durable: true });
  databaseUrl = cluster.url.replace(/\/postgres$/, "/bench");
  await execute(cluster.url, "CREATE DATABASE bench");
  stopServer = () => cluster.stop();
}
try {
  const probe = await PostgresIncidentStore.open({ databaseUrl });
  const version = (await probe.pool.query<{ server_version: string }>("SHOW server_version")).rows[0];
  await probe.close();
  await bench(`PostgreSQL ${version?.server_version} (${where}, pool of 4)`, async () => {
    const store = await PostgresIncidentStore.open({ databaseUrl, poolSize: 4 });
    await store.pool.query("TRUNCATE incidents, incident_events");
    return store;
  });
} finally {
  await stopServer();
}
