/**
 * Sample events in the formats the sources really write (Suricata EVE, ASA / pfSense / iptables
 * syslog, WindowsUpdate.log, CSAF, KEV), read by the same parsers the ingest apps use: a sample
 * is exactly what the pipeline would hand the rules.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createUpdateLogParser,
  NetworkSet,
  parseAdvisoryDocument,
  parseFirewallLine,
  parseSuricataEve,
  splitUpdateLogRecords,
  type UpdateLogFormat,
} from "@vigil/parsers";
import type { AdvisoryV1, FirewallEventV1, IdsAlertV1, UpdateEventV1 } from "@vigil/schema";
import { DEMO_HOME_NETS, EXAMPLES_DIR } from "../examples.ts";

const homeNets = new NetworkSet(DEMO_HOME_NETS);
const READ_AT = Date.parse("2024-03-12T12:00:00Z");

export interface EveAlert {
  /** Suricata's own timestamp text, `2024-03-12T09:50:10.295920+0100`. */
  timestamp: string;
  src: string;
  srcPort: number;
  dest: string;
  destPort: number;
  proto?: string;
  appProto?: string;
  sid: number;
  rev?: number;
  signature: string;
  category: string;
  /** Suricata's 1 (high) .. 3 (low). */
  severity: 1 | 2 | 3;
  action?: "allowed" | "blocked";
  cves?: string[];
  signatureSeverity?: "Critical" | "Major" | "Minor" | "Informational";
  sensor?: string;
  flowId?: number;
}

export function eveAlert(spec: EveAlert): IdsAlertV1 {
  const record = {
    timestamp: spec.timestamp,
    flow_id: spec.flowId ?? 1_000_000_000_000 + spec.srcPort * 7 + spec.sid,
    in_iface: "ens224",
    event_type: "alert",
    src_ip: spec.src,
    src_port: spec.srcPort,
    dest_ip: spec.dest,
    dest_port: spec.destPort,
    proto: spec.proto ?? "TCP",
    ...(spec.appProto ? { app_proto: spec.appProto } : {}),
    host: spec.sensor ?? "sensor-core-1",
    direction: "to_server",
    alert: {
      action: spec.action ?? "allowed",
      gid: 1,
      signature_id: spec.sid,
      rev: spec.rev ?? 1,
      signature: spec.signature,
      category: spec.category,
      severity: spec.severity,
      metadata: {
        ...(spec.cves ? { cve: spec.cves.map((cve) => cve.replaceAll("-", "_")) } : {}),
        signature_severity: [spec.signatureSeverity ?? (spec.severity === 1 ? "Major" : "Minor")],
      },
    },
  };
  const result = parseSuricataEve(JSON.stringify(record), { homeNets, now: () => new Date(READ_AT) });
  if (result.status !== "alert") throw new Error(`sample EVE alert refused: ${JSON.stringify(result)}`);
  return result.alert;
}

/** One syslog line of a firewall, parsed as the firewall ingest would. */
export function firewallLine(line: string): FirewallEventV1 {
  const result = parseFirewallLine(line, { homeNets, now: READ_AT });
  if (result.status !== "record")
    throw new Error(`sample firewall line refused: ${line}: ${JSON.stringify(result)}`);
  return result.value;
}

/** The records of an update log text (entries in file order), parsed as the updates ingest would. */
export function updateLog(format: UpdateLogFormat, host: string, text: string): UpdateEventV1[] {
  const parse = createUpdateLogParser(format, {
    host,
    utcOffset: "+09:00",
    file: `${host}/${format}`,
    now: () => new Date("2008-07-15T00:00:00Z"),
  });
  return splitUpdateLogRecords(text, format).map((record) => {
    const result = parse(record.text, record.position);
    if (result.status !== "record") throw new Error(`sample update log entry refused: ${record.text}`);
    return result.value;
  });
}

/** The update events of one of the demo's logs (examples/updates), as the updates ingest reads them. */
export function exampleUpdateLog(file: string, format: UpdateLogFormat, host: string): UpdateEventV1[] {
  return updateLog(format, host, readFileSync(join(EXAMPLES_DIR, "updates", file), "utf8"));
}

/** Advisories of an advisory document (KEV, NVD, CSAF) given as text. */
export function advisoryDocument(text: string): AdvisoryV1[] {
  const document = parseAdvisoryDocument(text, "auto");
  if (document.status !== "document") throw new Error(`sample advisory refused: ${document.found}`);
  return document.entries.map((entry) => {
    if (entry.result.status !== "record")
      throw new Error(`sample advisory entry refused: ${entry.result.reason}`);
    return entry.result.value;
  });
}

/** The advisories of one of the demo's advisory files (examples/advisories). */
export function exampleAdvisories(file: string): AdvisoryV1[] {
  return advisoryDocument(readFileSync(join(EXAMPLES_DIR, "advisories", file), "utf8"));
}
