import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReferenceDocumentError, ReferenceTableSet } from "./reference-tables.ts";
import { buildHost } from "./testing.ts";

const AT = Date.parse("2024-03-12T06:00:00Z");

const baselines = (name: string, body: string) => `version: 1
baselines:
  - name: ${name}
    version: "1"
${body}`;

const LIST_A = `version: 1
defaultTier: medium
organisations:
  - name: Identity
    contacts: [{ name: Dana, email: dana@corp.example }]
    maintenance_windows: ["Sat 22:00-02:00 UTC"]
assets:
  - { id: dc01, hostname: dc01.corp.example, ips: [10.20.1.10], tier: critical, owner: Identity, reason: domain controller }
selectors:
  - { name: servers, cidrs: [10.20.0.0/16], tier: medium, reason: server range }
`;
const LIST_B = `version: 1
defaultTier: medium
selectors:
  - { name: server subnet 1, cidrs: [10.20.1.0/24], tier: high, reason: core servers }
  - { name: business critical, business_critical: true, tier: high, reason: business-critical }
`;

function problemsOf(action: () => void): string[] {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ReferenceDocumentError);
    return (error as ReferenceDocumentError).problems.map(
      (problem) => `${problem.line ?? "-"}:${problem.column ?? "-"} ${problem.path}: ${problem.message}`,
    );
  }
  throw new Error("expected the document to be refused");
}

describe("documents", () => {
  it("replaces a document by kind and name, keeps the old one when the new one is refused, removes on a tombstone", () => {
    const tables = new ReferenceTableSet();
    const host = buildHost({
      listening_ports: [{ port: 22, protocol: "tcp", origin: "osquery:listening_ports" }],
    });
    const doc = (tcp: string) => ({
      kind: "baselines" as const,
      name: "corp",
      origin: "corp.yaml",
      content: baselines(
        "corp",
        `    classes:\n      - name: all\n        match: {}\n        ports: { tcp: [${tcp}], udp: [] }\n`,
      ),
    });
    tables.setDocument(doc("135"));
    expect(tables.baselineDeltas(host, AT).map((delta) => delta.item)).toEqual(["port:tcp/22"]);
    tables.setDocument(doc("22"));
    expect(tables.baselineDeltas(host, AT)).toEqual([]);
    expect(() => tables.setDocument(doc("'twenty-two'"))).toThrow(ReferenceDocumentError);
    expect(tables.baselineDeltas(host, AT)).toEqual([]);
    expect(tables.documents()).toEqual([{ kind: "baselines", name: "corp", origin: "corp.yaml" }]);
    expect(tables.removeDocument("baselines", "corp")).toBe(true);
    expect(tables.removeDocument("baselines", "corp")).toBe(false);
    expect(tables.baselineDeltas(host, AT)).toEqual([]);
    expect(tables.sizes()).toMatchObject({ baseline_documents: 0, baselines: 0 });
  });

  it("names the origin, line:column, key path and expectation in the error message", () => {
    const tables = new ReferenceTableSet();
    expect(() =>
      tables.setDocument({
        kind: "baselines",
        name: "corp",
        origin: "/etc/vigil/corp.yaml",
        content: baselines(
          "corp",
          "    classes:\n      - name: all\n        match: { os_type: windows }\n        antivirus: { required: true, max_signature_age_days: -1 }\n",
        ),
      }),
    ).toThrow(
      'invalid baselines document "corp" (/etc/vigil/corp.yaml):\n  /etc/vigil/corp.yaml:8:62: baselines[0].classes[0].antivirus.max_signature_age_days: expected a number of days (0 or more)',
    );
  });

  it("combines several baselines documents, refusing a baseline defined twice and a cycle across documents", () => {
    const tables = new ReferenceTableSet();
    tables.setDocument({
      kind: "baselines",
      name: "windows",
      origin: "windows.yaml",
      content: baselines(
        "windows",
        "    supersedence: { KB2: [KB1] }\n    classes:\n      - name: all\n        match: { os_type: windows }\n        ports: { tcp: [135, 445], udp: [] }\n",
      ),
    });
    tables.setDocument({
      kind: "baselines",
      name: "java",
      origin: "pack/java.yaml",
      content: baselines(
        "java",
        "    classes:\n      - name: all\n        match: {}\n        ports: { tcp: [445, 8080], udp: [] }\n",
      ),
    });
    const host = buildHost({
      listening_ports: [{ port: 135, protocol: "tcp", origin: "osquery:listening_ports" }],
    });
    expect(tables.baselineDeltas(host, AT)).toMatchObject([
      { baseline: { name: "java", class: "all" }, item: "port:tcp/135" },
    ]);
    // A port must pass every baseline that states ports.
    expect(tables.allowedPorts(host)).toEqual({ tcp: [445], udp: [] });
    expect(
      problemsOf(() =>
        tables.setDocument({
          kind: "baselines",
          name: "other",
          origin: "other.yaml",
          content: baselines("windows", "    supersedence: { KB1: [KB2] }\n    classes: [{ name: x }]\n"),
        }),
      ),
    ).toEqual([
      "1:1 (root): with the other baselines documents, supersedence forms a cycle: KB2 supersedes KB1 supersedes KB2",
      "3:11 baselines[0].name: baseline windows is already defined by windows.yaml",
    ]);
  });

  it("refuses an exception id another document defines", () => {
    const tables = new ReferenceTableSet();
    const exceptions =
      "version: 1\nexceptions:\n  - { id: EXC-1, asset: a, item: x, owner: o, reason: r, expires: 2030-01-01 }\n";
    tables.setDocument({ kind: "exceptions", name: "a", origin: "a.yaml", content: exceptions });
    tables.setDocument({ kind: "exceptions", name: "a", origin: "a.yaml", content: exceptions });
    expect(
      problemsOf(() =>
        tables.setDocument({ kind: "exceptions", name: "b", origin: "b.yaml", content: exceptions }),
      ),
    ).toEqual(["3:11 exceptions[0].id: exception EXC-1 is already defined by a.yaml"]);
    expect(tables.sizes()).toMatchObject({ exception_documents: 1, exceptions: 1 });
  });

  it("combines priority lists: assets union, conflicts refused, the most specific selector of all lists", () => {
    const tables = new ReferenceTableSet();
    tables.setDocument({ kind: "priority-list", name: "a", origin: "a.yaml", content: LIST_A });
    tables.setDocument({ kind: "priority-list", name: "b", origin: "b.yaml", content: LIST_B });
    expect(tables.resolveAsset({ ip: "10.20.1.50" }).ref).toMatchObject({
      priority: "high",
      priority_reason: 'priority list selector "server subnet 1" (10.20.1.0/24): core servers',
    });
    expect(tables.resolveAsset({ ip: "10.20.7.1" }).ref.priority_reason).toMatch(/"servers"/);
    expect(
      problemsOf(() =>
        tables.setDocument({
          kind: "priority-list",
          name: "c",
          origin: "c.yaml",
          content: `version: 1
defaultTier: low
organisations: [{ name: Identity }]
assets:
  - { id: dc01, ips: [10.20.1.99], tier: high, owner: Identity }
  - { id: dc99, hostname: DC01.corp.example, ips: ["::ffff:10.20.1.10"], tier: high }
`,
        }),
      ),
    ).toEqual([
      "2:14 defaultTier: low differs from medium in a.yaml: priority lists must agree on the default tier",
      "3:25 organisations[0].name: organisation Identity is already described by a.yaml",
      "5:11 assets[0].id: asset dc01 is already listed by a.yaml",
      "6:27 assets[1].hostname: hostname DC01.corp.example is already listed for asset dc01 by a.yaml",
      "6:52 assets[1].ips[0]: address already listed for asset dc01 by a.yaml",
    ]);
    expect(tables.sizes()).toMatchObject({ priority_lists: 2, priority_assets: 1, priority_selectors: 3 });
  });

  it("breaks a tie between lists by document name, not by position in each file", () => {
    const tables = new ReferenceTableSet();
    tables.setDocument({
      kind: "priority-list",
      name: "b",
      origin: "b.yaml",
      content:
        "version: 1\ndefaultTier: low\nselectors:\n  - { name: from b, cidrs: [10.0.0.0/8], tier: high, reason: b }\n",
    });
    tables.setDocument({
      kind: "priority-list",
      name: "a",
      origin: "a.yaml",
      content:
        "version: 1\ndefaultTier: low\nselectors:\n  - { name: other, cidrs: [192.0.2.0/24], tier: low, reason: x }\n  - { name: from a, cidrs: [10.0.0.0/8], tier: medium, reason: a }\n",
    });
    expect(tables.resolveAsset({ ip: "10.1.2.3" }).ref.priority_reason).toMatch(/"from a"/);
  });

  it("skips a republished identical document, and refuses an unknown kind", () => {
    const tables = new ReferenceTableSet();
    const document = {
      kind: "priority-list" as const,
      name: "a",
      origin: "a.yaml",
      content: LIST_A,
      sha256: "x".repeat(64),
    };
    tables.setDocument(document);
    tables.setDocument({ ...document, content: "not: valid" });
    expect(tables.sizes().priority_assets).toBe(1);
    expect(() => tables.setDocument({ ...document, kind: "rules" as never })).toThrow(
      /unknown reference kind rules/,
    );
  });

  it("loads files named after themselves, refusing two of one kind with the same name and unreadable ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vigil-tables-"));
    await writeFile(join(dir, "a.yaml"), LIST_A);
    await writeFile(
      join(dir, "windows.yaml"),
      baselines("windows", "    classes: [{ name: x, match: {} }]\n"),
    );
    const tables = new ReferenceTableSet();
    await tables.loadReferenceFiles({
      priorityLists: join(dir, "a.yaml"),
      baselines: [join(dir, "windows.yaml")],
    });
    expect(tables.documents().map((doc) => `${doc.kind}/${doc.name}`)).toEqual([
      "baselines/windows",
      "priority-list/a",
    ]);
    await expect(
      new ReferenceTableSet().loadFiles({ exceptions: [join(dir, "a.yaml"), join(dir, "sub", "a.yml")] }),
    ).rejects.toThrow(/invalid exceptions document "a"/);
    await expect(
      new ReferenceTableSet().loadFiles({ exceptions: [join(dir, "x.yaml"), join(dir, "x.yml")] }),
    ).rejects.toThrow(/cannot read the file/);
    await expect(
      new ReferenceTableSet().loadFiles({ exceptions: [join(dir, "a.yaml"), join(dir, "other", "a.yaml")] }),
    ).rejects.toThrow(/exceptions|same name/);
  });
});

describe("resolveAsset", () => {
  const tables = new ReferenceTableSet();
  tables.setDocument({ kind: "priority-list", name: "a", origin: "a.yaml", content: LIST_A });
  tables.setDocument({ kind: "priority-list", name: "b", origin: "b.yaml", content: LIST_B });
  const dc01 = buildHost({
    id: "host-dc01",
    hostname: "dc01",
    fqdn: "dc01.corp.example",
    names: ["dc01", "dc01.corp.example"],
    ips: [
      {
        ip: "10.20.1.10",
        first_seen: "2024-03-12T00:00:00Z",
        last_seen: "2024-03-12T00:00:00Z",
        source: "osquery",
      },
    ],
    roles: { domain_controller: true, fsmo: ["pdc-emulator"], business_critical: false, tags: ["dns"] },
  });
  const payroll = buildHost({
    id: "host-payroll",
    hostname: "payroll01",
    fqdn: "payroll01.corp.example",
    names: ["payroll01.corp.example"],
    ips: [
      {
        ip: "10.20.5.20",
        first_seen: "2024-03-12T00:00:00Z",
        last_seen: "2024-03-12T00:00:00Z",
        source: "osquery",
      },
    ],
    roles: { domain_controller: false, fsmo: [], business_critical: true, tags: [] },
  });
  tables.applyHost(dc01);
  tables.applyHost(payroll);

  it("gives an inventoried host's id, record, tier and ownership, whichever way it is asked", () => {
    for (const query of [
      { ip: "10.20.1.10" },
      { hostname: "DC01" },
      { id: "host-dc01" },
      { hostname: "dc01.corp.example" },
    ]) {
      const asset = tables.resolveAsset(query);
      expect(asset.ref).toEqual({
        id: "host-dc01",
        ip: "10.20.1.10",
        hostname: "dc01.corp.example",
        known: true,
        priority: "critical",
        priority_reason: "priority list entry dc01: domain controller",
        owner: "Identity",
        tags: ["dns"],
      });
      expect(asset.host).toBe(dc01);
      expect(asset.ownership).toEqual({
        organisation: "Identity",
        contacts: [{ name: "Dana", email: "dana@corp.example" }],
        maintenance_windows: ["Sat 22:00-02:00 UTC"],
      });
    }
  });

  it("uses host attribute selectors for inventoried hosts", () => {
    expect(tables.resolveAsset({ ip: "10.20.5.20" }).ref).toMatchObject({
      id: "host-payroll",
      priority: "high",
      priority_reason: 'priority list selector "business critical": business-critical',
    });
  });

  it("answers for unknown addresses, names and ids, and without any list", () => {
    expect(tables.resolveAsset({ ip: "192.0.2.1" })).toEqual({
      ref: {
        id: "192.0.2.1",
        ip: "192.0.2.1",
        known: false,
        priority: "medium",
        priority_reason: "default tier medium: address not in the priority list",
        tags: [],
      },
      tier: "medium",
    });
    expect(tables.resolveAsset({ id: "dc01" }).ref).toMatchObject({ id: "host-dc01", known: true });
    expect(tables.resolveAsset({ id: "audit:osquery" }).ref).toMatchObject({
      id: "audit:osquery",
      known: false,
    });
    expect(tables.resolveAsset({ hostname: "Nowhere.corp.example" }).ref).toMatchObject({
      id: "nowhere.corp.example",
      hostname: "Nowhere.corp.example",
      known: false,
    });
    expect(new ReferenceTableSet({ defaultTier: "low" }).resolveAsset({ ip: "10.0.0.1" }).ref).toMatchObject({
      priority: "low",
      priority_reason: "default tier low: no priority list loaded",
    });
  });

  it("follows hosts and their addresses as states and tombstones arrive", () => {
    const local = new ReferenceTableSet();
    local.applyHost(dc01);
    const moved = {
      ...dc01,
      time: "2024-03-13T00:00:00.000Z",
      ips: [{ ...dc01.ips[0]!, ip: "10.20.1.12", last_seen: "2024-03-13T00:00:00Z" }],
    };
    local.applyHost(moved);
    expect(local.resolveAsset({ ip: "10.20.1.10" }).ref.known).toBe(false);
    expect(local.resolveAsset({ ip: "10.20.1.12" }).ref.id).toBe("host-dc01");
    local.applyHost({ id: "host-dc01", deleted: true });
    expect(local.host("host-dc01")).toBeUndefined();
    expect([...local.hosts()]).toEqual([]);
    expect(local.removeHost("host-dc01")).toBe(false);
  });
});
