// Records and topics of the firewall area; `topics.ts` merges `firewallTopics` into the registry.
import { z } from "zod";
import { IpAddress } from "./common.ts";
import { DAY_MS, topic } from "./topic-spec.ts";

const text = (max: number) => z.string().min(1).max(max);
const port = z.number().int().min(0).max(65535);
const count = z.number().int().nonnegative();

/**
 * One side of a connection (OCSF Network Endpoint). Firewalls with named objects log a name
 * instead of an address (`dst FE_xUI:Server_Windows/15000`): it goes to `hostname`, and a service
 * name instead of a port (`/ssh`) that maps to no well-known port goes to `svc_name`.
 */
export const FirewallEndpoint = z.object({
  ip: IpAddress.optional(),
  port: port.optional(),
  hostname: text(255).optional(),
  svc_name: text(64).optional(),
  /** The firewall interface (or zone) on this side, as the log names it. */
  interface_name: text(128).optional(),
  mac: text(64).optional(),
});
export type FirewallEndpoint = z.infer<typeof FirewallEndpoint>;

export const FirewallFormat = z.enum(["iptables", "pfsense", "asa", "panos", "cef"]);
export type FirewallFormat = z.infer<typeof FirewallFormat>;

/**
 * A firewall event in the shape of OCSF Network Activity (class 4001), normalized from iptables,
 * pfSense/OPNsense filterlog, Cisco ASA/FTD, PAN-OS and CEF. The paths consumers rely on
 * (`src_endpoint.ip/port`, `dst_endpoint.ip/port`, `connection_info.protocol_name`, `action`,
 * `firewall_rule.uid`, `severity_id`, `time`, `device.hostname`, `raw_data`) are present whenever
 * the source line carries the value. Keyed on Kafka by `asset_ip`: the inside (home-net) address.
 */
export const FirewallEventV1 = z.object({
  schema: z.literal("vigil.firewall.event/v1"),
  /** Deterministic: a hash of the format, reporting device and original line, so a re-read is recognised. */
  id: z.string().min(1),
  class_uid: z.literal(4001),
  category_uid: z.literal(4),
  /** OCSF activity: 1 open, 2 close, 5 refuse (denied), 6 traffic (a packet log), 99 other. */
  activity_id: z.union([z.literal(1), z.literal(2), z.literal(5), z.literal(6), z.literal(99)]),
  /** Event time, epoch milliseconds (the log's own time; the receive time when the line has none). */
  time: z.number().int().nonnegative(),
  /** When Vigil read the line, epoch milliseconds. */
  observed_time: z.number().int().nonnegative(),
  /** The receive time stands in for a line without a timestamp. */
  time_inferred: z.boolean().optional(),
  format: FirewallFormat,
  metadata: z.object({
    product: z.object({ name: text(128), vendor_name: text(128) }),
    /** ASA/FTD message id (`106023`), PAN-OS log subtype, CEF signature id, filterlog tracker. */
    message_uid: text(128).optional(),
  }),
  /** The reporting firewall. */
  device: z.object({
    hostname: text(255).optional(),
    ip: IpAddress.optional(),
  }),
  src_endpoint: FirewallEndpoint,
  dst_endpoint: FirewallEndpoint,
  connection_info: z.object({
    /** Lower case: tcp, udp, icmp, ipv6-icmp, esp, gre, ... or the number as text when unnamed. */
    protocol_name: text(32).optional(),
    protocol_num: z.number().int().min(0).max(255).optional(),
    protocol_ver: z.enum(["ipv4", "ipv6"]).optional(),
    /** The firewall's own view when it logs one (ASA inbound/outbound, pfSense in/out). */
    boundary: z.enum(["inbound", "outbound"]).optional(),
    tcp_flags: text(64).optional(),
    uid: text(128).optional(),
  }),
  /** Relative to the home networks: inbound, outbound, internal (both inside), external (neither). */
  direction: z.enum(["inbound", "outbound", "internal", "external"]).optional(),
  /** The inside address this event concerns (home-net side; destination when neither or both are). */
  asset_ip: text(255).optional(),
  action: z.enum(["Allowed", "Denied"]).optional(),
  /** The product's own verdict word (`block`, `DROP`, `deny`, `reset-both`, `Built`, `Teardown`). */
  disposition: text(64).optional(),
  firewall_rule: z.object({ uid: text(256).optional(), name: text(256).optional() }).optional(),
  /** OCSF severity_id: 0 unknown, 1 informational, 2 low, 3 medium, 4 high, 5 critical, 6 fatal. */
  severity_id: z.number().int().min(0).max(6),
  traffic: z
    .object({
      bytes: count.optional(),
      bytes_in: count.optional(),
      bytes_out: count.optional(),
      packets: count.optional(),
      packets_in: count.optional(),
      packets_out: count.optional(),
    })
    .optional(),
  /** Address translation the firewall applied (ASA mapped addresses, PAN-OS NAT columns). */
  nat: z
    .object({ src_endpoint: FirewallEndpoint.optional(), dst_endpoint: FirewallEndpoint.optional() })
    .optional(),
  app_name: text(128).optional(),
  /** PAN-OS THREAT / CEF detections. */
  threat: z
    .object({
      name: text(512).optional(),
      uid: text(128).optional(),
      category: text(128).optional(),
      severity: text(32).optional(),
    })
    .optional(),
  duration_ms: count.optional(),
  /** The human text of the message (ASA text after the id, CEF name). */
  message: z.string().max(4096).optional(),
  raw_data: z.string(),
});
export type FirewallEventV1 = z.infer<typeof FirewallEventV1>;

export const firewallTopics = {
  firewallEvents: topic({
    name: "vigil.firewall.events",
    description:
      "Normalized firewall events (OCSF Network Activity) from iptables, pfSense, Cisco ASA/FTD, PAN-OS and CEF.",
    key: "asset_ip: the inside (home-net) address of the connection",
    partitions: 6,
    cleanupPolicy: "delete",
    retentionMs: 7 * DAY_MS,
    ceType: "dev.vigil.firewall.event.v1",
    value: FirewallEventV1,
  }),
} as const;
