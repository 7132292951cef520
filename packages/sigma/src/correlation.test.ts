import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CorrelationMatch, parseTimespan, SigmaCorrelator } from "./correlation.ts";
import { SigmaEngine } from "./engine.ts";
import { parseSigmaRules } from "./loader.ts";

const baseRules = `title: Failed logon
id: failed-id
name: failed_logon
logsource: {product: test}
detection:
  sel: {action: failed}
  condition: sel
---
title: Successful logon
id: success-id
name: success_logon
logsource: {product: test}
detection:
  sel: {action: success}
  condition: sel
---
title: Process started
id: process-id
name: process_started
logsource: {product: test}
detection:
  sel: {action: process}
  condition: sel
`;

function correlationSet(correlation: string) {
  const set = parseSigmaRules(`${baseRules}---\n${correlation}`, { file: "corr.yml" });
  expect(set.failures).toEqual([]);
  return set;
}

const minute = 60_000;
const t0 = Date.UTC(2025, 0, 1);

interface TestEvent {
  at: number;
  action: string;
  user?: string;
  host?: string;
  account?: string;
}

/** Runs events through an engine; returns the correlation matches as [ref indexes] per rule. */
function run(correlation: string, events: readonly TestEvent[], finish: "flush" | number | "none" = "none") {
  const engine = new SigmaEngine(correlationSet(correlation), { timeField: "time" });
  const found: CorrelationMatch[] = [];
  events.forEach((event, index) => {
    const { at, ...fields } = event;
    found.push(...engine.process({ ...fields, time: new Date(t0 + at).toISOString() }, index).correlations);
  });
  if (finish === "flush") found.push(...engine.flush());
  else if (typeof finish === "number") found.push(...engine.advance(t0 + finish));
  return found;
}

const bruteForce = `title: Brute force
id: brute
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [user]
  timespan: 5m
  condition: {gte: 3}
`;

describe("event_count", () => {
  it("fires when the count is reached within the timespan, per group", () => {
    const matches = run(bruteForce, [
      { at: 0, action: "failed", user: "a" },
      { at: minute, action: "failed", user: "b" },
      { at: minute, action: "failed", user: "a" },
      { at: 2 * minute, action: "success", user: "a" },
      { at: 3 * minute, action: "failed", user: "a" },
    ]);
    expect(matches.map((m) => [m.ruleId, m.group, m.events, m.value, m.start, m.end])).toEqual([
      ["brute", { user: "a" }, [0, 2, 4], 3, t0, t0 + 3 * minute],
    ]);
  });

  it("includes both ends of the window, and no more", () => {
    const inside = run(bruteForce, [
      { at: 0, action: "failed", user: "a" },
      { at: 4 * minute, action: "failed", user: "a" },
      { at: 5 * minute, action: "failed", user: "a" },
    ]);
    expect(inside.map((m) => m.events)).toEqual([[0, 1, 2]]);
    const outside = run(bruteForce, [
      { at: 0, action: "failed", user: "a" },
      { at: 4 * minute, action: "failed", user: "a" },
      { at: 5 * minute + 1, action: "failed", user: "a" },
      { at: 6 * minute, action: "failed", user: "a" },
    ]);
    expect(outside.map((m) => m.events)).toEqual([[1, 2, 3]]);
  });

  it("starts afresh after a match", () => {
    const events = Array.from({ length: 7 }, (_, index) => ({
      at: index * 1000,
      action: "failed",
      user: "a",
    }));
    expect(run(bruteForce, events).map((m) => m.events)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
  });

  it("leaves out events without the group-by field", () => {
    const events = [0, 1, 2].map((index) => ({ at: index * 1000, action: "failed" }));
    expect(run(bruteForce, events)).toEqual([]);
  });

  it("without group-by counts every event together", () => {
    const noGroup = bruteForce.replace("  group-by: [user]\n", "");
    const events = ["a", "b", "c"].map((user, index) => ({ at: index * 1000, action: "failed", user }));
    expect(run(noGroup, events).map((m) => [m.group, m.events])).toEqual([[{}, [0, 1, 2]]]);
  });

  it("judges upper bounds when the window ends", () => {
    const rare = bruteForce.replace("{gte: 3}", "{lt: 2}");
    const events: TestEvent[] = [
      { at: 0, action: "failed", user: "once" },
      { at: 0, action: "failed", user: "often" },
      { at: minute, action: "failed", user: "often" },
    ];
    // Not before the window is over.
    expect(run(rare, events, 5 * minute)).toEqual([]);
    expect(run(rare, events, 5 * minute + 1).map((m) => [m.group, m.events, m.value])).toEqual([
      [{ user: "once" }, [0], 1],
    ]);
    expect(run(rare, events, "flush").map((m) => m.group)).toEqual([{ user: "once" }]);
    // Any later event closes the window, even one no rule matches.
    const closedByAnyEvent = run(rare, [...events, { at: 6 * minute, action: "unrelated" }]);
    expect(closedByAnyEvent.map((m) => m.group)).toEqual([{ user: "once" }]);
    // A later event of the same group closes the window too.
    const closedByEvent = run(rare, [...events, { at: 6 * minute, action: "failed", user: "once" }]);
    expect(closedByEvent.map((m) => m.events)).toEqual([[0]]);
  });

  it("judges a range and eq at the window end", () => {
    const range = bruteForce.replace("{gte: 3}", "{gte: 2, lte: 3}");
    const events = [0, 1, 2, 3].map((index) => ({
      at: index * 1000,
      action: "failed",
      user: index < 2 ? "two" : "x",
    }));
    events.push(
      { at: 4000, action: "failed", user: "x" },
      { at: 5000, action: "failed", user: "x" },
      { at: 6000, action: "failed", user: "x" },
    );
    expect(run(range, events, "flush").map((m) => [m.group, m.value])).toEqual([[{ user: "two" }, 2]]);
    const exactly = bruteForce.replace("{gte: 3}", "{eq: 5}");
    expect(run(exactly, events, "flush").map((m) => [m.group, m.value])).toEqual([[{ user: "x" }, 5]]);
    const not2 = bruteForce.replace("{gte: 3}", "{neq: 2}");
    expect(run(not2, events, "flush").map((m) => [m.group, m.value])).toEqual([[{ user: "x" }, 5]]);
  });
});

describe("value_count", () => {
  const spray = `title: Password spray
id: spray
correlation:
  type: value_count
  rules: failed_logon
  group-by: [host]
  timespan: 10m
  condition: {field: user, gt: 2}
`;

  it("counts distinct values of the field", () => {
    const events: TestEvent[] = [
      { at: 0, action: "failed", host: "h", user: "a" },
      { at: 1000, action: "failed", host: "h", user: "a" },
      { at: 2000, action: "failed", host: "h", user: "b" },
      { at: 3000, action: "failed", host: "other", user: "c" },
      { at: 4000, action: "failed", host: "h" },
      { at: 5000, action: "failed", host: "h", user: "c" },
    ];
    expect(run(spray, events).map((m) => [m.group, m.value, m.events])).toEqual([
      [{ host: "h" }, 3, [0, 1, 2, 5]],
    ]);
  });
});

describe("temporal", () => {
  const temporal = `title: Failed then anything
id: temporal
correlation:
  type: temporal
  rules: [failed_logon, success_logon]
  group-by: [user]
  timespan: 1m
`;

  it("needs every rule within the timespan, in any order", () => {
    expect(
      run(temporal, [
        { at: 0, action: "success", user: "a" },
        { at: 30_000, action: "failed", user: "a" },
      ]).map((m) => [m.events, m.value]),
    ).toEqual([[[0, 1], 2]]);
    expect(
      run(temporal, [
        { at: 0, action: "success", user: "a" },
        { at: 61_000, action: "failed", user: "a" },
        { at: 62_000, action: "failed", user: "b" },
      ]),
    ).toEqual([]);
  });
});

describe("temporal_ordered", () => {
  const ordered = `title: Failed then success
id: ordered
correlation:
  type: temporal_ordered
  rules: [failed_logon, success_logon, process_started]
  group-by: [user]
  timespan: 10m
`;

  it("needs the rules in the listed order", () => {
    const inOrder = run(ordered, [
      { at: 0, action: "failed", user: "a" },
      { at: minute, action: "success", user: "a" },
      { at: 2 * minute, action: "process", user: "a" },
    ]);
    expect(inOrder.map((m) => [m.events, m.start, m.end])).toEqual([[[0, 1, 2], t0, t0 + 2 * minute]]);
    const wrongOrder = run(ordered, [
      { at: 0, action: "success", user: "a" },
      { at: minute, action: "failed", user: "a" },
      { at: 2 * minute, action: "process", user: "a" },
    ]);
    expect(wrongOrder).toEqual([]);
  });

  it("keeps the latest start, so a stale beginning does not block a later sequence", () => {
    const matches = run(ordered, [
      { at: 0, action: "failed", user: "a" },
      { at: 9 * minute, action: "failed", user: "a" },
      { at: 10 * minute, action: "success", user: "a" },
      { at: 11 * minute, action: "process", user: "a" },
    ]);
    expect(matches.map((m) => m.events)).toEqual([[1, 2, 3]]);
  });

  it("drops sequences older than the timespan and keeps groups apart", () => {
    const matches = run(ordered, [
      { at: 0, action: "failed", user: "a" },
      { at: minute, action: "success", user: "a" },
      { at: minute, action: "process", user: "b" },
      { at: 10 * minute + 1, action: "process", user: "a" },
    ]);
    expect(matches).toEqual([]);
  });

  it("one event matching two steps does not complete both", () => {
    const twoSteps = `title: Same twice
id: twice
correlation:
  type: temporal_ordered
  rules: [failed_logon, failed_logon]
  group-by: [user]
  timespan: 1m
`;
    expect(run(twoSteps, [{ at: 0, action: "failed", user: "a" }])).toEqual([]);
    expect(
      run(twoSteps, [
        { at: 0, action: "failed", user: "a" },
        { at: 1000, action: "failed", user: "a" },
      ]).map((m) => m.events),
    ).toEqual([[0, 1]]);
  });
});

describe("aliases and generate", () => {
  it("groups by an alias standing for different fields per rule", () => {
    const aliased = `title: Logon then process by the same account
id: aliased
correlation:
  type: temporal_ordered
  rules: [success_logon, process_started]
  group-by: [who]
  timespan: 1m
  aliases:
    who:
      success_logon: user
      process_started: account
`;
    const matches = run(aliased, [
      { at: 0, action: "success", user: "bob" },
      { at: 1000, action: "process", account: "alice" },
      { at: 2000, action: "process", account: "bob" },
    ]);
    expect(matches.map((m) => [m.group, m.events])).toEqual([[{ who: "bob" }, [0, 2]]]);
  });

  it("referenced rules report their own matches only with generate: true", () => {
    const silent = new SigmaEngine(correlationSet(bruteForce), { timeField: "time" });
    expect(silent.process({ action: "failed", user: "a", time: t0 }, 0).matches).toEqual([]);
    expect(
      silent.process({ action: "success", user: "a", time: t0 }, 1).matches.map((rule) => rule.id),
    ).toEqual(["success-id"]);
    const loud = new SigmaEngine(correlationSet(`${bruteForce}  generate: true\n`), { timeField: "time" });
    expect(loud.process({ action: "failed", user: "a", time: t0 }, 0).matches.map((rule) => rule.id)).toEqual(
      ["failed-id"],
    );
  });
});

describe("event time", () => {
  it("counts events without a readable time and events too late for the window", () => {
    const engine = new SigmaEngine(correlationSet(bruteForce), { timeField: "time" });
    engine.process({ action: "failed", user: "a" }, 0);
    engine.process({ action: "failed", user: "a", time: "not a date" }, 1);
    engine.process({ action: "failed", user: "a", time: t0 + 10 * minute }, 2);
    engine.process({ action: "failed", user: "a", time: t0 }, 3);
    expect(engine.correlator.stats).toMatchObject({
      eventsWithoutTime: 2,
      lateEvents: 1,
      watermark: t0 + 10 * minute,
    });
  });

  it("accepts epoch milliseconds and a time function", () => {
    const engine = new SigmaEngine(correlationSet(bruteForce), { timeField: (event) => event.ms });
    const found = [0, 1, 2].flatMap(
      (index) => engine.process({ action: "failed", user: "a", ms: t0 + index }, index).correlations,
    );
    expect(found.map((m) => m.events)).toEqual([[0, 1, 2]]);
  });
});

describe("correlation rule errors", () => {
  function failures(correlation: string) {
    return parseSigmaRules(`${baseRules}---\n${correlation}`, { file: "c.yml" }).failures.map((f) => [
      f.code,
      f.key,
    ]);
  }

  it("names what is wrong", () => {
    expect(failures(bruteForce.replace("[failed_logon]", "[nope]"))).toEqual([
      ["unknown-rule-reference", "correlation.rules[0]"],
    ]);
    expect(failures(bruteForce.replace("  timespan: 5m\n", ""))).toEqual([
      ["schema", "correlation.timespan"],
    ]);
    expect(failures(bruteForce.replace("5m", "5 minutes"))).toEqual([["schema", "correlation.timespan"]]);
    expect(failures(bruteForce.replace("  condition: {gte: 3}\n", ""))).toEqual([
      ["schema", "correlation.condition"],
    ]);
    expect(failures(bruteForce.replace("event_count", "value_count"))).toEqual([
      ["schema", "correlation.condition.field"],
    ]);
    expect(failures(bruteForce.replace("event_count", "value_sum"))).toEqual([
      ["schema", "correlation.type"],
    ]);
    const chained = `${bruteForce}---\ntitle: Chain\nid: chain\ncorrelation:\n  type: event_count\n  rules: [brute]\n  timespan: 1h\n  condition: {gte: 2}\n`;
    expect(failures(chained)).toEqual([["correlation-chain-unsupported", "correlation.rules[0]"]]);
  });

  it("parses timespans", () => {
    expect([
      parseTimespan("30s"),
      parseTimespan("5m"),
      parseTimespan("2h"),
      parseTimespan("1d"),
      parseTimespan("1w"),
    ]).toEqual([30_000, 300_000, 7_200_000, 86_400_000, 604_800_000]);
    expect(parseTimespan("1y")).toBeUndefined();
  });
});

describe("state", () => {
  const correlations = [
    bruteForce,
    bruteForce.replace("id: brute", "id: rare").replace("{gte: 3}", "{lt: 2}"),
    `title: Ordered\nid: ordered\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_logon, success_logon]\n  group-by: [user]\n  timespan: 2m\n`,
    `title: Spray\nid: spray\ncorrelation:\n  type: value_count\n  rules: [failed_logon]\n  group-by: [host]\n  timespan: 3m\n  condition: {field: user, gte: 2}\n`,
  ];
  const set = parseSigmaRules([baseRules, ...correlations].join("---\n"));

  const eventArbitrary = fc.record({
    gap: fc.integer({ min: 0, max: 90_000 }),
    action: fc.constantFrom("failed", "success", "process"),
    user: fc.constantFrom("a", "b", "c"),
    host: fc.constantFrom("h1", "h2"),
  });

  function expectedMatches(events: readonly Record<string, unknown>[]): number {
    const engine = new SigmaEngine(set, { timeField: "time" });
    return (
      events.flatMap((event, index) => engine.process(event, index).correlations).length +
      engine.flush().length
    );
  }

  function summarize(matches: CorrelationMatch[]) {
    return matches.map((m) => ({ rule: m.ruleId, group: m.group, events: m.events, value: m.value }));
  }

  it("a restored snapshot carries on exactly as the original", () => {
    let runsWithMatches = 0;
    fc.assert(
      fc.property(
        fc.array(eventArbitrary, { minLength: 1, maxLength: 60 }),
        fc.nat(),
        (generated, cutSeed) => {
          let time = t0;
          const events = generated.map(({ gap, ...fields }) => {
            time += gap;
            return { ...fields, time };
          });
          const cut = cutSeed % (events.length + 1);
          if (expectedMatches(events) > 0) runsWithMatches++;
          const uninterrupted = new SigmaEngine(set, { timeField: "time" });
          const expected = summarize([
            ...events.flatMap((event, index) => uninterrupted.process(event, index).correlations),
            ...uninterrupted.flush(),
          ]);

          const first = new SigmaEngine(set, { timeField: "time" });
          const before = events
            .slice(0, cut)
            .flatMap((event, index) => first.process(event, index).correlations);
          const persisted = JSON.parse(JSON.stringify(first.snapshot())) as unknown;
          const second = new SigmaEngine(set, { timeField: "time", state: persisted });
          const after = events
            .slice(cut)
            .flatMap((event, index) => second.process(event, cut + index).correlations);
          expect(summarize([...before, ...after, ...second.flush()])).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
    // The property is only worth something if sequences do produce correlations.
    expect(runsWithMatches).toBeGreaterThan(50);
  });

  it("rejects a state that is not one", () => {
    expect(() => new SigmaCorrelator(set.correlations, { state: { version: 2 } })).toThrow(
      /invalid correlator state/,
    );
  });

  it("drops the state of rules no longer loaded", () => {
    const engine = new SigmaEngine(set, { timeField: "time" });
    engine.process({ action: "failed", user: "a", host: "h1", time: t0 }, 0);
    const state = engine.snapshot();
    expect(Object.keys(state.rules).sort()).toEqual(["brute", "ordered", "rare", "spray"]);
    const fewer = new SigmaCorrelator(
      set.correlations.filter((rule) => rule.id === "brute"),
      { state },
    );
    expect(Object.keys(fewer.snapshot().rules)).toEqual(["brute"]);
  });
});
