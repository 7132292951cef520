import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileGlob } from "./glob.ts";
import { compareKnownPrecision, compareVersions, compareWithUpperBound, isVersion } from "./version.ts";

/** Versions as they occur: Windows builds, dotted versions with letters, pre-releases, distro suffixes. */
const versionText = fc.oneof(
  fc
    .array(fc.integer({ min: 0, max: 30000 }), { minLength: 1, maxLength: 5 })
    .map((parts) => parts.join(".")),
  fc
    .tuple(
      fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 4 }),
      fc.constantFrom("", "a", "k", "-beta1", "-rc2", "~rc1", "-0ubuntu1.15", ".dev", "b", "-preview"),
    )
    .map(([parts, suffix]) => parts.join(".") + suffix),
  fc.stringMatching(/^[0-9a-zA-Z.\-_+~]{0,12}$/),
);

describe("compareVersions", () => {
  it.each([
    ["10.0.17763.1879", "10.0.17763.2000", -1],
    ["10.0.17763.1879", "10.0.17763", 1],
    ["10.0.19045", "10.0.19044.4046", 1],
    ["1.0", "1.0.0", 0],
    ["04.1", "4.1", 0],
    ["2.0-rc1", "2.0", -1],
    ["2.0-beta9", "2.0-rc1", -1],
    ["2.0-alpha", "2.0-beta", -1],
    ["1.0.1a", "1.0.1", 1],
    ["1.0.1a", "1.0.1b", -1],
    ["1.0.2k", "1.0.2l", -1],
    ["1.0.1", "1.0a", 1],
    ["3.0.2-0ubuntu1.15", "3.0.2-0ubuntu1.14", 1],
    ["3.0.2-0ubuntu1.15", "3.0.2-0ubuntu1.9", 1],
    ["1.0~rc1", "1.0", -1],
    ["123.0.6312.59", "122.0.6261.112", 1],
    ["99999999999999999999999.1", "99999999999999999999998.9", 1],
    ["1.0.A", "1.0.a", 0],
  ] as const)("%s vs %s is %i", (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it("is reflexive and antisymmetric", () => {
    fc.assert(
      fc.property(versionText, versionText, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
      }),
      { numRuns: 2000 },
    );
  });

  it("is transitive", () => {
    fc.assert(
      fc.property(versionText, versionText, versionText, (a, b, c) => {
        const sorted = [a, b, c].sort(compareVersions);
        const [x, y, z] = sorted as [string, string, string];
        expect(compareVersions(x, y)).toBeLessThanOrEqual(0);
        expect(compareVersions(y, z)).toBeLessThanOrEqual(0);
        expect(compareVersions(x, z)).toBeLessThanOrEqual(0);
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0)
          expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
        if (compareVersions(a, b) === 0 && compareVersions(b, c) === 0) expect(compareVersions(a, c)).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("orders Windows builds numerically, not as text", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 99999 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 99999 }), { minLength: 4, maxLength: 4 }),
        (a, b) => {
          const expected = a.findIndex((part, index) => part !== b[index]);
          const order = expected < 0 ? 0 : a[expected]! < b[expected]! ? -1 : 1;
          expect(compareVersions(a.join("."), b.join("."))).toBe(order);
        },
      ),
    );
  });

  it("knows a version needs a digit", () => {
    expect(isVersion("10.0")).toBe(true);
    expect(isVersion("latest")).toBe(false);
  });
});

describe("compareWithUpperBound", () => {
  it("reads a bound at the precision it is written in", () => {
    expect(compareWithUpperBound("122.0.6261.112", "122")).toBe(0);
    expect(compareWithUpperBound("123.0.6312.59", "122")).toBe(1);
    expect(compareWithUpperBound("121.9", "122")).toBe(-1);
    expect(compareWithUpperBound("122.0.6261.129", "122.0.6261.112")).toBe(1);
    expect(compareWithUpperBound("122.0.6261.112", "122.0.6261.112")).toBe(0);
  });

  it("only ever widens the bound: beyond it at its precision means beyond it outright", () => {
    fc.assert(
      fc.property(versionText, versionText, (version, bound) => {
        const order = compareWithUpperBound(version, bound);
        if (order !== 0) expect(compareVersions(version, bound)).toBe(order);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("compareKnownPrecision", () => {
  it("does not guess the revision a host does not report", () => {
    expect(compareKnownPrecision("10.0.17763", "10.0.17763.1879")).toBeUndefined();
    expect(compareKnownPrecision("10.0.17763", "10.0.19045.1")).toBe(-1);
    expect(compareKnownPrecision("10.0.19045", "10.0.17763.1879")).toBe(1);
    expect(compareKnownPrecision("10.0.17763.1879", "10.0.17763")).toBe(1);
    expect(compareKnownPrecision("10.0.17763.0", "10.0.17763")).toBe(0);
    expect(compareKnownPrecision("10.0.17763", "10.0.17763.0")).toBe(0);
    expect(compareKnownPrecision("22.04.4 LTS (Jammy Jellyfish)", "22.04")).toBe(1);
    expect(compareKnownPrecision("unknown", "22.04")).toBeUndefined();
  });

  it("agrees with compareVersions whenever it answers on plain numeric versions", () => {
    const numeric = fc
      .array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 4 })
      .map((parts) => parts.join("."));
    fc.assert(
      fc.property(numeric, numeric, (host, bound) => {
        const order = compareKnownPrecision(host, bound);
        if (order !== undefined) expect(order).toBe(compareVersions(host, bound));
      }),
    );
  });
});

describe("compileGlob", () => {
  it("matches * and ? case-insensitively, nothing else special", () => {
    expect(compileGlob("*Windows Server 2019*").matches("Microsoft Windows Server 2019 Standard")).toBe(true);
    expect(compileGlob("7-Zip*").matches("7-Zip 23.01 (x64)")).toBe(true);
    expect(compileGlob("update:*").matches("update:KB5034763")).toBe(true);
    expect(compileGlob("update:*").matches("software:Chrome")).toBe(false);
    expect(compileGlob("KB50?4763").matches("kb5034763")).toBe(true);
    expect(compileGlob("a.b").matches("axb")).toBe(false);
    expect(compileGlob("[abc]").matches("[ABC]")).toBe(true);
    expect(compileGlob("*a*b*c").matches("xxaxxbxxc")).toBe(true);
    expect(compileGlob("*a*b*c").matches("xxaxxbxxcx")).toBe(false);
  });

  it("stays fast on a hostile pattern and name", () => {
    const name = "a".repeat(5000);
    const glob = compileGlob(`${"*a".repeat(20)}b`);
    expect(glob.matches(name)).toBe(false);
  });
});
