import type { IncidentV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { IncidentStore } from "./store.ts";

function incident(id: string, version: number, findingIds: string[]): IncidentV1 {
  const time = "2026-03-10T09:00:00.000Z";
  return {
    schema: "vigil.incident/v1",
    id,
    title: "IDS alert on dc01.corp.example",
    description: "suricata signature 2001219",
    severity: "medium",
    status: "new",
    rule_id: "ids.alert",
    asset: {
      id: "dc01",
      ip: "10.20.1.10",
      known: true,
      priority: "critical",
      priority_reason: "domain controller",
      tags: [],
    },
    group_key: "sig:2001219",
    window_start: "2026-03-10T00:00:00.000Z",
    first_seen: time,
    last_seen: time,
    created_at: time,
    updated_at: time,
    finding_count: findingIds.length,
    finding_ids: findingIds,
    evidence: [],
    explanation: "alert on dc01",
    cves: [],
    attack: [],
    version,
  };
}

describe("IncidentStore", () => {
  it("restores the highest version per id, in any record order, and recognises the findings it names", () => {
    const v1 = incident("inc-a", 1, ["fnd-1"]);
    const v2 = incident("inc-a", 2, ["fnd-1", "fnd-2"]);
    const other = incident("inc-b", 1, ["fnd-3"]);
    const store = new IncidentStore();
    store.restore([v2, other, v1]);
    expect(store.size).toBe(2);
    expect(store.get("inc-a")).toEqual(v2);
    // No double count after a restart: what the restored record names was applied.
    expect(store.hasApplied("inc-a", "fnd-1")).toBe(true);
    expect(store.hasApplied("inc-a", "fnd-2")).toBe(true);
    expect(store.hasApplied("inc-a", "fnd-3")).toBe(false);
  });

  it("forgets the oldest applied keys beyond its bound", () => {
    const store = new IncidentStore({ maxSeenPerIncident: 10 });
    for (let n = 1; n <= 20; n++) store.set(incident("inc-a", n, [`fnd-${n}`]), `fnd-${n}`);
    expect(store.hasApplied("inc-a", "fnd-11")).toBe(true);
    expect(store.hasApplied("inc-a", "fnd-10")).toBe(false);
    expect(store.get("inc-a")!.version).toBe(20);
  });

  it("drops an incident on a tombstone", () => {
    const store = new IncidentStore();
    store.set(incident("inc-a", 1, ["fnd-1"]), "fnd-1");
    expect(store.delete("inc-a")).toBe(true);
    expect(store.get("inc-a")).toBeUndefined();
    expect(store.delete("inc-a")).toBe(false);
  });

  it("rejects a bound that is not a positive integer", () => {
    expect(() => new IncidentStore({ maxSeenPerIncident: 0 })).toThrow(RangeError);
  });
});
