import { z } from "zod";
import { CveId, Endpoint, IpAddress, Severity, Timestamp } from "./common.ts";

/**
 * An IDS alert, normalized from Suricata EVE / Snort / Zeek (OCSF Detection Finding where it fits).
 * Keyed on Kafka by `asset_ip`: the internal side of the flow, so an asset's alerts share a partition.
 */
export const IdsAlertV1 = z.object({
  schema: z.literal("vigil.ids.alert/v1"),
  /** Deterministic: derived from the product, sensor and the event's own identity, so a re-read is recognised. */
  id: z.string().min(1),
  time: Timestamp,
  observed_time: Timestamp,
  product: z.enum(["suricata", "snort", "zeek"]),
  sensor: z.string().optional(),
  src: Endpoint,
  dst: Endpoint,
  /** The internal (protected) address of the two: the enrichment and partition key. */
  asset_ip: IpAddress,
  direction: z.enum(["inbound", "outbound", "internal", "external"]),
  protocol: z.string(),
  app_protocol: z.string().optional(),
  flow_id: z.string().optional(),
  community_id: z.string().optional(),
  signature: z.object({
    id: z.number().int().nonnegative(),
    rev: z.number().int().nonnegative().optional(),
    gid: z.number().int().nonnegative().optional(),
    message: z.string(),
    category: z.string().optional(),
    /** The product's own severity (Suricata: 1 = high ... 3 = low). */
    product_severity: z.number().int().optional(),
  }),
  action: z.enum(["allowed", "blocked"]).optional(),
  severity: Severity,
  cves: z.array(CveId),
  /** The rule's metadata keywords (Suricata `metadata`), values as lists. */
  metadata: z.record(z.string(), z.array(z.string())),
  references: z.array(z.string()),
  payload_printable: z.string().optional(),
  http: z
    .object({ hostname: z.string().optional(), url: z.string().optional(), method: z.string().optional() })
    .optional(),
});
export type IdsAlertV1 = z.infer<typeof IdsAlertV1>;
