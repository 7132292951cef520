/**
 * Events per second per core (one thread) of the rules evaluator with 50 and 500 generated rules,
 * simple and with correlation, and of json-rules-engine on equivalent simple rules in the same
 * run. `pnpm --filter @vigil/rules bench` (or `node bench/rules.ts`); VIGIL_BENCH_SECONDS sets the
 * time per measurement (default 2).
 */

import type { FirewallEventV1 } from "@vigil/schema";
import { Engine } from "json-rules-engine";
import { createEvaluator } from "../src/language/evaluator.ts";
import { compileRules } from "../src/language/parse.ts";
import type { RuleEvent } from "../src/model.ts";
import { recordEvent } from "../src/pack/events.ts";
import { ReferenceTableSet } from "../src/tables/index.ts";

const seconds = Number(process.env.VIGIL_BENCH_SECONDS ?? 2);
const eventCount = 200_000;

/** A deterministic generator, so every run judges the same events. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const ports = [
  22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 993, 1433, 3306, 3389, 5432, 5900, 8080, 8443,
];

function generateEvents(): RuleEvent[] {
  const next = random(42);
  const start = Date.parse("2026-03-01T00:00:00Z");
  const events: RuleEvent[] = [];
  for (let index = 0; index < eventCount; index++) {
    const internal = next() < 0.5;
    const src = internal
      ? `10.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}.${1 + Math.floor(next() * 254)}`
      : `203.0.113.${1 + Math.floor(next() * 254)}`;
    const port = next() < 0.6 ? ports[Math.floor(next() * ports.length)]! : Math.floor(next() * 65536);
    const value: FirewallEventV1 = {
      schema: "vigil.firewall.event/v1",
      id: `fw-bench-${index}`,
      class_uid: 4001,
      category_uid: 4,
      activity_id: 6,
      time: start + index * 5,
      observed_time: start + index * 5,
      format: "iptables",
      metadata: { product: { name: "iptables", vendor_name: "netfilter" } },
      device: { hostname: "fw01" },
      src_endpoint: { ip: src, port: 1024 + Math.floor(next() * 60000) },
      dst_endpoint: { ip: `10.20.${Math.floor(next() * 8)}.${1 + Math.floor(next() * 254)}`, port },
      connection_info: { protocol_name: next() < 0.85 ? "tcp" : "udp" },
      direction: internal ? "internal" : "inbound",
      asset_ip: `10.20.0.${1 + Math.floor(next() * 254)}`,
      action: next() < 0.4 ? "Denied" : "Allowed",
      severity_id: 1,
      raw_data: "",
    };
    events.push(recordEvent("firewall.event", value));
  }
  return events;
}

interface SimpleRule {
  action: "Allowed" | "Denied";
  protocol: "tcp" | "udp";
  ports: number[];
  cidr: string;
}

/** The same judgement for both engines: action, protocol, a destination port set, a source range. */
function simpleRules(count: number): SimpleRule[] {
  const next = random(count);
  return Array.from({ length: count }, (_, index) => ({
    action: index % 2 === 0 ? "Denied" : "Allowed",
    protocol: index % 5 === 0 ? "udp" : "tcp",
    ports: [
      ports[index % ports.length]!,
      ports[(index * 7) % ports.length]!,
      1024 + Math.floor(next() * 60000),
    ],
    cidr:
      index % 3 === 0 ? `203.0.113.${(index % 4) * 64}/26` : `10.${index % 256}.${(index >> 8) * 64}.0/18`,
  }));
}

function yamlRules(rules: SimpleRule[], correlated: boolean): string {
  return rules
    .map(
      (rule, index) => `id: bench.rule-${index}
name: Bench rule ${index}
version: 1
description: generated
on: firewall.event
where:
  action: ${rule.action}
  connection_info.protocol_name: ${rule.protocol}
${
  correlated
    ? `  dst_endpoint.port: { gte: ${(index * 131) % 64000}, lt: ${((index * 131) % 64000) + 1500} }
correlate: { by: [src_endpoint.ip], window: 1m, count: { gte: 20 } }`
    : `  dst_endpoint.port: [${rule.ports.join(", ")}]
  src_endpoint.ip: { cidr: ${rule.cidr} }`
}
severity: low
title: "rule ${index} {{ src_endpoint.ip }}"
`,
    )
    .join("---\n");
}

interface Measurement {
  name: string;
  rate: number;
  events: number;
  findings: number;
}

function measure(name: string, events: RuleEvent[], judge: (event: RuleEvent) => number): Measurement {
  // Warm up the JIT on the first events, then time as many events as fit in the budget.
  for (let index = 0; index < 2000; index++) judge(events[index]!);
  let findings = 0;
  let processed = 0;
  const started = performance.now();
  const budget = seconds * 1000;
  while (processed < events.length) {
    for (let batch = 0; batch < 500 && processed < events.length; batch++, processed++)
      findings += judge(events[processed]!);
    if (performance.now() - started > budget) break;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { name, rate: processed / elapsed, events: processed, findings };
}

async function measureAsync(
  name: string,
  events: RuleEvent[],
  judge: (event: RuleEvent) => Promise<number>,
): Promise<Measurement> {
  for (let index = 0; index < 500; index++) await judge(events[index]!);
  let findings = 0;
  let processed = 0;
  const started = performance.now();
  const budget = seconds * 1000;
  while (processed < events.length) {
    for (let batch = 0; batch < 100 && processed < events.length; batch++, processed++)
      findings += await judge(events[processed]!);
    if (performance.now() - started > budget) break;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { name, rate: processed / elapsed, events: processed, findings };
}

function ipv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) return -1;
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0);
}

function jsonRulesEngine(rules: SimpleRule[]): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  // json-rules-engine has no CIDR operator: the same integer test the Vigil compiler uses.
  engine.addOperator("cidr", (ip: unknown, block: unknown) => {
    if (typeof ip !== "string" || typeof block !== "string") return false;
    const [base, prefix] = block.split("/");
    const size = 2 ** (32 - Number(prefix));
    const network = ipv4(base!) - (ipv4(base!) % size);
    const value = ipv4(ip);
    return value >= network && value < network + size;
  });
  rules.forEach((rule, index) => {
    engine.addRule({
      name: `bench.rule-${index}`,
      conditions: {
        all: [
          { fact: "action", operator: "equal", value: rule.action },
          { fact: "protocol", operator: "equal", value: rule.protocol },
          { fact: "port", operator: "in", value: rule.ports },
          { fact: "src", operator: "cidr", value: rule.cidr },
        ],
      },
      event: { type: `bench.rule-${index}` },
    });
  });
  return engine;
}

const events = generateEvents();
const results: (Measurement & { rules: number; engine: string })[] = [];
for (const count of [50, 500]) {
  const simple = simpleRules(count);
  for (const correlated of [false, true]) {
    const evaluator = createEvaluator({
      rules: compileRules(yamlRules(simple, correlated)),
      tables: new ReferenceTableSet(),
    });
    const result = measure("vigil", events, (event) => evaluator.evaluate(event).findings.length);
    results.push({
      rules: count,
      engine: correlated ? "vigil, correlated (count by source, 1m)" : "vigil, simple",
      ...result,
    });
  }
  const engine = jsonRulesEngine(simple);
  const result = await measureAsync("json-rules-engine", events, async (event) => {
    const value = event.value as FirewallEventV1;
    const outcome = await engine.run({
      action: value.action,
      protocol: value.connection_info.protocol_name,
      port: value.dst_endpoint.port,
      src: value.src_endpoint.ip,
    });
    return outcome.events.length;
  });
  results.push({ rules: count, engine: "json-rules-engine 7, same simple rules", ...result });
}

const rows = results.map((row) => [
  String(row.rules),
  row.engine,
  Math.round(row.rate).toLocaleString("en-US"),
  row.events.toLocaleString("en-US"),
  (row.events > 0 ? (row.findings * 1000) / row.events : 0).toFixed(1),
]);
// Findings per 1,000 events shows that the engines judge alike (they see different numbers of events).
const header = ["rules", "engine", "events/s (1 core)", "events judged", "findings per 1,000 events"];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column]!.length)),
);
const line = (cells: string[]) =>
  `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
console.log(
  `node ${process.version}, ${seconds}s per measurement, ${eventCount.toLocaleString("en-US")} generated firewall events`,
);
console.log(line(header));
console.log(`| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`);
for (const row of rows) console.log(line(row));
