import type { FindingV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { ruleEvent } from "../events.ts";
import type { CompiledRule, RuleEvent } from "../model.ts";
import { findingId } from "../rules.ts";
import { buildIdsAlert } from "../testing.ts";
import { createEvaluator } from "./evaluator.ts";
import { compileRules } from "./parse.ts";
import { MemoryStateStore } from "./state.ts";
import { FakeTables, firewallEvent, host, hostEvent } from "./test-support.ts";

const T0 = Date.parse("2026-03-01T00:00:00Z");
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

const header = (id: string, on = "firewall.event", severity = "medium") => `id: ${id}
name: ${id}
version: 1
description: d
on: ${on}
severity: ${severity}
`;

function denied(time: number, src = "203.0.113.7", port = 22, dst = "10.0.0.5") {
  return firewallEvent({
    time,
    src_endpoint: { ip: src, port: 40000 },
    dst_endpoint: { ip: dst, port },
    asset_ip: dst,
  });
}

function run(rules: CompiledRule[], steps: (RuleEvent | number)[], tables = new FakeTables()) {
  const evaluator = createEvaluator({ rules, tables });
  const findings: FindingV1[] = [];
  for (const step of steps) {
    const result = typeof step === "number" ? evaluator.advance(step) : evaluator.evaluate(step);
    expect(result.errors).toEqual([]);
    findings.push(...result.findings);
  }
  return { findings, evaluator };
}

describe("count and distinct over sliding windows", () => {
  const [count] = compileRules(`${header("fw.burst")}where: { action: Denied }
correlate: { by: [src_endpoint.ip], window: 1m, count: { gte: 3 } }
title: "{{ correlation.count }} denied from {{ src_endpoint.ip }} between {{ correlation.first }} and {{ correlation.last }}"
`);

  it("raises when the events of one key within the window reach the threshold, then starts over", () => {
    const events = [
      denied(T0),
      denied(T0 + 10 * S, "198.51.100.1"),
      denied(T0 + 20 * S),
      denied(T0 + 50 * S),
      denied(T0 + 55 * S),
    ];
    const { findings } = run([count!], events);
    expect(findings.map((finding) => finding.title)).toEqual([
      "3 denied from 203.0.113.7 between 2026-03-01T00:00:00.000Z and 2026-03-01T00:00:50.000Z",
    ]);
    expect(findings[0]!.id).toBe(findingId("fw.burst", 1, [events[0]!.id, events[2]!.id, events[3]!.id]));
    expect(findings[0]!.events.map((ref) => ref.id)).toEqual([events[0]!.id, events[2]!.id, events[3]!.id]);
    expect(findings[0]!.time).toBe("2026-03-01T00:00:50.000Z");
    expect(findings[0]!.explanation.conditions).toEqual([
      'action is "Denied"',
      '3 events (at least 3) with src_endpoint.ip "203.0.113.7" within 1m (sliding, 2026-03-01T00:00:00.000Z to 2026-03-01T00:00:50.000Z)',
    ]);
  });

  it("counts a redelivered event once (a batch replayed after a crash)", () => {
    const first = denied(T0);
    const second = denied(T0 + 10 * S);
    const { findings } = run([count!], [first, second, first, second]);
    expect(findings).toEqual([]);
    const { findings: third } = run([count!], [first, second, first, denied(T0 + 20 * S)]);
    expect(third).toHaveLength(1);
  });

  it("events further apart than the window never add up", () => {
    const { findings } = run(
      [count!],
      [denied(T0), denied(T0 + 40 * S), denied(T0 + 90 * S), denied(T0 + 140 * S)],
    );
    expect(findings).toEqual([]);
  });

  it("distinct count: a port scan", () => {
    const [scan] = compileRules(`${header("fw.scan")}where: { action: Denied }
correlate: { by: [src_endpoint.ip], window: 1m, distinct: { field: dst_endpoint.port, gte: 4 } }
title: "Scan from {{ src_endpoint.ip }}: {{ correlation.distinct }} ports ({{ correlation.values }})"
`);
    const events = [22, 22, 23, 22, 80, 443].map((port, index) =>
      denied(T0 + index * S, "203.0.113.7", port),
    );
    const { findings } = run([scan!], events);
    expect(findings.map((finding) => finding.title)).toEqual([
      "Scan from 203.0.113.7: 4 ports (23, 22, 80, 443)",
    ]);
  });
});

describe("tumbling windows", () => {
  const rules =
    compileRules(`${header("fw.busy")}correlate: { by: [asset_ip], window: 1h, mode: tumbling, count: { gte: 2 } }
title: "busy {{ asset_ip }}"
---
${header("fw.quiet")}correlate: { by: [asset_ip], window: 1h, mode: tumbling, count: { lt: 2 } }
title: "quiet {{ asset_ip }} ({{ asset.id }})"
`);

  it("an at-least threshold fires once per window as soon as it is reached; an upper bound when the window closes", () => {
    const steps = [
      denied(T0 + 5 * M),
      denied(T0 + 10 * M),
      denied(T0 + 20 * M),
      denied(T0 + 65 * M),
      T0 + 2 * H,
    ];
    const { findings, evaluator } = run(rules, steps);
    expect(findings.map((finding) => [finding.title, finding.time])).toEqual([
      ["busy 10.0.0.5", "2026-03-01T00:10:00.000Z"],
      ["quiet 10.0.0.5 (10.0.0.5)", "2026-03-01T01:05:00.000Z"],
    ]);
    expect(findings[1]!.id).toBe(findingId("fw.quiet", 1, [`10.0.0.5@${T0 + H}`]));
    // Both windows are closed and gone: only the watermarks remain.
    expect(
      evaluator.state
        .entries()
        .map((entry) => entry.key)
        .sort(),
    ).toEqual(["fw.busy/w", "fw.quiet/w"]);
  });

  it("no window is skipped when the watermark jumps far ahead", () => {
    const events: RuleEvent[] = [];
    for (let hour = 0; hour < 48; hour++)
      for (const dst of ["10.0.0.5", "10.0.0.6", "10.0.0.7"])
        events.push(denied(T0 + hour * H + 30 * M, "203.0.113.7", 22, dst));
    const { findings, evaluator } = run([rules[1]!], [...events, T0 + 365 * D]);
    expect(findings).toHaveLength(48 * 3);
    expect(new Set(findings.map((finding) => finding.id)).size).toBe(48 * 3);
    expect(evaluator.state.size).toBe(1);
    // Advancing again to the same watermark raises nothing more (idempotent).
    expect(evaluator.advance(T0 + 365 * D).findings).toEqual([]);
  });
});

describe("sequences", () => {
  const [sequence] = compileRules(`${header("updates.chain", "[ids.alert, firewall.event]")}correlate:
  by: [asset_ip]
  window: 10m
  allowed_lateness: 5m
  sequence:
    - { name: probe, on: firewall.event, where: { action: Denied } }
    - { name: allowed, on: firewall.event, where: { action: Allowed } }
    - { name: exploit, on: ids.alert, where: { severity: [high, critical] } }
title: "{{ correlation.steps }} on {{ asset_ip }}"
`);
  const allowed = (time: number) => firewallEvent({ time, action: "Allowed", asset_ip: "10.0.0.5" });
  const alert = idsAt;

  it("A then B then C per key within the window, in event-time order even when they arrive out of order", () => {
    const ordered = run([sequence!], [denied(T0), allowed(T0 + M), alert(T0 + 2 * M)]);
    expect(ordered.findings.map((finding) => finding.title)).toEqual(["probe, allowed, exploit on 10.0.0.5"]);
    expect(
      ordered.findings[0]!.explanation.conditions.slice(0, 3).map((text) => text.split(" (")[0]),
    ).toEqual(['step 1 "probe"', 'step 2 "allowed"', 'step 3 "exploit"']);
    // The allowed connection arrives last but happened second: still the sequence.
    expect(run([sequence!], [denied(T0), alert(T0 + 2 * M), allowed(T0 + M)]).findings).toHaveLength(1);
    // Wrong order in event time, or too far apart: nothing.
    expect(run([sequence!], [allowed(T0), denied(T0 + M), alert(T0 + 2 * M)]).findings).toEqual([]);
    expect(run([sequence!], [denied(T0), allowed(T0 + M), alert(T0 + 11 * M)]).findings).toEqual([]);
  });

  it("counts a redelivered step once: a replayed batch does not complete a second sequence", () => {
    const probe = denied(T0);
    const open = allowed(T0 + M);
    const alerts = [alert(T0 + 2 * M), alert(T0 + 3 * M)];
    const once = run([sequence!], [probe, open, ...alerts]).findings;
    const replayed = run([sequence!], [probe, open, probe, open, ...alerts]).findings;
    expect(once).toHaveLength(1);
    expect(replayed.map((finding) => finding.id)).toEqual(once.map((finding) => finding.id));
  });
});

const testAlert = buildIdsAlert({ asset_ip: "10.0.0.5", dst: { ip: "10.0.0.5", port: 443 } });

function idsAt(time: number): RuleEvent {
  const iso = new Date(time).toISOString();
  return ruleEvent(
    "ids.alert",
    {
      ...testAlert,
      id: `ids-${time}`,
      time,
      time_dt: iso,
      finding_info: { ...testAlert.finding_info, uid: `ids-${time}` },
    },
    "vigil.ids.alerts",
    "10.0.0.5",
  );
}

describe("absence", () => {
  const [silent] =
    compileRules(`${header("inv.silent", "inventory.host", "{ from: asset.tier, map: { critical: high }, default: low }")}where: { is_managed: true }
correlate:
  by: [id]
  absence: { for: 7d, since: agent.last_seen, stop_when: { is_managed: false } }
asset: { id: "{{ id }}" }
title: "{{ hostname }} silent for {{ correlation.silence }} (last report {{ correlation.first }})"
`);
  const state = (id: string, lastSeen: number, managed = true, observed = lastSeen) =>
    hostEvent(
      host({
        id,
        hostname: id,
        is_managed: managed,
        time: new Date(observed).toISOString(),
        agent: { name: "osquery", last_seen: new Date(lastSeen).toISOString() },
      }),
    );

  it("reports a managed host whose agent has not reported for 7 days, once, with the current asset", () => {
    const tables = new FakeTables();
    tables.assets.push({ id: "ws01", hostname: "ws01", tier: "critical" });
    const { findings, evaluator } = run(
      [silent!],
      [
        state("ws01", T0),
        state("ws02", T0),
        state("ws02", T0 + 3 * D),
        T0 + 6 * D,
        state("ws01", T0, true, T0 + 6 * D),
        T0 + 8 * D,
        T0 + 9 * D,
      ],
      tables,
    );
    expect(findings.map((finding) => [finding.title, finding.severity, finding.time])).toEqual([
      ["ws01 silent for 8d (last report 2026-03-01T00:00:00.000Z)", "high", "2026-03-08T00:00:00.000Z"],
    ]);
    expect(findings[0]!.id).toBe(findingId("inv.silent", 1, [`ws01@${T0}`]));
    expect(findings[0]!.explanation.conditions).toEqual([
      "is_managed is true",
      'agent.last_seen is "2026-03-01T00:00:00.000Z"',
      'nothing for id "ws01" within 7d after 2026-03-01T00:00:00.000Z (event time now 2026-03-09T00:00:00.000Z)',
      'severity high from asset.tier "critical"',
    ]);
    // ws02 reported later: silent from day 3, due on day 10.
    expect(evaluator.advance(T0 + 10 * D).findings.map((finding) => finding.asset.id)).toEqual(["ws02"]);
    // A state republished with the same old report does not raise it again; a new report re-arms.
    const again = evaluator.evaluate(state("ws01", T0, true, T0 + 11 * D));
    expect(again.findings).toEqual([]);
    expect(evaluator.advance(T0 + 12 * D).findings).toEqual([]);
  });

  it("stops watching a host that is no longer managed", () => {
    const { findings } = run([silent!], [state("ws01", T0), state("ws01", T0 + D, false), T0 + 30 * D]);
    expect(findings).toEqual([]);
  });
});

describe("lateness", () => {
  const [late] =
    compileRules(`${header("fw.late")}correlate: { by: [src_endpoint.ip], window: 1m, allowed_lateness: 30s, count: { gte: 3 } }
title: t
`);

  it("late events within allowed_lateness still count; later ones are counted as dropped, never silently", () => {
    const within = run([late!], [denied(T0 + 100 * S), denied(T0 + 110 * S), denied(T0 + 20 * S + 50 * S)]);
    expect(within.findings).toHaveLength(1);
    const beyond = run([late!], [denied(T0 + 200 * S), denied(T0 + 210 * S), denied(T0 + 100 * S)]);
    expect(beyond.findings).toEqual([]);
    expect(beyond.evaluator.counters().late_dropped).toBe(1);
    expect(beyond.evaluator.counters().rules["fw.late"]!.late_dropped).toBe(1);
  });

  it("the watermark makes events late too", () => {
    const { evaluator } = run([late!], [T0 + 10 * M, denied(T0)]);
    expect(evaluator.counters().late_dropped).toBe(1);
  });
});

describe("suppression and bounded state", () => {
  it("one finding per key per suppression window", () => {
    const [rule] = compileRules(`${header("fw.denied")}where: { action: Denied }
suppress: { window: 1h, by: [src_endpoint.ip] }
title: "denied {{ src_endpoint.ip }}"
`);
    const { findings, evaluator } = run(
      [rule!],
      [denied(T0), denied(T0 + M), denied(T0 + M, "198.51.100.1"), denied(T0 + 61 * M), T0 + 3 * H],
    );
    expect(findings.map((finding) => [finding.title, finding.time])).toEqual([
      ["denied 203.0.113.7", "2026-03-01T00:00:00.000Z"],
      ["denied 198.51.100.1", "2026-03-01T00:01:00.000Z"],
      ["denied 203.0.113.7", "2026-03-01T01:01:00.000Z"],
    ]);
    expect(evaluator.counters().suppressed).toBe(1);
    expect(evaluator.state.size).toBe(0);
  });

  it("caps the events kept per key and counts what the cap dropped", () => {
    const [rule] =
      compileRules(`${header("fw.capped")}correlate: { by: [src_endpoint.ip], window: 1h, max_events: 10, count: { gte: 1000 } }
title: t
`);
    const events = Array.from({ length: 25 }, (_, index) => denied(T0 + index * S));
    const { evaluator } = run([rule!], events);
    expect(evaluator.counters().state_capped).toBe(15);
    const stored = evaluator.state.get("fw.capped/k/203.0.113.7") as { ev: unknown[] };
    expect(stored.ev).toHaveLength(10);
    evaluator.advance(T0 + 2 * H);
    expect(evaluator.state.get("fw.capped/k/203.0.113.7")).toBeUndefined();
  });

  it("counts events without a correlation key", () => {
    const [rule] =
      compileRules(`${header("fw.keyless")}correlate: { by: [firewall_rule.name], window: 1h, count: { gte: 2 } }
title: t
`);
    const { evaluator } = run([rule!], [denied(T0)]);
    expect(evaluator.counters().unkeyed).toBe(1);
  });
});

describe("restart", () => {
  const text = `${header("fw.scan")}where: { action: Denied }
correlate: { by: [src_endpoint.ip], window: 5m, allowed_lateness: 1m, distinct: { field: dst_endpoint.port, gte: 5 } }
suppress: { window: 30m }
title: "scan {{ src_endpoint.ip }} {{ correlation.values }}"
---
${header("fw.hourly")}correlate: { by: [asset_ip], window: 1h, mode: tumbling, count: { lt: 4 } }
title: "hourly {{ asset_ip }} {{ correlation.count }}"
---
${header("fw.chain")}correlate:
  by: [src_endpoint.ip]
  window: 20m
  sequence:
    - { name: denied, where: { action: Denied, dst_endpoint.port: 23 } }
    - { name: allowed, where: { action: Allowed } }
title: "chain {{ src_endpoint.ip }}"
---
${header("inv.silent", "inventory.host")}where: { is_managed: true }
correlate: { by: [id], absence: { for: 2h } }
title: "silent {{ hostname }}"
`;

  function workload(): (RuleEvent | number)[] {
    const steps: (RuleEvent | number)[] = [];
    let random = 7;
    const next = () => {
      random = (random * 1103515245 + 12345) % 2147483648;
      return random / 2147483648;
    };
    for (let index = 0; index < 600; index++) {
      const time = T0 + index * 20 * S - Math.floor(next() * 90) * S; // some out of order, some too late
      const src = `203.0.113.${1 + Math.floor(next() * 4)}`;
      const roll = next();
      if (roll < 0.05)
        steps.push(
          hostEvent(
            host({ id: `ws${Math.floor(next() * 3)}`, hostname: "ws", time: new Date(time).toISOString() }),
          ),
        );
      else
        steps.push(
          firewallEvent({
            id: `fw-restart-${index}`,
            time,
            action: roll < 0.8 ? "Denied" : "Allowed",
            src_endpoint: { ip: src, port: 40000 },
            dst_endpoint: {
              ip: `10.0.0.${1 + Math.floor(next() * 3)}`,
              port: [22, 23, 80, 443, 3389, 445, 8080][Math.floor(next() * 7)]!,
            },
            asset_ip: `10.0.0.${1 + Math.floor(next() * 3)}`,
          }),
        );
      if (index % 50 === 49) steps.push(time - 2 * M);
    }
    steps.push(T0 + 30 * D);
    return steps;
  }

  it("state restored from the changelog into a fresh evaluator gives the same findings as an uninterrupted run", () => {
    const steps = workload();
    const uninterrupted = run(compileRules(text), steps);
    expect(uninterrupted.findings.length).toBeGreaterThan(10);
    expect(new Set(uninterrupted.findings.map((finding) => finding.rule.id)).size).toBe(4);

    for (const cut of [37, 150, 333, steps.length - 2]) {
      const tables = new FakeTables();
      const first = createEvaluator({ rules: compileRules(text), tables });
      const changelog: { key: string; value: unknown }[] = [];
      const findings: FindingV1[] = [];
      for (const step of steps.slice(0, cut)) {
        const result = typeof step === "number" ? first.advance(step) : first.evaluate(step);
        findings.push(...result.findings);
        changelog.push(...first.state.drainChanges());
      }
      // The changelog as it would sit on the compacted topic: JSON, latest value per key.
      const restoredState = new MemoryStateStore();
      restoredState.restore(JSON.parse(JSON.stringify(changelog)) as { key: string; value: unknown }[]);
      const second = createEvaluator({ rules: compileRules(text), tables, state: restoredState });
      for (const step of steps.slice(cut)) {
        const result = typeof step === "number" ? second.advance(step) : second.evaluate(step);
        findings.push(...result.findings);
      }
      expect(findings).toEqual(uninterrupted.findings);
    }
  });
});
