import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadPriorityList, PriorityListError, parsePriorityList } from "./priority-list.ts";
import { buildHost } from "./tables/testing.ts";

const examplePath = fileURLToPath(new URL("../../../examples/assets/priority-list.yaml", import.meta.url));

const minimal = `
version: 1
defaultTier: medium
assets:
  - id: dc01
    hostname: dc01.corp.example
    ips: [10.20.1.10]
    tier: critical
    owner: Infrastructure / Identity
    tags: [domain-controller]
    reason: domain controller
  - id: v6host
    ips: ["2001:DB8:0:0::10"]
    tier: high
selectors:
  - name: servers
    cidrs: [10.20.0.0/16]
    tier: medium
    reason: server range
  - name: workstations
    cidrs: [10.20.40.0/22]
    tier: low
    owner: Desktop Services
    reason: workstation range
  - name: v6 lab
    cidrs: ["2001:db8:ff::/48"]
    tier: low
    reason: lab
  - name: tagged crown jewels
    tags: [crown-jewel]
    tier: critical
    reason: tagged by the inventory
`;

function problemsOf(text: string): string[] {
  try {
    parsePriorityList(text, "test.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(PriorityListError);
    return (error as PriorityListError).problems;
  }
  throw new Error("expected the priority list to be rejected");
}

describe("parsePriorityList", () => {
  it("resolves a listed asset exactly, with its reason", () => {
    const table = parsePriorityList(minimal, "test.yaml");
    expect(table.resolve("10.20.1.10")).toEqual({
      id: "dc01",
      ip: "10.20.1.10",
      hostname: "dc01.corp.example",
      known: true,
      priority: "critical",
      priority_reason: "priority list entry dc01: domain controller",
      owner: "Infrastructure / Identity",
      tags: ["domain-controller"],
    });
  });

  it("prefers the most specific selector regardless of file order", () => {
    const table = parsePriorityList(minimal, "test.yaml");
    const workstation = table.resolve("10.20.41.7");
    expect(workstation).toMatchObject({
      id: "10.20.41.7",
      known: false,
      priority: "low",
      owner: "Desktop Services",
    });
    expect(workstation.priority_reason).toBe(
      'priority list selector "workstations" (10.20.40.0/22): workstation range',
    );
    expect(table.resolve("10.20.9.9")).toMatchObject({ known: false, priority: "medium" });
  });

  it("falls back to the default tier for unknown addresses", () => {
    const table = parsePriorityList(minimal, "test.yaml");
    expect(table.resolve("192.0.2.1")).toEqual({
      id: "192.0.2.1",
      ip: "192.0.2.1",
      known: false,
      priority: "medium",
      priority_reason: "default tier medium: address not in the priority list",
      tags: [],
    });
  });

  it("matches IPv6 assets whatever the spelling, and IPv6 selectors", () => {
    const table = parsePriorityList(minimal, "test.yaml");
    expect(table.resolve("2001:db8::10")).toMatchObject({ id: "v6host", known: true, ip: "2001:db8::10" });
    expect(table.resolve("2001:0DB8:0000::0010")).toMatchObject({ id: "v6host" });
    expect(table.resolve("2001:db8:ff:1::5")).toMatchObject({ known: false, priority: "low" });
    // An IPv6 address never matches an IPv4 block and vice versa.
    expect(table.resolve("2001:db8:1::1")).toMatchObject({
      priority: "medium",
      priority_reason: expect.stringMatching(/^default/),
    });
  });

  it("finds the IPv4 asset behind an IPv4-mapped IPv6 address", () => {
    const table = parsePriorityList(minimal, "test.yaml");
    expect(table.resolve("::ffff:10.20.1.10")).toMatchObject({ id: "dc01", ip: "10.20.1.10" });
  });

  it("applies tag selectors only when the caller knows the host's tags", () => {
    const table = parsePriorityList(minimal, "test.yaml");
    expect(table.resolve("192.0.2.7").priority).toBe("medium");
    expect(table.resolve("192.0.2.7", { tags: ["crown-jewel"] })).toMatchObject({
      priority: "critical",
      tags: ["crown-jewel"],
    });
    // A matching CIDR is more specific than a tag-only selector.
    expect(table.resolve("10.20.41.7", { tags: ["crown-jewel"] }).priority).toBe("low");
  });

  it("names the file, the field path, the line and what was expected", () => {
    const text = minimal.replace("tier: high", "tier: urgent");
    const problems = problemsOf(text);
    expect(problems).toEqual(["assets[1].tier: expected one of critical|high|medium|low (line 14)"]);
    try {
      parsePriorityList(text, "conf/assets.yaml");
    } catch (error) {
      expect((error as Error).message).toContain("invalid priority list conf/assets.yaml");
    }
  });

  it("reports every problem of a hostile file at once", () => {
    const problems = problemsOf(`
version: 2
defaultTier: Critical
assets:
  - id: ""
    ips: [10.0.0.300, "not-an-ip"]
    tier: high
    colour: blue
  - "just a string"
selectors:
  - name: nothing
    tier: low
    reason: r
  - name: bad cidr
    cidrs: [10.0.0.0/33, 10.0.0.1]
    tier: low
    reason: r
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        "version: expected 1 (the only priority-list format version) (line 2)",
        "defaultTier: expected one of critical|high|medium|low (line 3)",
        "assets[0].id: expected a non-empty asset id (line 5)",
        "assets[0].ips[0]: expected an IPv4 or IPv6 address (line 6)",
        "assets[0].ips[1]: expected an IPv4 or IPv6 address (line 6)",
        "assets[0]: unexpected field colour (line 8)",
        "assets[1]: expected an asset mapping (line 9)",
        "selectors[0]: expected cidrs, tags or a host attribute (a selector must select something) (line 11)",
        'selectors[1].cidrs[0]: expected a prefix length between 0 and 32, got "33" (line 15)',
        "selectors[1].cidrs[1]: expected a CIDR block like 10.20.0.0/16 (missing /prefix) (line 15)",
      ]),
    );
  });

  it("rejects duplicate asset ids and an address listed for two assets", () => {
    const problems = problemsOf(`
version: 1
defaultTier: low
assets:
  - { id: a, ips: [10.0.0.1], tier: high }
  - { id: a, ips: [10.0.0.2], tier: high }
  - { id: b, ips: ["::ffff:10.0.0.1"], tier: low }
`);
    expect(problems).toEqual([
      "assets[1].id: duplicate asset id (also assets[0]) (line 6)",
      "assets[2].ips[0]: address already listed for asset a (line 7)",
    ]);
  });

  it("rejects YAML syntax errors, duplicate keys and an empty file with a position", () => {
    expect(problemsOf("version: 1\nversion: 1\ndefaultTier: low\n")[0]).toMatch(
      /^line 2, column 1: .*[Uu]nique/,
    );
    expect(problemsOf("version: [1\n")[0]).toMatch(/^line \d+, column \d+: /);
    expect(problemsOf("")).toEqual(["(root): expected a priority-list mapping"]);
  });
});

describe("host attribute selectors and ownership", () => {
  const list = `
version: 1
defaultTier: low
organisations:
  - name: Identity
    contacts:
      - { name: Dana, email: dana@corp.example, role: owner }
    maintenance_windows: ["Sat 22:00-02:00 UTC"]
  - name: Finance IT
    contacts: [{ phone: "+1 555 0142" }]
    maintenance_windows: ["Sun 02:00-04:00 UTC"]
assets:
  - id: payroll01
    hostname: payroll01.corp.example
    ips: [10.20.5.20]
    tier: critical
    owner: Finance IT
    contacts: [{ name: Marco, role: application owner }]
    maintenance_windows: ["Sun 03:00-04:00 UTC"]
selectors:
  - name: servers
    cidrs: [10.20.0.0/16]
    tier: medium
    reason: server range
  - name: domain controllers
    domain_controller: true
    tier: critical
    owner: Identity
    reason: domain controller
  - name: pdc
    fsmo: [pdc-emulator]
    os_type: windows
    tier: critical
    owner: Identity
    reason: PDC emulator on Windows
  - name: business critical
    business_critical: true
    tier: high
    reason: business-critical
  - name: personal data
    classification: [pii]
    tier: high
    reason: pii
  - name: server OU
    ou: ["OU=Servers,DC=corp,DC=example"]
    tier: medium
    reason: servers OU
`;
  const table = parsePriorityList(list, "owners.yaml");

  it("matches what the host is only when its inventory record is known, before where it is", () => {
    const dc = buildHost({
      ips: [
        {
          ip: "10.20.1.10",
          first_seen: "2024-03-12T00:00:00Z",
          last_seen: "2024-03-12T00:00:00Z",
          source: "osquery",
        },
      ],
      roles: { domain_controller: true, fsmo: ["schema-master"], business_critical: false, tags: ["dns"] },
    });
    expect(table.resolve("10.20.1.10").priority_reason).toBe(
      'priority list selector "servers" (10.20.0.0/16): server range',
    );
    expect(table.resolve("10.20.1.10", { host: dc })).toMatchObject({
      priority: "critical",
      priority_reason: 'priority list selector "domain controllers": domain controller',
      owner: "Identity",
      tags: ["dns"],
    });
    const pdc = { ...dc, roles: { ...dc.roles, fsmo: ["pdc-emulator" as const] } };
    expect(table.decide("10.20.1.10", { host: pdc })).toMatchObject({
      kind: "selector",
      selector: { name: "pdc" },
      rank: { hostCriteria: 2, prefix: -1 },
    });
    const tagged = buildHost({
      roles: { domain_controller: false, fsmo: [], business_critical: false, tags: ["classification:pii"] },
    });
    expect(table.resolve("192.0.2.9", { host: tagged }).priority).toBe("high");
    const server = buildHost({ directory: { dn: "CN=APP01,OU=Servers,DC=corp,DC=example" } });
    expect(table.decide("192.0.2.9", { host: server })).toMatchObject({
      kind: "selector",
      selector: { name: "server OU" },
    });
  });

  it("names the organisation, its contacts and windows; an asset's own windows replace them", () => {
    expect(table.decide("10.20.5.20")).toMatchObject({
      kind: "asset",
      ownership: {
        organisation: "Finance IT",
        contacts: [{ phone: "+1 555 0142" }, { name: "Marco", role: "application owner" }],
        maintenance_windows: ["Sun 03:00-04:00 UTC"],
      },
    });
    const dc = buildHost({
      roles: { domain_controller: true, fsmo: [], business_critical: false, tags: [] },
    });
    expect(table.decide(undefined, { host: dc })).toMatchObject({
      ownership: {
        organisation: "Identity",
        contacts: [{ name: "Dana", email: "dana@corp.example", role: "owner" }],
        maintenance_windows: ["Sat 22:00-02:00 UTC"],
      },
    });
  });

  it("finds a listed asset by any address or name of the inventoried host", () => {
    const moved = buildHost({
      hostname: "payroll01",
      fqdn: "payroll01.corp.example",
      names: ["payroll01.corp.example"],
    });
    expect(table.resolve("10.20.99.1", { host: moved })).toMatchObject({
      id: "payroll01",
      known: true,
      priority: "critical",
    });
  });

  it("refuses owners it does not describe, and contacts without an owner", () => {
    expect(
      problemsOf(`${list}  - name: typo
    cidrs: [10.0.0.0/8]
    tier: low
    owner: Identty
    reason: r
  - name: orphan contacts
    cidrs: [10.1.0.0/16]
    tier: low
    reason: r
    contacts: [{ name: x }]
`),
    ).toEqual([
      'selectors[6].owner: no organisation named "Identty" in organisations (line 51)',
      "selectors[7]: expected an owner for these contacts and maintenance windows (line 53)",
    ]);
  });
});

describe("loadPriorityList", () => {
  it("loads the demo estate's list", async () => {
    const table = await loadPriorityList(examplePath);
    expect(table.assetCount).toBe(5);
    expect(table.resolve("10.20.1.10")).toMatchObject({
      id: "dc01",
      priority: "critical",
      hostname: "dc01.corp.example",
    });
    expect(table.resolve("10.20.1.11")).toMatchObject({ id: "dc02", priority: "critical" });
    expect(table.resolve("10.20.5.20")).toMatchObject({
      id: "payroll01",
      priority: "critical",
      owner: "Finance IT",
    });
    expect(table.resolve("10.20.2.15")).toMatchObject({ id: "fs01", priority: "high" });
    expect(table.resolve("172.16.10.5")).toMatchObject({ id: "www01", priority: "high" });
    expect(table.resolve("172.16.10.77")).toMatchObject({ known: false, priority: "high" });
    expect(table.resolve("10.20.43.200")).toMatchObject({
      known: false,
      priority: "low",
      owner: "Desktop Services",
    });
    expect(table.resolve("10.20.44.1")).toMatchObject({ known: false, priority: "medium" });
    expect(table.resolve("198.51.100.1")).toMatchObject({ known: false, priority: "medium" });
  });

  it("names a missing file", async () => {
    await expect(loadPriorityList("/nonexistent/assets.yaml")).rejects.toThrow(
      /invalid priority list \/nonexistent\/assets.yaml:\n {2}cannot read the file/,
    );
  });
});
