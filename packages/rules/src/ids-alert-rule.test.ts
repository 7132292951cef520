import { FindingV1, type IdsAlertV1, idsRecordKey, topics } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { ruleEvent } from "./events.ts";
import { createIdsAlertRule } from "./ids-alert-rule.ts";
import { MemoryStateStore } from "./language/state.ts";
import type { CompiledRule } from "./model.ts";
import { findingId, raiseSeverity } from "./rules.ts";
import { ReferenceTableSet } from "./tables/reference-tables.ts";
import { buildIdsAlert } from "./testing.ts";

const tables = new ReferenceTableSet();
tables.setDocument({
  kind: "priority-list",
  name: "rules-test",
  origin: "rules-test.yaml",
  content: `
version: 1
defaultTier: medium
assets:
  - id: dc01
    hostname: dc01.corp.example
    ips: [10.20.1.10]
    tier: critical
    reason: domain controller
  - id: fs01
    hostname: fs01.corp.example
    ips: [10.20.2.15]
    tier: high
    reason: file server
  - id: v6web
    ips: ["2001:db8::80"]
    tier: high
selectors:
  - name: workstations
    cidrs: [10.20.40.0/22]
    tier: low
    reason: workstation range
`,
});

/** What the engine does for each alert: wrap it as an event, evaluate with the tables. */
function judge(rule: CompiledRule, alert: IdsAlertV1): FindingV1[] {
  const event = ruleEvent("ids.alert", alert, topics.idsAlerts.name, idsRecordKey(alert));
  return rule.evaluate(event, { tables, state: new MemoryStateStore() });
}

describe("ids.alert rule", () => {
  const rule = createIdsAlertRule();

  it("turns an alert on a critical asset into an explained, raised finding", () => {
    const alert = buildIdsAlert();
    const [finding, ...rest] = judge(rule, alert);
    expect(rest).toEqual([]);
    expect(FindingV1.parse(finding)).toEqual(finding);
    expect(finding).toMatchObject({
      id: findingId("ids.alert", 1, [alert.id]),
      time: alert.time_dt,
      rule: { id: "ids.alert", name: "IDS alert", version: 1 },
      severity: "critical",
      title:
        "IDS alert on dc01.corp.example: ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
      asset: { id: "dc01", known: true, priority: "critical" },
      group_key: "sig:2034647",
      events: [
        {
          topic: "vigil.ids.alerts",
          id: alert.id,
          time: alert.time_dt,
          summary:
            "203.0.113.45:51234 -> 10.20.1.10:443 ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
        },
      ],
      cves: ["CVE-2021-44228"],
      attack: ["T1190", "TA0001"],
      references: ["https://nvd.nist.gov/vuln/detail/CVE-2021-44228"],
    });
    expect(finding!.id).toMatch(/^fnd-[0-9a-f]{32}$/);
    expect(finding!.description).toContain("suricata signature 1:2034647:3");
    expect(finding!.description).toContain(
      "flow 203.0.113.45:51234 -> 10.20.1.10:443 tcp/http, inbound, allowed",
    );
    expect(finding!.explanation.conditions).toEqual([
      "alert severity high >= minimum low",
      "asset dc01 (10.20.1.10) tier critical from priority list entry dc01: domain controller",
      "severity raised high -> critical because the asset tier is critical",
    ]);
  });

  it("is deterministic: the same alert gives the same finding, another alert another id", () => {
    const alert = buildIdsAlert();
    expect(judge(rule, alert)).toEqual(judge(rule, structuredClone(alert)));
    const later = buildIdsAlert({ time: "2026-03-10T09:20:00.000Z" });
    expect(judge(rule, later)[0]!.id).not.toBe(judge(rule, alert)[0]!.id);
  });

  it("keeps the alert's severity on non-critical assets and caps at critical", () => {
    const onFileServer = buildIdsAlert({ asset_ip: "10.20.2.15", dst: { ip: "10.20.2.15", port: 445 } });
    expect(judge(rule, onFileServer)[0]).toMatchObject({
      severity: "high",
      asset: { id: "fs01" },
    });
    expect(judge(rule, buildIdsAlert({ severity: "critical" }))[0]!.severity).toBe("critical");
    expect(raiseSeverity("informational")).toBe("low");
    expect(raiseSeverity("critical")).toBe("critical");
  });

  it("drops alerts below the minimum severity", () => {
    expect(judge(rule, buildIdsAlert({ severity: "informational" }))).toEqual([]);
    const strict = createIdsAlertRule({ minSeverity: "high" });
    expect(judge(strict, buildIdsAlert({ severity: "medium" }))).toEqual([]);
    expect(judge(strict, buildIdsAlert({ severity: "high" }))).toHaveLength(1);
  });

  it("names an unknown asset by its address and says why it got its tier", () => {
    const alert = buildIdsAlert({
      asset_ip: "10.20.41.23",
      dst: { ip: "10.20.41.23" },
      src: { ip: "10.20.41.23" },
    });
    const [finding] = judge(rule, alert);
    expect(finding).toMatchObject({
      title: expect.stringMatching(/^IDS alert on 10\.20\.41\.23: /),
      severity: "high",
      asset: { id: "10.20.41.23", known: false, priority: "low" },
    });
    expect(finding!.explanation.conditions[1]).toBe(
      'asset 10.20.41.23 (10.20.41.23) tier low from priority list selector "workstations" (10.20.40.0/22): workstation range',
    );
    const [outside] = judge(rule, buildIdsAlert({ asset_ip: "192.0.2.99" }));
    expect(outside!.asset).toMatchObject({ id: "192.0.2.99", priority: "medium", known: false });
  });

  it("raises nothing for an alert without an asset address (a decoder anomaly)", () => {
    const anomaly = buildIdsAlert({ asset_ip: undefined, severity: "critical" });
    expect(judge(rule, anomaly)).toEqual([]);
  });

  it("handles an IPv6 asset and endpoints", () => {
    const alert = buildIdsAlert({
      asset_ip: "2001:DB8:0::80",
      src: { ip: "2001:db8:ffff::1", port: 40000 },
      dst: { ip: "2001:db8::80", port: 80 },
    });
    const [finding] = judge(rule, alert);
    expect(finding).toMatchObject({
      asset: { id: "v6web", ip: "2001:db8::80", priority: "high" },
      severity: "high",
    });
    expect(finding!.events[0]!.summary).toMatch(/^\[2001:db8:ffff::1\]:40000 -> \[2001:db8::80\]:80 /);
    expect(FindingV1.safeParse(finding).success).toBe(true);
  });

  it("tolerates empty metadata, odd ATT&CK values and duplicates", () => {
    const bare = buildIdsAlert({
      rule_metadata: {},
      cves: [],
      references: [],
      finding_info: { uid: "x", title: "", analytic: { uid: "0", name: "", type: "Rule", type_id: 1 } },
      device: {},
      app_protocol: undefined,
      action: undefined,
      unmapped: undefined,
    });
    const [finding] = judge(rule, bare);
    expect(finding).toMatchObject({ attack: [], cves: [], references: [], group_key: "sig:0" });
    expect(FindingV1.safeParse(finding).success).toBe(true);
    expect(finding!.description).toContain('suricata signature 0 ""');

    const odd = buildIdsAlert({
      rule_metadata: {
        mitre_technique_id: ["t1059.001", "T1059.001", "<script>", ""],
        mitre_tactic_id: ["TA0002", "execution"],
      },
      cves: ["CVE-2021-44228", "CVE-2021-44228"],
      references: ["a", "a"],
    });
    expect(judge(rule, odd)[0]).toMatchObject({
      attack: ["T1059.001", "TA0002"],
      cves: ["CVE-2021-44228"],
      references: ["a"],
    });
  });
});
