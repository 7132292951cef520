const units: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const pattern = /^(\d{1,9})(ms|s|m|h|d|w)$/;

/** `30s`, `5m`, `1h`, `7d`, `2w`, `500ms` to milliseconds; an error message for anything else. */
export function parseDuration(text: string): number | string {
  const match = pattern.exec(text.trim());
  if (!match) return `expected a duration like 30s, 5m, 1h, 7d or 2w, got "${text}"`;
  return Number(match[1]) * units[match[2]!]!;
}

/** The shortest exact spelling of a duration, for explanations (`7d`, `90m`, `1500ms`). */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) {
    const size = units[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
