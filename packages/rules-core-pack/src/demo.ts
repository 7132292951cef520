/**
 * The whole pack over the demo data (`examples/`), the way the rules engine would run it: the
 * reference documents loaded, every inventory host, audit and advisory fed to the tables and the
 * rules first, then the IDS (Suricata, Snort, Zeek), firewall and update-log events in event-time
 * order, then event time
 * advanced past the last event. Test support (it reads the repository's examples).
 */
import { join } from "node:path";
import type { FindingV1 } from "@vigil/schema";
import {
  type CompiledRule,
  createEvaluator,
  ReferenceTableSet,
  type RuleEvent,
  recordEvent,
} from "./contract.ts";
import {
  EXAMPLES_DIR,
  type ExampleEvent,
  exampleAdvisories,
  exampleFirewallEvents,
  exampleIdsAlerts,
  exampleInventory,
  exampleSnortAndZeekAlerts,
  exampleUpdateEvents,
} from "./examples.ts";

export const DEMO_REFERENCES = {
  baselines: [join(EXAMPLES_DIR, "baselines", "windows.yaml"), join(EXAMPLES_DIR, "baselines", "linux.yaml")],
  priorityLists: [
    join(EXAMPLES_DIR, "assets", "priority-list.yaml"),
    join(EXAMPLES_DIR, "assets", "quarantine.yaml"),
  ],
  exceptions: [join(EXAMPLES_DIR, "exceptions", "exceptions.yaml")],
};

function toRuleEvent(event: ExampleEvent): RuleEvent {
  return recordEvent(event.kind, event.value as never, event.key);
}

export interface DemoRun {
  findings: FindingV1[];
  errors: string[];
  events: number;
}

/** `redeliver`: every event is handed over twice, as after a consumer restart before its commit. */
export async function runDemo(
  rules: readonly CompiledRule[],
  options: { redeliver?: boolean } = {},
): Promise<DemoRun> {
  const tables = new ReferenceTableSet();
  await tables.loadFiles(DEMO_REFERENCES);
  const evaluator = createEvaluator({ rules, tables });
  const findings: FindingV1[] = [];
  const errors: string[] = [];
  let events = 0;
  const judge = (event: RuleEvent) => {
    events += 1;
    if (event.kind === "inventory.host") tables.applyHost(event.value);
    else if (event.kind === "advisory") tables.applyAdvisory(event.value);
    for (let delivery = options.redeliver ? 2 : 1; delivery > 0; delivery--) {
      const result = evaluator.evaluate(event);
      findings.push(...result.findings);
      errors.push(...result.errors.map((failure) => `${event.kind} ${event.id}: ${failure.message}`));
    }
  };
  const { hosts, audits } = exampleInventory();
  for (const host of hosts) judge(toRuleEvent({ kind: "inventory.host", value: host, key: host.id }));
  for (const audit of audits)
    judge(toRuleEvent({ kind: "inventory.audit", value: audit, key: audit.source }));
  for (const advisory of exampleAdvisories()) judge(toRuleEvent(advisory));
  const streams = [
    ...exampleIdsAlerts(),
    ...exampleSnortAndZeekAlerts(),
    ...exampleFirewallEvents(),
    ...exampleUpdateEvents(),
  ]
    .map(toRuleEvent)
    .sort((a, b) => a.time - b.time);
  for (const event of streams) judge(event);
  const end = Math.max(...streams.map((event) => event.time));
  const advanced = evaluator.advance(end);
  findings.push(...advanced.findings);
  errors.push(...advanced.errors.map((failure) => `advance: ${failure.message}`));
  return { findings, errors, events };
}
