import type { FindingV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { incidentIdFor, windowStart } from "./incident-id.ts";

const HOUR = 60 * 60 * 1000;

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
