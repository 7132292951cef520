import { describe, expect, it } from "vitest";
import { nextRelease, previousRelease, releaseOfMonth } from "./release-calendar.ts";

describe("Microsoft's regular release calendar", () => {
  it("is the second Tuesday at 10:00 Pacific, in PST or PDT as that day has it", () => {
    expect(releaseOfMonth(2024, 3)).toMatchObject({ date: "2024-03-12", zone: "PDT", utcOffset: "-07:00" });
    expect(releaseOfMonth(2024, 3).start.toISOString()).toBe("2024-03-12T17:00:00.000Z");
    // DST starts on 14 March 2027, after that month's release (9 March): still PST.
    expect(releaseOfMonth(2027, 3)).toMatchObject({ date: "2027-03-09", zone: "PST" });
    expect(releaseOfMonth(2027, 3).start.toISOString()).toBe("2027-03-09T18:00:00.000Z");
    // DST ends on the first Sunday of November, always before the release.
    expect(releaseOfMonth(2024, 11).start.toISOString()).toBe("2024-11-12T18:00:00.000Z");
    expect(releaseOfMonth(2024, 10).start.toISOString()).toBe("2024-10-08T17:00:00.000Z");
    expect(releaseOfMonth(2026, 9).date).toBe("2026-09-08");
    expect(releaseOfMonth(2020, 8).date).toBe("2020-08-11");
    expect(releaseOfMonth(2017, 3).date).toBe("2017-03-14");
    expect(releaseOfMonth(2024, 1).end.toISOString()).toBe("2024-01-09T19:00:00.000Z");
  });

  it("gives the next and previous release around an instant", () => {
    const now = new Date("2024-03-12T16:59:59.999Z");
    expect(nextRelease(now).date).toBe("2024-03-12");
    expect(previousRelease(now).date).toBe("2024-02-13");
    const during = new Date("2024-03-12T17:30:00Z");
    expect(nextRelease(during).date).toBe("2024-04-09");
    expect(previousRelease(during).date).toBe("2024-03-12");
  });

  it("crosses month and year boundaries, whatever the UTC date is", () => {
    // 31 Dec 2024 23:30 Pacific is already 1 Jan 2025 in UTC.
    const newYear = new Date("2025-01-01T07:30:00Z");
    expect(nextRelease(newYear).date).toBe("2025-01-14");
    expect(previousRelease(newYear).date).toBe("2024-12-10");
    expect(nextRelease(new Date("2024-12-10T18:00:01Z")).date).toBe("2025-01-14");
  });

  it("always returns the adjacent release: next is after, previous at or before, a month or so apart", () => {
    for (let time = Date.UTC(2023, 0, 1); time < Date.UTC(2029, 0, 1); time += 7 * 3_600_000 + 123_457) {
      const now = new Date(time);
      const next = nextRelease(now);
      const previous = previousRelease(now);
      expect(next.start.getTime()).toBeGreaterThan(time);
      expect(previous.start.getTime()).toBeLessThanOrEqual(time);
      const gapDays = (next.start.getTime() - previous.start.getTime()) / 86_400_000;
      expect(gapDays).toBeGreaterThanOrEqual(27.9);
      expect(gapDays).toBeLessThanOrEqual(35.1);
      expect(new Date(`${next.date}T12:00:00Z`).getUTCDay()).toBe(2);
    }
  });
});
