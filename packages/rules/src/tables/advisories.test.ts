import type { AdvisoryV1, HostV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { AdvisoryIndex, osIdentity, packageIsProduct, parseCpe, parseVers } from "./advisories.ts";
import { ReferenceTableSet } from "./reference-tables.ts";
import { buildAdvisory, buildHost } from "./testing.ts";

const server2019 = (overrides: Partial<HostV1> = {}) =>
  buildHost({
    id: "dc02",
    type: "server",
    os: {
      name: "Microsoft Windows Server 2019 Standard",
      type: "windows",
      version: "10.0.17763",
      build: "17763",
    },
    ...overrides,
  });

/** Zerologon as MSRC's CSAF has it: products, per-product KBs with supersedence, exploited. */
const zerologonCsaf = buildAdvisory({
  id: "msrc_CVE-2020-1472",
  source: "csaf:msrc.microsoft.com",
  cves: ["CVE-2020-1472"],
  products: [
    {
      product_id: "10816",
      name: "Windows Server 2016",
      cpe: "cpe:2.3:o:microsoft:windows_server_2016:-:*:*:*:*:*:*:*",
    },
    {
      product_id: "11571",
      name: "Windows Server 2019",
      cpe: "cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*",
    },
  ],
  product_status: [
    { vulnerability: "CVE-2020-1472", status: "known_affected", product_ids: ["10816", "11571"] },
  ],
  remediations: [
    {
      category: "vendor_fix",
      vulnerability: "CVE-2020-1472",
      details: "4571694",
      kb_ids: ["KB4571694"],
      supersedes: ["KB4565511"],
      product_ids: ["10816"],
    },
    {
      category: "vendor_fix",
      vulnerability: "CVE-2020-1472",
      details: "4565349",
      kb_ids: ["KB4565349"],
      supersedes: ["KB4558998"],
      product_ids: ["11571"],
    },
  ],
  fixing_kb_ids: ["KB4571694", "KB4565349"],
  known_exploited: { source: "msrc" },
});
const zerologonNvd = buildAdvisory({
  id: "CVE-2020-1472",
  cves: ["CVE-2020-1472"],
  cpe_matches: [{ criteria: "cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*", vulnerable: true }],
});
const zerologonKev = buildAdvisory({
  id: "CVE-2020-1472",
  source: "cisa-kev",
  cves: ["CVE-2020-1472"],
  products: [
    {
      product_id: "Microsoft:Netlogon",
      name: "Microsoft Netlogon",
      vendor: "Microsoft",
      product_name: "Netlogon",
    },
  ],
  known_exploited: { source: "cisa-kev", date_added: "2020-11-03" },
});
const log4shell = buildAdvisory({
  id: "CVE-2021-44228",
  cves: ["CVE-2021-44228"],
  cpe_matches: [
    {
      criteria: "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*",
      vulnerable: true,
      version_start_including: "2.0.1",
      version_end_excluding: "2.12.2",
    },
    {
      criteria: "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*",
      vulnerable: true,
      version_start_including: "2.13.0",
      version_end_excluding: "2.15.0",
    },
    { criteria: "cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*", vulnerable: true },
    { criteria: "cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*", vulnerable: false },
  ],
});

function tablesWith(...advisories: AdvisoryV1[]): ReferenceTableSet {
  const tables = new ReferenceTableSet();
  for (const advisory of advisories) tables.applyAdvisory(advisory);
  return tables;
}

const patched = (...kbs: string[]) => kbs.map((id) => ({ id, origin: "osquery:patches" }));

describe("CPE names and products", () => {
  it("parses CPE 2.3 names, escapes included", () => {
    expect(parseCpe("cpe:2.3:a:7\\-zip:7\\-zip:23.01:*:*:*:*:*:*:*")).toEqual({
      part: "a",
      vendor: "7-zip",
      product: "7-zip",
      version: "23.01",
      update: "*",
    });
    expect(parseCpe("cpe:/o:microsoft:windows_xp")).toBeUndefined();
  });

  it("matches an installed package to a CPE product conservatively", () => {
    expect(packageIsProduct("Google Chrome", "google", "chrome")).toBe(true);
    expect(packageIsProduct("7-Zip 23.01 (x64)", "7-zip", "7-zip")).toBe(true);
    expect(packageIsProduct("openssl", "openssl", "openssl")).toBe(true);
    expect(packageIsProduct("Apache Log4j 2.14.1", "apache", "log4j")).toBe(true);
    expect(packageIsProduct("Microsoft Edge", "microsoft", "edge_chromium")).toBe(false);
    expect(packageIsProduct("Chrome Remote Desktop Host", "google", "chrome")).toBe(false);
    expect(packageIsProduct("log4j-core", "apache", "log4j")).toBe(false);
  });

  it("reads what the OS is as NVD names it", () => {
    expect(osIdentity(server2019())).toMatchObject({
      name: "windows server 2019",
      vendor: "microsoft",
      products: ["windows_server_2019"],
      cpeVersion: "-",
      cpeUpdate: "-",
    });
    expect(
      osIdentity(
        buildHost({
          os: {
            name: "Microsoft Windows Server 2008 R2 Standard Service Pack 1",
            type: "windows",
            version: "6.1.7601",
          },
        }),
      ),
    ).toMatchObject({
      name: "windows server 2008 r2",
      products: ["windows_server_2008"],
      cpeVersion: "r2",
      cpeUpdate: "sp1",
    });
    expect(osIdentity(buildHost())).toMatchObject({ products: ["windows_10", "windows_10_22h2"] });
    expect(
      osIdentity(
        buildHost({ os: { name: "Ubuntu", type: "linux", version: "22.04.4 LTS (Jammy Jellyfish)" } }),
      ),
    ).toMatchObject({
      vendor: "canonical",
      products: ["ubuntu_linux"],
    });
    expect(osIdentity(buildHost({ os: { type: "windows" } }))).toBeUndefined();
  });

  it("reads CSAF vers ranges", () => {
    const range = parseVers("vers:generic/>=2.0.0|<2.15.0|>=3.0|<=3.1")!;
    expect(["2.0.0", "2.14.1", "3.0", "3.1.5"].map(range)).toEqual([true, true, true, true]);
    expect(["1.9", "2.15.0", "3.2"].map(range)).toEqual([false, false, false]);
    expect(parseVers("vers:generic/<4.2")!("4.1.9")).toBe(true);
    expect(parseVers("vers:generic/1.2.3|1.2.5")!("1.2.5")).toBe(true);
    expect(parseVers("vers:generic/*")!("anything")).toBe(true);
    expect(parseVers("<4.2")).toBeUndefined();
  });
});

describe("AdvisoryIndex", () => {
  it("holds several sources per CVE, replaces by key and forgets on removal", () => {
    const index = new AdvisoryIndex();
    index.apply(zerologonKev);
    index.apply(zerologonNvd);
    index.apply(zerologonCsaf);
    index.apply({ ...zerologonNvd, title: "updated" });
    expect(index.forCve("cve-2020-1472").map((advisory) => advisory.source)).toEqual([
      "csaf:msrc.microsoft.com",
      "nvd",
      "cisa-kev",
    ]);
    expect(index.forCve("CVE-2020-1472")[1]!.title).toBe("updated");
    expect(index.candidateCves(server2019())).toEqual(["CVE-2020-1472"]);
    expect(index.candidateCves(buildHost())).toEqual([]);
    index.remove("nvd/CVE-2020-1472");
    index.remove("csaf:msrc.microsoft.com/msrc_CVE-2020-1472");
    index.remove("cisa-kev/CVE-2020-1472");
    expect([index.size, index.cveCount, index.forCve("CVE-2020-1472")]).toEqual([0, 0, []]);
  });
});

describe("exposures", () => {
  it("a matched OS lacking every fixing KB is exposed; known-exploited when any source says so", () => {
    const tables = tablesWith(zerologonCsaf, zerologonNvd, zerologonKev);
    const host = server2019({ updates: patched("KB5034439") });
    expect(tables.advisoriesForCve("CVE-2020-1472")).toHaveLength(3);
    expect(tables.exposures(host, "CVE-2020-1472")).toEqual([
      {
        advisory: zerologonCsaf,
        cve: "CVE-2020-1472",
        missing_kbs: ["KB4565349"],
        reason:
          "Windows Server 2019 (cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*) is affected (csaf:msrc.microsoft.com/msrc_CVE-2020-1472) and lacks KB4565349 or a superseding update",
        known_exploited: true,
      },
    ]);
    expect(tables.exposures(host).map((exposure) => exposure.cve)).toEqual(["CVE-2020-1472"]);
  });

  it("an installed fix, or an update superseding it, clears the exposure for every source", () => {
    const tables = tablesWith(zerologonCsaf, zerologonNvd);
    expect(tables.exposures(server2019({ updates: patched("KB4565349") }), "CVE-2020-1472")).toEqual([]);
    tables.setDocument({
      kind: "baselines",
      name: "chain",
      origin: "chain.yaml",
      content:
        "version: 1\nbaselines:\n  - name: w\n    version: '1'\n    supersedence: { KB5035849: [KB5034768], KB5034768: [KB4565349] }\n    classes: [{ name: t }]\n",
    });
    expect(tables.exposures(server2019({ updates: patched("KB5035849") }), "CVE-2020-1472")).toEqual([]);
  });

  it("claims nothing without evidence: no update inventory, another OS, a version-less match alone", () => {
    const tables = tablesWith(zerologonCsaf);
    expect(tables.exposures(server2019(), "CVE-2020-1472")).toEqual([]);
    expect(tables.exposures(buildHost({ updates: [] }), "CVE-2020-1472")).toEqual([]);
    expect(
      tables.exposures(
        buildHost({ updates: [], os: { name: "Ubuntu", type: "linux", version: "22.04" } }),
        "CVE-2020-1472",
      ),
    ).toEqual([]);
    const nvdOnly = tablesWith(zerologonNvd, zerologonKev);
    expect(nvdOnly.exposures(server2019({ updates: [] }), "CVE-2020-1472")).toEqual([]);
  });

  it("installed software inside a CPE version range is exposed", () => {
    const tables = tablesWith(log4shell);
    const withLog4j = (version: string) =>
      buildHost({ software: [{ name: "Apache Log4j", version, origin: "osquery:programs" }] });
    expect(tables.exposures(withLog4j("2.14.1"), "CVE-2021-44228")).toMatchObject([
      {
        cve: "CVE-2021-44228",
        missing_kbs: [],
        known_exploited: false,
        reason:
          "Apache Log4j 2.14.1 (affected >= 2.13.0, < 2.15.0) (cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*): installed version affected (nvd/CVE-2021-44228)",
      },
    ]);
    expect(tables.exposures(withLog4j("2.0-beta9"), "CVE-2021-44228")).toHaveLength(1);
    expect(tables.exposures(withLog4j("2.12.2"), "CVE-2021-44228")).toEqual([]);
    expect(tables.exposures(withLog4j("2.17.1"), "CVE-2021-44228")).toEqual([]);
    expect(tables.exposures(withLog4j("2.14.1")).map((exposure) => exposure.cve)).toEqual(["CVE-2021-44228"]);
  });

  it("an OS version range decides only at the precision the host reports", () => {
    const tables = tablesWith(
      buildAdvisory({
        id: "CVE-2024-21338",
        cves: ["CVE-2024-21338"],
        cpe_matches: [
          {
            criteria: "cpe:2.3:o:microsoft:windows_10_22h2:*:*:*:*:*:*:x64:*",
            vulnerable: true,
            version_end_excluding: "10.0.19045.4046",
          },
        ],
      }),
    );
    const build = (value: string) =>
      buildHost({
        os: { name: "Microsoft Windows 10 Enterprise", type: "windows", version: "10.0.19045", build: value },
      });
    expect(tables.exposures(build("19045"), "CVE-2024-21338")).toEqual([]);
    expect(tables.exposures(build("19045.3930"), "CVE-2024-21338")).toMatchObject([
      { missing_kbs: [], reason: expect.stringContaining("the OS version is in the affected range") },
    ]);
    expect(tables.exposures(build("19045.4046"), "CVE-2024-21338")).toEqual([]);
  });

  it("CSAF products by name and vers range; a product marked fixed is not affected", () => {
    const advisory = buildAdvisory({
      id: "example-2024-001",
      source: "csaf:example.com",
      cves: ["CVE-2024-0002"],
      products: [
        {
          product_id: "p1",
          name: "Example Server 2.3",
          vendor: "Example",
          product_name: "Example Server",
          version_range: "vers:generic/>=2.0|<2.4",
        },
        {
          product_id: "p2",
          name: "Example Agent 1.0",
          vendor: "Example",
          product_name: "Example Agent",
          version: "1.0",
        },
      ],
      product_status: [
        { vulnerability: "CVE-2024-0002", status: "known_affected", product_ids: ["p1"] },
        { vulnerability: "CVE-2024-0002", status: "fixed", product_ids: ["p2"] },
      ],
    });
    const tables = tablesWith(advisory);
    const host = (name: string, version: string) =>
      buildHost({ software: [{ name, version, origin: "osquery:programs" }] });
    expect(tables.exposures(host("Example Server", "2.3.1"), "CVE-2024-0002")).toHaveLength(1);
    expect(tables.exposures(host("Example Server", "2.4"), "CVE-2024-0002")).toEqual([]);
    expect(tables.exposures(host("Example Agent", "1.0"), "CVE-2024-0002")).toEqual([]);
  });

  it("an advisory withdrawn by a tombstone no longer exposes anyone", () => {
    const tables = tablesWith(log4shell);
    const host = buildHost({
      software: [{ name: "Apache Log4j", version: "2.14.1", origin: "osquery:programs" }],
    });
    tables.applyAdvisory({ key: "nvd/CVE-2021-44228", deleted: true });
    expect(tables.exposures(host)).toEqual([]);
    expect(tables.advisoriesForCve("CVE-2021-44228")).toEqual([]);
  });
});
