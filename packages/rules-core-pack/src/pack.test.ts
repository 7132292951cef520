import { describe, expect, it } from "vitest";
import { runPackTests } from "./contract.ts";
import { PACK_ROOT } from "./index.ts";

describe("the core pack's own tests (what `vigil rules test packages/rules-core-pack` runs)", () => {
  it("every case produces exactly the findings it expects", async () => {
    const report = await runPackTests(PACK_ROOT);
    const failures = report.cases
      .filter((testCase) => !testCase.ok)
      .map((testCase) => ({
        name: testCase.name,
        missing: testCase.missing,
        extra: testCase.extra,
        errors: testCase.errors,
      }));
    expect(failures).toEqual([]);
    expect(report.cases.length).toBeGreaterThanOrEqual(25);
    expect(report.rules).toBe(23);
  }, 60_000);
});
