import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.ts";
import { cli } from "./index.ts";

const io = {
  out: () => {},
  exit: (code: number): never => {
    throw new Error(`exit ${code}`);
  },
};

describe("merge window", () => {
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

  it("defaults to 24h and validates the flag and VIGIL_MERGE_WINDOW", () => {
    expect(cli.parse([], {}, io).values.mergeWindow).toBe(86_400_000);
    expect(cli.parse([], { VIGIL_MERGE_WINDOW: "12h" }, io).values.mergeWindow).toBe(43_200_000);
    expect(cli.parse(["--merge-window", "30m"], { VIGIL_MERGE_WINDOW: "12h" }, io).values.mergeWindow).toBe(
      1_800_000,
    );
    expect(() => cli.parse(["--merge-window", "soon"], {}, io)).toThrow(
      /--merge-window \/ VIGIL_MERGE_WINDOW: .*a duration like 24h/,
    );
    expect(() => cli.parse(["--merge-window", "10s"], {}, io)).toThrow(/at least 1m/);
    expect(() => cli.parse(["--merge-window", "31d"], {}, io)).toThrow(/at most 30d/);
  });
});
