import { createHash } from "node:crypto";
import { IdsAlertV1 } from "@vigil/schema";

/** Overrides for `buildIdsAlert`; nested objects replace the defaults wholesale. */
export type IdsAlertOverrides = Partial<IdsAlertV1>;

/**
 * A valid IdsAlertV1 for tests and demos: an inbound log4j exploit attempt on dc01.
 * The id is derived from the other fields (as the ingest does), so two builds with the same
 * overrides are the same alert, and changing the time or the flow gives a new one.
 */
export function buildIdsAlert(overrides: IdsAlertOverrides = {}): IdsAlertV1 {
  const base: Omit<IdsAlertV1, "id"> = {
    schema: "vigil.ids.alert/v1",
    time: "2026-03-10T09:15:02.123Z",
    observed_time: "2026-03-10T09:15:03.000Z",
    product: "suricata",
    sensor: "sensor-core-1",
    src: { ip: "203.0.113.45", port: 51234 },
    dst: { ip: "10.20.1.10", port: 443 },
    asset_ip: "10.20.1.10",
    direction: "inbound",
    protocol: "TCP",
    app_protocol: "http",
    flow_id: "1234567890",
    signature: {
      id: 2034647,
      rev: 3,
      gid: 1,
      message: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
      category: "Attempted Administrator Privilege Gain",
      product_severity: 1,
    },
    action: "allowed",
    severity: "high",
    cves: ["CVE-2021-44228"],
    metadata: {
      mitre_technique_id: ["T1190"],
      mitre_tactic_id: ["TA0001"],
      signature_severity: ["Major"],
    },
    references: ["https://nvd.nist.gov/vuln/detail/CVE-2021-44228"],
  };
  const merged = { ...base, ...overrides };
  const id =
    overrides.id ??
    `ids-${createHash("sha256")
      .update(
        JSON.stringify([
          merged.product,
          merged.sensor,
          merged.time,
          merged.src,
          merged.dst,
          merged.signature.id,
          merged.flow_id,
        ]),
      )
      .digest("hex")
      .slice(0, 24)}`;
  return IdsAlertV1.parse({ ...merged, id });
}
