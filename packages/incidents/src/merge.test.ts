import type { EvidenceRef } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { earlier, later, maxSeverity, mergeEvidence, union } from "./merge.ts";

const ref = (n: number, topic = "vigil.ids.alerts"): EvidenceRef => ({
  topic,
  id: `alert-${n}`,
  time: new Date(Date.parse("2026-03-10T09:00:00.000Z") + n * 60_000).toISOString(),
  summary: `alert ${n}`,
});

describe("mergeEvidence", () => {
  it("keeps the latest by event time, whatever order the findings arrived in", () => {
    const current = [ref(5), ref(1)];
    const merged = mergeEvidence(current, [ref(3), ref(9)], 3);
    expect(merged.map((e) => e.id)).toEqual(["alert-3", "alert-5", "alert-9"]);
  });

  it("deduplicates by topic and id: a redelivered event does not take two places", () => {
    const merged = mergeEvidence([ref(1), ref(2)], [ref(2), ref(2, "vigil.firewall.events")], 10);
    expect(merged.map((e) => `${e.topic}/${e.id}`)).toEqual([
      "vigil.ids.alerts/alert-1",
      "vigil.ids.alerts/alert-2",
      "vigil.firewall.events/alert-2",
    ]);
  });

  it("bounds a long-running incident's evidence", () => {
    const all = Array.from({ length: 120 }, (_, i) => ref(i + 1));
    const merged = all.reduce<EvidenceRef[]>((acc, e) => mergeEvidence(acc, [e], 50), []);
    expect(merged).toHaveLength(50);
    expect(merged[0]!.id).toBe("alert-71");
    expect(merged.at(-1)!.id).toBe("alert-120");
  });
});

describe("field merges", () => {
  it("take the more severe, the earlier and the later, and the union", () => {
    expect(maxSeverity("medium", "critical")).toBe("critical");
    expect(maxSeverity("high", "low")).toBe("high");
    // Offsets compare as instants, not as strings.
    expect(earlier("2026-03-10T10:00:00Z", "2026-03-10T11:30:00+02:00")).toBe("2026-03-10T11:30:00+02:00");
    expect(later("2026-03-10T10:00:00Z", "2026-03-10T11:30:00+02:00")).toBe("2026-03-10T10:00:00Z");
    expect(union(["CVE-1", "CVE-2"], ["CVE-2", "CVE-3"])).toEqual(["CVE-1", "CVE-2", "CVE-3"]);
  });
});
