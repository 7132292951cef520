import { describe, expect, it } from "vitest";
import { cli } from "./index.ts";

const io = {
  out: () => {},
  exit: (code: number): never => {
    throw new Error(`exit ${code}`);
  },
};

describe("--merge-window", () => {
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
