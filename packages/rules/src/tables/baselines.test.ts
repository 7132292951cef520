import type { HostV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import type { BaselineDelta } from "../model.ts";
import { ReferenceDocumentError, ReferenceTableSet } from "./reference-tables.ts";
import { buildHost } from "./testing.ts";

const AT = Date.parse("2024-03-12T06:00:00Z");

/** One baseline, one class matching every Windows host, stating the given sections. */
function tablesWith(sections: string, extra = ""): ReferenceTableSet {
  const tables = new ReferenceTableSet();
  tables.setDocument({
    kind: "baselines",
    name: "test",
    origin: "test.yaml",
    content: `version: 1
baselines:
  - name: corp
    version: "1"
${extra}
    classes:
      - name: windows
        match: { os_type: windows }
${sections
  .split("\n")
  .map((line) => `        ${line}`)
  .join("\n")}
`,
  });
  return tables;
}

const items = (deltas: BaselineDelta[]) => deltas.map((delta) => `${delta.direction} ${delta.item}`);

describe("baseline items", () => {
  it("os.build below and above, at the precision the host reports", () => {
    const tables = tablesWith("os: { min_build: 10.0.19045, max_build: 10.0.22631 }");
    const old = buildHost({
      os: { name: "Windows 10", type: "windows", version: "10.0.19044", build: "19044" },
    });
    expect(tables.baselineDeltas(old, AT)).toEqual([
      {
        baseline: { name: "corp", version: "1", class: "windows" },
        item: "os.build",
        direction: "below",
        expected: ">= 10.0.19045",
        actual: "10.0.19044",
      },
    ]);
    const newer = buildHost({
      os: { name: "Windows 11", type: "windows", version: "10.0.26100", build: "26100" },
    });
    expect(tables.baselineDeltas(newer, AT)).toMatchObject([
      { item: "os.build", direction: "above", actual: "10.0.26100 (not approved)" },
    ]);
    // A directory reports `10.0` and build `19045`: the same OS.
    const directory = buildHost({
      os: { name: "Windows 10 Enterprise", type: "windows", version: "10.0", build: "19045" },
    });
    expect(tables.baselineDeltas(directory, AT)).toEqual([]);
  });

  it("does not guess an OS revision the host does not report", () => {
    const tables = tablesWith("os: { min_build: 10.0.19045.4046 }");
    const host = buildHost();
    expect(tables.baselineDeltas(host, AT)).toEqual([]);
    expect(tables.assessBaselines(host, AT)[0]!.unknown).toEqual([
      {
        item: "os.build",
        reason: "the host reports 10.0.19045, less precise than the minimum 10.0.19045.4046",
      },
    ]);
    const unknownOs = buildHost({ os: { type: "windows" } });
    expect(tables.baselineDeltas(unknownOs, AT)).toEqual([]);
  });

  it("os.service_pack from sp_name or the OS name; none when the OS is reported without one", () => {
    const tables = tablesWith("os: { min_service_pack: 1, max_service_pack: 1 }");
    const sp0 = buildHost({
      os: { name: "Microsoft Windows Server 2008 R2 Standard", type: "windows", version: "6.1.7600" },
    });
    expect(tables.baselineDeltas(sp0, AT)).toMatchObject([
      {
        item: "os.service_pack",
        direction: "below",
        expected: ">= Service Pack 1",
        actual: "no service pack",
      },
    ]);
    const sp1 = buildHost({
      os: {
        name: "Microsoft Windows Server 2008 R2 Standard Service Pack 1",
        type: "windows",
        version: "6.1.7601",
      },
    });
    expect(tables.baselineDeltas(sp1, AT)).toEqual([]);
    const sp2 = buildHost({
      os: { name: "Windows XP", type: "windows", version: "5.1.2600", sp_name: "Service Pack 2" },
    });
    expect(tables.baselineDeltas(sp2, AT)).toMatchObject([{ item: "os.service_pack", direction: "above" }]);
  });

  describe("updates with supersedence", () => {
    const tables = tablesWith(
      "updates: { required: [KB5034763], approved: [KB5035845] }",
      `    supersedence:
      KB5036892: [KB5035845]
      KB5035845: [KB5034763]
      KB5034763: [KB5034122]`,
    );

    it("a superseding update satisfies the requirement, transitively", () => {
      expect(
        tables.baselineDeltas(buildHost({ updates: [{ id: "KB5035845", origin: "osquery:patches" }] }), AT),
      ).toEqual([]);
      expect(
        tables.hasUpdate(
          buildHost({ updates: [{ id: "KB5035845", origin: "osquery:patches" }] }),
          "KB5034122",
        ),
      ).toBe(true);
      expect(tables.superseders("KB5034122")).toEqual(["KB5034763", "KB5035845", "KB5036892"]);
    });

    it("a missing update is below baseline, naming the source that reported it missing", () => {
      const host = buildHost({
        updates: [{ id: "KB5034122", origin: "osquery:patches" }],
        missing_updates: [{ id: "KB5034763", origin: "inventory:wsus-missing" }],
      });
      expect(tables.baselineDeltas(host, AT)).toEqual([
        {
          baseline: { name: "corp", version: "1", class: "windows" },
          item: "update:KB5034763",
          direction: "below",
          expected: "KB5034763 or a superseding update",
          actual: "missing (reported missing by inventory:wsus-missing)",
        },
      ]);
    });

    it("an update newer than the approved set is above baseline; unrelated ones are not judged", () => {
      const host = buildHost({
        updates: [
          { id: "KB5036892", origin: "osquery:patches" },
          { id: "KB5034439", origin: "osquery:patches" },
        ],
      });
      expect(tables.baselineDeltas(host, AT)).toEqual([
        {
          baseline: { name: "corp", version: "1", class: "windows" },
          item: "update:KB5036892",
          direction: "above",
          expected: "no update newer than KB5035845 (approved)",
          actual: "KB5036892 installed (not approved; supersedes KB5034763, KB5035845)",
        },
      ]);
    });

    it("without an update inventory nothing is claimed, unless a source reports the update missing", () => {
      expect(tables.baselineDeltas(buildHost(), AT)).toEqual([]);
      expect(tables.assessBaselines(buildHost(), AT)[0]!.unknown.map((entry) => entry.item)).toEqual([
        "update:KB5034763",
        "update:*",
      ]);
      const reported = buildHost({
        missing_updates: [{ id: "KB5034763", origin: "inventory:wsus-missing" }],
      });
      expect(items(tables.baselineDeltas(reported, AT))).toEqual(["below update:KB5034763"]);
    });

    it("an advisory's supersedence counts too, and leaves with the advisory", () => {
      const local = tablesWith("updates: { required: [KB4565349] }");
      const host = buildHost({ updates: [{ id: "KB4571694", origin: "osquery:patches" }] });
      expect(items(local.baselineDeltas(host, AT))).toEqual(["below update:KB4565349"]);
      local.applyAdvisory({
        schema: "vigil.advisory/v1",
        id: "msrc_CVE-2020-1472",
        source: "csaf:msrc.microsoft.com",
        cves: ["CVE-2020-1472"],
        cwes: [],
        cpe_matches: [],
        products: [],
        product_status: [],
        remediations: [
          {
            category: "vendor_fix",
            details: "4571694",
            kb_ids: ["KB4571694"],
            supersedes: ["KB4565349"],
            product_ids: [],
          },
        ],
        fixing_kb_ids: ["KB4571694"],
        cvss: [],
        references: [],
      });
      expect(local.baselineDeltas(host, AT)).toEqual([]);
      local.removeAdvisory("csaf:msrc.microsoft.com/msrc_CVE-2020-1472");
      expect(items(local.baselineDeltas(host, AT))).toEqual(["below update:KB4565349"]);
    });
  });

  it("software below the minimum, above the approved maximum, missing when required, forbidden", () => {
    const tables = tablesWith(`software:
  approved:
    - { name: Google Chrome, min_version: 122.0.6261.94, max_version: "122" }
    - { name: Java*, min_version: "8.0.4010" }
    - { name: CrowdStrike Falcon Sensor, required: true }
  forbidden:
    - { name: AnyDesk* }
    - { name: Adobe Flash*, max_version: "32" }`);
    const host = buildHost({
      software: [
        { name: "Google Chrome", version: "123.0.6312.59", origin: "osquery:programs" },
        { name: "Java 8 Update 391", version: "8.0.3910.13", origin: "osquery:programs" },
        { name: "AnyDesk", version: "8.0.8", origin: "osquery:programs" },
        { name: "Adobe Flash Player 33", version: "33.0.1", origin: "osquery:programs" },
      ],
    });
    expect(
      tables
        .baselineDeltas(host, AT)
        .map(({ item, direction, expected, actual }) => ({ item, direction, expected, actual })),
    ).toEqual([
      {
        item: "software:Google Chrome",
        direction: "above",
        expected: ">= 122.0.6261.94, <= 122",
        actual: "Google Chrome 123.0.6312.59 (not approved)",
      },
      {
        item: "software:Java*",
        direction: "below",
        expected: ">= 8.0.4010",
        actual: "Java 8 Update 391 8.0.3910.13",
      },
      {
        item: "software:CrowdStrike Falcon Sensor",
        direction: "below",
        expected: "installed",
        actual: "missing",
      },
      {
        item: "software-forbidden:AnyDesk*",
        direction: "policy",
        expected: "not installed",
        actual: "AnyDesk 8.0.8",
      },
    ]);
    expect(tables.baselineDeltas(buildHost(), AT)).toEqual([]);
  });

  it("listening ports outside the allowed lists (loopback listeners excepted)", () => {
    const tables = tablesWith("ports: { tcp: [135, 445, '49152-65535'], udp: [] }");
    const host = buildHost({
      listening_ports: [
        { port: 135, protocol: "tcp", address: "0.0.0.0", origin: "osquery:listening_ports" },
        {
          port: 5900,
          protocol: "tcp",
          address: "0.0.0.0",
          process: "winvnc.exe",
          origin: "osquery:listening_ports",
        },
        { port: 5900, protocol: "tcp", address: "::", origin: "osquery:listening_ports" },
        { port: 50123, protocol: "tcp", address: "0.0.0.0", origin: "osquery:listening_ports" },
        { port: 8080, protocol: "tcp", address: "127.0.0.1", origin: "osquery:listening_ports" },
        { port: 137, protocol: "udp", address: "10.20.40.21", origin: "osquery:listening_ports" },
      ],
    });
    expect(tables.baselineDeltas(host, AT)).toMatchObject([
      {
        item: "port:tcp/5900",
        direction: "policy",
        expected: "tcp ports 135, 445, 49152-65535",
        actual: "listening on 0.0.0.0:5900 (winvnc.exe)",
      },
      { item: "port:udp/137", direction: "policy", expected: "udp ports none" },
    ]);
    expect(tables.allowedPorts(host)?.tcp.slice(0, 3)).toEqual([135, 445, 49152]);
    expect(tables.allowedPorts(host)?.udp).toEqual([]);
    expect(tables.baselineDeltas(buildHost(), AT)).toEqual([]);
  });

  it("antivirus missing, disabled or stale at event time", () => {
    const tables = tablesWith("antivirus: { required: true, max_signature_age_days: 3 }");
    const av = (antivirus: HostV1["antivirus"]) => buildHost(antivirus ? { antivirus } : {});
    expect(tables.baselineDeltas(av({ state: "Not Monitored" }), AT)).toMatchObject([
      { item: "antivirus.missing", direction: "policy", actual: 'state "Not Monitored"' },
    ]);
    expect(tables.baselineDeltas(av({ product: "Defender", enabled: false }), AT)).toMatchObject([
      { item: "antivirus.missing", actual: "Defender, disabled" },
    ]);
    expect(
      tables.baselineDeltas(
        av({ product: "Defender", enabled: true, signature_date: "2024-03-02 12:00:00" }),
        AT,
      ),
    ).toMatchObject([
      { item: "antivirus.signature_age", actual: "signatures from 2024-03-02T12:00:00.000Z (9 days old)" },
    ]);
    expect(
      tables.baselineDeltas(av({ product: "Defender", enabled: true, up_to_date: false }), AT),
    ).toMatchObject([
      { item: "antivirus.signature_age", actual: "the antivirus reports its signatures out of date" },
    ]);
    expect(
      tables.baselineDeltas(
        av({ product: "Defender", enabled: true, signature_date: "2024-03-11 05:00:00" }),
        AT,
      ),
    ).toEqual([]);
    // Nothing reported: unknown, not missing.
    expect(tables.baselineDeltas(av(undefined), AT)).toEqual([]);
    expect(tables.assessBaselines(av(undefined), AT)[0]!.unknown).toEqual([
      { item: "antivirus.missing", reason: "no antivirus state reported for this host" },
    ]);
  });

  it("administrative accounts: default name, privileged decoy, unapproved administrators", () => {
    const tables = tablesWith(`admin:
  default_account: rename
  decoy_account: Guest-Admin
  allowed_admins: [corp-localadmin, "CORP\\\\Domain Admins"]`);
    const host = buildHost({
      local_admins: [
        { name: "WS-001\\Administrator", origin: "osquery:local_admins" },
        { name: "Guest-Admin", origin: "osquery:local_admins" },
        { name: "CORP\\Domain Admins", origin: "osquery:local_admins" },
        { name: "helpdesk-temp", origin: "osquery:local_admins" },
      ],
    });
    expect(items(tables.baselineDeltas(host, AT))).toEqual([
      "policy admin.default_account",
      "policy admin.decoy_privileged",
      "policy admin.unapproved:Guest-Admin",
      "policy admin.unapproved:helpdesk-temp",
    ]);
    const clean = buildHost({ local_admins: [{ name: "corp-localadmin", origin: "osquery:local_admins" }] });
    expect(tables.baselineDeltas(clean, AT)).toEqual([]);
    // The decoy's existence is not in HostV1 (it lists administrators only).
    expect(tables.assessBaselines(clean, AT)[0]!.unknown.map((entry) => entry.item)).toEqual([
      "admin.decoy_missing",
    ]);
  });

  it("rename_or_disable cannot be judged on a default name: HostV1 does not say whether it is disabled", () => {
    const tables = tablesWith("admin: { default_account: rename_or_disable }");
    const host = buildHost({ local_admins: [{ name: "Administrator", origin: "osquery:local_admins" }] });
    expect(tables.baselineDeltas(host, AT)).toEqual([]);
    expect(tables.assessBaselines(host, AT)[0]!.unknown[0]!.item).toBe("admin.default_account");
  });

  it("password policy is always unknown: HostV1 carries none", () => {
    const tables = tablesWith("password: { min_length: 14, complexity: true, max_age_days: 90 }");
    expect(tables.baselineDeltas(buildHost(), AT)).toEqual([]);
    expect(tables.assessBaselines(buildHost(), AT)[0]!.unknown).toEqual([
      { item: "password.policy", reason: "the host record (HostV1) carries no password policy" },
    ]);
  });
});

describe("class selection", () => {
  const tables = new ReferenceTableSet();
  tables.setDocument({
    kind: "baselines",
    name: "classes",
    origin: "classes.yaml",
    content: `version: 1
baselines:
  - name: corp
    version: "2"
    classes:
      - name: base
        ports: { tcp: [135], udp: [] }
      - name: any-windows
        extends: base
        match: { os_type: windows }
      - name: servers
        extends: base
        match: { os_type: windows, ou: "OU=Servers,DC=corp,DC=example" }
        ports: { tcp: [135, 445], udp: [] }
      - name: domain-controllers
        match: { os_type: windows, domain_controller: true, fsmo: [pdc-emulator, rid-master] }
      - name: payroll
        match:
          - { tags: [payroll, pii] }
          - { business_critical: true, hardware: [server], os_name: "*Server 2019*", os_version: ">=10.0.17763 <10.0.20348" }
      - name: tie-a
        match: { tags: [lab] }
      - name: tie-b
        match: { hardware: [virtual] }
      - name: tie-c
        priority: 5
        match: { tags: [preferred] }
      - name: tie-d
        match: { hardware: [laptop] }
`,
  });
  const classOf = (host: HostV1) => {
    const [entry] = tables.classify(host);
    return entry!.choice.kind === "class" ? entry!.choice.class.name : entry!.choice.kind;
  };

  it("picks the most specific matching class", () => {
    expect(classOf(buildHost())).toBe("any-windows");
    expect(classOf(buildHost({ directory: { ou: "ou=Test, OU=Servers,DC=corp,DC=example" } }))).toBe(
      "servers",
    );
    expect(
      classOf(
        buildHost({
          directory: { ou: "OU=Domain Controllers,DC=corp,DC=example" },
          roles: { domain_controller: true, fsmo: ["pdc-emulator"], business_critical: false, tags: [] },
        }),
      ),
    ).toBe("domain-controllers");
    expect(
      classOf(
        buildHost({
          roles: { domain_controller: false, fsmo: [], business_critical: false, tags: ["payroll", "pii"] },
        }),
      ),
    ).toBe("payroll");
    expect(
      classOf(
        buildHost({
          type: "server",
          os: { name: "Microsoft Windows Server 2019 Standard", type: "windows", version: "10.0.17763" },
          roles: { domain_controller: false, fsmo: [], business_critical: true, tags: [] },
        }),
      ),
    ).toBe("payroll");
    expect(classOf(buildHost({ os: { type: "linux", name: "Ubuntu" } }))).toBe("none");
  });

  it("inherits sections through extends, and a class's own section replaces the template's", () => {
    const host = buildHost({
      listening_ports: [{ port: 445, protocol: "tcp", origin: "osquery:listening_ports" }],
    });
    expect(items(tables.baselineDeltas(host, AT))).toEqual(["policy port:tcp/445"]);
    expect(
      tables.allowedPorts(buildHost({ directory: { ou: "OU=Servers,DC=corp,DC=example" } }))?.tcp,
    ).toEqual([135, 445]);
  });

  it("reports classes that tie instead of picking by file order; priority breaks the tie", () => {
    const lab = buildHost({
      type: "virtual",
      os: { name: "x" },
      roles: { domain_controller: false, fsmo: [], business_critical: false, tags: ["lab"] },
    });
    expect(tables.baselineDeltas(lab, AT)).toEqual([
      {
        baseline: { name: "corp", version: "2", class: "tie-a | tie-b" },
        item: "baseline.class",
        direction: "policy",
        expected: "one most specific class",
        actual: "classes tie-a, tie-b match equally (specificity 1, priority 0)",
      },
    ]);
    const preferred = buildHost({
      type: "laptop",
      os: { name: "x" },
      roles: { domain_controller: false, fsmo: [], business_critical: false, tags: ["preferred"] },
    });
    expect(classOf(preferred)).toBe("tie-c");
  });
});

describe("baselines documents", () => {
  function problemsOf(content: string): string[] {
    try {
      new ReferenceTableSet().setDocument({
        kind: "baselines",
        name: "bad",
        origin: "conf/bad.yaml",
        content,
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ReferenceDocumentError);
      return (error as ReferenceDocumentError).problems.map(
        (problem) => `${problem.line}:${problem.column} ${problem.path}: ${problem.message}`,
      );
    }
    throw new Error("expected the document to be refused");
  }

  it("refuses a supersedence cycle, naming it", () => {
    expect(
      problemsOf(`version: 1
baselines:
  - name: corp
    version: "1"
    supersedence:
      KB2: [KB1]
      KB1: [KB3]
      KB3: [KB2]
    classes:
      - name: all
        match: {}
`),
    ).toEqual([
      "6:12 baselines[0].supersedence.KB2: supersedence cycle: KB2 supersedes KB1 supersedes KB3 supersedes KB2",
    ]);
  });

  it("refuses typos, wrong types and impossible values with their position", () => {
    expect(
      problemsOf(`version: 1
baselines:
  - name: corp
    version: 2024.03
    classes:
      - name: all
        extends: nowhere
        match: { os_typ: windows }
        os: { min_build: 10.0.19045, max_build: "10.0.17763" }
        ports: { tcp: [135, 70000, "9-1"], udp: [] }
        antivirus: { required: yes }
        updates: { required: [KB12, MS17-010] }
        softwares: []
      - name: all
        match: { os_type: windows }
`),
    ).toEqual([
      '4:14 baselines[0].version: expected a version string (quote it: "2024.03")',
      "8:18 baselines[0].classes[0].match: unexpected field os_typ",
      "10:29 baselines[0].classes[0].ports.tcp[1]: expected a port 0-65535 or a range like 49152-65535",
      "10:36 baselines[0].classes[0].ports.tcp[2]: expected a port 0-65535 or a range like 49152-65535",
      "11:32 baselines[0].classes[0].antivirus.required: expected true or false",
      '12:37 baselines[0].classes[0].updates.required[1]: expected an update id like KB5034441, got "MS17-010"',
      "13:9 baselines[0].classes[0]: unexpected field softwares",
    ]);
  });

  it("checks references between classes once the shapes are right", () => {
    expect(
      problemsOf(`version: 1
baselines:
  - name: corp
    version: "1"
    classes:
      - name: a
        extends: b
        match: { os_type: windows }
        os: { min_build: 10.0.19045, max_build: "10.0.17763" }
      - name: b
        extends: a
      - name: a
        match: { os_type: windows }
      - name: c
        extends: nowhere
        match: { os_type: linux }
        software: { approved: [{ name: x, min_version: "2", max_version: "1" }] }
`),
    ).toEqual([
      "7:18 baselines[0].classes[0].extends: extends cycle: a extends b extends a",
      "9:26 baselines[0].classes[0].os.min_build: min_build is above max_build",
      "11:18 baselines[0].classes[1].extends: extends cycle: b extends a extends b",
      "12:15 baselines[0].classes[2].name: duplicate class name (also classes[0])",
      "13:16 baselines[0].classes[2].match: selects the same hosts as class a with the same priority: give one a priority",
      '15:18 baselines[0].classes[3].extends: no class named "nowhere" in baseline corp',
      "17:56 baselines[0].classes[3].software.approved[0].min_version: min_version is above max_version",
    ]);
  });

  it("refuses hostile documents with clear errors", () => {
    expect(
      problemsOf(
        "version: 1\nbaselines:\n  - name: corp\n    version: '1'\n    __proto__: {classes: []}\n",
      )[0],
    ).toBe("5:5 baselines[0].__proto__: the key __proto__ is not allowed");
    expect(
      problemsOf(
        "version: 1\nbaselines: [{name: corp, version: '1', classes: [{name: x, priority: 1e400}]}]\n",
      )[0],
    ).toMatch(/priority: expected a whole number/);
    expect(
      problemsOf("version: 1\nbaselines:\n  - name: corp\n    version: '1'\n    classes: [\n")[0],
    ).toMatch(/^\d+:\d+ \(document\): /);
    expect(problemsOf("")).toEqual(["undefined:undefined (root): expected a baselines mapping"]);
  });
});
