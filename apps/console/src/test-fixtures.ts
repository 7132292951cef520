import type { FindingV1, Severity } from "@vigil/schema";

/** Markup an attacker could put in an IDS signature or a host name: it must only ever show as text. */
export const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

let counter = 0;

/** A finding as the rules engine would publish it; each call a new rule, so a new incident. */
export function finding(
  overrides: { title?: string; severity?: Severity; asset?: string; time?: string } = {},
): FindingV1 {
  counter += 1;
  const time = overrides.time ?? new Date().toISOString();
  const asset = overrides.asset ?? `asset-${counter}`;
  const rule = `test.console.rule-${counter}`;
  return {
    schema: "vigil.finding/v1",
    id: `fnd-console-${counter}-${Math.random().toString(16).slice(2)}`,
    time,
    rule: { id: rule, name: rule, version: 1 },
    severity: overrides.severity ?? "high",
    title: overrides.title ?? `Suspicious traffic ${counter}`,
    description: "console test finding",
    asset: {
      id: asset,
      ip: `10.30.0.${(counter % 250) + 1}`,
      hostname: `${asset}.corp.example`,
      known: true,
      priority: "critical",
      priority_reason: "test",
      owner: "Infrastructure",
      tags: [],
    },
    group_key: "g",
    events: [{ topic: "vigil.ids.alerts", id: `evt-${counter}`, time, summary: "an alert" }],
    explanation: { summary: `Raised because of test ${counter}`, conditions: [] },
    cves: ["CVE-2017-0144"],
    attack: [],
    references: [],
  };
}
