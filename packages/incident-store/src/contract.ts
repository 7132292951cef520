import { randomUUID } from "node:crypto";
import type { IncidentEventType, IncidentEventV1, IncidentV1, Urgency } from "@vigil/schema";
import { afterEach, describe, expect, it } from "vitest";
import type { IncidentStoreBackend, ListQuery } from "./backend.ts";

/** Opens a new client of the database under test; two calls are two processes on one database. */
export type ConnectStore = () => Promise<IncidentStoreBackend>;

/**
 * The behaviour every `IncidentStoreBackend` must have, as a vitest suite. `freshDatabase` empties
 * (or creates) the database and returns how to connect to it; it is called once per test.
 */
export function incidentStoreContract(name: string, freshDatabase: () => Promise<ConnectStore>): void {
  const open: IncidentStoreBackend[] = [];
  async function database(): Promise<{ store: IncidentStoreBackend; connect: ConnectStore }> {
    const connectFresh = await freshDatabase();
    const connect: ConnectStore = async () => {
      const store = await connectFresh();
      open.push(store);
      return store;
    };
    return { store: await connect(), connect };
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });

  describe(`incident store contract: ${name}`, () => {
    it("stores the whole record, fields it does not index included, and gets it back by id", async () => {
      const { store } = await database();
      const stored = incident({ id: "inc-1", future_field: { nested: [1, "two"] } });
      expect(await store.upsert(stored)).toEqual({ id: "inc-1", changed: true, version: 1 });
      expect(await store.get("inc-1")).toEqual(stored);
      expect(await store.get("inc-missing")).toBeUndefined();
    });

    it("never lets an older or equal version overwrite a newer one", async () => {
      const { store } = await database();
      expect(await store.upsert(incident({ id: "a", version: 3, title: "three" }))).toMatchObject({
        changed: true,
      });
      expect(await store.upsert(incident({ id: "a", version: 2, title: "two" }))).toEqual({
        id: "a",
        changed: false,
        version: 3,
      });
      expect(await store.upsert(incident({ id: "a", version: 3, title: "three again" }))).toEqual({
        id: "a",
        changed: false,
        version: 3,
      });
      expect((await store.get("a"))?.title).toBe("three");
      expect(await store.upsert(incident({ id: "a", version: 4, title: "four" }))).toEqual({
        id: "a",
        changed: true,
        version: 4,
      });
      expect((await store.get("a"))?.title).toBe("four");
    });

    it("upserts a batch with one result per input, the newest twin winning, all or nothing", async () => {
      const { store } = await database();
      await store.upsert(incident({ id: "b", version: 5 }));
      const results = await store.upsertMany([
        incident({ id: "a", version: 1 }),
        incident({ id: "b", version: 4 }),
        incident({ id: "c", version: 2, title: "c2" }),
        incident({ id: "c", version: 7, title: "c7" }),
        incident({ id: "c", version: 3, title: "c3" }),
      ]);
      expect(results).toEqual([
        { id: "a", changed: true, version: 1 },
        { id: "b", changed: false, version: 5 },
        { id: "c", changed: false, version: 7 },
        { id: "c", changed: true, version: 7 },
        { id: "c", changed: false, version: 7 },
      ]);
      expect((await store.get("c"))?.title).toBe("c7");

      const broken = { ...incident({ id: "e" }), severity: "catastrophic" } as unknown as IncidentV1;
      await expect(store.upsertMany([incident({ id: "d" }), broken])).rejects.toThrow(
        /incident e cannot be stored/,
      );
      expect(await store.get("d")).toBeUndefined();
      expect(await store.upsertMany([])).toEqual([]);
    });

    it("lists by urgency, then severity, then last_seen (newest first); no urgency sorts last", async () => {
      const { store } = await database();
      await store.upsertMany([
        incident({ id: "low-crit", urgency: "low", severity: "critical" }),
        incident({ id: "none-crit", severity: "critical" }),
        incident({ id: "high-med-old", urgency: "high", severity: "medium", last_seen: at(1) }),
        incident({ id: "high-med-new", urgency: "high", severity: "medium", last_seen: at(5) }),
        incident({ id: "high-high", urgency: "high", severity: "high", last_seen: at(0) }),
        incident({ id: "crit-low", urgency: "critical", severity: "low" }),
        // The same instant written with another offset is the same instant: the id breaks the tie.
        incident({ id: "high-med-tie", urgency: "high", severity: "medium", last_seen: at(5, "+02:00") }),
      ]);
      const { incidents, nextCursor } = await store.list();
      expect(incidents.map((i) => i.id)).toEqual([
        "crit-low",
        "high-high",
        "high-med-tie",
        "high-med-new",
        "high-med-old",
        "low-crit",
        "none-crit",
      ]);
      expect(nextCursor).toBeUndefined();
    });

    it("filters by status, urgency, severity, asset and organisation, each alone and together", async () => {
      const { store } = await database();
      await store.upsertMany([
        incident({
          id: "1",
          status: "new",
          urgency: "high",
          severity: "high",
          asset: "web-1",
          organisation: "ops",
        }),
        incident({ id: "2", status: "in_progress", urgency: "low", severity: "high", asset: "web-2" }),
        incident({
          id: "3",
          status: "resolved",
          urgency: "high",
          severity: "low",
          asset: "web-1",
          assetOwner: "ops",
        }),
        incident({ id: "4", status: "new", severity: "medium", asset: "db-1", organisation: "dba" }),
      ]);
      const ids = async (query: ListQuery) => (await store.list(query)).incidents.map((i) => i.id).sort();
      expect(await ids({ status: "new" })).toEqual(["1", "4"]);
      expect(await ids({ status: ["in_progress", "resolved"] })).toEqual(["2", "3"]);
      expect(await ids({ urgency: "high" })).toEqual(["1", "3"]);
      expect(await ids({ urgency: ["low", "medium"] })).toEqual(["2"]);
      expect(await ids({ severity: "high" })).toEqual(["1", "2"]);
      expect(await ids({ asset: "web-1" })).toEqual(["1", "3"]);
      expect(await ids({ asset: "web" })).toEqual([]);
      // The owner routing's organisation, else the asset's owner.
      expect(await ids({ organisation: "ops" })).toEqual(["1", "3"]);
      expect(await ids({ organisation: "dba" })).toEqual(["4"]);
      expect(await ids({ status: "new", urgency: "high", asset: "web-1", organisation: "ops" })).toEqual([
        "1",
      ]);
      expect(await ids({ status: [] })).toEqual([]);
    });

    it("searches title, asset and description case-insensitively, every term required", async () => {
      const { store } = await database();
      await store.upsertMany([
        incident({ id: "t1", title: "Updates blocked on WSUS", asset: "srv-7", hostname: "wsus.example" }),
        incident({
          id: "t2",
          title: "Port scan",
          description: "Scanner at 10.0.0.9 hit WSUS ports",
          ip: "10.0.0.9",
        }),
        incident({ id: "t3", title: "100% disk_full on backup", asset: "backup-1" }),
        incident({ id: "t4", title: "Telnet exposed", hostname: "router-core" }),
      ]);
      const ids = async (text: string) => (await store.list({ text })).incidents.map((i) => i.id).sort();
      expect(await ids("wsus")).toEqual(["t1", "t2"]);
      expect(await ids("WSUS  blocked")).toEqual(["t1"]);
      expect(await ids("srv-7")).toEqual(["t1"]);
      expect(await ids("10.0.0.9")).toEqual(["t2"]);
      expect(await ids("ROUTER")).toEqual(["t4"]);
      // LIKE's wildcards are literal characters here.
      expect(await ids("100%")).toEqual(["t3"]);
      expect(await ids("disk_full")).toEqual(["t3"]);
      expect(await ids("%")).toEqual(["t3"]);
      expect(await ids("_")).toEqual(["t3"]);
      expect(await ids("disk%full")).toEqual([]);
      expect(await ids("   ")).toEqual(["t1", "t2", "t3", "t4"]);
    });

    it("treats SQL-looking filter values as plain values", async () => {
      const { store } = await database();
      const hostile = "x' OR '1'='1";
      await store.upsertMany([
        incident({ id: "plain", asset: "asset-1" }),
        incident({
          id: hostile,
          asset: hostile,
          organisation: "'; DROP TABLE incidents; --",
          title: "a\\b 'q'",
        }),
      ]);
      const ids = async (query: ListQuery) => (await store.list(query)).incidents.map((i) => i.id).sort();
      expect(await ids({ asset: "asset-1' OR '1'='1" })).toEqual([]);
      expect(await ids({ asset: hostile })).toEqual([hostile]);
      expect(await ids({ organisation: "'; DROP TABLE incidents; --" })).toEqual([hostile]);
      expect(await ids({ status: ["new') OR ('1'='1"] as never })).toEqual([]);
      expect(await ids({ text: "' OR 1=1 --" })).toEqual([]);
      expect(await ids({ text: "a\\b 'q'" })).toEqual([hostile]);
      expect(await ids({ text: "\\" })).toEqual([hostile]);
      expect(await store.get("' OR ''='")).toBeUndefined();
      expect(await store.get(hostile)).toMatchObject({ id: hostile });
      expect(await store.events("x'); DELETE FROM incident_events; --")).toEqual([]);
      expect(await ids({})).toEqual(["plain", hostile].sort());
    });

    it("pages with a cursor: every incident exactly once, in order, even while others change", async () => {
      const { store } = await database();
      const urgencies: Urgency[] = ["critical", "high", "medium", "low"];
      const all = Array.from({ length: 23 }, (_, n) =>
        incident({
          id: `p-${String(n).padStart(2, "0")}`,
          urgency: urgencies[n % 4] as Urgency,
          // Many ties on urgency + severity + last_seen: the id must break them.
          last_seen: at(n % 3),
        }),
      );
      await store.upsertMany(all);
      const expected = (await store.list({ limit: 1000 })).incidents.map((i) => i.id);
      expect(expected).toHaveLength(23);

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ limit: 5, ...(cursor !== undefined ? { cursor } : {}) });
        seen.push(...page.incidents.map((i) => i.id));
        cursor = page.nextCursor;
        pages++;
        if (pages > 50) throw new Error("paging does not end");
        if (pages === 2) {
          // Changes behind and ahead of the cursor, none to the order of what is already there.
          await store.upsert(incident({ id: "p-new-first", urgency: "critical", severity: "critical" }));
          await store.upsert(incident({ id: "p-new-last", last_seen: at(0) }));
          await store.upsert({ ...(all[22] as IncidentV1), version: 2, title: "retitled" });
        }
      } while (cursor !== undefined);
      expect(pages).toBe(5);
      // The incident added ahead of the cursor is met; the one added behind it is not; none twice.
      expect(seen).toEqual([...expected, "p-new-last"]);

      const filtered: string[] = [];
      cursor = undefined;
      do {
        const page = await store.list({
          urgency: "high",
          limit: 2,
          ...(cursor !== undefined ? { cursor } : {}),
        });
        filtered.push(...page.incidents.map((i) => i.id));
        cursor = page.nextCursor;
        if (filtered.length > 100) throw new Error("paging does not end");
      } while (cursor !== undefined);
      expect(filtered).toEqual(expected.filter((id) => Number(id.slice(2)) % 4 === 1));

      await expect(store.list({ cursor: "not-a-cursor" })).rejects.toThrow(/invalid cursor/);
      await expect(store.list({ limit: 0 })).rejects.toThrow(/limit/);
      await expect(store.list({ limit: 1.5 })).rejects.toThrow(/limit/);
    });

    it("keeps each incident's timeline, oldest first, once per event id", async () => {
      const { store } = await database();
      const first = event("e1", "inc-a", at(2), "created", {
        actor: "analyst:ana",
        from: "new",
        to: "in_progress",
      });
      const batch = [
        event("e3", "inc-a", at(9), "acknowledged"),
        first,
        event("e2", "inc-a", at(2), "merged"),
      ];
      expect(await store.appendEvents(batch)).toBe(3);
      expect(await store.appendEvents([first, event("e4", "inc-b", at(1), "created"), first])).toBe(1);
      const timeline = await store.events("inc-a");
      expect(timeline.map((e) => e.id)).toEqual(["e1", "e2", "e3"]);
      expect(timeline[0]).toEqual(first);
      expect((await store.events("inc-b")).map((e) => e.id)).toEqual(["e4"]);
      expect(await store.events("inc-none")).toEqual([]);
      expect(await store.appendEvents([])).toBe(0);
      await expect(
        store.appendEvents([{ id: "x", incident_id: "inc-a" } as IncidentEventV1]),
      ).rejects.toThrow(/incident event cannot be stored/);
    });

    it("counts incidents by status, urgency and severity, under a filter", async () => {
      const { store } = await database();
      await store.upsertMany([
        incident({ id: "1", status: "new", urgency: "high", severity: "high", organisation: "ops" }),
        incident({ id: "2", status: "new", urgency: "high", severity: "low", organisation: "ops" }),
        incident({ id: "3", status: "resolved", severity: "low", organisation: "ops" }),
        incident({
          id: "4",
          status: "closed",
          urgency: "critical",
          severity: "critical",
          organisation: "dba",
        }),
      ]);
      expect(await store.counts()).toEqual({
        total: 4,
        byStatus: { new: 2, resolved: 1, closed: 1 },
        byUrgency: { high: 2, none: 1, critical: 1 },
        bySeverity: { high: 1, low: 2, critical: 1 },
      });
      expect(await store.counts({ organisation: "ops", status: ["new", "resolved"] })).toEqual({
        total: 3,
        byStatus: { new: 2, resolved: 1 },
        byUrgency: { high: 2, none: 1 },
        bySeverity: { high: 1, low: 2 },
      });
      expect((await store.counts({ text: "nothing matches this" })).total).toBe(0);
    });

    it("never regresses a version when two clients upsert the same incident concurrently", async () => {
      const { store, connect } = await database();
      const other = await connect();
      const versions = Array.from({ length: 40 }, (_, n) => n + 1);
      // A fixed shuffle: every client sees versions out of order.
      const shuffled = versions.map((v) => ({ v, k: (v * 7919) % 41 })).sort((a, b) => a.k - b.k);
      const writes = shuffled.map(({ v }, n) => {
        const client = n % 2 === 0 ? store : other;
        const record = incident({ id: "contended", version: v, title: `v${v}` });
        return n % 3 === 0
          ? client.upsertMany([record, incident({ id: `side-${v}` })])
          : client.upsert(record);
      });
      await Promise.all(writes);
      for (const client of [store, other]) {
        expect(await client.get("contended")).toMatchObject({ version: 40, title: "v40" });
      }
      expect(await other.upsert(incident({ id: "contended", version: 39 }))).toEqual({
        id: "contended",
        changed: false,
        version: 40,
      });
      expect((await store.counts()).total).toBe(1 + Math.ceil(40 / 3));
    });

    it("refuses calls after close", async () => {
      const { store } = await database();
      await store.close();
      await store.close();
      await expect(store.get("a")).rejects.toThrow(/closed/);
    });
  });
}

let counter = 0;
const BASE = Date.parse("2026-03-01T08:00:00.000Z");

/** An RFC 3339 time `minutes` after a fixed base, written with the given offset. */
export function at(minutes: number, offset = "Z"): string {
  const millis = BASE + minutes * 60_000;
  if (offset === "Z") return new Date(millis).toISOString();
  const sign = offset.startsWith("-") ? -1 : 1;
  const [hours = 0, mins = 0] = offset.slice(1).split(":").map(Number);
  const local = new Date(millis + sign * (hours * 60 + mins) * 60_000).toISOString().slice(0, -1);
  return `${local}${offset}`;
}

export interface IncidentOverrides {
  id?: string;
  version?: number;
  title?: string;
  description?: string;
  status?: IncidentV1["status"];
  severity?: IncidentV1["severity"];
  urgency?: Urgency;
  asset?: string;
  hostname?: string;
  ip?: string;
  assetOwner?: string;
  organisation?: string;
  last_seen?: string;
  [field: string]: unknown;
}

/**
 * A valid incident record, plus the fields CORE is adding (urgency, owner) when asked for; built
 * loosely so that new required fields of IncidentV1 do not break the store's tests.
 */
export function incident(overrides: IncidentOverrides = {}): IncidentV1 {
  const {
    id = `inc-${++counter}-${randomUUID().slice(0, 6)}`,
    version = 1,
    title = "Default accounts on a management interface",
    description = "A default credential was accepted.",
    status = "new",
    severity = "medium",
    urgency,
    asset = "asset-1",
    hostname,
    ip,
    assetOwner,
    organisation,
    last_seen = at(0),
    ...rest
  } = overrides;
  const record: Record<string, unknown> = {
    schema: "vigil.incident/v1",
    id,
    title,
    description,
    severity,
    status,
    rule_id: "core.test",
    asset: {
      id: asset,
      ...(hostname !== undefined ? { hostname } : {}),
      ...(ip !== undefined ? { ip } : {}),
      known: true,
      priority: "high",
      priority_reason: "test",
      ...(assetOwner !== undefined ? { owner: assetOwner } : {}),
      tags: [],
    },
    group_key: "",
    window_start: at(0),
    first_seen: at(0),
    last_seen,
    created_at: at(0),
    updated_at: last_seen,
    finding_count: 1,
    finding_ids: ["f-1"],
    evidence: [],
    explanation: "test",
    cves: [],
    attack: [],
    version,
    ...(urgency !== undefined ? { urgency } : {}),
    ...(organisation !== undefined ? { owner: { organisation, contacts: [] } } : {}),
    ...rest,
  };
  return record as unknown as IncidentV1;
}

export function event(
  id: string,
  incidentId: string,
  time: string,
  type: IncidentEventType,
  extra: Partial<IncidentEventV1> = {},
): IncidentEventV1 {
  return {
    schema: "vigil.incident-event/v1",
    id,
    incident_id: incidentId,
    incident_version: 1,
    time,
    type,
    actor: "vigil",
    summary: `${type} ${id}`,
    ...extra,
  };
}
