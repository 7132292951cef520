import { z } from "zod";

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `24h`, `30m`, `90s`, `1d`, `1h30m`, `500ms` -> milliseconds; a whole number per unit, largest units first. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text.trim());
  if (!match || match.slice(1).every((part) => part === undefined)) return undefined;
  const [, d, h, m, s, ms] = match;
  return (
    Number(d ?? 0) * unitMs.d +
    Number(h ?? 0) * unitMs.h +
    Number(m ?? 0) * unitMs.m +
    Number(s ?? 0) * unitMs.s +
    Number(ms ?? 0)
  );
}

/** A duration flag: text in, milliseconds out, between `min` and `max`. */
export function durationSchema(min: number, max: number) {
  return z
    .string()
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: "a duration like 24h, 30m, 90s or 1h30m" });
        return z.NEVER;
      }
      return ms;
    })
    .pipe(
      z
        .number()
        .min(min, `at least ${formatDuration(min)}`)
        .max(max, `at most ${formatDuration(max)}`),
    );
}

export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ["d", unitMs.d],
    ["h", unitMs.h],
    ["m", unitMs.m],
    ["s", unitMs.s],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join("");
}

const SIZE = /^(\d+)\s*(k|kb|kib|m|mb|mib)?$/i;

/** A size flag: `1048576`, `512k`, `4M` (binary multiples, as limits usually are) -> bytes within bounds. */
export function byteSizeSchema(min: number, max: number) {
  return z
    .string()
    .regex(SIZE, "a whole number of bytes, optionally with a k or M suffix")
    .transform((text) => {
      const [, digits, unit] = SIZE.exec(text.trim())!;
      const factor = unit === undefined ? 1 : unit.toLowerCase().startsWith("k") ? 1024 : 1024 * 1024;
      return Number(digits) * factor;
    })
    .pipe(
      z
        .number()
        .int()
        .min(min, `at least ${formatBytes(min)}`)
        .max(max, `at most ${formatBytes(max)}`),
    );
}

function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
