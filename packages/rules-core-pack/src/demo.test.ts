import type { FindingV1 } from "@vigil/schema";
import { beforeAll, describe, expect, it } from "vitest";
import { type DemoRun, runDemo } from "./demo.ts";
import { declarativeRules, typescriptRules } from "./index.ts";

let run: DemoRun;
beforeAll(async () => {
  run = await runDemo([...declarativeRules(), ...typescriptRules]);
}, 120_000);

/** Distinct findings of a rule (a redelivered event gives the same finding id), optionally on one asset. */
function findings(rule: string, asset?: string): FindingV1[] {
  const seen = new Set<string>();
  return run.findings.filter((finding) => {
    if (finding.rule.id !== rule || seen.has(finding.id)) return false;
    seen.add(finding.id);
    return (
      asset === undefined ||
      finding.asset.hostname === asset ||
      finding.asset.ip === asset ||
      finding.asset.id === asset
    );
  });
}

const assets = (rule: string) =>
  [...new Set(findings(rule).map((finding) => finding.asset.hostname ?? finding.asset.id))].sort();

describe("the core pack over the demo data (examples/): the demo's incidents come from these findings", () => {
  it("judges every event without a rule error", () => {
    expect(run.errors).toEqual([]);
    expect(run.events).toBeGreaterThan(3000);
  });

  it("is deterministic and idempotent: a replay, and every event delivered twice, give the same finding ids", async () => {
    const ids = (findings: FindingV1[]) => [...new Set(findings.map((finding) => finding.id))].sort();
    const replay = await runDemo([...declarativeRules(), ...typescriptRules]);
    expect(replay.findings.map((finding) => finding.id)).toEqual(run.findings.map((finding) => finding.id));
    const redelivered = await runDemo([...declarativeRules(), ...typescriptRules], { redeliver: true });
    expect(redelivered.errors).toEqual([]);
    expect(ids(redelivered.findings)).toEqual(ids(run.findings));
  }, 120_000);

  it("1. the worm's EternalBlue on wsus01, the one server without MS17-010: exploit on a vulnerable asset, known exploited", () => {
    const exploit = findings("core.ids.exploit-vulnerable-asset");
    expect(exploit.map((finding) => [finding.asset.hostname, finding.severity, finding.cves])).toEqual([
      ["wsus01.corp.example", "critical", ["CVE-2017-0144"]],
      ["wsus01.corp.example", "critical", ["CVE-2017-0144"]],
    ]);
    // dc01 and fs01 were hit by the same exploit but are not affected (Windows Server 2019, 2022).
    expect(exploit[0]!.explanation.conditions.join("\n")).toMatch(/KB4012212|KB4012215/);
  });

  it("2. high-severity alerts on critical and high tier assets: dc01, fs01, payroll01, www01", () => {
    expect(assets("core.ids.high-severity-priority-asset")).toEqual([
      "dc01.corp.example",
      "fs01.corp.example",
      "payroll01.corp.example",
      "www01.corp.example",
    ]);
    const dc01 = findings("core.ids.high-severity-priority-asset", "dc01.corp.example");
    expect(dc01.filter((finding) => finding.title.includes("Zerologon"))).toHaveLength(4);
    expect(
      dc01.every((finding) => finding.severity === "critical" && finding.asset.priority === "critical"),
    ).toBe(true);
    expect(
      findings("core.ids.high-severity-priority-asset", "payroll01.corp.example").map((f) => f.severity),
    ).toEqual(["critical", "critical", "critical"]);
    // A critical beacon from a low-tier workstation is the critical-alert rule's.
    expect(findings("core.ids.critical-alert", "10.20.42.101")).toHaveLength(6);
  });

  it("3. unmanaged infrastructure in traffic: the attacker 10.20.9.77, the beaconing workstation, the DMZ web server", () => {
    const unmanaged = findings("core.inventory.unmanaged-address");
    const by = (ip: string) => unmanaged.find((finding) => finding.asset.ip === ip);
    expect(by("10.20.9.77")?.title).toContain("Unknown address 10.20.9.77");
    expect(by("10.20.42.101")?.severity).toBe("medium");
    expect(by("172.16.10.5")?.title).toContain("Unmanaged host www01.corp.example");
    // Managed workstations that browse are not reported.
    expect(by("10.20.40.24")).toBeUndefined();
  });

  it("4. completeness: directory accounts and name registrations without managed inventory", () => {
    expect(assets("core.inventory.directory-without-inventory")).toEqual([
      "dev01.corp.example",
      "dev02.corp.example",
      "dev03.corp.example",
      "dev04.corp.example",
      "ws-old-03.corp.example",
      "ws-old-04.corp.example",
      "ws-old-05.corp.example",
    ]);
    expect(assets("core.inventory.dns-without-inventory")).toEqual(
      expect.arrayContaining([
        "guest-phone.corp.example",
        "mail-relay.corp.example",
        "prn-01.corp.example",
        "prn-06.corp.example",
        "ws-041.lab.example",
        "www01.corp.example",
        "www02.corp.example",
      ]),
    );
    expect(findings("core.inventory.dns-without-inventory")).toHaveLength(12);
  });

  it("5. the silent agent of lt-017 (last osquery result 2024-02-03)", () => {
    expect(assets("core.agent.silent")).toEqual(["lt-017.corp.example"]);
    expect(findings("core.agent.silent")[0]!.severity).toBe("medium");
  });

  it("6. below and above baseline, honouring the payroll workstation's exception and reporting fs02's expired one", () => {
    const below = findings("core.baseline.below");
    expect(below.find((finding) => finding.asset.hostname === "dc02.corp.example")?.title).toContain(
      "update:KB5034768",
    );
    expect(below.find((finding) => finding.asset.hostname === "dc02.corp.example")?.severity).toBe("high");
    expect(assets("core.baseline.below")).toEqual(
      expect.arrayContaining([
        "app03.corp.example",
        "sccm01.corp.example",
        "ws-017.corp.example",
        "wsus01.corp.example",
      ]),
    );
    expect(
      below.filter((finding) => finding.title.includes("os.build")).map((finding) => finding.asset.hostname),
    ).toEqual(expect.arrayContaining(["ws-034.corp.example"]));
    const above = findings("core.baseline.above");
    expect(
      above.find(
        (finding) => finding.asset.hostname === "fs02.corp.example" && finding.title.includes("KB5035942"),
      ),
    ).toBeDefined();
    expect(above.find((finding) => finding.asset.hostname === "ws-029.corp.example")?.title).toContain(
      "Google Chrome",
    );
    // ws-pay01 is kept on Windows XP by EXC-2023-014: no baseline or policy finding at all.
    const payroll = run.findings.filter(
      (finding) =>
        finding.asset.hostname === "ws-pay01.corp.example" &&
        /^core\.(baseline|policy)\./.test(finding.rule.id),
    );
    expect(payroll).toEqual([]);
  });

  it("7. policy: VNC listening, an unapproved administrator, stale signatures, AnyDesk (lt-039's excepted)", () => {
    expect(findings("core.policy.port-not-allowed", "ws-029.corp.example")[0]?.title).toContain(
      "port:tcp/5900",
    );
    expect(findings("core.policy.admin-account", "ws-029.corp.example")[0]?.title).toContain("helpdesk-temp");
    expect(findings("core.policy.antivirus", "ws-017.corp.example")[0]?.title).toContain(
      "antivirus.signature_age",
    );
    expect(assets("core.policy.forbidden-software")).toEqual(["lt-013.corp.example", "lt-026.corp.example"]);
  });

  it("8. firewall: payroll reached on 8443, the scans of www01 and the DMZ, the SMB sweep and the quarantined host", () => {
    expect(
      findings("core.firewall.port-not-allowed").map((finding) => [finding.asset.hostname, finding.title]),
    ).toEqual([
      [
        "payroll01.corp.example",
        "payroll01.corp.example accepted tcp/8443 from 10.20.9.77: not allowed by its baseline",
      ],
    ]);
    expect(assets("core.firewall.port-scan")).toEqual(["198.51.100.23"]);
    expect(
      findings("core.firewall.address-sweep")
        .map((finding) => finding.asset.ip)
        .sort(),
    ).toEqual(["10.20.9.77", "198.51.100.23"]);
    const quarantine = findings("core.firewall.quarantined-source");
    expect(quarantine.map((finding) => [finding.asset.ip, finding.severity])).toEqual([
      ["10.20.9.77", "high"],
    ]);
  });

  it("9. update distribution blocked on wsus01 (954960, 4 clients) and sccm01 (954474), each cleared by its fix", () => {
    const wsus = findings("core.updates.distribution-blocked", "wsus01.corp.example");
    expect(wsus.map((finding) => finding.severity)).toEqual([
      "high",
      "high",
      "high",
      "high",
      "high",
      "informational",
    ]);
    expect(wsus.at(-2)?.description).toContain(
      "ws-0101.corp.example, ws-0102.corp.example, ws-0103.corp.example, ws-0104.corp.example",
    );
    expect(wsus.at(-1)?.title).toBe(
      "Cleared: update distribution on wsus01.corp.example works again (KB954960)",
    );
    expect(wsus.at(-1)?.description).toContain("3.1.6001.66");
    const sccm = findings("core.updates.distribution-blocked", "sccm01.corp.example");
    expect(sccm.map((finding) => [finding.severity, finding.title.includes("KB954474")])).toEqual([
      ["high", true],
      ["informational", true],
    ]);
  });

  it("10. advisories against the inventory: Zerologon (dc02 first), MS17-010 (the two Windows Server 2008 R2 machines)", () => {
    const advisories = findings("core.advisory.affects-inventory");
    expect(advisories.map((finding) => [finding.cves, finding.asset.hostname, finding.severity])).toEqual(
      expect.arrayContaining([
        [["CVE-2020-1472"], "dc02.corp.example", "critical"],
        [["CVE-2017-0144"], "sccm01.corp.example", "critical"],
      ]),
    );
    expect(advisories.find((finding) => finding.cves.includes("CVE-2017-0144"))?.description).toContain(
      "wsus01.corp.example",
    );
  });
});
