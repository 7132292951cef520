import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IncidentEventV1, IncidentV1 } from "@vigil/schema";
import { afterEach, describe, expect, it } from "vitest";
import { at, event, incident, incidentStoreContract } from "./contract.ts";
import { createIncidentStore } from "./create.ts";
import { EmbeddedIncidentDatabase, openEmbeddedStore } from "./embedded.ts";

incidentStoreContract("embedded", async () => {
  const database = new EmbeddedIncidentDatabase();
  return async () => database.connect();
});

describe("embedded store on a JSON-lines file", () => {
  const dirs: string[] = [];
  const file = () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-store-"));
    dirs.push(dir);
    return join(dir, "incidents.jsonl");
  };
  const lines = (path: string) => readFileSync(path, "utf8").trim().split("\n");
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("reloads incidents and events, keeping the newest version of each", async () => {
    const path = file();
    const store = openEmbeddedStore({ file: path });
    await store.upsert(incident({ id: "a", version: 1, title: "one" }));
    await store.upsert(incident({ id: "a", version: 2, title: "two", extra: { kept: true } }));
    await store.upsert(incident({ id: "b", urgency: "high" }));
    await store.appendEvents([event("e1", "a", at(1), "created"), event("e2", "a", at(2), "merged")]);
    await store.close();

    const reopened = openEmbeddedStore({ file: path });
    expect(await reopened.get("a")).toMatchObject({ version: 2, title: "two", extra: { kept: true } });
    expect((await reopened.list()).incidents.map((i) => i.id)).toEqual(["b", "a"]);
    expect((await reopened.events("a")).map((e) => e.id)).toEqual(["e1", "e2"]);
    expect(await reopened.upsert(incident({ id: "a", version: 1 }))).toMatchObject({
      changed: false,
      version: 2,
    });
    await reopened.close();
  });

  it("appends only changes, and compacts the file to one line per incident and event on open", async () => {
    const path = file();
    const store = openEmbeddedStore({ file: path });
    for (let version = 1; version <= 5; version++) await store.upsert(incident({ id: "a", version }));
    await store.upsert(incident({ id: "a", version: 3 }));
    await store.appendEvents([event("e1", "a", at(1), "created")]);
    await store.appendEvents([event("e1", "a", at(1), "created")]);
    await store.close();
    expect(lines(path)).toHaveLength(6);

    const reopened = await createIncidentStore({ file: path });
    expect(reopened.kind).toBe("embedded");
    expect(lines(path)).toHaveLength(2);
    expect(await reopened.get("a")).toMatchObject({ version: 5 });
    await reopened.close();
  });

  it("drops a torn last line left by a crash and keeps everything before it", async () => {
    const path = file();
    const store = openEmbeddedStore({ file: path });
    await store.upsert(incident({ id: "a", version: 1 }));
    await store.close();
    writeFileSync(path, `${readFileSync(path, "utf8")}{"kind":"incident","incident":{"id":"b","ver`);

    const database = new EmbeddedIncidentDatabase({ file: path });
    expect(database.skippedLines).toBe(1);
    const reopened = database.connect();
    expect(await reopened.get("a")).toMatchObject({ version: 1 });
    expect(await reopened.get("b")).toBeUndefined();
    await reopened.upsert(incident({ id: "c" }));
    await reopened.close();
    expect(lines(path).map((line) => (JSON.parse(line) as { incident: { id: string } }).incident.id)).toEqual(
      ["a", "c"],
    );
  });

  it("writes nothing for a batch it rejects", async () => {
    const path = file();
    const store = openEmbeddedStore({ file: path });
    await store.upsert(incident({ id: "a" }));
    const broken = { ...incident({ id: "bad" }), last_seen: "yesterday" };
    await expect(store.upsertMany([incident({ id: "b" }), broken])).rejects.toThrow(
      /bad cannot be stored.*last_seen/,
    );
    await store.close();
    expect(lines(path)).toHaveLength(1);
  });
});

describe("the contract's records", () => {
  it("are valid IncidentV1 and IncidentEventV1 records, urgency and owner included", () => {
    const record = incident({
      urgency: "high",
      organisation: "ops",
      assetOwner: "it",
      hostname: "h",
      ip: "10.0.0.1",
    });
    expect(IncidentV1.parse(record)).toMatchObject({ urgency: "high", owner: { organisation: "ops" } });
    expect(IncidentEventV1.safeParse(event("e", "i", at(0), "acknowledged")).success).toBe(true);
  });
});

describe("embedded queue order under random updates", () => {
  it("pages exactly as a full sort of the newest versions would", async () => {
    // A fixed pseudo-random sequence: updates move incidents up and down the queue.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const urgencies = ["critical", "high", "medium", "low", undefined] as const;
    const severities = ["informational", "low", "medium", "high", "critical"] as const;
    const store = openEmbeddedStore();
    const newest = new Map<string, ReturnType<typeof incident>>();
    const versions = new Map<string, number>();
    for (let step = 0; step < 2_000; step++) {
      const id = `r-${random(80)}`;
      const version = (versions.get(id) ?? 0) + 1 + random(2);
      const urgency = urgencies[random(5)];
      const record = incident({
        id,
        version,
        severity: severities[random(5)] as (typeof severities)[number],
        last_seen: at(random(4)),
        ...(urgency !== undefined ? { urgency } : {}),
      });
      // Now and then a stale write, which must change nothing.
      const stale = random(5) === 0 && versions.has(id);
      await store.upsert(stale ? { ...record, version: versions.get(id) as number } : record);
      if (!stale) {
        versions.set(id, version);
        newest.set(id, record);
      }
    }
    const rank: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };
    const severityRank: Record<string, number> = {
      informational: 1,
      low: 2,
      medium: 3,
      high: 4,
      critical: 5,
    };
    const expected = [...newest.values()]
      .sort(
        (a, b) =>
          (rank[b.urgency ?? ""] ?? 0) - (rank[a.urgency ?? ""] ?? 0) ||
          (severityRank[b.severity] ?? 0) - (severityRank[a.severity] ?? 0) ||
          Date.parse(b.last_seen) - Date.parse(a.last_seen) ||
          (a.id < b.id ? 1 : -1),
      )
      .map((i) => `${i.id}@${i.version}`);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 7, ...(cursor !== undefined ? { cursor } : {}) });
      paged.push(...page.incidents.map((i) => `${i.id}@${i.version}`));
      cursor = page.nextCursor;
      if (paged.length > 1_000) throw new Error("paging does not end");
    } while (cursor !== undefined);
    expect(paged).toEqual(expected);
    await store.close();
  });
});
