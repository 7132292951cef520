/**
 * Microsoft's regular security release ("Patch Tuesday"): the second Tuesday of each month,
 * published from 10:00 to 11:00 Pacific time. Pacific means PST (UTC-8) or PDT (UTC-7) on that
 * day, so the UTC time moves with US daylight saving (e.g. 9 March 2027 is still PST, 10 March 2026
 * already PDT). The zone rules come from the runtime's ICU data (`America/Los_Angeles`).
 */

export const RELEASE_TIME_ZONE = "America/Los_Angeles";
export const RELEASE_HOUR = 10;
export const RELEASE_DURATION_MS = 60 * 60 * 1000;

export interface ReleaseWindow {
  /** The Pacific calendar date, YYYY-MM-DD. */
  date: string;
  /** 10:00 Pacific. */
  start: Date;
  /** 11:00 Pacific. */
  end: Date;
  /** `-08:00` (PST) or `-07:00` (PDT) on that day. */
  utcOffset: string;
  zone: "PST" | "PDT";
}

const parts = new Intl.DateTimeFormat("en-US", {
  timeZone: RELEASE_TIME_ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** Minutes the Pacific wall clock is ahead of UTC at `instant` (-480 or -420). */
function pacificOffsetMinutes(instant: number): number {
  const fields: Record<string, number> = {};
  for (const part of parts.formatToParts(new Date(instant)))
    if (part.type !== "literal") fields[part.type] = Number(part.value);
  const wall = Date.UTC(
    fields.year!,
    fields.month! - 1,
    fields.day!,
    fields.hour!,
    fields.minute!,
    fields.second!,
  );
  return Math.round((wall - Math.floor(instant / 1000) * 1000) / 60_000);
}

/** The UTC instant of a Pacific wall-clock time (10:00 is never in a DST gap or overlap). */
function pacificToUtc(year: number, month: number, day: number, hour: number): number {
  const guess = Date.UTC(year, month - 1, day, hour);
  const offset = pacificOffsetMinutes(guess - 8 * 3_600_000);
  const first = guess - offset * 60_000;
  const corrected = pacificOffsetMinutes(first);
  return guess - corrected * 60_000;
}

/** The regular release of a month (`month` 1-12). */
export function releaseOfMonth(year: number, month: number): ReleaseWindow {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const firstTuesday = 1 + ((2 - firstWeekday + 7) % 7);
  const day = firstTuesday + 7;
  const start = pacificToUtc(year, month, day, RELEASE_HOUR);
  const offset = pacificOffsetMinutes(start);
  const hours = Math.abs(offset) / 60;
  return {
    date: `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`,
    start: new Date(start),
    end: new Date(start + RELEASE_DURATION_MS),
    utcOffset: `${offset < 0 ? "-" : "+"}${String(hours).padStart(2, "0")}:00`,
    zone: offset === -420 ? "PDT" : "PST",
  };
}

function shift(year: number, month: number, by: number): [number, number] {
  const index = year * 12 + (month - 1) + by;
  return [Math.floor(index / 12), (index % 12) + 1];
}

/** The first regular release starting after `now`. */
export function nextRelease(now: Date): ReleaseWindow {
  let [year, month] = [now.getUTCFullYear(), now.getUTCMonth() + 1];
  // Start a month early: near a month boundary the UTC month may be ahead of the Pacific one.
  [year, month] = shift(year, month, -1);
  for (;;) {
    const release = releaseOfMonth(year, month);
    if (release.start.getTime() > now.getTime()) return release;
    [year, month] = shift(year, month, 1);
  }
}

/** The latest regular release that has started at or before `now` (it may still be under way). */
export function previousRelease(now: Date): ReleaseWindow {
  let [year, month] = shift(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  for (;;) {
    const release = releaseOfMonth(year, month);
    if (release.start.getTime() <= now.getTime()) return release;
    [year, month] = shift(year, month, -1);
  }
}

/** `2026-03-10 10:00 PDT (2026-03-10T17:00:00.000Z)`. */
export function describeRelease(release: ReleaseWindow): string {
  return `${release.date} 10:00-11:00 ${release.zone} (UTC${release.utcOffset}; starts ${release.start.toISOString()})`;
}
