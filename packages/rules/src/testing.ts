import { createHash } from "node:crypto";
import { FirewallEventV1, IdsAlertV1, type NetworkEndpoint, severityIds } from "@vigil/schema";

/**
 * Overrides for `buildIdsAlert`; nested objects replace the defaults wholesale. Shorthands:
 * `time` (RFC 3339) sets `time` and `time_dt`, `src` / `dst` set the endpoints, and a
 * `severity` without `severity_id` sets both.
 */
export type IdsAlertOverrides = Partial<Omit<IdsAlertV1, "time">> & {
  time?: string;
  src?: NetworkEndpoint;
  dst?: NetworkEndpoint;
};

/**
 * A valid IdsAlertV1 for tests and demos: an inbound log4j exploit attempt on dc01.
 * The id is derived from the other fields (as the ingest does), so two builds with the same
 * overrides are the same alert, and changing the time or the flow gives a new one.
 */
export function buildIdsAlert(overrides: IdsAlertOverrides = {}): IdsAlertV1 {
  const { time, src, dst, ...rest } = overrides;
  const timeDt = time ?? rest.time_dt ?? "2026-03-10T09:15:02.123Z";
  const title = "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)";
  const base: Omit<IdsAlertV1, "id" | "finding_info"> & {
    finding_info: Omit<IdsAlertV1["finding_info"], "uid"> & { uid?: string };
  } = {
    schema: "vigil.ids.alert/v1",
    class_uid: 2004,
    category_uid: 2,
    activity_id: 1,
    type_uid: 200401,
    time: Date.parse(timeDt),
    time_dt: timeDt,
    severity: "high",
    severity_id: 4,
    metadata: {
      version: "1.3.0",
      product: { name: "Suricata", vendor_name: "OISF" },
      log_name: "eve",
      original_time: timeDt,
      processed_time: Date.parse("2026-03-10T09:15:03.000Z"),
    },
    finding_info: {
      title,
      analytic: {
        uid: "2034647",
        name: title,
        type: "Rule",
        type_id: 1,
        category: "Attempted Administrator Privilege Gain",
        version: "3",
      },
      types: ["Attempted Administrator Privilege Gain"],
    },
    src_endpoint: src ?? { ip: "203.0.113.45", port: 51234 },
    dst_endpoint: dst ?? { ip: "10.20.1.10", port: 443 },
    connection_info: { protocol_name: "tcp", direction: "Inbound", direction_id: 1, uid: "1234567890" },
    device: { hostname: "sensor-core-1" },
    action: "Allowed",
    action_id: 1,
    raw_data: "{}",
    asset_ip: "10.20.1.10",
    app_protocol: "http",
    cves: ["CVE-2021-44228"],
    rule_metadata: {
      mitre_technique_id: ["T1190"],
      mitre_tactic_id: ["TA0001"],
      signature_severity: ["Major"],
    },
    references: ["https://nvd.nist.gov/vuln/detail/CVE-2021-44228"],
    unmapped: { gid: 1, priority: 1 },
  };
  const merged = { ...base, ...rest };
  if (rest.severity !== undefined && rest.severity_id === undefined)
    merged.severity_id = severityIds[rest.severity];
  const id =
    rest.id ??
    `ids-${createHash("sha256")
      .update(
        JSON.stringify([
          merged.metadata.product.name,
          merged.device.hostname,
          merged.time_dt,
          merged.src_endpoint,
          merged.dst_endpoint,
          merged.finding_info.analytic.uid,
          merged.connection_info.uid,
        ]),
      )
      .digest("hex")
      .slice(0, 24)}`;
  return IdsAlertV1.parse({ ...merged, id, finding_info: { ...merged.finding_info, uid: id } });
}

/** A `finding_info` override for `buildIdsAlert`: another signature. */
export function idsFindingInfo(
  signatureId: number | string,
  title: string,
  category?: string,
): IdsAlertV1["finding_info"] {
  return {
    uid: "set-by-buildIdsAlert",
    title,
    analytic: {
      uid: String(signatureId),
      name: title,
      type: "Rule",
      type_id: 1,
      ...(category !== undefined ? { category } : {}),
    },
    ...(category !== undefined ? { types: [category] } : {}),
  };
}

/**
 * A firewall connection the firewall denied, from the scanner 198.51.100.23 to www01 (172.16.10.5)
 * on `port`, `n` seconds after `start`: one record of a port scan. Validated like a real record.
 */
export function buildDeniedConnection(n: number, port: number, start: string): FirewallEventV1 {
  const time = Date.parse(start) + n * 1000;
  return FirewallEventV1.parse({
    schema: "vigil.firewall.event/v1",
    id: `fw-test-${n}`,
    class_uid: 4001,
    category_uid: 4,
    activity_id: 5,
    time,
    observed_time: time,
    format: "iptables",
    metadata: { product: { name: "Netfilter", vendor_name: "Linux" } },
    device: { hostname: "www01" },
    src_endpoint: { ip: "198.51.100.23", port: 41000 + n },
    dst_endpoint: { ip: "172.16.10.5", port },
    connection_info: { protocol_name: "tcp" },
    direction: "inbound",
    asset_ip: "172.16.10.5",
    action: "Denied",
    severity_id: 1,
    raw_data: `test line ${n}`,
  });
}
