import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AdvisoryV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import {
  csafEntry,
  KevCatalog,
  NOT_IMPLEMENTED_MANDATORY_TESTS,
  parseCsaf,
  parseKevCsv,
  parseKevJson,
  parseNvdPage,
} from "./index.ts";

const corpora = resolve(import.meta.dirname, "../../../..", "../shared/corpora");
function corpus(path: string): string {
  const full = join(corpora, path);
  if (!existsSync(full)) throw new Error(`corpus file missing: ${full} (see /work/shared/corpora/README.md)`);
  return full;
}

describe("CISA KEV catalog (cisa-kev corpus)", () => {
  const jsonText = readFileSync(corpus("cisa-kev/known_exploited_vulnerabilities.json"), "utf8");
  const csvText = readFileSync(corpus("cisa-kev/known_exploited_vulnerabilities.csv"), "utf8");

  it("every record of the real catalog passes the zod mirror of its JSON Schema", () => {
    const catalog = KevCatalog.parse(JSON.parse(jsonText));
    expect(catalog.vulnerabilities).toHaveLength(catalog.count);
    expect(catalog.count).toBe(1404);
  });

  it("the mirror rejects what the JSON Schema rejects", () => {
    const catalog = JSON.parse(jsonText) as { vulnerabilities: Record<string, unknown>[] };
    const first = catalog.vulnerabilities[0]!;
    const cases: [Record<string, unknown>, string][] = [
      [{ ...first, cveID: "CVE-21-1" }, "cveID"],
      [{ ...first, dueDate: "2025-13-01" }, "dueDate"],
      [{ ...first, cwes: ["CWE-x"] }, "cwes"],
      [
        Object.fromEntries(Object.entries(first).filter(([key]) => key !== "requiredAction")),
        "requiredAction",
      ],
    ];
    for (const [entry, field] of cases) {
      const result = KevCatalog.safeParse({ ...catalog, vulnerabilities: [entry] });
      expect(result.success).toBe(false);
      expect(result.error!.issues[0]!.path).toContain(field);
    }
  });

  it("parses every JSON entry and every CSV row into the same advisory, row for row", () => {
    const json = parseKevJson(jsonText);
    const csv = parseKevCsv(csvText);
    if (json.status !== "document" || csv.status !== "document") throw new Error("not parsed as documents");
    expect(json.warnings).toEqual([]);
    expect(json.entries).toHaveLength(1404);
    expect(csv.entries).toHaveLength(1404);
    for (const [index, entry] of json.entries.entries()) {
      expect(entry.result.status).toBe("record");
      expect(csv.entries[index]!.result).toEqual(entry.result);
    }
    for (const entry of json.entries)
      if (entry.result.status === "record") AdvisoryV1.parse(entry.result.value);
  });

  it("carries the KEV fields of CVE-2021-44228 (Log4Shell)", () => {
    const json = parseKevJson(jsonText);
    if (json.status !== "document") throw new Error("not parsed");
    const log4shell = json.entries
      .map((entry) => entry.result)
      .find((result) => result.status === "record" && result.value.id === "CVE-2021-44228");
    expect(log4shell).toMatchObject({
      status: "record",
      value: {
        source: "cisa-kev",
        cves: ["CVE-2021-44228"],
        known_exploited: {
          source: "cisa-kev",
          date_added: "2021-12-10",
          due_date: "2021-12-24",
          ransomware_use: "Known",
        },
        products: [{ vendor: "Apache", product_name: "Log4j2" }],
      },
    });
  });
});

describe("NVD CVE API 2.0 page (anchore-vunnel corpus)", () => {
  const base = "anchore-vunnel/tests/unit/providers/nvd/test-fixtures";
  const page = parseNvdPage(readFileSync(corpus(`${base}/full-page.json`)));

  interface Snapshot {
    item: {
      cve: {
        id: string;
        published: string;
        lastModified: string;
        descriptions: { lang: string; value: string }[];
        references?: { url: string }[];
        weaknesses?: { description: { value: string }[] }[];
        metrics?: Record<
          string,
          { cvssData: { baseScore: number; vectorString: string; version: string } }[]
        >;
        configurations?: {
          nodes: {
            cpeMatch: {
              criteria: string;
              vulnerable: boolean;
              versionEndExcluding?: string;
              versionStartIncluding?: string;
              fix?: { version: string };
            }[];
          }[];
        }[];
      };
    };
  }

  it("parses all 38 CVEs and each matches vunnel's normalized snapshot on the fields both have", () => {
    if (page.status !== "document") throw new Error("not parsed");
    expect(page.entries).toHaveLength(38);
    let compared = 0;
    for (const entry of page.entries) {
      if (entry.result.status !== "record") throw new Error(`${entry.path}: ${entry.result.reason}`);
      const advisory = AdvisoryV1.parse(entry.result.value);
      const year = advisory.id.split("-")[1]!;
      const snapshot = JSON.parse(
        readFileSync(corpus(`${base}/snapshots/full-page/${year}/${advisory.id.toLowerCase()}.json`), "utf8"),
      ) as Snapshot;
      const cve = snapshot.item.cve;
      expect(advisory.id).toBe(cve.id);
      expect(advisory.published).toBe(`${cve.published}Z`);
      expect(advisory.updated).toBe(`${cve.lastModified}Z`);
      expect(advisory.summary).toBe(cve.descriptions.find((d) => d.lang === "en")?.value);
      expect(advisory.references.map((r) => r.url)).toEqual((cve.references ?? []).map((r) => r.url));
      const cwes = new Set(
        (cve.weaknesses ?? [])
          .flatMap((w) => w.description.map((d) => d.value))
          .filter((v) => /^CWE-\d+$/.test(v)),
      );
      expect(new Set(advisory.cwes)).toEqual(cwes);
      const scores = Object.values(cve.metrics ?? {}).flatMap((list) =>
        list.map((m) => `${m.cvssData.version} ${m.cvssData.vectorString} ${m.cvssData.baseScore}`),
      );
      expect(advisory.cvss.map((s) => `${s.version} ${s.vector} ${s.score}`).sort()).toEqual(scores.sort());
      const matches = (cve.configurations ?? []).flatMap((c) => c.nodes.flatMap((n) => n.cpeMatch));
      expect(advisory.cpe_matches.map((m) => [m.criteria, m.vulnerable])).toEqual(
        matches.map((m) => [m.criteria, m.vulnerable]),
      );
      for (const [index, match] of matches.entries()) {
        expect(advisory.cpe_matches[index]!.version_end_excluding).toBe(match.versionEndExcluding);
        expect(advisory.cpe_matches[index]!.version_start_including).toBe(match.versionStartIncluding);
        // vunnel's fix version for a range is the range's exclusive end.
        if (match.fix && match.versionEndExcluding) expect(match.fix.version).toBe(match.versionEndExcluding);
      }
      compared += 1;
    }
    expect(compared).toBe(38);
  });
});

interface TestCases {
  tests: { id: string; group: string; failures?: { name: string }[]; valid?: { name: string }[] }[];
}

/**
 * Known gaps, counted: invalid cases whose rule Vigil does not implement, and valid cases of the
 * optional tests that break a mandatory test themselves (both hold md5 twice in one file_hashes,
 * which 6.1.25 forbids), so Vigil rejects them.
 */
const KNOWN_GAPS = {
  notRejected: { "mandatory/oasis_csaf_tc-csaf_2_0-2021-6-1-11-01.json": "6.1.11" },
  notAccepted: {
    "optional/oasis_csaf_tc-csaf_2_0-2021-6-2-08-02.json": "6.1.25",
    "optional/oasis_csaf_tc-csaf_2_0-2021-6-2-09-02.json": "6.1.25",
  },
} as const;

describe("CSAF 2.0 validator test cases (oasis-csaf corpus)", () => {
  const dir = corpus("oasis-csaf/csaf_2.0/test/validator/data");
  const cases = JSON.parse(readFileSync(join(dir, "testcases.json"), "utf8")) as TestCases;
  const load = (name: string) => JSON.parse(readFileSync(join(dir, name), "utf8")) as unknown;

  it("rejects every mandatory failing case with a reason naming its test (except the listed gaps)", () => {
    let rejected = 0;
    const gaps: string[] = [];
    for (const test of cases.tests.filter((t) => t.group === "mandatory"))
      for (const { name } of test.failures ?? []) {
        const result = csafEntry(load(name));
        if (name in KNOWN_GAPS.notRejected) {
          expect(result.status, name).toBe("record");
          gaps.push(name);
          continue;
        }
        if (result.status !== "invalid") throw new Error(`${name} (${test.id}) was accepted`);
        expect(result.reason, name).toMatch(new RegExp(`${test.id.replaceAll(".", "\\.")} /|schema`));
        rejected += 1;
      }
    expect({ rejected, gaps: gaps.length }).toEqual({ rejected: 86, gaps: 1 });
    expect(Object.keys(NOT_IMPLEMENTED_MANDATORY_TESTS)).toEqual(["6.1.11"]);
  });

  it("accepts every valid case, and the optional/informative cases, which no mandatory test fails (except the listed gaps)", () => {
    let accepted = 0;
    const gaps: string[] = [];
    for (const test of cases.tests) {
      const names = [...(test.valid ?? []), ...(test.group === "mandatory" ? [] : (test.failures ?? []))];
      for (const { name } of names) {
        const result = csafEntry(load(name));
        if (name in KNOWN_GAPS.notAccepted) {
          expect(result.status === "invalid" && result.reason.includes("6.1.25"), name).toBe(true);
          gaps.push(name);
          continue;
        }
        if (result.status !== "record")
          throw new Error(`${name} (${test.id}) was rejected: ${result.reason}`);
        AdvisoryV1.parse(result.value);
        accepted += 1;
      }
    }
    // 60 mandatory valid + 15 + 19 optional/informative valid + 36 + 22 optional/informative failing (warnings, not errors).
    expect({ accepted, gaps: gaps.length }).toEqual({ accepted: 150, gaps: 2 });
  });

  it("accepts the real CSAF 2.0 advisories and VEX examples", () => {
    const examples = corpus("oasis-csaf/csaf_2.0/examples/csaf");
    const files = [
      ...readdirSync(examples)
        .filter((f) => f.endsWith(".json"))
        .map((f) => join(examples, f)),
      ...readdirSync(join(examples, "csaf_vex"))
        .filter((f) => f.endsWith(".json"))
        .map((f) => join(examples, "csaf_vex", f)),
    ];
    expect(files.length).toBe(19);
    for (const file of files) {
      const result = parseCsaf(readFileSync(file));
      if (result.status !== "document") throw new Error(`${file}: ${result.found}`);
      const entry = result.entries[0]!.result;
      if (entry.status !== "record") throw new Error(`${file}: ${entry.reason}`);
      AdvisoryV1.parse(entry.value);
    }
  });

  it("maps a Red Hat advisory's products, status, fix and score", () => {
    const result = parseCsaf(
      readFileSync(join(corpus("oasis-csaf/csaf_2.0/examples/csaf"), "rhsa-2021_5217.json")),
    );
    if (result.status !== "document" || result.entries[0]!.result.status !== "record")
      throw new Error("rejected");
    const advisory = result.entries[0]!.result.value;
    expect(advisory).toMatchObject({
      id: "RHSA-2021:5217",
      source: "csaf:redhat.com",
      cves: ["CVE-2021-4133"],
      cwes: ["CWE-863"],
      products: [
        { product_id: "Red Hat Single Sign-On", vendor: "Red Hat", product_name: "Red Hat Single Sign-On" },
      ],
      product_status: [
        { vulnerability: "CVE-2021-4133", status: "fixed", product_ids: ["Red Hat Single Sign-On"] },
      ],
      remediations: [{ category: "vendor_fix", url: "https://access.redhat.com/errata/RHSA-2021:5217" }],
    });
  });

  it("says CSAF 2.1 is not supported rather than listing schema differences", () => {
    const result = parseCsaf(readFileSync(corpus("oasis-csaf/csaf_2.1/examples/csaf/rhsa-2021_5217.json")));
    expect(result).toMatchObject({
      status: "document",
      entries: [
        {
          result: {
            status: "invalid",
            reason: '/document/csaf_version: "2.1" is not supported, only CSAF 2.0 is',
          },
        },
      ],
    });
  });
});
