/**
 * The example reference documents over the example estate (examples/inventory/) and advisories:
 * what the demo shows is what the baselines say.
 */
import { resolve } from "node:path";
import type { HostV1 } from "@vigil/schema";
import { beforeAll, describe, expect, it } from "vitest";
import type { BaselineDelta } from "../model.ts";
import { ReferenceTableSet } from "./reference-tables.ts";
import { ESTATE_NOW, EXAMPLES_DIR, exampleAdvisories, exampleEstate } from "./testing.ts";

const files = {
  baselines: [resolve(EXAMPLES_DIR, "baselines/windows.yaml"), resolve(EXAMPLES_DIR, "baselines/linux.yaml")],
  priorityLists: [resolve(EXAMPLES_DIR, "assets/priority-list.yaml")],
  exceptions: [resolve(EXAMPLES_DIR, "exceptions/exceptions.yaml")],
};

let tables: ReferenceTableSet;
let hosts: HostV1[];
const byName = (name: string): HostV1 => {
  const host = hosts.find((candidate) => candidate.names.includes(name) || candidate.fqdn === name);
  if (!host) throw new Error(`no host ${name} in the example estate`);
  return host;
};
const deltasOf = (name: string) => tables.baselineDeltas(byName(name), ESTATE_NOW);
const summary = (deltas: BaselineDelta[]) =>
  deltas.map(
    (delta) => `${delta.direction} ${delta.item}${delta.excepted_by ? ` [${delta.excepted_by.id}]` : ""}`,
  );
const classOf = (name: string) =>
  tables
    .classify(byName(name))
    .flatMap(({ baseline, choice }) =>
      choice.kind === "class" ? [`${baseline.name}/${choice.class.name}`] : [],
    );

beforeAll(async () => {
  tables = new ReferenceTableSet();
  await tables.loadReferenceFiles(files);
  hosts = exampleEstate();
  for (const host of hosts) tables.applyHost(host);
  for (const advisory of exampleAdvisories()) tables.applyAdvisory(advisory);
});

describe("the example documents", () => {
  it("all load, with the sizes they state", () => {
    expect(tables.documents().map((doc) => `${doc.kind}/${doc.name}`)).toEqual([
      "baselines/linux",
      "baselines/windows",
      "exceptions/exceptions",
      "priority-list/priority-list",
    ]);
    expect(tables.sizes()).toMatchObject({
      hosts: 225,
      baselines: 2,
      baseline_classes: 10,
      exceptions: 3,
      priority_assets: 5,
      priority_selectors: 7,
      advisory_cves: 4,
    });
  });

  it("put every managed host in the class its role says", () => {
    expect(classOf("dc01.corp.example")).toEqual(["windows/domain-controller-2019"]);
    expect(classOf("payroll01.corp.example")).toEqual(["windows/payroll-server"]);
    expect(classOf("app02.corp.example")).toEqual(["windows/member-server-2019"]);
    expect(classOf("fs01.corp.example")).toEqual(["windows/member-server-2022"]);
    expect(classOf("wsus01.corp.example")).toEqual(["windows/wsus-server"]);
    expect(classOf("sccm01.corp.example")).toEqual(["windows/configmgr-site-server"]);
    expect(classOf("ws-001.corp.example")).toEqual(["windows/windows-10-workstation"]);
    expect(classOf("ws-003.corp.example")).toEqual(["windows/windows-11-workstation"]);
    expect(classOf("lt-001.corp.example")).toEqual(["windows/windows-10-workstation"]);
    expect(classOf("ws-pay01.corp.example")).toEqual(["windows/workstation"]);
    expect(classOf("app05.corp.example")).toEqual(["linux/ubuntu-server"]);
    expect(classOf("dev01.corp.example")).toEqual(["windows/member-server-2022"]);
    expect(classOf("www01.corp.example")).toEqual([]);
    for (const host of hosts)
      expect(tables.classify(host).every(({ choice }) => choice.kind !== "ambiguous")).toBe(true);
  });
});

describe("deltas over the example estate", () => {
  it("most hosts are at baseline; a modest number below, above and off policy", () => {
    const all = hosts.flatMap((host) => tables.baselineDeltas(host, ESTATE_NOW));
    const affected = hosts.filter((host) => tables.baselineDeltas(host, ESTATE_NOW).length > 0);
    const count = (direction: string) => all.filter((delta) => delta.direction === direction).length;
    expect(affected).toHaveLength(28);
    expect({ below: count("below"), above: count("above"), policy: count("policy") }).toEqual({
      below: 23,
      above: 10,
      policy: 26,
    });
    expect(all.filter((delta) => delta.excepted_by !== undefined)).toHaveLength(6);
    for (const name of [
      "dc01.corp.example",
      "payroll01.corp.example",
      "fs01.corp.example",
      "app05.corp.example",
      "ws-001.corp.example",
      "lt-008.corp.example",
    ])
      expect(deltasOf(name)).toEqual([]);
  });

  it("a superseding update satisfies the requirement: March's cumulative update counts for February's", () => {
    const ws001 = byName("ws-001.corp.example");
    expect(ws001.updates.map((update) => update.id)).not.toContain("KB5034763");
    expect(tables.hasUpdate(ws001, "KB5034763")).toBe(true);
    expect(tables.satisfyingUpdate(ws001, "KB5034763")).toBe("KB5035845");
  });

  it("below baseline: missing updates, an old build, stale signatures", () => {
    expect(deltasOf("dc02.corp.example")).toEqual([
      {
        baseline: { name: "windows", version: "2024.03", class: "domain-controller-2019" },
        item: "update:KB5034768",
        direction: "below",
        expected: "KB5034768 or a superseding update",
        actual: "missing (KB5035849, which supersedes it, is reported missing by inventory:wsus-missing)",
      },
    ]);
    expect(summary(deltasOf("app03.corp.example"))).toEqual(["below update:KB5034768"]);
    expect(summary(deltasOf("ws-017.corp.example"))).toEqual([
      "below update:KB5034763",
      "policy antivirus.signature_age",
    ]);
    expect(deltasOf("ws-034.corp.example")).toMatchObject([
      { item: "os.build", direction: "below", expected: ">= 10.0.19045", actual: "10.0.19044" },
      { item: "update:KB5034763", direction: "below" },
      { item: "antivirus.signature_age", direction: "policy" },
    ]);
    expect(summary(deltasOf("ws-051.corp.example"))).toEqual([
      "below update:KB5034765",
      "policy antivirus.signature_age",
    ]);
    // The silent laptop: its last signatures are judged at event time, five weeks later.
    expect(deltasOf("lt-017.corp.example")).toMatchObject([
      {
        item: "update:KB5034763",
        direction: "below",
        actual: "missing (KB5035845, which supersedes it, is reported missing by inventory:wsus-missing)",
      },
      { item: "antivirus.signature_age", actual: "signatures from 2024-02-02T06:00:00.000Z (39 days old)" },
    ]);
    expect(summary(deltasOf("wsus01.corp.example"))).toEqual(["below update:KB4012212"]);
    expect(summary(deltasOf("sccm01.corp.example"))).toEqual(["below update:KB4012212"]);
    // Known only to the directory: its OS version is known, nothing else is claimed.
    expect(summary(deltasOf("ws-old-03.corp.example"))).toEqual(["below os.build"]);
    const [assessment] = tables.assessBaselines(byName("ws-old-03.corp.example"), ESTATE_NOW);
    expect(assessment!.unknown.map((entry) => entry.item)).toEqual([
      "update:KB5034763",
      "update:*",
      "software:*",
      "port:*",
      "antivirus.missing",
      "admin.*",
      "password.policy",
    ]);
  });

  it("above baseline: an unapproved preview update and browser version (possible unauthorized change)", () => {
    expect(deltasOf("fs02.corp.example")).toEqual([
      {
        baseline: { name: "windows", version: "2024.03", class: "member-server-2022" },
        item: "update:KB5035942",
        direction: "above",
        expected: "no update newer than KB5035857 (approved)",
        actual: "KB5035942 installed (not approved; supersedes KB5034770, KB5035857)",
      },
      {
        baseline: { name: "windows", version: "2024.03", class: "member-server-2022" },
        item: "software:Google Chrome",
        direction: "above",
        expected: ">= 122.0.6261.94, <= 122",
        actual: "Google Chrome 123.0.6312.59 (not approved)",
      },
    ]);
  });

  it("policy: a VNC listener, an extra administrator, forbidden remote-access software", () => {
    expect(deltasOf("ws-029.corp.example")).toMatchObject([
      { item: "software:Google Chrome", direction: "above" },
      {
        item: "port:tcp/5900",
        direction: "policy",
        expected: "tcp ports 135, 445",
        actual: "listening on 0.0.0.0:5900 (C:\\Program Files\\uvnc bvba\\UltraVNC\\winvnc.exe)",
      },
      {
        item: "admin.unapproved:helpdesk-temp",
        direction: "policy",
        actual: "helpdesk-temp is a local administrator",
      },
    ]);
    expect(summary(deltasOf("lt-013.corp.example"))).toEqual([
      "above software:Google Chrome",
      "policy software-forbidden:AnyDesk*",
    ]);
    // The same tool on lt-039 is covered by a vendor-support exception.
    expect(summary(deltasOf("lt-039.corp.example"))).toEqual([
      "above software:Google Chrome",
      "policy software-forbidden:AnyDesk* [EXC-2024-009]",
    ]);
  });

  it("the legacy payroll workstation is off baseline by a documented, active exception", () => {
    const deltas = deltasOf("ws-pay01.corp.example");
    expect(summary(deltas)).toEqual([
      "below os.build [EXC-2023-014]",
      "policy software-forbidden:Microsoft Office * 2003 [EXC-2023-014]",
      "policy port:tcp/3389 [EXC-2023-014]",
      "policy antivirus.missing [EXC-2023-014]",
      "policy admin.default_account [EXC-2023-014]",
    ]);
    expect(deltas[0]!.excepted_by).toEqual({
      id: "EXC-2023-014",
      owner: "Finance IT",
      reason: expect.stringContaining("dials the payroll processing agency"),
      expires: "2025-01-01T00:00:00.000Z",
    });
    // After the expiry the same deltas stand unexcused.
    expect(
      tables
        .baselineDeltas(byName("ws-pay01.corp.example"), Date.parse("2025-01-01T00:00:00Z"))
        .every((delta) => !delta.excepted_by),
    ).toBe(true);
  });

  it("an expired exception no longer excuses anything", () => {
    expect(tables.exception(byName("fs02.corp.example").id, "update:KB5035942", ESTATE_NOW)).toBeUndefined();
    expect(tables.exception("fs02", "update:KB5035942", Date.parse("2024-02-29T12:00:00Z"))?.id).toBe(
      "EXC-2024-003",
    );
  });
});

describe("priorities and exposures over the example estate", () => {
  it("resolves tiers by entry and by host attributes, with ownership", () => {
    expect(tables.resolveAsset({ ip: "10.20.1.11" }).ref).toMatchObject({
      hostname: "dc02.corp.example",
      priority: "critical",
      priority_reason: expect.stringMatching(/^priority list entry dc02/),
    });
    const payroll = tables.resolveAsset({ hostname: "payroll01.corp.example" });
    expect(payroll.ownership).toEqual({
      organisation: "Finance IT",
      contacts: [
        {
          name: "Marco Ruiz",
          email: "marco.ruiz@corp.example",
          phone: "+1 555 0142",
          role: "payroll application owner",
        },
      ],
      maintenance_windows: ["Sun 02:00-04:00 UTC (after the payroll run is archived)"],
    });
    expect(tables.resolveAsset({ ip: "10.20.5.40" }).ref).toMatchObject({
      priority: "high",
      priority_reason: expect.stringContaining('"business-critical services"'),
    });
    expect(tables.resolveAsset({ ip: "10.20.40.21" }).ref).toMatchObject({
      priority: "low",
      owner: "Desktop Services",
    });
  });

  it("exposes the hosts that lack a fix, supersedence applied", () => {
    const cvesOf = (name: string) => tables.exposures(byName(name)).map((exposure) => exposure.cve);
    expect(tables.exposures(byName("dc02.corp.example"), "CVE-2020-1472")).toMatchObject([
      { missing_kbs: ["KB4565349"], known_exploited: true, advisory: { source: "csaf:msrc.microsoft.com" } },
    ]);
    // dc01 has March's cumulative update, which supersedes Zerologon's fix through the chain.
    expect(cvesOf("dc01.corp.example")).toEqual([]);
    expect(tables.exposures(byName("wsus01.corp.example"), "CVE-2017-0144")).toMatchObject([
      { missing_kbs: ["KB4012212", "KB4012215"], known_exploited: true },
    ]);
    const exposed = hosts
      .filter((host) => tables.exposures(host).length > 0)
      .map((host) => host.fqdn)
      .sort();
    expect(exposed).toEqual([
      "app03.corp.example",
      "dc02.corp.example",
      "sccm01.corp.example",
      "wsus01.corp.example",
    ]);
  });

  it("states the ports each class allows", () => {
    expect(tables.allowedPorts(byName("dc01.corp.example"))?.tcp).toEqual([
      53, 88, 135, 389, 445, 464, 636, 3268, 3269, 5985, 9389,
    ]);
    expect(tables.allowedPorts(byName("payroll01.corp.example"))?.tcp).toContain(1433);
    expect(tables.allowedPorts(byName("www01.corp.example"))).toBeUndefined();
  });
});
