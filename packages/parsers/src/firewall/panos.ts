import type { FirewallEndpoint } from "@vigil/schema";
import {
  countOf,
  type DraftResult,
  defined,
  FieldError,
  invalid,
  type MessageContext,
  portOf,
  protocolOf,
  requireIp,
} from "./common.ts";

/** PAN-OS syslog CSV: the fourth column is the log type. */
export const PANOS_HEAD = /^[^,]{0,8},\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2},[^,]*,([A-Z]+),/;
const TRAFFIC_TYPES = new Set(["TRAFFIC", "THREAT"]);
const OTHER_TYPES = new Set([
  "SYSTEM",
  "CONFIG",
  "HIPMATCH",
  "GLOBALPROTECT",
  "USERID",
  "CORRELATION",
  "DECRYPTION",
  "AUTH",
  "IPTAG",
  "SCTP",
  "TUNNEL",
  "GTP",
]);
const DENIED =
  /^(deny|drop|drop-icmp|drop-all-packets|reset-client|reset-server|reset-both|block|block-url|block-ip|sinkhole|blocked|override-lockout)$/;
const ALLOWED = /^(allow|alert|continue|override)$/;
const THREAT_SEVERITY: Record<string, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };

/** Splits one CSV record (RFC 4180 quoting, `""` inside quotes); bounded by the line itself. */
export function splitCsv(line: string): string[] {
  const fields: string[] = [];
  let index = 0;
  while (index <= line.length) {
    if (line[index] === '"') {
      let value = "";
      index += 1;
      for (;;) {
        const quote = line.indexOf('"', index);
        if (quote === -1) {
          value += line.slice(index);
          index = line.length;
          break;
        }
        value += line.slice(index, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          index = quote + 2;
        } else {
          index = quote + 1;
          break;
        }
      }
      const comma = line.indexOf(",", index);
      fields.push(value);
      if (comma === -1) break;
      index = comma + 1;
    } else {
      const comma = line.indexOf(",", index);
      if (comma === -1) {
        fields.push(line.slice(index));
        break;
      }
      fields.push(line.slice(index, comma));
      index = comma + 1;
    }
  }
  return fields;
}

/** `2021/07/15 11:59:02` (the firewall's clock; PAN-OS sends no zone: taken as UTC). */
function panTime(text: string | undefined): number | undefined {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text ?? "");
  if (!m) return undefined;
  const time = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
  return Number.isFinite(time) && new Date(time).getUTCDate() === Number(m[3]) ? time : undefined;
}

/**
 * PAN-OS TRAFFIC and THREAT logs in the syslog CSV layout (PAN-OS 8-11; columns as documented
 * by Palo Alto's "Syslog Field Descriptions"). Other log types are recognised and ignored.
 */
export function parsePanos(context: MessageContext): DraftResult {
  const head = PANOS_HEAD.exec(context.body);
  if (!head) return invalid("unrecognized", "not a PAN-OS CSV log: no <receive time>,<serial>,<type> head");
  const type = head[1]!;
  if (OTHER_TYPES.has(type)) return { status: "ignored", eventType: `panos-${type.toLowerCase()}` };
  // Log types PAN-OS adds in later releases carry no traffic we know how to read: recognised, skipped.
  if (!TRAFFIC_TYPES.has(type))
    return { status: "ignored", eventType: `panos-${type.toLowerCase().slice(0, 32)}` };
  const f = splitCsv(context.body);
  const threat = type === "THREAT";
  const need = threat ? 36 : 47;
  try {
    if (f.length < need)
      throw new FieldError(`PAN-OS ${type} log is cut short: ${f.length} of at least ${need} fields`);
    const src: FirewallEndpoint = { ip: requireIp(f[7], "src (column 8)") };
    const dst: FirewallEndpoint = { ip: requireIp(f[8], "dst (column 9)") };
    const sport = portOf(f[24], "sport (column 25)");
    const dport = portOf(f[25], "dport (column 26)");
    if (sport !== undefined) src.port = sport;
    if (dport !== undefined) dst.port = dport;
    if (f[16]) src.interface_name = f[16].slice(0, 128);
    if (f[17]) dst.interface_name = f[17].slice(0, 128);
    const natSrc: FirewallEndpoint = {};
    const natDst: FirewallEndpoint = {};
    // 0.0.0.0 / port 0 mean "no translation".
    if (f[9] && f[9] !== "0.0.0.0") natSrc.ip = requireIp(f[9], "natsrc (column 10)");
    if (f[10] && f[10] !== "0.0.0.0") natDst.ip = requireIp(f[10], "natdst (column 11)");
    const natSport = portOf(f[26], "natsport (column 27)");
    const natDport = portOf(f[27], "natdport (column 28)");
    if (natSrc.ip && natSport) natSrc.port = natSport;
    if (natDst.ip && natDport) natDst.port = natDport;
    const proto = protocolOf(f[29]);
    const actionWord = f[30] ?? "";
    const action = DENIED.test(actionWord) ? "Denied" : ALLOWED.test(actionWord) ? "Allowed" : undefined;
    const subtype = f[4] || undefined;
    const deviceName = (threat ? f[59] : f[52]) || undefined;
    const time = context.time ?? panTime(f[6]) ?? panTime(f[1]);
    let severity = action === "Denied" ? 2 : 1;
    let threatInfo: { name?: string; uid?: string; category?: string; severity?: string } | undefined;
    if (threat) {
      const named = /^(.*)\((\d+)\)$/.exec(f[32] ?? "");
      threatInfo = defined({
        name: (named ? named[1] : f[32])?.slice(0, 512) || undefined,
        uid: named?.[2],
        category: (f[33] && f[33] !== "any" ? f[33] : subtype)?.slice(0, 128),
        severity: f[34]?.slice(0, 32) || undefined,
      });
      severity = THREAT_SEVERITY[f[34] ?? ""] ?? severity;
    }
    const traffic = threat
      ? undefined
      : defined({
          bytes: countOf(f[31], "bytes (column 32)"),
          bytes_out: countOf(f[32], "bytes_sent (column 33)"),
          bytes_in: countOf(f[33], "bytes_received (column 34)"),
          packets: countOf(f[34], "packets (column 35)"),
          packets_out: countOf(f[44], "pkts_sent (column 45)"),
          packets_in: countOf(f[45], "pkts_received (column 46)"),
        });
    const elapsed = threat ? undefined : countOf(f[36], "elapsed (column 37)");
    return {
      status: "record",
      draft: defined({
        activity_id: action === "Denied" ? 5 : subtype === "start" ? 1 : subtype === "end" ? 2 : 6,
        metadata: defined({
          product: { name: "PAN-OS", vendor_name: "Palo Alto Networks" },
          message_uid: `${type}${subtype ? `/${subtype}` : ""}`.slice(0, 128),
        }),
        device: deviceName ? { hostname: deviceName.slice(0, 255) } : undefined,
        src_endpoint: src,
        dst_endpoint: dst,
        connection_info: defined({ ...proto, uid: f[22] || undefined }),
        action,
        disposition: actionWord.slice(0, 64) || undefined,
        firewall_rule: f[11] ? { uid: f[11].slice(0, 256), name: f[11].slice(0, 256) } : undefined,
        severity_id: severity,
        traffic: traffic && Object.keys(traffic).length > 0 ? traffic : undefined,
        nat:
          natSrc.ip || natDst.ip
            ? defined({
                src_endpoint: natSrc.ip ? natSrc : undefined,
                dst_endpoint: natDst.ip ? natDst : undefined,
              })
            : undefined,
        app_name: f[14] ? f[14].slice(0, 128) : undefined,
        threat: threatInfo,
        duration_ms: elapsed !== undefined ? elapsed * 1000 : undefined,
        message: threat && f[31] ? f[31].slice(0, 4096) : undefined,
        time,
      }),
    };
  } catch (error) {
    if (error instanceof FieldError) return invalid("field", error.message);
    throw error;
  }
}
