import type { AssetRef, Endpoint, FindingV1, IdsAlertV1, Severity } from "@vigil/schema";
import { atLeast, findingId, type Rule, type RuleContext, raiseSeverity } from "./rules.ts";

export interface IdsAlertRuleOptions {
  /** Alerts below this severity produce no finding (default `low`: only `informational` is dropped). */
  minSeverity?: Severity;
}

export const IDS_ALERT_RULE_ID = "ids.alert";
export const IDS_ALERT_RULE_VERSION = 1;

const techniqueId = /^T\d{4}(\.\d{3})?$/;
const tacticId = /^TA\d{4}$/;

/** ATT&CK ids from Suricata rule metadata; anything that does not look like an id is ignored. */
function attackIds(metadata: Record<string, string[]>): string[] {
  const ids = new Set<string>();
  for (const [key, pattern] of [
    ["mitre_technique_id", techniqueId],
    ["mitre_tactic_id", tacticId],
  ] as const) {
    for (const value of metadata[key] ?? []) {
      const id = value.trim().toUpperCase();
      if (pattern.test(id)) ids.add(id);
    }
  }
  return [...ids];
}

function endpoint(value: Endpoint): string {
  const host = value.ip.includes(":") ? `[${value.ip}]` : value.ip;
  return value.port !== undefined ? `${host}:${value.port}` : host;
}

function assetLabel(asset: AssetRef): string {
  return asset.hostname ?? asset.id;
}

/**
 * `ids.alert`: every IDS alert at or above the minimum severity is a finding about the internal
 * asset of the flow. The signature judges the attack, not the target, so on a critical-tier asset
 * (a domain controller, the payroll server) the severity is raised one step: the same exploit
 * attempt has a larger blast radius there, and the priority list exists so that those are
 * handled first. Lower tiers never lower a severity: an attack is not less real on a workstation.
 */
export function createIdsAlertRule(options: IdsAlertRuleOptions = {}): Rule<IdsAlertV1> {
  const minSeverity = options.minSeverity ?? "low";
  return {
    id: IDS_ALERT_RULE_ID,
    name: "IDS alert",
    version: IDS_ALERT_RULE_VERSION,
    description: `Raises a finding for each IDS alert of severity ${minSeverity} or above; severity raised one step on critical-tier assets.`,
    evaluate(alert: IdsAlertV1, context: RuleContext): FindingV1[] {
      if (!atLeast(alert.severity, minSeverity)) return [];
      const asset = context.assets.resolve(alert.asset_ip);
      const raised = asset.priority === "critical" && alert.severity !== "critical";
      const severity = raised ? raiseSeverity(alert.severity) : alert.severity;
      const signature = alert.signature;
      const sid = `${signature.gid !== undefined ? `${signature.gid}:` : ""}${signature.id}${signature.rev !== undefined ? `:${signature.rev}` : ""}`;
      const flow = `${endpoint(alert.src)} -> ${endpoint(alert.dst)}`;
      const protocol = alert.app_protocol ? `${alert.protocol}/${alert.app_protocol}` : alert.protocol;
      const label = assetLabel(asset);

      const conditions = [
        `alert severity ${alert.severity} >= minimum ${minSeverity}`,
        `asset ${asset.id} (${alert.asset_ip}) tier ${asset.priority} from ${asset.priority_reason}`,
      ];
      if (raised)
        conditions.push(
          `severity raised ${alert.severity} -> ${severity} because the asset tier is critical`,
        );

      const details = [
        `${alert.product} signature ${sid} "${signature.message}"${signature.category ? ` (${signature.category})` : ""}`,
        `flow ${flow} ${protocol}, ${alert.direction}${alert.action ? `, ${alert.action}` : ""}`,
        alert.sensor ? `sensor ${alert.sensor}` : undefined,
        alert.http?.hostname || alert.http?.url
          ? `http ${alert.http.method ?? ""} ${alert.http.hostname ?? ""}${alert.http.url ?? ""}`
              .replace(/\s+/g, " ")
              .trim()
          : undefined,
      ].filter((part): part is string => part !== undefined);

      return [
        {
          schema: "vigil.finding/v1",
          id: findingId(IDS_ALERT_RULE_ID, IDS_ALERT_RULE_VERSION, [alert.id]),
          time: alert.time,
          rule: { id: IDS_ALERT_RULE_ID, name: "IDS alert", version: IDS_ALERT_RULE_VERSION },
          severity,
          title: `IDS alert on ${label}: ${signature.message}`,
          description: `${details.join("; ")}.`,
          asset,
          group_key: `sig:${signature.id}`,
          events: [
            {
              topic: context.eventTopic,
              id: alert.id,
              time: alert.time,
              summary: `${flow} ${signature.message}`,
            },
          ],
          explanation: {
            summary: `${alert.product} alert "${signature.message}" (${alert.severity}) on ${label}, tier ${asset.priority}: finding severity ${severity}.`,
            conditions,
          },
          cves: [...new Set(alert.cves)],
          attack: attackIds(alert.metadata),
          references: [...new Set(alert.references)],
        },
      ];
    },
  };
}
