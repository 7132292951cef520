import type { AdvisoryV1 } from "@vigil/schema";
import { FindingV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { ruleEvent } from "../events.ts";
import type { RuleEvent } from "../model.ts";
import { findingId } from "../rules.ts";
import { buildIdsAlert } from "../testing.ts";
import { compileRuleSpec } from "./compile.ts";
import { defineRule } from "./define.ts";
import { RuleCompileError } from "./errors.ts";
import { createEvaluator } from "./evaluator.ts";
import { buildFinding, FindingBuildError } from "./findings.ts";
import { compileRules } from "./parse.ts";
import { FakeTables, firewallEvent, host, hostEvent } from "./test-support.ts";

/** Deeply wraps a value so that any read after `lock()` throws: proves compiled rules never look at it again. */
function tripwire<T>(value: T): { value: T; lock: () => void } {
  let locked = false;
  const wrap = (target: unknown): unknown => {
    if (target === null || typeof target !== "object") return target;
    return new Proxy(target as object, {
      get(object, property, receiver) {
        if (locked) throw new Error(`rule definition read after compile: ${String(property)}`);
        return wrap(Reflect.get(object, property, receiver));
      },
      ownKeys(object) {
        if (locked) throw new Error("rule definition enumerated after compile");
        return Reflect.ownKeys(object);
      },
      getOwnPropertyDescriptor(object, property) {
        if (locked) throw new Error("rule definition inspected after compile");
        return Reflect.getOwnPropertyDescriptor(object, property);
      },
    });
  };
  return { value: wrap(value) as T, lock: () => (locked = true) };
}

const alertEvent = (overrides: Parameters<typeof buildIdsAlert>[0] = {}) => {
  const alert = buildIdsAlert(overrides);
  return ruleEvent("ids.alert", alert, "vigil.ids.alerts", alert.asset_ip ?? "none");
};

function dcTables(): FakeTables {
  const tables = new FakeTables();
  tables.assets.push({
    id: "dc01",
    ip: "10.20.1.10",
    hostname: "dc01.corp.example",
    tier: "critical",
    host: host({
      id: "dc01",
      hostname: "dc01",
      roles: { domain_controller: true, fsmo: ["pdc-emulator"], business_critical: false, tags: ["dns"] },
    }),
  });
  return tables;
}

const advisory = (id: string, knownExploited: boolean): AdvisoryV1 => ({
  schema: "vigil.advisory/v1",
  id,
  source: "nvd",
  cves: [id],
  cwes: [],
  cpe_matches: [],
  products: [],
  product_status: [],
  remediations: [],
  fixing_kb_ids: ["KB5000001"],
  ...(knownExploited ? { known_exploited: { source: "cisa-kev" } } : {}),
  cvss: [],
  references: [],
});

describe("compilation", () => {
  it("compiles once: evaluating never reads the rule definition again", () => {
    const definition = {
      id: "test.compiled",
      name: "Compiled",
      version: 1,
      description: "d",
      on: ["ids.alert"],
      where: {
        all: [
          { severity: ["high", "critical"] },
          { "finding_info.title": { regex: "log4j", ignore_case: true } },
          { "src_endpoint.ip": { cidr: ["203.0.113.0/24"] } },
          { not: { "asset.tier": "low" } },
        ],
      },
      severity: {
        from: "asset.tier",
        map: { critical: "critical" },
        default: "medium",
        raise: [{ when: { cves: { exists: true } } }],
      },
      title: "{{ finding_info.title }} on {{ asset.hostname || asset.id }}",
      details: "{{ src_endpoint.ip }} -> {{ dst_endpoint.ip }}",
      group_key: "sig:{{ finding_info.analytic.uid }}",
      suppress: { window: "1h", by: ["asset.id"] },
      attack: ["T1190"],
    };
    const { value, lock } = tripwire(definition);
    const rule = compileRuleSpec(value);
    lock();
    expect(() => (value as { id: string }).id).toThrow(/read after compile/);
    const evaluator = createEvaluator({ rules: [rule], tables: dcTables() });
    const first = evaluator.evaluate(alertEvent());
    expect(first.errors).toEqual([]);
    expect(first.findings).toHaveLength(1);
    expect(first.findings[0]!.severity).toBe("critical");
    expect(evaluator.evaluate(alertEvent({ time: "2026-03-10T09:20:00Z" })).findings).toEqual([]); // suppressed
    expect(evaluator.advance(Date.parse("2026-03-11T00:00:00Z")).errors).toEqual([]);
    expect(Object.isFrozen(rule)).toBe(true);
  });

  it("compiles correlation and for_each once too", () => {
    const sequence = tripwire({
      id: "test.sequence",
      name: "Sequence",
      version: 1,
      description: "d",
      on: ["firewall.event"],
      where: { "connection_info.protocol_name": "tcp" },
      correlate: {
        by: ["asset_ip"],
        window: "10m",
        sequence: [
          { name: "denied", where: { action: "Denied" } },
          { name: "allowed", where: { action: { in: ["Allowed"] } } },
        ],
      },
      severity: "low",
      title: "{{ correlation.steps }}",
    });
    const perDelta = tripwire({
      id: "test.each",
      name: "Each",
      version: 1,
      description: "d",
      on: ["inventory.host"],
      for_each: { in: "listening_ports", where: { port: { lt: 1024 } } },
      severity: "low",
      title: "{{ each.port }}",
    });
    const rules = [compileRuleSpec(sequence.value), compileRuleSpec(perDelta.value)];
    sequence.lock();
    perDelta.lock();
    const evaluator = createEvaluator({ rules, tables: new FakeTables() });
    const steps = [
      firewallEvent({ time: 1000, action: "Denied" }),
      firewallEvent({ time: 2000, action: "Allowed" }),
      hostEvent(
        host({
          id: "h1",
          listening_ports: [
            { port: 22, protocol: "tcp", origin: "osquery" },
            { port: 8080, protocol: "tcp", origin: "osquery" },
          ],
        }),
      ),
    ];
    const titles = steps.flatMap((event) =>
      evaluator.evaluate(event).findings.map((finding) => finding.title),
    );
    expect(titles).toEqual(["denied, allowed", "22"]);
    expect(evaluator.advance(10_000_000).errors).toEqual([]);
  });

  it("resolves lookups lazily, once per event, whatever the number of rules asking", () => {
    const rules = compileRules(
      Array.from(
        { length: 5 },
        (_, index) => `id: test.lookup-${index}
name: l
version: 1
description: d
on: ids.alert
where: { asset.tier: critical, asset.roles: domain-controller }
severity: low
title: "{{ asset.hostname }}"
`,
      ).join("---\n"),
    );
    const tables = dcTables();
    const noLookup = compileRules(`id: test.no-lookup
name: n
version: 1
description: d
on: ids.alert
where: { severity: informational }
severity: low
title: t
`);
    const evaluator = createEvaluator({ rules: [...noLookup, ...rules], tables });
    expect(evaluator.evaluate(alertEvent()).findings).toHaveLength(5);
    expect(tables.resolveCalls).toBe(1);
    tables.resolveCalls = 0;
    createEvaluator({ rules: noLookup, tables }).evaluate(alertEvent());
    expect(tables.resolveCalls).toBe(0);
  });

  it("asset, exposure and severity raise: an exploit attempt on a vulnerable, known-exploited asset", () => {
    const tables = dcTables();
    const dc = tables.assets[0]!.host!;
    tables.exposureList.set("dc01", [
      {
        advisory: advisory("CVE-2021-44228", true),
        cve: "CVE-2021-44228",
        missing_kbs: ["KB5000001"],
        reason: "lacks KB5000001",
        known_exploited: true,
      },
      {
        advisory: advisory("CVE-2020-1472", false),
        cve: "CVE-2020-1472",
        missing_kbs: ["KB4000002"],
        reason: "lacks KB4000002",
        known_exploited: false,
      },
    ]);
    const [rule] = compileRules(`id: test.exploit
name: Exploit on vulnerable asset
version: 2
description: d
on: ids.alert
where:
  exposure.vulnerable: true
severity:
  from: severity
  default: medium
  raise:
    - when: { exposure.known_exploited: true }
      reason: known exploited
title: "Exploit attempt on vulnerable {{ asset.hostname }}: {{ exposure.cves }} (missing {{ exposure.missing_kbs }})"
`);
    const [finding] = createEvaluator({ rules: [rule!], tables }).evaluate(alertEvent()).findings;
    expect(finding).toMatchObject({
      severity: "critical",
      title: "Exploit attempt on vulnerable dc01.corp.example: CVE-2021-44228 (missing KB5000001)",
      asset: { id: "dc01", priority: "critical" },
      cves: ["CVE-2021-44228"],
    });
    expect(finding!.explanation.conditions).toEqual([
      "exposure.vulnerable is true",
      'severity high from severity "high"',
      "severity raised high -> critical (known exploited): exposure.known_exploited is true",
    ]);
    expect(finding!.explanation.summary).toContain("priority critical");
    expect(FindingV1.parse(finding)).toEqual(finding);
    expect(dc.id).toBe("dc01");
    // Not inventoried: exposure is unknown, neither vulnerable nor not.
    const unknown = alertEvent({ asset_ip: "10.99.0.1", dst: { ip: "10.99.0.1", port: 443 } });
    expect(createEvaluator({ rules: [rule!], tables }).evaluate(unknown).findings).toEqual([]);
  });

  it("baseline deltas with for_each: one finding per non-excepted item below baseline", () => {
    const tables = new FakeTables();
    const web = host({ id: "web01", hostname: "web01" });
    tables.assets.push({ id: "web01", hostname: "web01", tier: "high", host: web });
    const baseline = { name: "windows-servers", version: "3", class: "member-server" };
    tables.deltas.set("web01", [
      {
        baseline,
        item: "update:KB4012212",
        direction: "below",
        expected: "KB4012212 or a superseding update",
        actual: "missing",
      },
      {
        baseline,
        item: "update:KB5005030",
        direction: "below",
        expected: "KB5005030",
        actual: "missing",
        excepted_by: { id: "EXC-7", owner: "payroll", reason: "vendor", expires: "2027-01-01" },
      },
      {
        baseline,
        item: "software:Java",
        direction: "above",
        expected: "<= 8.0.2",
        actual: "8.0.3 (not approved)",
      },
      { baseline, item: "port:tcp/23", direction: "policy", expected: "not listening", actual: "listening" },
    ]);
    const [rule] = compileRules(`id: test.below-baseline
name: Below baseline
version: 1
description: d
on: inventory.host
where:
  baseline.deltas: { some: { direction: below } }
for_each:
  in: baseline.deltas
  where: { direction: below, excepted: false, item: { glob: "update:*" } }
severity: { from: asset.tier, map: { critical: high, high: medium }, default: low }
title: "{{ asset.hostname }} below baseline {{ each.baseline.name }}: {{ each.item }} ({{ each.actual }})"
group_key: "baseline:{{ each.item }}"
`);
    const event = hostEvent(web);
    const { findings, errors } = createEvaluator({ rules: [rule!], tables }).evaluate(event);
    expect(errors).toEqual([]);
    expect(findings.map((finding) => [finding.title, finding.severity, finding.group_key])).toEqual([
      [
        "web01 below baseline windows-servers: update:KB4012212 (missing)",
        "medium",
        "baseline:update:KB4012212",
      ],
    ]);
    expect(findings[0]!.id).toBe(
      findingId("test.below-baseline", 1, [event.id, "baseline.deltas#update:KB4012212"]),
    );
    expect(findings[0]!.explanation.conditions[0]).toMatch(
      /^2 of baseline.deltas match \(direction equals "below"\): update:KB4012212 below baseline windows-servers/,
    );
    expect(findings[0]!.explanation.conditions[1]).toBe(
      'baseline.deltas has update:KB4012212 below baseline windows-servers (class member-server): expected KB4012212 or a superseding update, actual missing (direction is "below"; excepted is false; item "update:KB4012212" matches "update:*")',
    );
  });

  it("port.allowed: firewall traffic to a port the destination's baseline does not allow", () => {
    const tables = new FakeTables();
    tables.assets.push({
      id: "web01",
      ip: "10.0.0.5",
      hostname: "web01",
      tier: "high",
      host: host({ id: "web01" }),
    });
    tables.ports.set("web01", { tcp: [80, 443], udp: [] });
    const [rule] = compileRules(`id: test.port
name: Port not allowed
version: 1
description: d
on: firewall.event
where: { action: Allowed, port.allowed: false }
severity: medium
title: "{{ port.protocol }}/{{ port.number }} to {{ port.destination }} (allowed {{ port.allowed_ports }})"
`);
    const evaluator = createEvaluator({ rules: [rule!], tables });
    const allowed = (port: number) =>
      evaluator.evaluate(
        firewallEvent({ time: 1, action: "Allowed", dst_endpoint: { ip: "10.0.0.5", port } }),
      ).findings;
    expect(allowed(443)).toEqual([]);
    expect(allowed(23).map((finding) => finding.title)).toEqual(["tcp/23 to web01 (allowed 80, 443)"]);
    // No baseline stating ports: unknown, no finding.
    tables.ports.clear();
    expect(allowed(23)).toEqual([]);
  });

  it("affected.*: a new advisory weighed by the priority of the assets it affects; the asset override", () => {
    const tables = new FakeTables();
    for (const [id, tier] of [
      ["dc01", "critical"],
      ["ws01", "low"],
      ["ws02", "low"],
    ] as const)
      tables.assets.push({ id, hostname: id, tier, host: host({ id, hostname: id }) });
    const item = advisory("CVE-2024-0001", false);
    for (const id of ["dc01", "ws01"])
      tables.exposureList.set(id, [
        {
          advisory: item,
          cve: "CVE-2024-0001",
          missing_kbs: ["KB5000001"],
          reason: "lacks KB5000001",
          known_exploited: false,
        },
      ]);
    const rules = compileRules(`id: test.advisory
name: Advisory affects inventory
version: 1
description: d
on: advisory
where: { affected.count: { gte: 1 } }
asset: { id: "{{ affected.assets.0.id }}" }
severity: { from: affected.assets.0.tier, map: { critical: high }, default: low }
title: "{{ id }} affects {{ affected.count }} assets (score {{ affected.score }}): {{ affected.hostnames }}"
---
id: test.advisory-each
name: Advisory per asset
version: 1
description: d
on: advisory
for_each:
  in: affected.assets
  asset: { id: "{{ each.id }}" }
severity: { from: asset.tier, map: { critical: high }, default: low }
title: "{{ id }} on {{ each.hostname }}: {{ each.missing_kbs }}"
`);
    const event = ruleEvent("advisory", item, "vigil.advisories", "nvd/CVE-2024-0001");
    const findings = createEvaluator({ rules, tables }).evaluate(event).findings;
    expect(
      findings.map((finding) => [finding.rule.id, finding.asset.id, finding.severity, finding.title]),
    ).toEqual([
      ["test.advisory", "dc01", "high", "CVE-2024-0001 affects 2 assets (score 9): dc01, ws01"],
      ["test.advisory-each", "dc01", "high", "CVE-2024-0001 on dc01: KB5000001"],
      ["test.advisory-each", "ws01", "low", "CVE-2024-0001 on ws01: KB5000001"],
    ]);
  });

  it("events with missing fields never crash a rule", () => {
    const rules = compileRules(`id: test.sparse
name: s
version: 1
description: d
on: [firewall.event, ids.alert]
where:
  any:
    - firewall_rule.name: { regex: "^allow" }
    - http_request.url.hostname: { endswith: ".example" }
    - not: { nat.src_endpoint.port: { gt: 1024 } }
severity: low
title: "{{ firewall_rule.name }}{{ http_request.url.hostname || 'none' }}"
`);
    const evaluator = createEvaluator({ rules, tables: new FakeTables() });
    const result = evaluator.evaluate(firewallEvent({ time: 1 }));
    expect(result.errors).toEqual([]);
    expect(result.findings.map((finding) => finding.title)).toEqual(["none"]);
    expect(evaluator.evaluate(alertEvent()).errors).toEqual([]);
  });

  it("compile errors across the rule: correlation and for_each, sequence kinds, upper bounds on sliding windows", () => {
    const base = "name: n\nversion: 1\ndescription: d\nseverity: low\ntitle: t\n";
    const problemsOf = (text: string) => {
      try {
        compileRules(text);
        return [];
      } catch (error) {
        return (error as RuleCompileError).problems.map((problem) => `${problem.path}: ${problem.message}`);
      }
    };
    expect(
      problemsOf(
        `id: test.a\n${base}on: firewall.event\ncorrelate: { by: [src_endpoint.ip], window: 1m, count: { lt: 3 } }\n`,
      ),
    ).toEqual([
      "correlate.count: lt / lte need mode: tumbling (a sliding window is never complete, so an upper bound cannot be judged)",
    ]);
    expect(
      problemsOf(
        `id: test.b\n${base}on: firewall.event\ncorrelate: { by: [src_endpoint.ip], count: { gte: 3 } }\n`,
      ),
    ).toEqual(["correlate.window: expected a window for count"]);
    expect(
      problemsOf(
        `id: test.c\n${base}on: firewall.event\ncorrelate: { by: [src_endpoint.ip], window: 1m, count: { gte: 3 }, absence: { for: 1d } }\n`,
      ),
    ).toEqual(["correlate: expected only one of count, distinct, sequence, absence (got count, absence)"]);
    expect(
      problemsOf(
        `id: test.d\n${base}on: firewall.event\ncorrelate:\n  by: [src_endpoint.ip]\n  window: 1m\n  sequence:\n    - { name: a, on: ids.alert, where: { severity: high } }\n    - { name: b, where: { action: Denied } }\n`,
      ),
    ).toEqual(["correlate.sequence[0].on: ids.alert is not one of the rule's kinds (on: firewall.event)"]);
    expect(problemsOf(`id: test.e\n${base}on: firewall.event\nwindow: 5m\n`)).toEqual([
      'window: unknown key "window"',
    ]);
    expect(problemsOf(`id: test.f\n${base}on: firewall.event\nsuppress: { window: 5 minutes }\n`)).toEqual([
      'suppress.window: expected a duration like 30s, 5m, 1h, 7d or 2w, got "5 minutes"',
    ]);
  });
});

describe("TypeScript rules", () => {
  it("defineRule: typed events, the same finding shape as YAML rules, its own state namespace", () => {
    const rule = defineRule({
      id: "acme.payroll.after-hours",
      name: "Payroll access after hours",
      version: 1,
      description: "d",
      on: ["firewall.event"],
      evaluate(event, context) {
        // event.value is a FirewallEventV1 here: no casts.
        const port = event.value.dst_endpoint.port;
        if (port !== 443) return [];
        const seen = (context.state.get("seen") as number | undefined) ?? 0;
        context.state.set("seen", seen + 1);
        return [
          context.finding({
            events: [event],
            asset: context.asset(event),
            severity: "medium",
            title: `HTTPS to ${event.value.dst_endpoint.ip}`,
            conditions: [`dst_endpoint.port is ${port}`],
            attack: ["T1071"],
          }),
        ];
      },
    });
    const evaluator = createEvaluator({ rules: [rule], tables: new FakeTables() });
    const event = firewallEvent({ time: 5000, dst_endpoint: { ip: "10.0.0.5", port: 443 } });
    const { findings, errors } = evaluator.evaluate(event);
    expect(errors).toEqual([]);
    expect(findings[0]).toMatchObject({
      id: findingId("acme.payroll.after-hours", 1, [event.id]),
      rule: { id: "acme.payroll.after-hours", version: 1 },
      group_key: "acme.payroll.after-hours",
      events: [{ topic: "vigil.firewall.events", id: event.id, time: "1970-01-01T00:00:05.000Z" }],
      explanation: { conditions: ["dst_endpoint.port is 443"] },
    });
    expect(evaluator.state.get("acme.payroll.after-hours/seen")).toBe(1);
  });

  it("defineRule rejects a bad identity; buildFinding refuses what no finding may carry", () => {
    expect(() =>
      defineRule({
        id: "Bad Id",
        name: "",
        version: 0,
        description: "d",
        on: ["dns" as "advisory"],
        evaluate: () => [],
      }),
    ).toThrow(RuleCompileError);
    const event = firewallEvent({ time: 1 }) as RuleEvent;
    const base = {
      rule: { id: "a.b", name: "n", version: 1 },
      asset: new FakeTables().resolveAsset({ ip: "10.0.0.5" }),
      severity: "low" as const,
      title: "t",
      conditions: [],
    };
    expect(() => buildFinding({ ...base, events: [] })).toThrow(FindingBuildError);
    expect(() => buildFinding({ ...base, events: [event], attack: ["T1190", "rm -rf"] })).toThrow(
      /not ATT&CK ids: rm -rf/,
    );
    const finding = buildFinding({
      ...base,
      events: [event],
      cves: ["CVE-2021-44228", "not-a-cve"],
      title: "x".repeat(1000),
    });
    expect(finding.cves).toEqual(["CVE-2021-44228"]);
    expect(finding.title).toHaveLength(300);
    expect(FindingV1.parse(finding)).toEqual(finding);
  });
});
