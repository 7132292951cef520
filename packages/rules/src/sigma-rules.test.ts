import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleEvent } from "./events.ts";
import { createEvaluator } from "./language/evaluator.ts";
import { MemoryStateStore } from "./language/state.ts";
import { FakeTables, firewallEvent } from "./language/test-support.ts";
import { runPackTests } from "./pack/harness.ts";
import { compilePack, loadPack, PackError } from "./pack/load.ts";
import {
  loadSigmaPackRules,
  SigmaRulesError,
  sigmaRuleId,
  sigmaRules,
  sigmaView,
  vigilSigmaFieldMapping,
} from "./sigma-rules.ts";
import { buildIdsAlert } from "./testing.ts";

const fixtures = join(import.meta.dirname, "pack", "fixtures");
const t0 = Date.parse("2026-03-01T00:00:00Z");

function tables(): FakeTables {
  const fake = new FakeTables();
  fake.assets.push({ id: "dc01", ip: "10.0.0.5", hostname: "dc01.corp.example", tier: "critical" });
  return fake;
}

const telnetRule = `
title: Telnet allowed
id: 11111111-2222-4333-8444-555555555555
description: Telnet let through the firewall.
references: [https://example.org/telnet]
tags: [attack.lateral-movement, attack.t1021, cve.2020-10188]
logsource: { category: firewall }
detection:
  selection: { dst_port: 23, action: [accept, forward], protocol: tcp }
  condition: selection
level: high
`;

describe("sigmaRules", () => {
  it("turns a Sigma firewall rule into a Vigil rule with the Sigma metadata and an explanation", () => {
    const [rule] = sigmaRules({ rules: telnetRule });
    expect(rule).toMatchObject({
      id: "sigma.11111111-2222-4333-8444-555555555555",
      name: "Telnet allowed",
      on: ["firewall.event"],
    });
    const evaluator = createEvaluator({ rules: [rule!], tables: tables() });
    const telnet = firewallEvent({ time: t0, action: "Allowed", dst_endpoint: { ip: "10.0.0.5", port: 23 } });
    const { findings, errors } = evaluator.evaluate(telnet);
    expect(errors).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      rule: { id: rule!.id, name: "Telnet allowed", version: rule!.version },
      severity: "high",
      title: "Telnet allowed on dc01.corp.example",
      asset: { id: "dc01", priority: "critical" },
      attack: ["T1021"],
      cves: ["CVE-2020-10188"],
      references: ["https://example.org/telnet"],
      events: [{ id: telnet.id, topic: "vigil.firewall.events" }],
    });
    expect(findings[0]!.explanation.conditions).toEqual([
      `Sigma rule 11111111-2222-4333-8444-555555555555 "Telnet allowed" matched firewall.event: condition "selection"`,
      "dst_port is 23",
      `action is "Allowed" (read as allowed, allow, accept, accepted, permit, permitted, pass, forward)`,
      `protocol is "tcp"`,
    ]);
    // Denied, another port or another protocol: nothing.
    expect(
      evaluator.evaluate(
        firewallEvent({ time: t0, action: "Denied", dst_endpoint: { ip: "10.0.0.5", port: 23 } }),
      ).findings,
    ).toEqual([]);
    expect(
      evaluator.evaluate(
        firewallEvent({ time: t0, action: "Allowed", dst_endpoint: { ip: "10.0.0.5", port: 22 } }),
      ).findings,
    ).toEqual([]);
    expect(
      evaluator.evaluate(
        firewallEvent({
          time: t0,
          action: "Allowed",
          dst_endpoint: { ip: "10.0.0.5", port: 23 },
          connection_info: { protocol_name: "udp" },
        }),
      ).findings,
    ).toEqual([]);
  });

  it("maps Vigil's Allowed/Denied onto the verdict words and the blocked flag Sigma rules use", () => {
    const rules = sigmaRules({
      rules: `
title: Blocked
id: blocked-words
logsource: { category: firewall }
detection: { selection: { action: [block, drop, deny] }, condition: selection }
---
title: Flagged blocked
id: blocked-flag
logsource: { category: firewall }
detection: { selection: { blocked: "true" }, condition: selection }
---
title: Vigil value
id: vigil-value
logsource: { category: firewall }
detection: { selection: { action: denied, src_ip|cidr: 203.0.113.0/24 }, condition: selection }
`,
    });
    const evaluator = createEvaluator({ rules, tables: tables() });
    const denied = evaluator.evaluate(firewallEvent({ time: t0, action: "Denied" })).findings;
    expect(denied.map((finding) => finding.rule.id).sort()).toEqual([
      "sigma.blocked-flag",
      "sigma.blocked-words",
      "sigma.vigil-value",
    ]);
    expect(evaluator.evaluate(firewallEvent({ time: t0, action: "Allowed" })).findings).toEqual([]);
    // Without a verdict the event has no action at all.
    const { action: _none, ...rest } = firewallEvent({ time: t0 }).value;
    const noVerdict = ruleEvent("firewall.event", rest, "vigil.firewall.events", "10.0.0.5");
    expect(sigmaView(noVerdict)).not.toHaveProperty("action");
    expect(evaluator.evaluate(noVerdict).findings).toEqual([]);
  });

  it("evaluates Suricata rules over IDS alerts through the signature fields", () => {
    const [rule] = sigmaRules({
      rules: `
title: Log4j exploit attempt
id: log4j-attempt
logsource: { product: suricata }
detection:
  selection: { signature|contains: log4j, signature_id: "2034647", dest_ip|cidr: 10.0.0.0/8 }
  condition: selection
level: critical
tags: [attack.t1190]
`,
    });
    expect(rule!.on).toEqual(["ids.alert"]);
    const alert = buildIdsAlert({ dst: { ip: "10.0.0.5", port: 443 }, asset_ip: "10.0.0.5" });
    expect(alert.finding_info.analytic.uid).toBe("2034647");
    const evaluator = createEvaluator({ rules: [rule!], tables: tables() });
    const { findings } = evaluator.evaluate(ruleEvent("ids.alert", alert, "vigil.ids.alerts", "10.0.0.5"));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: "critical", attack: ["T1190"], asset: { id: "dc01" } });
    expect(vigilSigmaFieldMapping.signature).toContain("finding_info.title");
  });

  it("needs `on` for log sources Vigil has no events of, and reports rules that do not load", () => {
    const process = `
title: Whoami
id: whoami
logsource: { category: process_creation, product: windows }
detection: { selection: { Image|endswith: '\\\\whoami.exe' }, condition: selection }
`;
    expect(() => sigmaRules({ rules: process })).toThrow(/maps to no Vigil event kind.*give "on"/);
    const [rule] = sigmaRules({ rules: process, on: ["updates.agent"] });
    expect(rule!.on).toEqual(["updates.agent"]);
    const error = (() => {
      try {
        sigmaRules({
          rules: `${telnetRule}---\ntitle: Broken\nid: broken\nlogsource: { category: firewall }\ndetection: { selection: { a|nosuchmodifier: 1 }, condition: selection }\n`,
        });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SigmaRulesError);
    expect((error as SigmaRulesError).problems).toEqual([expect.stringMatching(/broken.*nosuchmodifier/)]);
  });

  it("gives a changed rule a new version, hence new finding ids", () => {
    const event = firewallEvent({ time: t0, action: "Allowed", dst_endpoint: { ip: "10.0.0.5", port: 23 } });
    const run = (text: string) =>
      createEvaluator({ rules: sigmaRules({ rules: text }), tables: tables() }).evaluate(event).findings[0]!;
    const before = run(telnetRule);
    expect(run(telnetRule).id).toBe(before.id);
    const changed = run(telnetRule.replace("level: high", "level: medium"));
    expect(changed.rule.version).not.toBe(before.rule.version);
    expect(changed.id).not.toBe(before.id);
  });

  it("makes rule ids of any Sigma id", () => {
    expect(sigmaRuleId("5E0B3F4C-7c1d")).toBe("sigma.5e0b3f4c-7c1d");
    expect(sigmaRuleId("My Rule: v2.1")).toBe("sigma.my-rule-v2-1");
    expect(sigmaRuleId("__x")).toBe("sigma.x");
    expect(sigmaRuleId("...")).toMatch(/^sigma\.[0-9a-f]{16}$/);
  });
});

const burst = `
title: Denied
id: denied
name: denied
logsource: { category: firewall }
detection: { selection: { action: block }, condition: selection }
---
title: Denied burst
id: denied-burst
correlation: { type: event_count, rules: [denied], group-by: [src_ip], timespan: 1m, condition: { gte: 3 } }
level: medium
tags: [attack.t1046]
`;

describe("Sigma correlation rules", () => {
  it("keep their state in the StateStore: a restored store resumes the window", async () => {
    const rules = sigmaRules({ rules: burst });
    // The correlated rule does not report on its own (Sigma's generate: false).
    expect(rules.map((rule) => rule.id)).toEqual(["sigma.denied-burst"]);
    const events = [0, 10, 20, 30].map((seconds) => firewallEvent({ time: t0 + seconds * 1000 }));
    const first = createEvaluator({ rules, tables: tables() });
    for (const event of events.slice(0, 2)) expect(first.evaluate(event).findings).toEqual([]);
    const changelog = first.state.drainChanges();
    expect(changelog.map((entry) => entry.key)).toEqual(["sigma.denied-burst/correlator"]);

    // A new instance (fresh compiled rules too) restores the changelog and completes the burst.
    const state = new MemoryStateStore();
    state.restore(changelog);
    const second = createEvaluator({ rules: sigmaRules({ rules: burst }), tables: tables(), state });
    const { findings } = second.evaluate(events[2]!);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      rule: { id: "sigma.denied-burst", name: "Denied burst" },
      severity: "medium",
      attack: ["T1046"],
      asset: { id: "dc01" },
      title: "Denied burst (src_ip=203.0.113.7) on dc01.corp.example",
      events: events.slice(0, 3).map((event) => expect.objectContaining({ id: event.id })),
    });
    expect(findings[0]!.explanation.conditions[1]).toBe(
      `src_ip=203.0.113.7: value 3 meets {"gte":3} over 2026-03-01T00:00:00.000Z .. 2026-03-01T00:00:20.000Z`,
    );

    // The same compiled rules on the first store: the burst completes, the group starts afresh ...
    expect(first.evaluate(events[2]!).findings.map((finding) => finding.id)).toEqual([findings[0]!.id]);
    expect(first.evaluate(events[2]!).findings).toEqual([]);
    // ... and once the store is rewound to the changelog, they notice and resume from it.
    first.state.restore(changelog);
    expect(first.evaluate(events[2]!).findings.map((finding) => finding.id)).toEqual([findings[0]!.id]);
  });

  it("judges upper-bounded conditions when advance passes the window's end, once", () => {
    const [rule] = sigmaRules({
      rules: burst.replace("condition: { gte: 3 }", "condition: { lt: 3 }"),
    });
    const evaluator = createEvaluator({ rules: [rule!], tables: tables() });
    expect(evaluator.evaluate(firewallEvent({ time: t0 })).findings).toEqual([]);
    expect(evaluator.advance(t0 + 30_000).findings).toEqual([]);
    const closed = evaluator.advance(t0 + 61_000).findings;
    expect(closed).toHaveLength(1);
    expect(closed[0]!.explanation.conditions[1]).toMatch(/value 1 meets \{"lt":3\}/);
    expect(evaluator.advance(t0 + 61_000).findings).toEqual([]);
    // The window closed in the store too: a restart does not report it again.
    const state = new MemoryStateStore();
    state.restore(evaluator.state.entries());
    const restarted = createEvaluator({ rules: [rule!], tables: tables(), state });
    expect(restarted.advance(t0 + 120_000).findings).toEqual([]);
  });
});

describe("Sigma rules in a pack", () => {
  it("compiles the manifest's sigma entries with their pipeline and runs the pack's tests", async () => {
    const report = await runPackTests(join(fixtures, "sigma"));
    expect(report.rules).toBe(2);
    expect(report.cases.map((testCase) => [testCase.name, testCase.ok, testCase.errors])).toEqual([
      ["remote access from outside and a burst of denied connections", true, []],
      ["the correlation alone", true, []],
    ]);
    const [remote] = report.cases[0]!.findings;
    expect(remote).toMatchObject({ severity: "high", attack: ["T1021.001"], asset: { id: "dc01" } });
    // The pack's pipeline maps DestinationPort and SourceAddress onto Sigma's names, Vigil's onto OCSF.
    expect(remote!.explanation.conditions).toContain("DestinationPort is 3389");
  });

  it("names what is wrong with a sigma entry", async () => {
    const pack = await loadPack(join(fixtures, "sigma"));
    const error = await compilePack(
      {
        ...pack.manifest,
        sigma: [
          { path: "../passing" },
          { path: "sigma/", pipeline: "../pipeline.yaml" },
          { path: "nowhere/" },
          { path: "sigma/", pipeline: "missing.yaml" },
        ],
      },
      pack.root,
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PackError);
    expect((error as PackError).problems).toEqual([
      "sigma[0].path: ../passing is outside the pack",
      "sigma[1].pipeline: ../pipeline.yaml is outside the pack",
      expect.stringMatching(/^sigma\[2\]\.path: .*nowhere: no such file or folder$/),
      expect.stringMatching(/^sigma\[3\]: .*missing\.yaml.*cannot read the pipeline/),
    ]);
  });

  it("loads Sigma rules from a folder with `on` for other log sources", async () => {
    const rules = await loadSigmaPackRules({
      rules: join(fixtures, "sigma", "sigma"),
      on: ["firewall.event"],
    });
    expect(rules.map((rule) => rule.id).sort()).toEqual([
      "sigma.5e0b3f4c-7c1d-4f7a-9d2e-8a6b1c3d4e01",
      "sigma.9b2c7d1e-3f4a-4b5c-8d6e-0f1a2b3c4d02",
    ]);
  });
});
