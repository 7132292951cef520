import { type FindingV1, IncidentV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { applyFinding } from "./apply.ts";
import { incidentIdFor, windowStart } from "./incident-id.ts";
import { IncidentStore } from "./store.ts";

const HOUR = 60 * 60 * 1000;
const now = new Date("2026-03-10T12:00:00.000Z");

function finding(n: number, overrides: Partial<FindingV1> = {}): FindingV1 {
  const time = overrides.time ?? new Date(Date.parse("2026-03-10T09:00:00.000Z") + n * 60_000).toISOString();
  return {
    schema: "vigil.finding/v1",
    id: `fnd-${String(n).padStart(4, "0")}`,
    time,
    rule: { id: "ids.alert", name: "IDS alert", version: 1 },
    severity: "medium",
    title: "IDS alert on dc01.corp.example: ET SCAN",
    description: "suricata signature 2001219",
    asset: {
      id: "dc01",
      ip: "10.20.1.10",
      hostname: "dc01.corp.example",
      known: true,
      priority: "critical",
      priority_reason: "priority list entry dc01: domain controller",
      tags: [],
    },
    group_key: "sig:2001219",
    events: [{ topic: "vigil.ids.alerts", id: `alert-${n}`, time, summary: `alert ${n}` }],
    explanation: { summary: "alert on dc01", conditions: ["alert severity medium >= minimum low"] },
    cves: [],
    attack: [],
    references: [],
    ...overrides,
  };
}

describe("incidentIdFor", () => {
  it("is deterministic and ignores what the incident is not about", () => {
    const id = incidentIdFor(finding(1));
    expect(id).toMatch(/^inc-[0-9a-f]{32}$/);
    // Another finding of the same rule, asset and signature in the same window: same incident.
    expect(
      incidentIdFor(finding(2, { severity: "critical", rule: { id: "ids.alert", name: "x", version: 2 } })),
    ).toBe(id);
    expect(incidentIdFor(finding(1, { group_key: "sig:1" }))).not.toBe(id);
    expect(incidentIdFor(finding(1, { rule: { id: "other", name: "x", version: 1 } }))).not.toBe(id);
    expect(incidentIdFor(finding(1, { asset: { ...finding(1).asset, id: "dc02" } }))).not.toBe(id);
  });

  it("aligns windows on the epoch, so a boundary splits an attack in two", () => {
    expect(new Date(windowStart("2026-03-10T23:59:59.999Z")).toISOString()).toBe("2026-03-10T00:00:00.000Z");
    expect(new Date(windowStart("2026-03-11T01:00:00+02:00")).toISOString()).toBe("2026-03-10T00:00:00.000Z");
    const before = finding(1, { time: "2026-03-10T23:50:00.000Z" });
    const after = finding(2, { time: "2026-03-11T00:10:00.000Z" });
    expect(incidentIdFor(before)).not.toBe(incidentIdFor(after));
    expect(incidentIdFor(before, 2 * 24 * HOUR)).toBe(incidentIdFor(after, 2 * 24 * HOUR));
  });

  it("rejects a window that is not a positive whole number of milliseconds", () => {
    expect(() => incidentIdFor(finding(1), 0)).toThrow(RangeError);
    expect(() => incidentIdFor(finding(1), 1.5)).toThrow(RangeError);
    expect(() => windowStart("yesterday")).toThrow(/not a timestamp/);
  });
});

describe("applyFinding", () => {
  it("creates an incident from a first finding", () => {
    const store = new IncidentStore();
    const incident = applyFinding(store, finding(1), { now });
    expect(IncidentV1.parse(incident)).toEqual(incident);
    expect(incident).toMatchObject({
      id: incidentIdFor(finding(1)),
      status: "new",
      version: 1,
      finding_count: 1,
      finding_ids: ["fnd-0001"],
      rule_id: "ids.alert",
      group_key: "sig:2001219",
      window_start: "2026-03-10T00:00:00.000Z",
      first_seen: "2026-03-10T09:01:00.000Z",
      last_seen: "2026-03-10T09:01:00.000Z",
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    });
    expect(store.get(incident!.id)).toEqual(incident);
  });

  it("merges twin findings into one incident", () => {
    const store = new IncidentStore();
    const first = applyFinding(store, finding(5, { severity: "medium" }), { now })!;
    const later = new Date(now.getTime() + 60_000);
    const second = applyFinding(
      store,
      finding(2, { severity: "high", cves: ["CVE-2021-44228"], attack: ["T1190"] }),
      { now: later },
    )!;
    expect(store.size).toBe(1);
    expect(second).toMatchObject({
      id: first.id,
      version: 2,
      finding_count: 2,
      severity: "high",
      finding_ids: ["fnd-0005", "fnd-0002"],
      first_seen: "2026-03-10T09:02:00.000Z",
      last_seen: "2026-03-10T09:05:00.000Z",
      created_at: now.toISOString(),
      updated_at: later.toISOString(),
      cves: ["CVE-2021-44228"],
      attack: ["T1190"],
    });
    // Evidence is ordered by event time, whatever the arrival order.
    expect(second.evidence.map((e) => e.id)).toEqual(["alert-2", "alert-5"]);
    // Severity never goes down.
    expect(applyFinding(store, finding(3, { severity: "low" }), { now })!.severity).toBe("high");
  });

  it("returns null for a finding it has already applied and changes nothing", () => {
    const store = new IncidentStore();
    const incident = applyFinding(store, finding(1), { now })!;
    expect(applyFinding(store, finding(1), { now: new Date(now.getTime() + HOUR) })).toBeNull();
    expect(store.get(incident.id)).toEqual(incident);
  });

  it("replays to the same ids and counts, apart from processing times", () => {
    const findings = [
      finding(1),
      finding(2, { severity: "high" }),
      finding(3, { group_key: "sig:9" }),
      finding(1),
    ];
    const run = (at: Date) => {
      const store = new IncidentStore();
      for (const f of findings) applyFinding(store, f, { now: at });
      return [...store.values()].map(({ created_at: _c, updated_at: _u, ...rest }) => rest);
    };
    const first = run(now);
    expect(first.map((i) => i.finding_count)).toEqual([2, 1]);
    expect(run(new Date(now.getTime() + 24 * HOUR))).toEqual(first);
  });

  it("opens a new incident in another window", () => {
    const store = new IncidentStore();
    const a = applyFinding(store, finding(1, { time: "2026-03-10T10:00:00.000Z" }), { now })!;
    const b = applyFinding(store, finding(2, { time: "2026-03-11T10:00:00.000Z" }), { now })!;
    expect(b.id).not.toBe(a.id);
    expect(b).toMatchObject({ version: 1, finding_count: 1, window_start: "2026-03-11T00:00:00.000Z" });
    const hourly = applyFinding(new IncidentStore(), finding(3, { time: "2026-03-10T10:30:00.000Z" }), {
      now,
      mergeWindowMs: HOUR,
    })!;
    expect(hourly.window_start).toBe("2026-03-10T10:00:00.000Z");
  });

  it("bounds evidence and finding ids but still recognises findings that scrolled out", () => {
    const store = new IncidentStore();
    let incident: IncidentV1 | null = null;
    for (let n = 1; n <= 120; n++)
      incident = applyFinding(store, finding(n), { now, maxEvidence: 50, maxFindingIds: 50 });
    expect(incident!.finding_count).toBe(120);
    expect(incident!.evidence).toHaveLength(50);
    expect(incident!.evidence[0]!.id).toBe("alert-71");
    expect(incident!.evidence.at(-1)!.id).toBe("alert-120");
    expect(incident!.finding_ids).toHaveLength(50);
    expect(incident!.finding_ids[0]).toBe("fnd-0071");
    expect(applyFinding(store, finding(3), { now })).toBeNull();
    expect(store.get(incident!.id)!.finding_count).toBe(120);
    expect(IncidentV1.safeParse(incident).success).toBe(true);
  });

  it("forgets the oldest seen ids beyond the store's bound", () => {
    const store = new IncidentStore({ maxSeenPerIncident: 10 });
    for (let n = 1; n <= 20; n++) applyFinding(store, finding(n), { now });
    const id = incidentIdFor(finding(1));
    expect(store.hasApplied(id, "fnd-0011")).toBe(true);
    expect(store.hasApplied(id, "fnd-0010")).toBe(false);
  });
});

describe("IncidentStore.restore", () => {
  it("keeps the highest version per id and continues from it", () => {
    const source = new IncidentStore();
    const v1 = applyFinding(source, finding(1), { now })!;
    const v2 = applyFinding(source, finding(2), { now })!;
    const other = applyFinding(source, finding(3, { group_key: "sig:7" }), { now })!;

    const restored = new IncidentStore();
    restored.restore([v2, other, v1]);
    expect(restored.size).toBe(2);
    expect(restored.get(v1.id)).toEqual(v2);
    // Findings named in the restored record are recognised: no double count after a restart.
    expect(applyFinding(restored, finding(1), { now })).toBeNull();
    expect(applyFinding(restored, finding(2), { now })).toBeNull();
    const v3 = applyFinding(restored, finding(4), { now })!;
    expect(v3).toMatchObject({ version: 3, finding_count: 3 });
  });

  it("drops an incident on a tombstone", () => {
    const store = new IncidentStore();
    const incident = applyFinding(store, finding(1), { now })!;
    expect(store.delete(incident.id)).toBe(true);
    expect(store.get(incident.id)).toBeUndefined();
  });
});
