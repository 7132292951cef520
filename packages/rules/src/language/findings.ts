/**
 * Findings as every rule (YAML or TypeScript) builds them: the same shape, the same id scheme,
 * the same caps, an explanation that names the events, the asset and its priority, and the
 * conditions that held.
 */
import { type AssetRef, CveId, type EvidenceRef, type FindingV1, type Severity } from "@vigil/schema";
import type { ResolvedAsset, RuleEvent } from "../model.ts";
import { findingId } from "../rules.ts";
import { isoTime } from "./scope.ts";
import { clip } from "./text.ts";

/** ATT&CK ids: techniques and sub-techniques, tactics, software, groups, mitigations, data sources, campaigns. */
export const attackIdPattern = /^(T\d{4}(\.\d{3})?|TA\d{4}|S\d{4}|G\d{4}|M\d{4}|DS\d{4}|C\d{4})$/;

export const findingLimits = {
  title: 300,
  description: 4000,
  groupKey: 256,
  condition: 500,
  conditions: 100,
  events: 50,
  summary: 1000,
};

export class FindingBuildError extends Error {
  override name = "FindingBuildError";
}

function endpoint(
  value: { ip?: string | undefined; port?: number | undefined; hostname?: string | undefined } | undefined,
): string {
  if (!value) return "?";
  const host = value.ip ?? value.hostname ?? "?";
  const shown = host.includes(":") ? `[${host}]` : host;
  return value.port !== undefined ? `${shown}:${value.port}` : shown;
}

/** One line saying what an event was, for the finding's evidence list. */
export function eventSummary(event: RuleEvent): string {
  switch (event.kind) {
    case "ids.alert": {
      const value = event.value;
      return clip(
        `${endpoint(value.src_endpoint)} -> ${endpoint(value.dst_endpoint)} ${value.finding_info.title}`,
        300,
      );
    }
    case "firewall.event": {
      const value = event.value;
      const verdict = value.action ?? value.disposition ?? "seen";
      const protocol = value.connection_info.protocol_name ?? "ip";
      const rule = value.firewall_rule?.uid ?? value.firewall_rule?.name;
      return clip(
        `${verdict.toLowerCase()} ${protocol} ${endpoint(value.src_endpoint)} -> ${endpoint(value.dst_endpoint)}${
          rule ? ` (rule ${rule})` : ""
        } on ${value.device.hostname ?? value.device.ip ?? value.format}`,
        300,
      );
    }
    case "inventory.host": {
      const value = event.value;
      return clip(
        `host ${value.hostname ?? value.fqdn ?? value.id} (${value.id}), ${value.is_managed ? "managed" : "unmanaged"}, state of ${value.time}`,
        300,
      );
    }
    case "inventory.audit": {
      const value = event.value;
      return clip(
        `${value.source} audit (${value.format}): ${value.host_count} hosts, finished ${value.finished}`,
        300,
      );
    }
    case "updates.agent": {
      const value = event.value;
      return clip(
        `${value.host ?? value.update_server?.host ?? "?"} ${value.source_log}: ${value.signature?.title ?? value.message}`,
        300,
      );
    }
    case "advisory": {
      const value = event.value;
      return clip(`${value.source} ${value.id}${value.title ? `: ${value.title}` : ""}`, 300);
    }
  }
}

export function evidenceOf(event: RuleEvent): EvidenceRef {
  return { topic: event.topic, id: event.id, time: isoTime(event.time), summary: eventSummary(event) };
}

function isRuleEvent(value: RuleEvent | EvidenceRef): value is RuleEvent {
  return "kind" in value && "value" in value;
}

export interface FindingInput {
  rule: { id: string; name: string; version: number };
  /** The events that led to the finding (at least one); RuleEvents are summarised, refs kept as they are. */
  events: readonly (RuleEvent | EvidenceRef)[];
  asset: ResolvedAsset | AssetRef;
  severity: Severity;
  title: string;
  description?: string;
  /** What incidents group on besides rule and asset (default: the rule id). */
  group_key?: string;
  /** The conditions that held, in words with the actual values. */
  conditions: readonly string[];
  /** Default: the title, the asset and its priority and why. */
  summary?: string;
  /** Epoch ms or RFC 3339; default: the latest event's time. */
  time?: number | string;
  /** Default: `findingId(rule.id, rule.version, <event ids>)`. */
  id?: string;
  cves?: readonly string[];
  attack?: readonly string[];
  references?: readonly string[];
}

function toAssetRef(asset: ResolvedAsset | AssetRef): AssetRef {
  return "ref" in asset ? asset.ref : asset;
}

/** Builds a valid `vigil.finding/v1`; throws FindingBuildError on what no finding may carry (no events, a bad ATT&CK id). */
export function buildFinding(input: FindingInput): FindingV1 {
  if (input.events.length === 0)
    throw new FindingBuildError(`rule ${input.rule.id}: a finding needs at least one event`);
  const attack = [...new Set(input.attack ?? [])];
  const invalid = attack.filter((id) => !attackIdPattern.test(id));
  if (invalid.length > 0)
    throw new FindingBuildError(`rule ${input.rule.id}: not ATT&CK ids: ${invalid.join(", ")}`);
  const evidence = input.events.map((event) => (isRuleEvent(event) ? evidenceOf(event) : event));
  const asset = toAssetRef(input.asset);
  let latest = evidence[0]!.time;
  for (const ref of evidence) if (Date.parse(ref.time) > Date.parse(latest)) latest = ref.time;
  const time =
    input.time === undefined ? latest : typeof input.time === "number" ? isoTime(input.time) : input.time;
  const title = clip(input.title, findingLimits.title);
  const label = asset.hostname ?? asset.id;
  const conditions = input.conditions
    .slice(0, findingLimits.conditions)
    .map((condition) => clip(condition, findingLimits.condition));
  if (input.conditions.length > findingLimits.conditions)
    conditions.push(`… ${input.conditions.length - findingLimits.conditions} more conditions`);
  const shownEvents = evidence.slice(0, findingLimits.events);
  const moreEvents = evidence.length - shownEvents.length;
  const summary =
    input.summary ??
    `${title}. Asset ${label}${label !== asset.id ? ` (${asset.id})` : ""}, priority ${asset.priority}: ${asset.priority_reason}.${
      moreEvents > 0 ? ` ${evidence.length} events, the first ${shownEvents.length} listed.` : ""
    }`;
  return {
    schema: "vigil.finding/v1",
    id:
      input.id ??
      findingId(
        input.rule.id,
        input.rule.version,
        evidence.map((ref) => ref.id),
      ),
    time,
    rule: { id: input.rule.id, name: input.rule.name, version: input.rule.version },
    severity: input.severity,
    title,
    description: clip(input.description ?? title, findingLimits.description, true),
    asset,
    group_key: clip(input.group_key ?? input.rule.id, findingLimits.groupKey),
    events: shownEvents,
    explanation: { summary: clip(summary, findingLimits.summary), conditions },
    cves: [...new Set(input.cves ?? [])].filter((cve) => CveId.safeParse(cve).success),
    attack,
    references: [...new Set(input.references ?? [])],
  };
}
