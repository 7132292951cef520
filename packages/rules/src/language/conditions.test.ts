import { describe, expect, it } from "vitest";
import { ruleEvent } from "../events.ts";
import { buildIdsAlert } from "../testing.ts";
import { RuleCompileError } from "./errors.ts";
import { createEvaluator } from "./evaluator.ts";
import { compileRules } from "./parse.ts";
import { FakeTables, firewallEvent, host } from "./test-support.ts";

/** A rule on firewall events with the given `where` (YAML flow or block text, indented 2). */
function firewallRule(where: string, extra = ""): string {
  return `id: test.rule
name: test
version: 1
description: test
on: firewall.event
where:
${where
  .split("\n")
  .map((line) => `  ${line}`)
  .join("\n")}
severity: low
title: "t"
${extra}`;
}

function judge(
  where: string,
  overrides: Parameters<typeof firewallEvent>[0] = { time: 1000 },
  tables = new FakeTables(),
) {
  const evaluator = createEvaluator({ rules: compileRules(firewallRule(where)), tables });
  const result = evaluator.evaluate(firewallEvent(overrides));
  expect(result.errors).toEqual([]);
  return result.findings[0]?.explanation.conditions;
}

function problemsOf(text: string): string[] {
  try {
    compileRules(text, "rule.yaml");
  } catch (error) {
    if (error instanceof RuleCompileError)
      return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
    throw error;
  }
  return [];
}

describe("conditions", () => {
  it("equals, in and their shorthands; numbers and strings compare by text", () => {
    expect(judge("action: Denied")).toEqual(['action is "Denied"']);
    expect(judge("action: Allowed")).toBeUndefined();
    expect(judge("dst_endpoint.port: [22, 23]")).toEqual(["dst_endpoint.port 22 is one of 22, 23"]);
    expect(judge('dst_endpoint.port: { equals: "22" }')).toEqual(["dst_endpoint.port is 22"]);
    expect(judge("connection_info.protocol_name: { in: [TCP], ignore_case: true }")).toEqual([
      'connection_info.protocol_name "tcp" is one of TCP (ignoring case)',
    ]);
  });

  it("contains, startswith, endswith, with lists of needles and ignore_case", () => {
    const overrides = { time: 1, message: "Deny tcp src outside:203.0.113.7/40000 dst inside:10.0.0.5/22" };
    expect(judge("message: { contains: [nothing, inside] }", overrides)).toEqual([
      'message "Deny tcp src outside:203.0.113.7/40000 dst inside:10.0.0.5/22" contains "inside"',
    ]);
    expect(judge("message: { startswith: deny }", overrides)).toBeUndefined();
    expect(judge("message: { startswith: deny, ignore_case: true }", overrides)).toHaveLength(1);
    expect(judge('message: { endswith: "/22" }', overrides)).toHaveLength(1);
  });

  it("regex runs on re2js; glob; both case-insensitive on request", () => {
    const overrides = { time: 1, message: "Teardown TCP connection 4711 for outside:198.51.100.2/443" };
    expect(judge('message: { regex: "connection \\\\d+ for" }', overrides)).toEqual([
      'message "Teardown TCP connection 4711 for outside:198.51.100.2/443" matches /connection \\d+ for/',
    ]);
    expect(judge('message: { regex: "^teardown" }', overrides)).toBeUndefined();
    expect(judge('message: { regex: "^teardown", ignore_case: true }', overrides)).toHaveLength(1);
    expect(judge('message: { glob: "Teardown*/443" }', overrides)).toHaveLength(1);
    expect(judge('message: { glob: "Teardown?TCP*" }', overrides)).toHaveLength(1);
    expect(judge('message: { glob: "*.2/44" }', overrides)).toBeUndefined();
  });

  it("cidr for IPv4 and IPv6, never for non-addresses", () => {
    expect(judge("src_endpoint.ip: { cidr: 203.0.113.0/24 }")).toEqual([
      'src_endpoint.ip "203.0.113.7" is in 203.0.113.0/24',
    ]);
    expect(judge("src_endpoint.ip: { cidr: [10.0.0.0/8, 192.168.0.0/16] }")).toBeUndefined();
    expect(
      judge('src_endpoint.ip: { cidr: "2001:db8::/32" }', { time: 1, src_endpoint: { ip: "2001:db8::7" } }),
    ).toHaveLength(1);
    expect(
      judge("src_endpoint.hostname: { cidr: 0.0.0.0/0 }", { time: 1, src_endpoint: { hostname: "FE_xUI" } }),
    ).toBeUndefined();
    expect(problemsOf(firewallRule("src_endpoint.ip: { cidr: 10.0.0.0/33 }"))).toEqual([
      'where.src_endpoint.ip.cidr: expected a prefix length between 0 and 32, got "33"',
    ]);
  });

  it("numeric comparisons, combined on one field", () => {
    expect(judge("dst_endpoint.port: { gte: 20, lt: 23 }")).toEqual([
      "dst_endpoint.port 22 is at least 20",
      "dst_endpoint.port 22 is less than 23",
    ]);
    expect(judge("dst_endpoint.port: { gt: 22 }")).toBeUndefined();
    expect(judge("dst_endpoint.port: { lte: 22 }")).toHaveLength(1);
    expect(judge("message: { gt: 1 }")).toBeUndefined();
  });

  it("exists, and null as a shorthand for absent", () => {
    expect(judge("firewall_rule: { exists: false }")).toEqual(["firewall_rule is absent"]);
    expect(judge("firewall_rule: null")).toEqual(["firewall_rule is absent"]);
    expect(judge("asset_ip: { exists: true }")).toEqual(['asset_ip is present ("10.0.0.5")']);
  });

  it("all / any / not, explaining only the branches that held", () => {
    const where = `any:
  - action: Allowed
  - all:
      - action: Denied
      - not: { dst_endpoint.port: 443 }`;
    expect(judge(where)).toEqual([
      'action is "Denied"',
      "not (dst_endpoint.port equals 443): dst_endpoint.port is 22",
    ]);
    expect(judge(where, { time: 1, dst_endpoint: { ip: "10.0.0.5", port: 443 } })).toBeUndefined();
    // A list is `all`.
    expect(judge("- action: Denied\n- dst_endpoint.port: 22")).toHaveLength(2);
  });

  it("arrays: any element matches unless `all`; `all` over an empty list is false", () => {
    const alert = (cves: string[]) =>
      ruleEvent("ids.alert", buildIdsAlert({ cves }), "vigil.ids.alerts", "10.20.1.10");
    const rules = compileRules(`
id: test.any
name: any
version: 1
description: d
on: ids.alert
where: { cves: { startswith: CVE-2021 } }
severity: low
title: t
---
id: test.all
name: all
version: 1
description: d
on: ids.alert
where: { cves: { startswith: CVE-2021, all: true } }
severity: low
title: t
`);
    const evaluator = createEvaluator({ rules, tables: new FakeTables() });
    const ids = (cves: string[]) =>
      evaluator
        .evaluate(alert(cves))
        .findings.map((finding) => finding.rule.id)
        .sort();
    expect(ids(["CVE-2020-0001", "CVE-2021-44228"])).toEqual(["test.any"]);
    expect(ids(["CVE-2021-45046", "CVE-2021-44228"])).toEqual(["test.all", "test.any"]);
    expect(ids([])).toEqual([]);
  });

  it("paths through arrays of objects, and `some` for conditions on one element", () => {
    const tables = new FakeTables();
    const web = host({
      id: "web01",
      listening_ports: [
        { port: 22, protocol: "tcp", origin: "osquery" },
        { port: 23, protocol: "tcp", origin: "osquery" },
        { port: 53, protocol: "udp", origin: "osquery" },
      ],
    });
    const rules = compileRules(`
id: test.telnet
name: telnet
version: 1
description: d
on: inventory.host
where:
  listening_ports.port: 23
  listening_ports: { some: { port: { lt: 100 }, protocol: udp } }
severity: low
title: t
`);
    const evaluator = createEvaluator({ rules, tables });
    const result = evaluator.evaluate(ruleEvent("inventory.host", web, "vigil.inventory.hosts", "web01"));
    expect(result.findings[0]?.explanation.conditions).toEqual([
      "listening_ports.port has 23",
      '1 of listening_ports match (all of (port is less than 100; protocol equals "udp")): {port=53, protocol="udp", origin="osquery"}',
    ]);
  });

  it("unknown fields and operators are compile errors naming the path", () => {
    expect(problemsOf(firewallRule("dst_endpoint.prot: 22"))).toEqual([
      'where.dst_endpoint.prot: unknown field "dst_endpoint.prot" for firewall.event: no field "prot" (fields here: hostname, interface_name, ip, mac, port, svc_name)',
    ]);
    expect(problemsOf(firewallRule("action: { equal: Denied }"))[0]).toMatch(
      /^where\.action\.equal: unknown operator "equal" \(operators: equals, in,/,
    );
    expect(problemsOf(firewallRule("action: { gt: high }"))).toEqual([
      "where.action.gt: expected a number for gt",
    ]);
    expect(problemsOf(firewallRule("asset.tier.name: x"))[0]).toMatch(
      /"asset.tier" is a single value \(enum\), it has no fields/,
    );
    expect(problemsOf(firewallRule("each.item: x"))).toEqual([
      "where.each.item: each.* is only available inside for_each",
    ]);
    expect(problemsOf(firewallRule("affected.count: { gt: 1 }"))[0]).toMatch(
      /unknown field "affected.count" for firewall.event/,
    );
  });

  it("a path can never reach a prototype", () => {
    expect(problemsOf(firewallRule("__proto__.polluted: x"))).toEqual([
      'where.__proto__.polluted: "__proto__" cannot be part of a field path',
    ]);
    expect(problemsOf(firewallRule("device.constructor: x"))[0]).toMatch(
      /"constructor" cannot be part of a field path/,
    );
    // Record fields accept any key, and only own properties are read.
    const alert = ruleEvent("ids.alert", buildIdsAlert(), "vigil.ids.alerts", "10.20.1.10");
    const rules = compileRules(`
id: test.proto
name: p
version: 1
description: d
on: ids.alert
where: { rule_metadata.toString: { exists: true } }
severity: low
title: t
`);
    expect(createEvaluator({ rules, tables: new FakeTables() }).evaluate(alert).findings).toEqual([]);
  });
});
