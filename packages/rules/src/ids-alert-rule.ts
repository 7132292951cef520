import type { AssetRef, FindingV1, NetworkEndpoint, Severity } from "@vigil/schema";
import { defineRule } from "./language/define.ts";
import type { CompiledRule } from "./model.ts";
import { atLeast, findingId, raiseSeverity } from "./rules.ts";

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

function endpoint(value: NetworkEndpoint | undefined): string {
  if (value === undefined) return "?";
  const host = value.ip.includes(":") ? `[${value.ip}]` : value.ip;
  return value.port !== undefined ? `${host}:${value.port}` : host;
}

function assetLabel(asset: AssetRef): string {
  return asset.hostname ?? asset.id;
}

/**
 * `ids.alert`: a catch-all, every IDS alert at or above the minimum severity is a finding about the internal
 * asset of the flow. The signature judges the attack, not the target, so on a critical-tier asset
 * (a domain controller, the payroll server) the severity is raised one step: the same exploit
 * attempt has a larger blast radius there, and the priority list exists so that those are
 * handled first. Lower tiers never lower a severity: an attack is not less real on a workstation.
 */
export function createIdsAlertRule(options: IdsAlertRuleOptions = {}): CompiledRule {
  const minSeverity = options.minSeverity ?? "low";
  return defineRule({
    id: IDS_ALERT_RULE_ID,
    name: "IDS alert",
    version: IDS_ALERT_RULE_VERSION,
    description: `Raises a finding for each IDS alert of severity ${minSeverity} or above; severity raised one step on critical-tier assets.`,
    on: ["ids.alert"],
    evaluate(event, context): FindingV1[] {
      const alert = event.value;
      if (!atLeast(alert.severity, minSeverity)) return [];
      // An alert without an address (a decoder anomaly) concerns the sensor, not an asset.
      if (alert.asset_ip === undefined) return [];
      const assetIp = alert.asset_ip;
      const asset = context.asset(event, { ip: assetIp }).ref;
      const raised = asset.priority === "critical" && alert.severity !== "critical";
      const severity = raised ? raiseSeverity(alert.severity) : alert.severity;
      const analytic = alert.finding_info.analytic;
      const title = alert.finding_info.title;
      const gid = alert.unmapped?.gid;
      const sid = `${gid !== undefined ? `${gid}:` : ""}${analytic.uid}${analytic.version !== undefined ? `:${analytic.version}` : ""}`;
      const flow = `${endpoint(alert.src_endpoint)} -> ${endpoint(alert.dst_endpoint)}`;
      const transport = alert.connection_info.protocol_name ?? "ip";
      const protocol = alert.app_protocol ? `${transport}/${alert.app_protocol}` : transport;
      const product = alert.metadata.product.name.toLowerCase();
      const http = alert.http_request;
      const label = assetLabel(asset);

      const conditions = [
        `alert severity ${alert.severity} >= minimum ${minSeverity}`,
        `asset ${asset.id} (${assetIp}) tier ${asset.priority} from ${asset.priority_reason}`,
      ];
      if (raised)
        conditions.push(
          `severity raised ${alert.severity} -> ${severity} because the asset tier is critical`,
        );

      const details = [
        `${product} signature ${sid} "${title}"${analytic.category ? ` (${analytic.category})` : ""}`,
        `flow ${flow} ${protocol}, ${alert.connection_info.direction.toLowerCase()}${alert.action ? `, ${alert.action.toLowerCase()}` : ""}`,
        alert.device.hostname ? `sensor ${alert.device.hostname}` : undefined,
        http?.url?.hostname || http?.url?.url_string
          ? `http ${http.http_method ?? ""} ${http.url.hostname ?? ""}${http.url.url_string ?? ""}`
              .replace(/\s+/g, " ")
              .trim()
          : undefined,
      ].filter((part): part is string => part !== undefined);

      return [
        {
          schema: "vigil.finding/v1",
          id: findingId(IDS_ALERT_RULE_ID, IDS_ALERT_RULE_VERSION, [alert.id]),
          time: alert.time_dt,
          rule: { id: IDS_ALERT_RULE_ID, name: "IDS alert", version: IDS_ALERT_RULE_VERSION },
          severity,
          title: `IDS alert on ${label}: ${title}`,
          description: `${details.join("; ")}.`,
          asset,
          group_key: `sig:${analytic.uid}`,
          events: [
            {
              topic: event.topic,
              id: alert.id,
              time: alert.time_dt,
              summary: `${flow} ${title}`,
            },
          ],
          explanation: {
            summary: `${product} alert "${title}" (${alert.severity}) on ${label}, tier ${asset.priority}: finding severity ${severity}.`,
            conditions,
          },
          cves: [...new Set(alert.cves)],
          attack: attackIds(alert.rule_metadata),
          references: [...new Set(alert.references)],
        },
      ];
    },
  });
}
