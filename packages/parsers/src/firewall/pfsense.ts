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

/** filterlog's fixed head: rule, sub rule, anchor, tracker, interface, reason, action, direction, IP version. */
export const FILTERLOG_HEAD = /^\d*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[a-z-]*,(?:in|out),[46],/;

const DENIED = new Set(["block", "reject"]);
const TCP_FLAGS: Record<string, string> = {
  S: "SYN",
  A: "ACK",
  F: "FIN",
  R: "RST",
  P: "PSH",
  U: "URG",
  E: "ECE",
  W: "CWR",
};

/**
 * pfSense / OPNsense `filterlog` CSV (pfSense's documented raw format): a fixed head, an IPv4 or
 * IPv6 block, then a protocol block (tcp, udp, icmp, ipv6-icmp, carp, igmp, ...; other protocols
 * end in `datalength=N`).
 */
export function parseFilterlog(context: MessageContext): DraftResult {
  const f = context.body.split(",");
  if (f.length < 9 || !FILTERLOG_HEAD.test(context.body))
    return invalid(
      "unrecognized",
      "not a filterlog line: the head (rule,...,action,direction,ipversion) is missing",
    );
  try {
    const [rule, , anchor, tracker, iface, reason, actionWord, dir, version] = f as string[];
    const v6 = version === "6";
    // IPv4: tos,ecn,ttl,id,offset,flags,protonum,protoname,length,src,dst (9-19)
    // IPv6: class,flowlabel,hoplimit,protoname,protonum,length,src,dst (9-16)
    const need = v6 ? 17 : 20;
    if (f.length < need)
      throw new FieldError(`the IPv${version} block is cut short: ${f.length} of at least ${need} fields`);
    const protoName = v6 ? f[12]! : f[16]!;
    const protoNum = v6 ? f[13]! : f[15]!;
    const length = countOf(v6 ? f[14] : f[17], "length");
    const src: FirewallEndpoint = { ip: requireIp(v6 ? f[15] : f[18], "source address") };
    const dst: FirewallEndpoint = { ip: requireIp(v6 ? f[16] : f[19], "destination address") };
    let proto = protocolOf(protoNum);
    if (proto.protocol_name === undefined) proto = protocolOf(protoName);
    if (proto.protocol_name === undefined)
      throw new FieldError(
        `protocol "${protoName.slice(0, 32)}"/"${protoNum.slice(0, 8)}" is not a protocol`,
      );
    const rest = f.slice(need);
    let tcpFlags: string | undefined;
    if (proto.protocol_name === "tcp" || proto.protocol_name === "udp" || proto.protocol_name === "sctp") {
      const sport = portOf(rest[0], "source port");
      const dport = portOf(rest[1], "destination port");
      if (sport === undefined || dport === undefined)
        throw new FieldError(`${proto.protocol_name} ports are missing`);
      src.port = sport;
      dst.port = dport;
      if (proto.protocol_name === "tcp" && rest[3]) {
        tcpFlags =
          [...rest[3]]
            .map((letter) => TCP_FLAGS[letter])
            .filter(Boolean)
            .join(" ") || undefined;
      }
    }
    if (iface) (dir === "in" ? src : dst).interface_name = iface;
    const action = actionWord === "pass" ? "Allowed" : DENIED.has(actionWord ?? "") ? "Denied" : undefined;
    // The tracker is the rule's stable id (pfSense 2.3+); OPNsense puts the rule's label hash there.
    const ruleUid = tracker && tracker !== "0" ? tracker : rule || undefined;
    return {
      status: "record",
      draft: defined({
        activity_id: action === "Denied" ? 5 : 6,
        metadata: defined({
          product: { name: "pfSense filterlog", vendor_name: "Netgate" },
          message_uid: ruleUid,
        }),
        src_endpoint: src,
        dst_endpoint: dst,
        connection_info: defined({
          ...proto,
          protocol_ver: v6 ? "ipv6" : "ipv4",
          boundary: dir === "in" ? "inbound" : "outbound",
          tcp_flags: tcpFlags,
        }),
        action,
        disposition: actionWord || undefined,
        firewall_rule: ruleUid
          ? defined({ uid: ruleUid.slice(0, 256), name: anchor ? anchor.slice(0, 256) : undefined })
          : undefined,
        severity_id: action === "Denied" ? 2 : 1,
        traffic: { ...(length !== undefined ? { bytes: length } : {}), packets: 1 },
        message: reason ? `${reason} ${actionWord} ${dir}` : undefined,
        time: context.time,
      }),
    };
  } catch (error) {
    if (error instanceof FieldError) return invalid("field", error.message);
    throw error;
  }
}
