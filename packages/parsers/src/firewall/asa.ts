import type { FirewallEndpoint, FirewallEventV1 } from "@vigil/schema";
import {
  ALLOW_WORDS,
  addressInto,
  countOf,
  DENY_WORDS,
  type Draft,
  type DraftResult,
  defined,
  FieldError,
  invalid,
  type MessageContext,
  protocolOf,
  serviceInto,
} from "./common.ts";

/** `%ASA-6-302013:`, `%FTD-4-106023:`, `%PIX-3-710003:` (FTD may name a facility: `%FTD-session-6-...`). */
export const ASA_MESSAGE = /%(ASA|FTD|PIX)-(?:[A-Za-z]+-)?([0-7])-(\d{6}):?\s*/;

const SEVERITY_BY_LEVEL = [5, 5, 4, 3, 2, 1, 1, 1] as const;
const PRODUCTS = { ASA: "Cisco ASA", FTD: "Cisco Firepower Threat Defense", PIX: "Cisco PIX" } as const;

/**
 * `outside:10.1.2.1/22`, `10.1.2.1/22`, `inside:fe80::1/53`, `dmz:Server_Windows/ssh`, `10.1.1.1`:
 * interface, address (or object name) and port (or service).
 */
function endpoint(token: string, field: string, withPort = true): FirewallEndpoint {
  const result: FirewallEndpoint = {};
  let address = token.replace(/[,;.]$/, "");
  const slash = address.lastIndexOf("/");
  if (slash !== -1) {
    const service = address.slice(slash + 1);
    address = address.slice(0, slash);
    if (withPort) serviceInto(result, service, `${field} port`);
  }
  const colon = address.indexOf(":");
  if (colon > 0 && !/^[0-9a-f:.]+$/i.test(address)) {
    result.interface_name = address.slice(0, colon);
    address = address.slice(colon + 1);
  } else if (colon > 0 && address.includes(":") && !address.slice(colon + 1).includes(":")) {
    // `inside:10.1.1.1`: exactly one colon and an IPv4 after it.
    result.interface_name = address.slice(0, colon);
    address = address.slice(colon + 1);
  }
  addressInto(result, address, `${field} address`);
  return result;
}

interface Parsed {
  src: FirewallEndpoint;
  dst: FirewallEndpoint;
  protocol?: string | undefined;
  action?: "Allowed" | "Denied" | undefined;
  disposition?: string | undefined;
  activity: Draft["activity_id"];
  boundary?: "inbound" | "outbound" | undefined;
  rule?: string | undefined;
  bytes?: number | undefined;
  durationMs?: number | undefined;
  tcpFlags?: string | undefined;
  connectionUid?: string | undefined;
  nat?: FirewallEventV1["nat"];
  threat?: FirewallEventV1["threat"];
}

type Handler = (text: string) => Parsed | undefined;

const duration = (h?: string, m?: string, s?: string) =>
  h === undefined ? undefined : ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;

const boundaryOf = (word: string | undefined) =>
  word === "inbound" || word === "outbound" ? word : undefined;

/** Built/Teardown of TCP, UDP, GRE, ICMP connections (302013-302021), both the `for`/`to` and the faddr forms. */
const connection: Handler = (text) => {
  const faddr =
    /^(Built|Teardown) (?:(inbound|outbound) )?(ICMP|ICMPv6) connection (?:(\d+) )?for faddr (\S+?)\/(\d+)(?: \([^)]*\))? gaddr (\S+?)\/(\d+) laddr (\S+?)\/(\d+)/.exec(
      text,
    );
  if (faddr) {
    const [, verb, dir, proto, uid, f, , g, , l] = faddr;
    const foreign = endpoint(f!, "faddr", false);
    const local = endpoint(l!, "laddr", false);
    const outbound = dir === "outbound";
    const mapped = endpoint(g!, "gaddr", false);
    return {
      src: outbound ? local : foreign,
      dst: outbound ? foreign : local,
      protocol: proto,
      action: "Allowed",
      disposition: verb,
      activity: verb === "Built" ? 1 : 2,
      boundary: boundaryOf(dir),
      connectionUid: uid,
      ...(mapped.ip !== local.ip ? { nat: { [outbound ? "src_endpoint" : "dst_endpoint"]: mapped } } : {}),
    };
  }
  const match =
    /^(Built|Teardown) (?:(inbound|outbound) )?(\S+) connection (?:(\d+) )?(?:for|from) (\S+)(?: \(([^)\s]+)\))?(?: \([^)]*\))* to (\S+)(?: \(([^)\s]+)\))?(?: \([^)]*\))*(?: duration (\d+):(\d\d):(\d\d))?(?: bytes (\d+))?/.exec(
      text,
    );
  if (!match) return undefined;
  const [, verb, dir, proto, uid, first, firstMapped, second, secondMapped, h, m, s, bytes] = match;
  const ports = !/^icmp/i.test(proto!);
  const a = endpoint(first!, "first endpoint", ports);
  const b = endpoint(second!, "second endpoint", ports);
  // Cisco lists the foreign (outside) side first: for an outbound connection it is the destination.
  // A teardown does not say which way the connection went: a well-known port facing an ephemeral
  // one marks the first side as the server (the usual outbound case).
  const serverFirst =
    dir === undefined && a.port !== undefined && b.port !== undefined && a.port < 1024 && b.port >= 1024;
  const outbound = dir === "outbound" || serverFirst;
  const nat: NonNullable<FirewallEventV1["nat"]> = {};
  const aMapped = firstMapped ? endpoint(firstMapped, "first mapped endpoint", ports) : undefined;
  const bMapped = secondMapped ? endpoint(secondMapped, "second mapped endpoint", ports) : undefined;
  const differs = (real: FirewallEndpoint, mapped?: FirewallEndpoint) =>
    mapped !== undefined && (mapped.ip !== real.ip || mapped.port !== real.port);
  if (differs(a, aMapped)) nat[outbound ? "dst_endpoint" : "src_endpoint"] = aMapped!;
  if (differs(b, bMapped)) nat[outbound ? "src_endpoint" : "dst_endpoint"] = bMapped!;
  return {
    src: outbound ? b : a,
    dst: outbound ? a : b,
    protocol: proto,
    action: "Allowed",
    disposition: verb,
    activity: verb === "Built" ? 1 : 2,
    boundary: boundaryOf(dir),
    connectionUid: uid,
    durationMs: duration(h, m, s),
    bytes: countOf(bytes, "bytes"),
    ...(Object.keys(nat).length > 0 ? { nat } : {}),
  };
};

const HANDLERS: Record<string, Handler> = {
  "106001": (text) => {
    const m =
      /^Inbound (\S+) connection denied from (\S+) to (\S+)(?: flags ?(.*?))?(?: on interface (\S+?))?\.?$/.exec(
        text,
      );
    if (!m) return undefined;
    const src = endpoint(m[2]!, "source");
    const dst = endpoint(m[3]!, "destination");
    if (m[5]) src.interface_name ??= m[5];
    return {
      src,
      dst,
      protocol: m[1],
      action: "Denied",
      disposition: "denied",
      activity: 5,
      boundary: "inbound",
      tcpFlags: m[4] || undefined,
    };
  },
  "106006": (text) => {
    const m =
      /^Deny (inbound|outbound) (\S+) from (\S+) to (\S+?)(?: on interface (\S+?)| due to (.+?))?\.?$/.exec(
        text,
      );
    if (!m) return undefined;
    const src = endpoint(m[3]!, "source");
    if (m[5]) src.interface_name ??= m[5];
    return {
      src,
      dst: endpoint(m[4]!, "destination"),
      protocol: m[2],
      action: "Denied",
      disposition: "deny",
      activity: 5,
      boundary: boundaryOf(m[1]),
    };
  },
  "106014": (text) => {
    const m = /^Deny (inbound|outbound) (\S+) src (\S+) dst (\S+?)(?: \(type (\d+), code (\d+)\))?$/.exec(
      text.trim(),
    );
    if (!m) return undefined;
    return {
      src: endpoint(m[3]!, "src", false),
      dst: endpoint(m[4]!, "dst", false),
      protocol: m[2],
      action: "Denied",
      disposition: "deny",
      activity: 5,
      boundary: boundaryOf(m[1]),
    };
  },
  "106015": (text) => {
    const m =
      /^Deny (\S+) \(no connection\) from (\S+) to (\S+)(?: flags ?(.*?))?(?: on interface (\S+?))?\.?$/.exec(
        text.trim(),
      );
    if (!m) return undefined;
    const src = endpoint(m[2]!, "source");
    if (m[5]) src.interface_name ??= m[5];
    return {
      src,
      dst: endpoint(m[3]!, "destination"),
      protocol: m[1],
      action: "Denied",
      disposition: "deny",
      activity: 5,
      tcpFlags: m[4] || undefined,
    };
  },
  "106023": (text) => {
    const m =
      /^Deny (\S+) src (\S+) dst (\S+?)(?: \(type (\d+), code (\d+)\))? by access-group "([^"]*)"/.exec(text);
    if (!m) return undefined;
    const ports = !/^icmp/i.test(m[1]!);
    return {
      src: endpoint(m[2]!, "src", ports),
      dst: endpoint(m[3]!, "dst", ports),
      protocol: m[1],
      action: "Denied",
      disposition: "deny",
      activity: 5,
      rule: m[6] || undefined,
    };
  },
  "106100": (text) => {
    const m =
      /^access-list (\S+) (permitted|denied|est-allowed) (\S+) ([^/\s]+)\/(\S+?)\((\d+)\)(?: \([^)]*\))* -> ([^/\s]+)\/(\S+?)\((\d+)\)(?: \([^)]*\))* hit-cnt (\d+)/.exec(
        text,
      );
    if (!m) return undefined;
    const src: FirewallEndpoint = { interface_name: m[4]! };
    const dst: FirewallEndpoint = { interface_name: m[7]! };
    addressInto(src, m[5]!, "source address");
    addressInto(dst, m[8]!, "destination address");
    serviceInto(src, m[6]!, "source port");
    serviceInto(dst, m[9]!, "destination port");
    const denied = m[2] === "denied";
    return {
      src,
      dst,
      protocol: m[3],
      action: denied ? "Denied" : "Allowed",
      disposition: m[2],
      activity: denied ? 5 : 6,
      rule: m[1],
    };
  },
  "305011": (text) => {
    const m =
      /^(Built|Teardown) (dynamic|static) (\S+) translation from (\S+) to (\S+?)(?: duration (\d+):(\d\d):(\d\d))?\.?$/.exec(
        text.trim(),
      );
    if (!m) return undefined;
    const ports = !/^icmp/i.test(m[3]!);
    return {
      src: endpoint(m[4]!, "real address", ports),
      dst: {},
      protocol: m[3],
      action: "Allowed",
      disposition: m[1],
      activity: m[1] === "Built" ? 1 : 2,
      nat: { src_endpoint: endpoint(m[5]!, "mapped address", ports) },
      durationMs: duration(m[6], m[7], m[8]),
    };
  },
  "313001": (text) => {
    const m = /^Denied (ICMP|ICMPv6) type=(\d+), code=(\d+) from (\S+) on interface (\S+)/.exec(text);
    if (!m) return undefined;
    const src = endpoint(m[4]!, "source", false);
    src.interface_name ??= m[5]!;
    return {
      src,
      dst: {},
      protocol: m[1],
      action: "Denied",
      disposition: "denied",
      activity: 5,
      boundary: "inbound",
    };
  },
  "710003": (text) => {
    const m =
      /^(\S+) (?:access|request) (permitted|denied by ACL|discarded|requested) from (\S+) to (\S+)/.exec(
        text,
      );
    if (!m) return undefined;
    const allowed = m[2] === "permitted" || m[2] === "requested";
    return {
      src: endpoint(m[3]!, "source"),
      dst: endpoint(m[4]!, "destination"),
      protocol: m[1],
      action: allowed ? "Allowed" : "Denied",
      disposition: m[2]!.split(" ")[0],
      activity: allowed ? 6 : 5,
    };
  },
  "733100": (text) => {
    const m =
      /^\[?\s*(.*?)\s*\]?\s*drop rate[- ](\d+) exceeded\. Current burst rate is (\d+) per second, max configured rate is (\d+); Current average rate is (\d+) per second, max configured rate is (\d+); Cumulative total count is (\d+)/.exec(
        text,
      );
    if (!m) return undefined;
    return {
      src: {},
      dst: {},
      action: "Denied",
      disposition: "drop",
      activity: 99,
      threat: { name: `${m[1] || "threat"} drop rate exceeded`.slice(0, 512), category: "threat-detection" },
      bytes: undefined,
    };
  },
};
for (const id of ["302013", "302014", "302015", "302016", "302017", "302018", "302020", "302021"])
  HANDLERS[id] = connection;
HANDLERS["106007"] = HANDLERS["106006"]!;
HANDLERS["305012"] = HANDLERS["305011"]!;
HANDLERS["710002"] = HANDLERS["710003"]!;
HANDLERS["710005"] = HANDLERS["710003"]!;

/** Other messages: a `from X to Y` / `src X dst Y` pair, when there is one, makes a record. */
function generic(text: string): Parsed | undefined {
  const m = /\b(?:from|src) (?:(inbound|outbound) )?(\S+?)(?: \([^)]*\))?,? (?:to|dst) (\S+)/.exec(text);
  if (!m) return undefined;
  let src: FirewallEndpoint;
  let dst: FirewallEndpoint;
  try {
    src = endpoint(m[2]!, "source");
    dst = endpoint(m[3]!, "destination");
  } catch {
    return undefined;
  }
  const denied = DENY_WORDS.test(text);
  const allowed = !denied && ALLOW_WORDS.test(text);
  const protocol = /\b(TCP|UDP|ICMP|ICMPv6|GRE|ESP|tcp|udp|icmp|gre|esp)\b/.exec(text)?.[1];
  return {
    src,
    dst,
    protocol,
    action: denied ? "Denied" : allowed ? "Allowed" : undefined,
    activity: denied ? 5 : 99,
    boundary: boundaryOf(m[1]),
  };
}

export function parseAsa(context: MessageContext): DraftResult {
  const head = ASA_MESSAGE.exec(context.body);
  if (!head || head.index > 128)
    return invalid("unrecognized", "not a Cisco ASA/FTD message: no %ASA-<level>-<id> tag");
  const [, family, levelText, messageId] = head;
  const text = context.body.slice(head.index + head[0].length);
  const level = Number(levelText);
  let parsed: Parsed | undefined;
  const handler = HANDLERS[messageId!];
  try {
    parsed = handler ? handler(text) : generic(text);
  } catch (error) {
    if (error instanceof FieldError) return invalid("field", `ASA ${messageId}: ${error.message}`);
    throw error;
  }
  if (parsed === undefined) {
    if (handler)
      return invalid("malformed", `ASA ${messageId}: the message text does not have the documented layout`);
    return { status: "ignored", eventType: `${family!.toLowerCase()}-${messageId}` };
  }
  const proto = protocolOf(parsed.protocol);
  const draft: Draft = defined({
    activity_id: parsed.activity,
    metadata: {
      product: { name: PRODUCTS[family as keyof typeof PRODUCTS], vendor_name: "Cisco" },
      message_uid: messageId!,
    },
    src_endpoint: parsed.src,
    dst_endpoint: parsed.dst,
    connection_info: defined({
      ...proto,
      boundary: parsed.boundary,
      tcp_flags: parsed.tcpFlags?.slice(0, 64),
      uid: parsed.connectionUid,
    }),
    action: parsed.action,
    disposition: parsed.disposition,
    firewall_rule: parsed.rule
      ? { uid: parsed.rule.slice(0, 256), name: parsed.rule.slice(0, 256) }
      : undefined,
    severity_id: SEVERITY_BY_LEVEL[level] ?? 0,
    traffic: parsed.bytes !== undefined ? { bytes: parsed.bytes } : undefined,
    nat: parsed.nat,
    threat: parsed.threat,
    duration_ms: parsed.durationMs,
    message: text.slice(0, 4096) || undefined,
    time: context.time,
  });
  return { status: "record", draft };
}
