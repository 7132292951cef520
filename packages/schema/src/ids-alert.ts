import { z } from "zod";
import { CveId, IpAddress, Severity, Timestamp } from "./common.ts";

/**
 * IDS records follow OCSF 1.3 (https://schema.ocsf.io): alerts are Detection Findings (class 2004),
 * context events are Network / HTTP / DNS activities. Paths every consumer can rely on whenever
 * the source line carries the value:
 *
 * | path                              | Suricata EVE                 | Snort 3 alert_json      | Zeek notice.log         |
 * |-----------------------------------|------------------------------|-------------------------|-------------------------|
 * | time (epoch ms), time_dt          | timestamp                    | seconds / timestamp     | ts                      |
 * | src_endpoint.ip / .port           | src_ip / src_port            | src_addr / src_port     | id.orig_h / id.orig_p (src) |
 * | dst_endpoint.ip / .port           | dest_ip / dest_port          | dst_addr / dst_port     | id.resp_h / id.resp_p (dst) |
 * | connection_info.protocol_name     | proto, lower case            | proto, lower case       | proto                   |
 * | connection_info.uid               | flow_id (64-bit, as digits)  | -                       | uid                     |
 * | connection_info.community_uid     | community_id                 | -                       | -                       |
 * | finding_info.analytic.uid         | alert.signature_id           | sid                     | note (Scan::Port_Scan)  |
 * | finding_info.title                | alert.signature              | msg                     | msg                     |
 * | finding_info.analytic.version     | alert.rev                    | rev                     | -                       |
 * | finding_info.analytic.category    | alert.category               | class                   | -                       |
 * | severity_id / severity            | alert.severity + ET metadata | priority                | (fixed: medium)         |
 * | action / action_id                | alert.action                 | action                  | -                       |
 * | device.hostname                   | host or --sensor             | --sensor                | --sensor                |
 * | raw_data                          | the original line            | the original line       | the original line       |
 *
 * Suricata `anomaly` events are alerts too: `finding_info.analytic.uid` is `anomaly:<type>:<event>`.
 * Vigil additions (not OCSF): `asset_ip` (the key), `cves`, `rule_metadata`, `references`,
 * `payload_printable`, `app_protocol`, `unmapped` (product fields without an OCSF home).
 */

/** OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical. */
export const severityIds: Record<Severity, 1 | 2 | 3 | 4 | 5> = {
  informational: 1,
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
};

export const IdsProduct = z.enum(["Suricata", "Snort", "Zeek"]);
export type IdsProduct = z.infer<typeof IdsProduct>;

/** Epoch milliseconds, as OCSF `time`. */
export const EpochMillis = z.number().int().min(0);

export const NetworkEndpoint = z.object({
  ip: IpAddress,
  port: z.number().int().min(0).max(65535).optional(),
});
export type NetworkEndpoint = z.infer<typeof NetworkEndpoint>;

/** OCSF connection_info.direction / direction_id; `Other` is Vigil's external-to-external. */
export const ConnectionDirection = z.enum(["Unknown", "Inbound", "Outbound", "Lateral", "Other"]);
export type ConnectionDirection = z.infer<typeof ConnectionDirection>;
export const directionIds: Record<ConnectionDirection, 0 | 1 | 2 | 3 | 99> = {
  Unknown: 0,
  Inbound: 1,
  Outbound: 2,
  Lateral: 3,
  Other: 99,
};

export const ConnectionInfo = z.object({
  /** Lower case: `tcp`, `udp`, `icmp`, `ipv6-icmp`, ... or the IP protocol number as text. */
  protocol_name: z.string().min(1).optional(),
  direction: ConnectionDirection,
  direction_id: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(99)]),
  /** The product's flow / connection id (Suricata flow_id, Zeek uid). */
  uid: z.string().optional(),
  /** Community ID flow hash. */
  community_uid: z.string().optional(),
});
export type ConnectionInfo = z.infer<typeof ConnectionInfo>;

export const IdsEventMetadata = z.object({
  /** OCSF schema version the record follows. */
  version: z.literal("1.3.0"),
  product: z.object({ name: IdsProduct, vendor_name: z.string() }),
  /** The source's own log: `eve`, `alert_json`, `notice`. */
  log_name: z.string(),
  /** The time text exactly as the source wrote it. */
  original_time: z.string(),
  /** When Vigil read it, epoch ms. */
  processed_time: EpochMillis,
});
export type IdsEventMetadata = z.infer<typeof IdsEventMetadata>;

export const IdsDevice = z.object({
  hostname: z.string().optional(),
  /** Capture interface (Suricata in_iface, Snort iface). */
  interface_name: z.string().optional(),
});

/**
 * An IDS alert as an OCSF Detection Finding. Keyed on Kafka by `asset_ip`: the internal side of
 * the flow, so an asset's alerts share a partition (records without addresses, e.g. a decoder
 * anomaly, are keyed by `device.hostname`).
 */
export const IdsAlertV1 = z.object({
  schema: z.literal("vigil.ids.alert/v1"),
  /** Deterministic: derived from the product, sensor and the event's own identity, so a re-read is recognised. */
  id: z.string().min(1),
  class_uid: z.literal(2004),
  category_uid: z.literal(2),
  /** 1 = Create. */
  activity_id: z.literal(1),
  type_uid: z.literal(200401),
  time: EpochMillis,
  /** The same instant in RFC 3339 with the source's own offset and sub-millisecond digits. */
  time_dt: Timestamp,
  severity_id: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]),
  severity: Severity,
  metadata: IdsEventMetadata,
  finding_info: z.object({
    /** Same as `id`. */
    uid: z.string().min(1),
    /** The signature message. */
    title: z.string(),
    analytic: z.object({
      /** The signature id as a string (Zeek: the notice name; Suricata anomalies: `anomaly:<type>:<event>`). */
      uid: z.string().min(1),
      name: z.string(),
      type: z.enum(["Rule", "Behavioral"]),
      type_id: z.union([z.literal(1), z.literal(2)]),
      category: z.string().optional(),
      /** Rule revision. */
      version: z.string().optional(),
    }),
    /** Where the source had a category: the rule's classtype. */
    types: z.array(z.string()).optional(),
  }),
  src_endpoint: NetworkEndpoint.optional(),
  dst_endpoint: NetworkEndpoint.optional(),
  connection_info: ConnectionInfo,
  device: IdsDevice,
  /** What the sensor did: `Allowed` (alert only) or `Denied` (IPS drop / reject). */
  action: z.enum(["Allowed", "Denied"]).optional(),
  action_id: z.union([z.literal(1), z.literal(2)]).optional(),
  raw_data: z.string(),
  /** The internal (protected) address of the two: the enrichment and partition key. */
  asset_ip: IpAddress.optional(),
  app_protocol: z.string().optional(),
  cves: z.array(CveId),
  /** The rule's metadata keywords (Suricata `metadata`), values as lists. */
  rule_metadata: z.record(z.string(), z.array(z.string())),
  references: z.array(z.string()),
  payload_printable: z.string().optional(),
  /** OCSF HTTP request, when the alert carries one. */
  http_request: z
    .object({
      http_method: z.string().optional(),
      url: z.object({ hostname: z.string().optional(), url_string: z.string().optional() }).optional(),
      user_agent: z.string().optional(),
    })
    .optional(),
  /** Product fields without an OCSF home: gid, the product's own priority, Zeek's sub/actions. */
  unmapped: z
    .object({
      gid: z.number().int().nonnegative().optional(),
      priority: z.number().int().optional(),
      anomaly_type: z.string().optional(),
      sub: z.string().optional(),
      actions: z.array(z.string()).optional(),
    })
    .optional(),
});
export type IdsAlertV1 = z.infer<typeof IdsAlertV1>;

/** The partition key of an IDS record: the asset, else the sensor, so no record is keyless. */
export function idsRecordKey(record: {
  asset_ip?: string | undefined;
  device: { hostname?: string | undefined };
}): string {
  return record.asset_ip ?? record.device.hostname ?? "unknown";
}
