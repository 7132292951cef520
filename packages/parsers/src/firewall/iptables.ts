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

/** A netfilter `LOG`/`NFLOG` line: `IN=` and `OUT=` start the fields (anywhere, after the log prefix). */
export const IPTABLES_FIELDS = /(?:^|[\s\])])IN=\S* OUT=/;
const KERNEL_CLOCK = /^\[\s*\d+\.\d+\]\s*/;
const FLAG_WORDS = new Set(["CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"]);

function actionOfPrefix(prefix: string): { action?: "Allowed" | "Denied"; disposition?: string } {
  const word =
    /\b(DROP|DROPPED|BLOCK|BLOCKED|REJECT|REJECTED|DENY|DENIED|INVALID|ACCEPT|ACCEPTED|ALLOW|ALLOWED|PASS)\b/i.exec(
      prefix.replace(/[-_]/g, " "),
    );
  if (!word) return {};
  const disposition = word[1]!.toUpperCase();
  const allowed = /^(ACCEPT|ACCEPTED|ALLOW|ALLOWED|PASS)$/.test(disposition);
  return { action: allowed ? "Allowed" : "Denied", disposition };
}

export function parseIptables(context: MessageContext): DraftResult {
  let text = context.body.replace(KERNEL_CLOCK, "");
  const start = IPTABLES_FIELDS.exec(text);
  if (!start) return invalid("unrecognized", "not a netfilter log line: no IN= ... OUT= fields");
  const fieldsAt = start.index + (start[0].startsWith("IN=") ? 0 : 1);
  const prefix = text.slice(0, fieldsAt).trim();
  text = text.slice(fieldsAt);

  // First occurrence wins: ICMP repeats ID, UDP repeats LEN (the IP header's come first).
  const fields = new Map<string, string>();
  const flags: string[] = [];
  for (const token of text.split(" ")) {
    if (token === "") continue;
    const eq = token.indexOf("=");
    if (eq === -1) {
      if (FLAG_WORDS.has(token)) flags.push(token);
      continue;
    }
    const key = token.slice(0, eq);
    if (!fields.has(key)) fields.set(key, token.slice(eq + 1));
  }

  try {
    const src: FirewallEndpoint = { ip: requireIp(fields.get("SRC"), "SRC") };
    const dst: FirewallEndpoint = { ip: requireIp(fields.get("DST"), "DST") };
    const protoText = fields.get("PROTO");
    const proto = protocolOf(protoText);
    if (protoText !== undefined && proto.protocol_name === undefined)
      throw new FieldError(`PROTO "${protoText.slice(0, 32)}" is not a protocol`);
    const sport = portOf(fields.get("SPT"), "SPT");
    const dport = portOf(fields.get("DPT"), "DPT");
    if (sport !== undefined) src.port = sport;
    if (dport !== undefined) dst.port = dport;
    const inIf = fields.get("IN") || undefined;
    const outIf = fields.get("OUT") || undefined;
    if (inIf) src.interface_name = inIf;
    if (outIf) dst.interface_name = outIf;
    const mac = fields.get("MAC");
    // MAC= is destination(6) + source(6) + ethertype(2) bytes.
    if (mac && /^([0-9a-f]{2}:){13}[0-9a-f]{2}$/i.test(mac)) {
      dst.mac = mac.slice(0, 17);
      src.mac = mac.slice(18, 35);
    }
    const bytes = countOf(fields.get("LEN"), "LEN");
    const family = src.ip!.includes(":") ? "ipv6" : "ipv4";
    const { action, disposition } = actionOfPrefix(prefix);
    const ruleName = prefix
      .replace(/^\[|\]$/g, "")
      .replace(/[:\s]+$/, "")
      .slice(0, 256);
    return {
      status: "record",
      draft: defined({
        activity_id: action === "Denied" ? 5 : 6,
        metadata: { product: { name: "Netfilter", vendor_name: "Linux" } },
        src_endpoint: src,
        dst_endpoint: dst,
        connection_info: defined({
          ...proto,
          protocol_ver: family,
          boundary: inIf && !outIf ? "inbound" : outIf && !inIf ? "outbound" : undefined,
          tcp_flags: flags.length > 0 ? flags.join(" ") : undefined,
        }),
        action,
        disposition,
        firewall_rule: ruleName ? { uid: ruleName, name: ruleName } : undefined,
        severity_id: action === "Denied" ? 2 : 1,
        traffic: { ...(bytes !== undefined ? { bytes } : {}), packets: 1 },
        message: prefix ? prefix.slice(0, 4096) : undefined,
        time: context.time,
      }),
    };
  } catch (error) {
    if (error instanceof FieldError) return invalid("field", error.message);
    throw error;
  }
}
