import type { FindingV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import type { CompiledRule } from "../model.ts";
import { defineRule } from "./define.ts";
import { createEvaluator, DuplicateRuleError } from "./evaluator.ts";
import { compileRules } from "./parse.ts";
import { MemoryStateStore } from "./state.ts";
import { FakeTables, firewallEvent, host, hostEvent } from "./test-support.ts";

const denied = compileRules(`id: fw.denied
name: Denied
version: 1
description: d
on: firewall.event
where: { action: Denied }
severity: low
title: "denied {{ src_endpoint.ip }}"
`);

describe("the evaluator", () => {
  it("indexes rules on their equality guards without changing what they find", () => {
    const rules = compileRules(
      [
        "action: Denied\n  dst_endpoint.port: [22, 23]",
        'action: Allowed\n  dst_endpoint.port: "443"',
        "dst_endpoint.port: { in: [22, 80], gte: 1 }",
        "any: [{ action: Denied }, { dst_endpoint.port: 8080 }]",
        "connection_info.protocol_name: TCP",
        "connection_info.protocol_name: { equals: TCP, ignore_case: true }",
        "not: { action: Allowed }",
        "src_endpoint.ip: { cidr: 203.0.113.0/25 }\n  action: [Denied]",
      ]
        .map(
          (where, index) => `id: idx.rule-${index}
name: r
version: 1
description: d
on: firewall.event
where:
  ${where}
severity: low
title: "{{ dst_endpoint.port }}"
`,
        )
        .join("---\n"),
    );
    expect(rules.map((rule) => rule.guards.map((guard) => guard.path))).toEqual([
      ["action", "dst_endpoint.port"],
      ["action", "dst_endpoint.port"],
      ["dst_endpoint.port"],
      [],
      ["connection_info.protocol_name"],
      [],
      [],
      ["action"],
    ]);
    const tables = new FakeTables();
    const evaluator = createEvaluator({ rules, tables });
    const direct = new MemoryStateStore();
    for (let index = 0; index < 300; index++) {
      const event = firewallEvent({
        time: index,
        action: index % 3 === 0 ? "Allowed" : "Denied",
        src_endpoint: { ip: `203.0.113.${index % 256}` },
        dst_endpoint: { ip: "10.0.0.5", port: [22, 23, 80, 443, 8080, 3389][index % 6]! },
        connection_info: { protocol_name: index % 4 === 0 ? "udp" : "tcp" },
      });
      const expected = rules.flatMap((rule) => rule.evaluate(event, { tables, state: direct }));
      expect(evaluator.evaluate(event).findings).toEqual(expected);
    }
    expect(evaluator.counters().findings).toBeGreaterThan(300);
  });

  it("calls only the rules listening to the event's kind", () => {
    const calls: string[] = [];
    const spy = (id: string, on: CompiledRule["on"]): CompiledRule => ({
      id,
      name: id,
      version: 1,
      description: "d",
      on,
      evaluate: (event) => {
        calls.push(`${id}:${event.kind}`);
        return [];
      },
    });
    const evaluator = createEvaluator({
      rules: [
        spy("a.fw", ["firewall.event"]),
        spy("a.host", ["inventory.host"]),
        spy("a.both", ["inventory.host", "firewall.event"]),
      ],
      tables: new FakeTables(),
    });
    evaluator.evaluate(firewallEvent({ time: 1 }));
    evaluator.evaluate(hostEvent(host({ id: "h1" })));
    expect(calls).toEqual([
      "a.fw:firewall.event",
      "a.both:firewall.event",
      "a.host:inventory.host",
      "a.both:inventory.host",
    ]);
    expect(evaluator.counters().events).toBe(2);
  });

  it("a rule that throws is reported with the rule and event ids; the other rules still run", () => {
    const broken = defineRule({
      id: "acme.broken",
      name: "Broken",
      version: 1,
      description: "d",
      on: ["firewall.event"],
      evaluate(event) {
        // A rule written for events that always have a firewall rule name.
        return event.value.firewall_rule!.name!.length > 0 ? [] : [];
      },
      advance() {
        throw new Error("clock trouble");
      },
    });
    const evaluator = createEvaluator({ rules: [broken, ...denied], tables: new FakeTables() });
    const event = firewallEvent({ time: 1 });
    const result = evaluator.evaluate(event);
    expect(result.findings.map((finding) => finding.rule.id)).toEqual(["fw.denied"]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({
      rule: "acme.broken",
      phase: "evaluate",
      event: { id: event.id, kind: "firewall.event", topic: "vigil.firewall.events", key: "10.0.0.5" },
      message: expect.stringMatching(
        new RegExp(`^rule acme.broken failed on firewall.event event ${event.id}: .*undefined`),
      ),
    });
    expect(evaluator.advance(10).errors).toMatchObject([
      { rule: "acme.broken", phase: "advance", message: "rule acme.broken failed to advance: clock trouble" },
    ]);
    expect(evaluator.counters().rules["acme.broken"]!.errors).toBe(2);
  });

  it("an invalid finding is an error, not an output", () => {
    const sloppy: CompiledRule = {
      id: "acme.sloppy",
      name: "Sloppy",
      version: 1,
      description: "d",
      on: ["firewall.event"],
      evaluate: () => [{ schema: "vigil.finding/v1", id: "x" } as unknown as FindingV1],
    };
    const result = createEvaluator({ rules: [sloppy], tables: new FakeTables() }).evaluate(
      firewallEvent({ time: 1 }),
    );
    expect(result.findings).toEqual([]);
    expect(result.errors[0]!.message).toMatch(
      /^rule acme.sloppy failed on firewall.event event .*: invalid finding: time:/,
    );
  });

  it("refuses two rules with the same id", () => {
    expect(() => createEvaluator({ rules: [...denied, ...denied], tables: new FakeTables() })).toThrow(
      DuplicateRuleError,
    );
  });

  it("the in-memory store records changes for the changelog and restores without recording", () => {
    const store = new MemoryStateStore();
    store.set("a/1", { n: 1 });
    store.set("a/2", { n: 2 });
    store.set("a/2", undefined);
    expect(store.drainChanges()).toEqual([
      { key: "a/1", value: { n: 1 } },
      { key: "a/2", value: undefined },
    ]);
    expect(store.drainChanges()).toEqual([]);
    const restored = new MemoryStateStore();
    restored.restore([
      { key: "a/1", value: { n: 1 } },
      { key: "b/1", value: 3 },
      { key: "b/1", value: null },
    ]);
    expect(restored.entries()).toEqual([{ key: "a/1", value: { n: 1 } }]);
    expect(restored.drainChanges()).toEqual([]);
    expect([...restored.keys("a/")]).toEqual(["a/1"]);
  });

  it("replace makes the store exactly the changelog's state: values and undrained changes ahead of it go", () => {
    const store = new MemoryStateStore();
    store.set("a/1", { n: 1 });
    store.drainChanges();
    store.set("a/1", { n: 2 }); // ahead of what was published
    store.set("a/9", { n: 9 }); // never published
    const before = store.generation;
    store.replace([{ key: "a/1", value: { n: 1 } }]);
    expect(store.entries()).toEqual([{ key: "a/1", value: { n: 1 } }]);
    expect(store.drainChanges()).toEqual([]);
    expect(store.generation).toBe(before + 1);
  });
});
