import {
  type FindingV1,
  IncidentCommandV1 as IncidentCommandSchema,
  type IncidentCommandV1,
  IncidentEventV1,
  IncidentV1,
  type PriorityTier,
  ResponseActionV1,
  type Severity,
} from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { type DomainOutput, IncidentDomain } from "./domain.ts";
import { incidentIdFor } from "./incident-id.ts";
import { DEFAULT_ESCALATION_POLICY } from "./policy.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = new Date("2026-03-10T12:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

function finding(n: number, overrides: Partial<FindingV1> = {}, tier: PriorityTier = "medium"): FindingV1 {
  const time = overrides.time ?? new Date(Date.parse("2026-03-10T09:00:00.000Z") + n * MINUTE).toISOString();
  return {
    schema: "vigil.finding/v1",
    id: `fnd-${String(n).padStart(4, "0")}`,
    time,
    rule: { id: "ids.alert", name: "IDS alert", version: 1 },
    severity: "medium",
    title: `IDS alert ${n} on web01.corp.example`,
    description: "suricata signature 2001219",
    asset: {
      id: "web01",
      ip: "10.20.3.10",
      hostname: "web01.corp.example",
      known: true,
      priority: tier,
      priority_reason: "priority list entry web01",
      owner: "Web Operations",
      tags: [],
    },
    group_key: "sig:2001219",
    events: [
      {
        topic: "vigil.ids.alerts",
        id: `alert-${n}`,
        time,
        summary: `203.0.113.7:51000 -> 10.20.3.10:443 user=alice sha256 ${"ab".repeat(32)}`,
      },
    ],
    explanation: { summary: "alert on web01", conditions: ["alert severity medium >= minimum low"] },
    cves: [],
    attack: [],
    references: [],
    ...overrides,
  };
}

const directory = {
  organisations: [
    {
      name: "Web Operations",
      contacts: [{ name: "Web on-call", email: "web-oncall@corp.example", role: "on-call" }],
    },
  ],
  assets: [{ id: "web01", contacts: [{ name: "Ann Owner", email: "ann@corp.example" }] }],
};

function command(
  incidentId: string,
  n: number,
  body: Record<string, unknown> & { type: IncidentCommandV1["type"] },
): IncidentCommandV1 {
  return IncidentCommandSchema.parse({
    schema: "vigil.incident-command/v1",
    id: `cmd-${n}`,
    incident_id: incidentId,
    time: at(n * MINUTE).toISOString(),
    actor: "analyst.kim",
    ...body,
  });
}

function valid(output: DomainOutput): DomainOutput {
  for (const incident of output.incidents) expect(IncidentV1.parse(incident)).toEqual(incident);
  for (const event of output.events) expect(IncidentEventV1.parse(event)).toEqual(event);
  for (const action of output.actions) expect(ResponseActionV1.parse(action)).toEqual(action);
  return output;
}

describe("urgency", () => {
  const cases: [PriorityTier, Severity, string][] = [
    ["critical", "critical", "critical"],
    ["critical", "high", "critical"],
    ["critical", "medium", "high"],
    ["critical", "low", "medium"],
    ["critical", "informational", "low"],
    ["high", "critical", "critical"],
    ["high", "high", "high"],
    ["high", "medium", "high"],
    ["high", "low", "medium"],
    ["high", "informational", "low"],
    ["medium", "critical", "high"],
    ["medium", "high", "high"],
    ["medium", "medium", "medium"],
    ["medium", "low", "low"],
    ["medium", "informational", "low"],
    ["low", "critical", "high"],
    ["low", "high", "medium"],
    ["low", "medium", "low"],
    ["low", "low", "low"],
    ["low", "informational", "low"],
  ];
  it.each(cases)("a %s-tier asset with a %s finding is %s", (tier, severity, urgency) => {
    const domain = new IncidentDomain();
    const [incident] = domain.onFinding(finding(1, { severity }, tier), T0).incidents;
    expect(incident!.urgency).toBe(urgency);
  });

  it("goes up with the severity and never down, with faster timers from when the clock started", () => {
    const domain = new IncidentDomain();
    const first = domain.onFinding(finding(1, { severity: "low" }), T0).incidents[0]!;
    expect(first.urgency).toBe("low");
    expect(first.escalation!.next_at).toBe(at(24 * HOUR).toISOString());
    const raised = valid(domain.onFinding(finding(2, { severity: "high" }), at(10 * MINUTE)));
    expect(raised.incidents[0]).toMatchObject({
      urgency: "high",
      escalation: { level: 0, next_level: 1, next_at: at(30 * MINUTE).toISOString() },
      sla: { due: at(72 * HOUR).toISOString(), breached: false },
    });
    expect(raised.events.map((event) => event.type)).toEqual([
      "merged",
      "severity_changed",
      "urgency_changed",
    ]);
    const lower = domain.onFinding(finding(3, { severity: "low" }), at(11 * MINUTE)).incidents[0]!;
    expect(lower).toMatchObject({ urgency: "high", severity: "high" });
  });

  it("uses a matrix given as data", () => {
    const domain = new IncidentDomain({
      urgencyMatrix: {
        version: 1,
        matrix: {
          critical: { critical: "low", high: "low", medium: "low", low: "low", informational: "low" },
          high: { critical: "low", high: "low", medium: "low", low: "low", informational: "low" },
          medium: { critical: "low", high: "low", medium: "critical", low: "low", informational: "low" },
          low: { critical: "low", high: "low", medium: "low", low: "low", informational: "low" },
        },
      },
    });
    expect(domain.onFinding(finding(1), T0).incidents[0]!.urgency).toBe("critical");
  });
});

describe("onFinding: the record", () => {
  it("raises an incident with owner, observables, SLA, plan and a created event", () => {
    const domain = new IncidentDomain({ directory });
    const output = valid(domain.onFinding(finding(1), T0));
    const incident = output.incidents[0]!;
    expect(incident).toMatchObject({
      id: incidentIdFor(finding(1)),
      status: "new",
      verdict: "unknown",
      urgency: "medium",
      version: 1,
      owner: {
        organisation: "Web Operations",
        contacts: [
          { name: "Ann Owner", email: "ann@corp.example" },
          { name: "Web on-call", email: "web-oncall@corp.example", role: "on-call" },
        ],
      },
      sla: { due: at(14 * 24 * HOUR).toISOString(), breached: false },
      escalation: {
        level: 0,
        started_at: T0.toISOString(),
        next_level: 1,
        next_at: at(4 * HOUR).toISOString(),
        plan: [
          { level: 1, at: at(4 * HOUR).toISOString(), action: "notify_owner" },
          { level: 2, at: at(72 * HOUR).toISOString(), action: "disable_default_accounts" },
        ],
      },
      source_refs: [expect.stringMatching(/^ids\.alert\|[0-9a-f]{32}$/)],
    });
    expect(incident.observables).toEqual([
      { type: "asset", value: "web01" },
      { type: "hostname", value: "web01.corp.example" },
      { type: "ip", value: "10.20.3.10" },
      { type: "ip", value: "203.0.113.7" },
      { type: "user", value: "alice" },
      { type: "hash", value: "ab".repeat(32) },
    ]);
    expect(output.events).toHaveLength(1);
    expect(output.events[0]).toMatchObject({
      type: "created",
      incident_id: incident.id,
      incident_version: 1,
      actor: "rule:ids.alert",
      finding_id: "fnd-0001",
    });
    expect(incident.timeline).toEqual([
      expect.objectContaining({ type: "created", ref: "finding:fnd-0001", time: T0.toISOString() }),
    ]);
    expect(output.actions).toEqual([]);
  });

  it("routes an asset without an owner to the policy's unowned organisation", () => {
    const domain = new IncidentDomain({ directory });
    const { owner: _owner, ...listed } = finding(1).asset;
    const asset = { ...listed, id: "web02" };
    const incident = domain.onFinding(finding(1, { asset }), T0).incidents[0]!;
    expect(incident.owner).toEqual({ organisation: "SOC", contacts: [] });
  });
});

describe("onFinding: merging", () => {
  it("merges findings of one rule, asset and group key within the window; the window edge splits", () => {
    const domain = new IncidentDomain({ mergeWindowMs: 24 * HOUR });
    const a = domain.onFinding(finding(1, { time: "2026-03-10T00:00:00.000Z" }), T0).incidents[0]!;
    const b = domain.onFinding(finding(2, { time: "2026-03-10T23:59:59.999Z" }), T0).incidents[0]!;
    const c = domain.onFinding(finding(3, { time: "2026-03-11T00:00:00.000Z" }), T0).incidents[0]!;
    expect(b.id).toBe(a.id);
    expect(b).toMatchObject({ version: 2, finding_count: 2 });
    expect(c.id).not.toBe(a.id);
    expect(c).toMatchObject({ version: 1, finding_count: 1, window_start: "2026-03-11T00:00:00.000Z" });
    expect(domain.size).toBe(2);
  });

  it("yields nothing for a redelivered finding", () => {
    const domain = new IncidentDomain();
    domain.onFinding(finding(1), T0);
    expect(domain.onFinding(finding(1), at(HOUR))).toEqual({ incidents: [], events: [], actions: [] });
  });

  it("treats the same source + source_ref under another finding id (a new rule version) as applied", () => {
    const domain = new IncidentDomain();
    domain.onFinding(finding(1), T0);
    const again = finding(1, { id: "fnd-v2-0001", rule: { id: "ids.alert", name: "IDS alert", version: 2 } });
    expect(domain.onFinding(again, at(MINUTE)).incidents).toEqual([]);
    // Another rule judging the same events is another source: its own incident.
    const other = finding(1, { id: "fnd-x", rule: { id: "ids.other", name: "other", version: 1 } });
    expect(domain.onFinding(other, at(MINUTE)).incidents[0]!.version).toBe(1);
    // The same rule on other events is a new finding.
    const more = finding(2);
    expect(domain.onFinding(more, at(MINUTE)).incidents[0]!.finding_count).toBe(2);
  });

  it("recognises applied findings and commands after a restore from the published records", () => {
    const first = new IncidentDomain();
    first.onFinding(finding(1), T0);
    const id = incidentIdFor(finding(1));
    first.onCommand(command(id, 1, { type: "comment", text: "looking" }), at(MINUTE));
    const restarted = new IncidentDomain();
    restarted.restore([...first.values()]);
    const renamed = finding(1, { id: "fnd-renamed" });
    expect(restarted.onFinding(finding(1), at(HOUR)).incidents).toEqual([]);
    expect(restarted.onFinding(renamed, at(HOUR)).incidents).toEqual([]);
    expect(restarted.onCommand(command(id, 1, { type: "comment", text: "looking" }), at(HOUR))).toEqual({
      ok: true,
      incidents: [],
      events: [],
      actions: [],
    });
  });

  it("replays to the same incidents, events and actions, apart from processing times", () => {
    const findings = [
      finding(1, {}, "critical"),
      finding(2, { severity: "high" }, "critical"),
      finding(3, { group_key: "sig:9" }),
      finding(1, {}, "critical"),
      finding(4, { rule: { id: "core.ids.exploit-vulnerable-asset", name: "x", version: 1 } }),
    ];
    const run = (start: Date) => {
      const domain = new IncidentDomain();
      const outputs = findings.map((f, index) =>
        domain.onFinding(f, new Date(start.getTime() + index * MINUTE)),
      );
      const events = outputs
        .flatMap((output) => output.events)
        .map((event) => [event.id, event.type, event.incident_version]);
      const actions = outputs.flatMap((output) => output.actions).map((action) => [action.id, action.action]);
      const incidents = [...domain.values()].map((incident) => ({
        id: incident.id,
        version: incident.version,
        finding_ids: incident.finding_ids,
        urgency: incident.urgency,
        level: incident.escalation.level,
        observables: incident.observables,
        timeline: incident.timeline.map((entry) => [entry.type, entry.ref]),
      }));
      return { events, actions, incidents };
    };
    const first = run(T0);
    expect(first.actions).toHaveLength(1);
    expect(run(at(30 * 24 * HOUR))).toEqual(first);
  });
});

describe("onFinding: resolved incidents", () => {
  const clearing = (n: number, time: string) =>
    finding(n, { severity: "informational", clears: true, title: "Cleared: fixed", time });

  it("a clearing finding resolves the open incident it clears, in another window too", () => {
    const domain = new IncidentDomain();
    const raised = domain.onFinding(finding(1, { time: "2026-03-10T09:00:00.000Z" }), T0).incidents[0]!;
    const output = valid(domain.onFinding(clearing(2, "2026-03-12T08:00:00.000Z"), at(HOUR)));
    expect(output.incidents).toHaveLength(1);
    expect(output.incidents[0]).toMatchObject({
      id: raised.id,
      status: "resolved",
      finding_count: 2,
      resolution: {
        reason: "cleared",
        actor: "rule:ids.alert",
        finding_id: "fnd-0002",
        cleared_at: "2026-03-12T08:00:00.000Z",
        time: at(HOUR).toISOString(),
      },
      escalation: { level: 0 },
    });
    expect(output.incidents[0]!.escalation!.next_at).toBeUndefined();
    expect(output.events.map((event) => event.type)).toEqual(["resolved"]);
    // A redelivered clearing finding, or one with nothing open to clear, yields nothing.
    expect(domain.onFinding(clearing(2, "2026-03-12T08:00:00.000Z"), at(2 * HOUR)).incidents).toEqual([]);
    expect(new IncidentDomain().onFinding(clearing(3, "2026-03-12T08:00:00.000Z"), T0).incidents).toEqual([]);
    // Resolved: the clock no longer runs.
    expect(domain.onTick(at(365 * 24 * HOUR)).incidents).toEqual([]);
  });

  it("a clearing finding older than the incident does not resolve it", () => {
    const domain = new IncidentDomain();
    domain.onFinding(finding(1, { time: "2026-03-10T09:00:00.000Z" }), T0);
    expect(domain.onFinding(clearing(2, "2026-03-10T08:00:00.000Z"), T0).incidents).toEqual([]);
  });

  it("re-opens a cleared incident when the finding returns after the clearing; a late older finding only merges", () => {
    const domain = new IncidentDomain();
    domain.onFinding(finding(1, { time: "2026-03-10T09:00:00.000Z" }), T0);
    domain.onFinding(clearing(2, "2026-03-10T10:00:00.000Z"), at(HOUR));
    const late = valid(domain.onFinding(finding(3, { time: "2026-03-10T09:30:00.000Z" }), at(2 * HOUR)));
    expect(late.incidents[0]).toMatchObject({ status: "resolved", finding_count: 3 });
    expect(late.events.map((event) => event.type)).toEqual(["merged"]);
    const back = valid(domain.onFinding(finding(4, { time: "2026-03-10T11:00:00.000Z" }), at(3 * HOUR)));
    expect(back.incidents[0]).toMatchObject({
      status: "new",
      escalation: { started_at: at(3 * HOUR).toISOString(), next_at: at(7 * HOUR).toISOString() },
      sla: { due: at(3 * HOUR + 14 * 24 * HOUR).toISOString(), breached: false },
    });
    expect(back.incidents[0]!.resolution).toBeUndefined();
    expect(back.events.map((event) => [event.type, event.from, event.to])).toEqual([
      ["reopened", "resolved", "new"],
      ["merged", undefined, undefined],
    ]);
  });

  it("raises a new incident when the finding returns after the window", () => {
    const domain = new IncidentDomain();
    const first = domain.onFinding(finding(1, { time: "2026-03-10T09:00:00.000Z" }), T0).incidents[0]!;
    domain.onFinding(clearing(2, "2026-03-10T10:00:00.000Z"), at(HOUR));
    const next = domain.onFinding(finding(3, { time: "2026-03-11T09:00:00.000Z" }), at(2 * HOUR))
      .incidents[0]!;
    expect(next.id).not.toBe(first.id);
    expect(next.status).toBe("new");
    expect(domain.get(first.id)!.status).toBe("resolved");
  });

  it("re-opens an analyst-resolved incident on any new finding; a closed one only without a dismissing verdict", () => {
    const domain = new IncidentDomain();
    const id = domain.onFinding(finding(1), T0).incidents[0]!.id;
    domain.onCommand(command(id, 1, { type: "resolve", summary: "patched" }), at(MINUTE));
    expect(domain.onFinding(finding(2), at(HOUR)).incidents[0]!.status).toBe("new");
    domain.onCommand(command(id, 2, { type: "close", verdict: "false_positive" }), at(2 * HOUR));
    const quiet = domain.onFinding(finding(3), at(3 * HOUR));
    expect(quiet.incidents[0]).toMatchObject({ status: "closed", finding_count: 3 });
    expect(quiet.events.map((event) => event.type)).toEqual(["merged"]);
    domain.onCommand(command(id, 3, { type: "set_verdict", verdict: "true_positive" }), at(4 * HOUR));
    expect(domain.onFinding(finding(4), at(5 * HOUR)).incidents[0]!.status).toBe("new");
  });
});

describe("the escalation ladder", () => {
  const ladders: [Severity, PriorityTier, string, number[]][] = [
    ["critical", "high", "critical", [0, 1 * HOUR, 4 * HOUR]],
    ["high", "high", "high", [30 * MINUTE, 8 * HOUR, 24 * HOUR]],
    ["medium", "medium", "medium", [4 * HOUR, 72 * HOUR]],
    ["low", "medium", "low", [24 * HOUR]],
  ];
  it.each(ladders)(
    "a %s finding on a %s-tier asset (urgency %s) climbs at %j",
    (severity, tier, urgency, times) => {
      const domain = new IncidentDomain({ directory });
      const raised = domain.onFinding(finding(1, { severity }, tier), T0);
      expect(raised.incidents[0]!.urgency).toBe(urgency);
      const reached: number[] = raised.events.filter((e) => e.type === "escalated").map((e) => e.level!);
      for (const time of times) {
        if (time === 0) continue;
        expect(domain.onTick(at(time - 1)).events.filter((e) => e.type === "escalated")).toEqual([]);
        const output = valid(domain.onTick(at(time)));
        reached.push(...output.events.filter((e) => e.type === "escalated").map((e) => e.level!));
        // Idempotent: the same tick again fires nothing.
        expect(domain.onTick(at(time)).events).toEqual([]);
      }
      expect(reached).toEqual(times.map((_, index) => index + 1));
      const incident = [...domain.values()][0]!;
      expect(incident.escalation.level).toBe(times.length);
      expect(incident.escalation.next_at).toBeUndefined();
    },
  );

  it("requests the level 2 and 3 actions with deterministic ids, dry-run, and an audit trail", () => {
    const domain = new IncidentDomain({ directory });
    const id = domain.onFinding(finding(1, { severity: "critical" }, "high"), T0).incidents[0]!.id;
    const level2 = valid(domain.onTick(at(HOUR)));
    expect(level2.events.map((event) => [event.type, event.level])).toEqual([
      ["escalated", 2],
      ["action_requested", 2],
    ]);
    expect(level2.actions).toEqual([
      {
        schema: "vigil.response-action/v1",
        id: expect.stringMatching(/^act-[0-9a-f]{32}$/),
        action: "disable_default_accounts",
        level: 2,
        dry_run: true,
        incident_id: id,
        requested_at: at(HOUR).toISOString(),
        target: {
          asset_id: "web01",
          ip: "10.20.3.10",
          hostname: "web01.corp.example",
          priority: "high",
          organisation: "Web Operations",
        },
        audit: {
          requested_by: "vigil",
          reason: "not acknowledged 1h after the clock started (urgency critical)",
          incident_version: 2,
          urgency: "critical",
          severity: "critical",
          finding_ids: ["fnd-0001"],
          policy: "ladder critical: level 2 at 1h",
        },
      },
    ]);
    expect(level2.events[1]!.action_id).toBe(level2.actions[0]!.id);
    const level3 = domain.onTick(at(4 * HOUR));
    expect(level3.actions.map((action) => action.action)).toEqual(["remove_from_network"]);
    // Another domain (a restart, a replay) derives the same keys.
    const again = new IncidentDomain({ directory });
    again.onFinding(finding(1, { severity: "critical" }, "high"), at(HOUR));
    const both = again.onTick(at(10 * HOUR));
    expect(both.actions.map((action) => action.id)).toEqual([level2.actions[0]!.id, level3.actions[0]!.id]);
    expect(both.events.filter((e) => e.type === "escalated").map((e) => e.id)).toEqual([
      level2.events[0]!.id,
      level3.events[0]!.id,
    ]);
  });

  it("honours dry_run: false from the policy", () => {
    const domain = new IncidentDomain({ escalationPolicy: { ...DEFAULT_ESCALATION_POLICY, dry_run: false } });
    domain.onFinding(finding(1, { severity: "critical" }, "high"), T0);
    expect(domain.onTick(at(HOUR)).actions[0]!.dry_run).toBe(false);
  });

  it("stops the clock on acknowledgment", () => {
    const domain = new IncidentDomain();
    const id = domain.onFinding(finding(1, { severity: "high" }, "high"), T0).incidents[0]!.id;
    domain.onTick(at(30 * MINUTE));
    const ack = valid(
      domain.onCommand(command(id, 1, { type: "acknowledge", note: "on it" }), at(HOUR)) as DomainOutput,
    );
    expect(ack.incidents[0]).toMatchObject({
      status: "in_progress",
      escalation: { level: 1, acknowledged_by: "analyst.kim", acknowledged_at: at(HOUR).toISOString() },
    });
    expect(ack.incidents[0]!.escalation!.next_at).toBeUndefined();
    expect(ack.events.map((event) => event.type)).toEqual(["acknowledged", "status_changed"]);
    // Only the SLA remains due: it measures resolution, which an acknowledgment is not.
    expect(domain.nextDueAt()).toBe(at(72 * HOUR).toISOString());
    expect(domain.onTick(at(100 * HOUR)).events.map((e) => e.type)).toEqual(["sla_breached"]);
    expect(domain.nextDueAt()).toBeUndefined();
  });

  it("survives a restart: the due times live in the records", () => {
    const first = new IncidentDomain();
    first.onFinding(finding(1, { severity: "high" }, "high"), T0);
    const restarted = new IncidentDomain();
    restarted.restore([...first.values()]);
    expect(restarted.nextDueAt()).toBe(at(30 * MINUTE).toISOString());
    const fired = restarted.onTick(at(9 * HOUR));
    // Overdue levels fire together, in order, in one version.
    expect(fired.events.map((event) => [event.type, event.level])).toEqual([
      ["escalated", 1],
      ["escalated", 2],
      ["action_requested", 2],
    ]);
    expect(fired.incidents[0]!.version).toBe(2);
    const again = new IncidentDomain();
    again.restore(fired.incidents);
    expect(again.onTick(at(9 * HOUR)).events).toEqual([]);
  });

  it("starts critical-tier assets at level 1 and exploits / known-exploited CVEs at level 2", () => {
    const critical = valid(new IncidentDomain().onFinding(finding(1, { severity: "low" }, "critical"), T0));
    expect(critical.incidents[0]!.escalation!.level).toBe(1);
    expect(critical.events.map((event) => event.type)).toEqual(["created", "escalated"]);
    expect(critical.events[1]!.summary).toContain("critical-priority asset");
    expect(critical.actions).toEqual([]);

    const exploit = new IncidentDomain().onFinding(
      finding(2, { rule: { id: "core.ids.exploit-vulnerable-asset", name: "x", version: 1 } }, "low"),
      T0,
    );
    expect(exploit.incidents[0]!.escalation!.level).toBe(2);
    expect(exploit.actions.map((action) => [action.action, action.audit.policy])).toEqual([
      ["disable_default_accounts", "start: rules core.ids.exploit-vulnerable-asset -> level 2"],
    ]);

    const kev = new IncidentDomain({ isKnownExploited: (cve) => cve === "CVE-2020-1472" });
    expect(kev.onFinding(finding(3, { cves: ["CVE-2019-0001"] }), T0).incidents[0]!.escalation!.level).toBe(
      0,
    );
    const known = kev.onFinding(finding(4, { cves: ["CVE-2020-1472"], group_key: "cve" }), T0);
    expect(known.incidents[0]!.escalation!.level).toBe(2);
    expect(known.actions[0]!.audit.reason).toContain("known-exploited");
  });

  it("flags a breached SLA once", () => {
    const domain = new IncidentDomain();
    domain.onFinding(finding(1, { severity: "low" }, "low"), T0);
    const breach = domain.onTick(at(30 * 24 * HOUR));
    expect(breach.incidents[0]!.sla).toEqual({ due: at(30 * 24 * HOUR).toISOString(), breached: true });
    expect(breach.events.map((event) => event.type)).toContain("sla_breached");
    expect(domain.onTick(at(31 * 24 * HOUR)).events).toEqual([]);
  });
});

describe("onCommand", () => {
  const raise = () => {
    const domain = new IncidentDomain();
    const id = domain.onFinding(finding(1), T0).incidents[0]!.id;
    return { domain, id };
  };

  it("assigns, sets status and verdict, comments, resolves, closes and re-opens", () => {
    const { domain, id } = raise();
    const steps: [
      Record<string, unknown> & { type: IncidentCommandV1["type"] },
      string[],
      Record<string, unknown>,
    ][] = [
      [{ type: "assign", assignee: "kim" }, ["assigned"], { assignee: "kim" }],
      [{ type: "set_status", status: "on_hold" }, ["status_changed"], { status: "on_hold" }],
      [{ type: "set_verdict", verdict: "true_positive" }, ["verdict_changed"], { verdict: "true_positive" }],
      [{ type: "comment", text: "waiting for the vendor" }, ["commented"], { status: "on_hold" }],
      [
        { type: "resolve", summary: "patched", verdict: "security_risk" },
        ["verdict_changed", "resolved"],
        {
          status: "resolved",
          verdict: "security_risk",
          resolution: { reason: "analyst", actor: "analyst.kim", summary: "patched" },
        },
      ],
      [{ type: "close", summary: "done" }, ["status_changed"], { status: "closed" }],
      [
        { type: "reopen", reason: "it came back" },
        ["reopened"],
        { status: "in_progress", escalation: { acknowledged_by: "analyst.kim" } },
      ],
    ];
    let version = 1;
    steps.forEach(([body, types, expected], index) => {
      const output = domain.onCommand(command(id, index + 1, body), at((index + 1) * MINUTE));
      expect(output.ok).toBe(true);
      if (!output.ok) return;
      valid(output);
      expect(output.events.map((event) => event.type)).toEqual(types);
      expect(
        output.events.every(
          (event) => event.command_id === `cmd-${index + 1}` && event.actor === "analyst.kim",
        ),
      ).toBe(true);
      expect(output.incidents[0]).toMatchObject({ ...expected, version: ++version });
    });
    const incident = domain.get(id)!;
    expect(incident.resolution).toBeUndefined();
    expect(incident.timeline.map((entry) => entry.type)).toEqual([
      "created",
      "assigned",
      "status_changed",
      "verdict_changed",
      "commented",
      "verdict_changed",
      "resolved",
      "status_changed",
      "reopened",
    ]);
    expect(incident.timeline[4]).toMatchObject({
      summary: "waiting for the vendor",
      actor: "analyst.kim",
      ref: "command:cmd-4",
    });
  });

  it("rejects what cannot apply, with the reason", () => {
    const { domain, id } = raise();
    const reject = (n: number, body: Record<string, unknown> & { type: IncidentCommandV1["type"] }) => {
      const output = domain.onCommand(command(id, n, body), at(n * MINUTE));
      return output.ok ? "applied" : output.reason;
    };
    expect(domain.onCommand(command("inc-nope", 1, { type: "acknowledge" }), T0)).toEqual({
      ok: false,
      reason: "no incident inc-nope",
    });
    expect(reject(2, { type: "reopen", reason: "x" })).toBe("incident is new, not resolved or closed");
    expect(reject(3, { type: "set_verdict", verdict: "unknown" })).toBe("verdict is already unknown");
    expect(reject(4, { type: "acknowledge" })).toBe("applied");
    expect(reject(5, { type: "acknowledge" })).toBe("already acknowledged by analyst.kim");
    expect(reject(6, { type: "set_status", status: "in_progress" })).toBe("status is already in_progress");
    expect(reject(7, { type: "assign", assignee: "kim" })).toBe("applied");
    expect(reject(8, { type: "assign", assignee: "kim" })).toBe("already assigned to kim");
    expect(reject(9, { type: "close" })).toBe("applied");
    expect(reject(10, { type: "resolve", summary: "x" })).toBe("incident is already closed");
    expect(reject(11, { type: "close" })).toBe("incident is already closed");
    expect(reject(12, { type: "acknowledge" })).toBe("incident is closed: reopen it first");
    expect(reject(13, { type: "set_status", status: "on_hold" })).toBe("incident is closed: reopen it first");
    expect(reject(14, { type: "assign", assignee: "lee" })).toBe("incident is closed: reopen it first");
    // A rejected command changed nothing.
    expect(domain.get(id)!.version).toBe(4);
  });

  it("applies a redelivered command once, without rejecting it", () => {
    const { domain, id } = raise();
    const comment = command(id, 1, { type: "comment", text: "hello" });
    expect(domain.onCommand(comment, T0)).toMatchObject({ ok: true, events: [{ type: "commented" }] });
    expect(domain.onCommand(comment, at(MINUTE))).toEqual({
      ok: true,
      incidents: [],
      events: [],
      actions: [],
    });
  });

  it("leaves malformed commands to the schema (the sink dead-letters them)", () => {
    const base = {
      schema: "vigil.incident-command/v1",
      id: "c",
      incident_id: "i",
      time: T0.toISOString(),
      actor: "kim",
    };
    expect(IncidentCommandSchema.safeParse({ ...base, type: "delete" }).success).toBe(false);
    expect(IncidentCommandSchema.safeParse({ ...base, type: "set_status", status: "resolved" }).success).toBe(
      false,
    );
    expect(IncidentCommandSchema.safeParse({ ...base, type: "comment", text: "  " }).success).toBe(false);
    expect(IncidentCommandSchema.safeParse({ ...base, actor: "", type: "acknowledge" }).success).toBe(false);
  });
});

describe("restore", () => {
  it("fills the response fields of records written before they existed", () => {
    const legacy: IncidentV1 = {
      schema: "vigil.incident/v1",
      id: "inc-legacy",
      title: "t",
      description: "d",
      severity: "high",
      status: "new",
      rule_id: "ids.alert",
      asset: finding(1).asset,
      group_key: "g",
      window_start: "2026-03-10T00:00:00.000Z",
      first_seen: "2026-03-10T09:00:00.000Z",
      last_seen: "2026-03-10T09:00:00.000Z",
      created_at: T0.toISOString(),
      updated_at: T0.toISOString(),
      finding_count: 1,
      finding_ids: ["fnd-old"],
      evidence: [],
      explanation: "",
      cves: [],
      attack: [],
      version: 3,
    };
    const domain = new IncidentDomain({ directory });
    domain.restore([legacy]);
    const incident = domain.get("inc-legacy")!;
    expect(incident).toMatchObject({
      urgency: "high",
      verdict: "unknown",
      owner: { organisation: "Web Operations" },
      escalation: { level: 0, next_level: 1, next_at: at(30 * MINUTE).toISOString() },
    });
    expect(IncidentV1.parse(incident)).toEqual(incident);
    const tick = domain.onTick(at(30 * MINUTE));
    expect(tick.incidents[0]!.version).toBe(4);
  });
});
