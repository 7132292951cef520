import { describe, expect, it } from "vitest";
import { byteSizeSchema, formatDuration, parseDuration } from "./values.ts";

describe("durations", () => {
  it("parses durations", () => {
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    expect(parseDuration("500ms")).toBe(500);
    for (const bad of ["", "h", "24", "-1h", "1.5h", "30m1h", "1 day"])
      expect(parseDuration(bad)).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe("1h30m");
  });
});

describe("byteSizeSchema", () => {
  const size = byteSizeSchema(1024, 4 * 1024 * 1024);
  it("reads plain bytes and k/M suffixes as binary multiples", () => {
    expect(size.parse("2048")).toBe(2048);
    expect(size.parse("512k")).toBe(512 * 1024);
    expect(size.parse("4MiB")).toBe(4 * 1024 * 1024);
  });
  it("refuses other text and values out of bounds, saying the bound", () => {
    expect(size.safeParse("abc").success).toBe(false);
    expect(size.safeParse("-1k").success).toBe(false);
    expect(size.safeParse("5M").error?.issues[0]?.message).toBe("at most 4 MiB");
    expect(size.safeParse("1000").error?.issues[0]?.message).toBe("at least 1 KiB");
  });
});
