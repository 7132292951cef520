import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { AdvisoryV1 } from "@vigil/schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractKbIds, extractSupersedence } from "./common.ts";
import {
  csafEntry,
  detectAdvisoryFormat,
  parseAdvisoryDocument,
  parseCsaf,
  parseKevCsv,
  parseKevJson,
  parseNvdPage,
  scoreCvss2,
  scoreCvss3,
} from "./index.ts";

const examples = resolve(import.meta.dirname, "../../../../examples/advisories");
const example = (name: string) => readFileSync(resolve(examples, name));

const kevEntry = {
  cveID: "CVE-2020-1472",
  vendorProject: "Microsoft",
  product: "Netlogon",
  vulnerabilityName: "Microsoft Netlogon Privilege Escalation Vulnerability",
  dateAdded: "2021-11-03",
  shortDescription: "Netlogon elevation of privilege.",
  requiredAction: "Apply updates per vendor instructions.",
  dueDate: "2020-09-21",
  knownRansomwareCampaignUse: "Known",
  notes: "https://msrc.microsoft.com/update-guide/vulnerability/CVE-2020-1472",
  cwes: ["CWE-330"],
};
const catalog = (vulnerabilities: unknown[]) =>
  JSON.stringify({
    catalogVersion: "2025.08.25",
    dateReleased: "2025-08-25T17:04:19.9796Z",
    count: vulnerabilities.length,
    vulnerabilities,
  });

describe("KEV", () => {
  it("turns an entry into a known-exploited advisory", () => {
    const result = parseKevJson(catalog([kevEntry]));
    expect(result).toMatchObject({ status: "document", format: "kev-json", warnings: [] });
    if (result.status !== "document") return;
    const entry = result.entries[0]!;
    expect(entry.result).toEqual({
      status: "record",
      value: {
        schema: "vigil.advisory/v1",
        id: "CVE-2020-1472",
        source: "cisa-kev",
        title: kevEntry.vulnerabilityName,
        summary: kevEntry.shortDescription,
        cves: ["CVE-2020-1472"],
        cwes: ["CWE-330"],
        cpe_matches: [],
        products: [
          {
            product_id: "Microsoft:Netlogon",
            name: "Microsoft Netlogon",
            vendor: "Microsoft",
            product_name: "Netlogon",
          },
        ],
        product_status: [
          { vulnerability: "CVE-2020-1472", status: "known_affected", product_ids: ["Microsoft:Netlogon"] },
        ],
        remediations: [],
        fixing_kb_ids: [],
        known_exploited: {
          source: "cisa-kev",
          date_added: "2021-11-03",
          due_date: "2020-09-21",
          required_action: kevEntry.requiredAction,
          ransomware_use: "Known",
          vulnerability_name: kevEntry.vulnerabilityName,
          notes: kevEntry.notes,
        },
        cvss: [],
        references: [{ url: kevEntry.notes }],
      },
    });
    expect(JSON.parse(entry.bytes.toString())).toEqual(kevEntry);
  });

  it("makes a bad entry invalid on its own, naming the path, and warns on a wrong count", () => {
    const result = parseKevJson(
      JSON.stringify({ ...JSON.parse(catalog([kevEntry, { ...kevEntry, dueDate: "soon" }, 7])), count: 5 }),
    );
    if (result.status !== "document") throw new Error("not a document");
    expect(result.entries.map((entry) => entry.result.status)).toEqual(["record", "invalid", "invalid"]);
    expect(result.entries[1]!.result).toMatchObject({
      kind: "schema",
      reason: expect.stringContaining("vulnerabilities[1].dueDate"),
    });
    expect(result.entries[2]!.result).toMatchObject({
      reason: expect.stringContaining("vulnerabilities[2]"),
    });
    expect(result.warnings).toEqual(["catalog count says 5, vulnerabilities holds 3"]);
  });

  it("names the expected and the found format when the file is something else", () => {
    expect(parseKevJson('{"resultsPerPage":1,"vulnerabilities":[]}')).toEqual({
      status: "wrong-format",
      expected: "a CISA KEV JSON catalog (an object with catalogVersion and a vulnerabilities array)",
      found: "a JSON object with keys resultsPerPage, vulnerabilities",
    });
    expect(parseKevCsv("a,b\n1,2\n")).toMatchObject({
      status: "wrong-format",
      found: expect.stringContaining("without cveID"),
    });
    expect(parseKevJson("cveID,vendorProject\n")).toMatchObject({
      status: "wrong-format",
      found: expect.stringContaining("not JSON"),
    });
  });

  it("dead-letters a CSV row with the wrong number of fields, keeping its bytes", () => {
    const csv = example("kev.csv").toString();
    const [header, first] = csv.split("\n");
    const result = parseKevCsv(`${header}\n${first}\nCVE-2020-1472,Microsoft\n`);
    if (result.status !== "document") throw new Error("not a document");
    expect(result.entries[0]!.result.status).toBe("record");
    expect(result.entries[1]!).toMatchObject({
      path: "line 3",
      bytes: Buffer.from("CVE-2020-1472,Microsoft"),
      result: { status: "invalid", kind: "csv", reason: "line 3: 2 fields, the header has 11" },
    });
  });
});

describe("NVD", () => {
  it("parses the example page with KEV fields, CPE ranges and CVSS", () => {
    const result = parseNvdPage(example("nvd-page.json"));
    if (result.status !== "document") throw new Error("not a document");
    const log4shell = result.entries[0]!.result;
    if (log4shell.status !== "record") throw new Error(log4shell.reason);
    expect(log4shell.value).toMatchObject({
      id: "CVE-2021-44228",
      source: "nvd",
      severity: "critical",
      published: "2021-12-10T10:15:09.143Z",
      known_exploited: { source: "cisa-kev", date_added: "2021-12-10", due_date: "2021-12-24" },
      cvss: [
        { version: "3.1", score: 10, severity: "critical" },
        { version: "2.0", score: 9.3, severity: "high" },
      ],
    });
    expect(log4shell.value.cpe_matches[1]).toEqual({
      criteria: "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*",
      vulnerable: true,
      version_start_including: "2.4.0",
      version_end_excluding: "2.12.2",
    });
  });

  it("rejects a CVE without an id, naming the path", () => {
    const result = parseNvdPage(
      JSON.stringify({ format: "NVD_CVE", vulnerabilities: [{ cve: { published: "x" } }] }),
    );
    if (result.status !== "document") throw new Error("not a document");
    expect(result.entries[0]!.result).toMatchObject({
      status: "invalid",
      reason: expect.stringContaining("vulnerabilities[0].cve.id"),
    });
  });
});

describe("CSAF (Microsoft-style example)", () => {
  it("reads fixing KB ids, supersedence, exploitation and the CVSS score", () => {
    const result = parseCsaf(example("csaf/msrc_cve-2020-1472.json"));
    if (result.status !== "document" || result.entries[0]!.result.status !== "record")
      throw new Error("rejected");
    const advisory = result.entries[0]!.result.value;
    expect(advisory).toMatchObject({
      id: "msrc_CVE-2020-1472",
      source: "csaf:msrc.microsoft.com",
      cves: ["CVE-2020-1472"],
      fixing_kb_ids: ["KB4571703", "KB4571723", "KB4571694", "KB4565349"],
      known_exploited: { source: "csaf:msrc.microsoft.com" },
      severity: "critical",
      cvss: [{ version: "3.1", score: 10, product_ids: ["10378", "10816", "11571"] }],
    });
    expect(advisory.remediations.find((item) => item.kb_ids.includes("KB4571694"))).toMatchObject({
      supersedes: ["KB4565511"],
      product_ids: ["10816"],
      url: "https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB4571694",
    });
    expect(advisory.products.find((product) => product.product_id === "11571")).toMatchObject({
      name: "Windows Server 2019",
      vendor: "Microsoft",
      cpe: "cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*",
    });
  });

  it("rejects a score that does not match its vector (6.1.9) and an undefined product (6.1.1)", () => {
    const document = JSON.parse(example("csaf/msrc_cve-2017-0144.json").toString());
    document.vulnerabilities[0].scores[0].cvss_v3.baseScore = 9.8;
    document.vulnerabilities[0].product_status.known_affected.push("99999");
    const result = csafEntry(document);
    expect(result.status).toBe("invalid");
    if (result.status !== "invalid") return;
    expect(result.reason).toContain(
      "6.1.9 /vulnerabilities[0]/scores[0]/cvss_v3/baseScore: is 9.8, the vector computes 8.1",
    );
    expect(result.reason).toContain(
      "6.1.1 /vulnerabilities[0]/product_status/known_affected[3]: product id 99999 is not defined",
    );
  });

  it("names the expected format for JSON that is not CSAF", () => {
    expect(parseCsaf("[1,2]")).toEqual({
      status: "wrong-format",
      expected: 'a CSAF 2.0 document (an object with document.csaf_version "2.0")',
      found: "a JSON array of 2 items",
    });
  });
});

describe("format detection", () => {
  it("recognizes each example by its content", () => {
    expect(detectAdvisoryFormat(example("kev.json"))).toBe("kev-json");
    expect(detectAdvisoryFormat(example("kev.csv"))).toBe("kev-csv");
    expect(detectAdvisoryFormat(example("nvd-page.json"))).toBe("nvd-json");
    expect(detectAdvisoryFormat(example("csaf/msrc_cve-2017-0144.json"))).toBe("csaf");
    expect(parseAdvisoryDocument("hello", "auto")).toMatchObject({
      status: "wrong-format",
      found: 'text starting "hello"',
    });
  });
});

describe("KB ids and supersedence", () => {
  it("finds KB ids in MSRC details, text and catalog URLs", () => {
    expect(extractKbIds("5034441")).toEqual(["KB5034441"]);
    expect(
      extractKbIds(
        "Install KB 5034441 first",
        "https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB5034441",
      ),
    ).toEqual(["KB5034441"]);
    expect(extractKbIds("see https://access.redhat.com/errata/RHSA-2021:5217")).toEqual([]);
    expect(extractSupersedence("Security Update; Supersedes KB4565511")).toEqual(["KB4565511"]);
    expect(extractSupersedence("Supersedence: 4565511, 4558998")).toEqual(["KB4565511", "KB4558998"]);
  });
});

describe("CVSS computation", () => {
  it("matches FIRST's published scores", () => {
    expect(scoreCvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")).toMatchObject({
      baseScore: 10,
      baseSeverity: "CRITICAL",
    });
    expect(scoreCvss3("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H")).toMatchObject({ baseScore: 8.1 });
    expect(scoreCvss3("CVSS:3.1/AV:L/AC:L/PR:H/UI:R/S:U/C:H/I:H/A:H")).toMatchObject({ baseScore: 6.5 });
    expect(scoreCvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")).toMatchObject({ baseScore: 6.1 });
    expect(scoreCvss3("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N")).toMatchObject({
      baseScore: 0,
      baseSeverity: "NONE",
    });
    expect(scoreCvss2("AV:N/AC:M/Au:N/C:C/I:C/A:C")).toMatchObject({ baseScore: 9.3 });
    expect(scoreCvss2("AV:N/AC:L/Au:N/C:C/I:C/A:C")).toMatchObject({ baseScore: 10 });
    expect(scoreCvss3("CVSS:3.1/AV:N")).toBe("base metric AC missing");
  });
});

describe("fuzz: no input makes a parser throw", () => {
  const formats = ["kev-json", "kev-csv", "nvd-json", "csaf", "auto"] as const;
  const jsonish = fc.oneof(
    fc.string(),
    fc.json(),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
    fc.jsonValue().map((value) => JSON.stringify({ vulnerabilities: [value], catalogVersion: "x" })),
    fc.jsonValue().map((value) => JSON.stringify({ format: "NVD_CVE", vulnerabilities: [{ cve: value }] })),
    fc
      .jsonValue()
      .map((value) =>
        JSON.stringify({ document: { csaf_version: "2.0", tracking: value }, product_tree: value }),
      ),
  );

  it("returns a document or a wrong format for arbitrary text in every format", () => {
    fc.assert(
      fc.property(jsonish, fc.constantFrom(...formats), (text, format) => {
        const result = parseAdvisoryDocument(text, format);
        expect(["document", "wrong-format"]).toContain(result.status);
        if (result.status === "document")
          for (const entry of result.entries)
            if (entry.result.status === "record") AdvisoryV1.parse(entry.result.value);
      }),
      { numRuns: 1500 },
    );
  });

  it("never throws on mutated real documents", () => {
    const base = JSON.parse(example("csaf/msrc_cve-2020-1472.json").toString()) as Record<string, unknown>;
    const paths = ["document", "product_tree", "vulnerabilities"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const result = csafEntry({ ...base, [path]: value });
        expect(["record", "invalid"]).toContain(result.status);
      }),
      { numRuns: 500 },
    );
  });
});
