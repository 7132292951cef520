import type { FirewallEndpoint } from "@vigil/schema";
import {
  countOf,
  type DraftResult,
  defined,
  FieldError,
  invalid,
  ipOrUndefined,
  type MessageContext,
  portOf,
  protocolOf,
  requireIp,
} from "./common.ts";

export const CEF_START = /CEF:\d+\|/;

const DENIED =
  /^(block|blocked|deny|denied|drop|dropped|reject|rejected|reset|prevent|prevented|quarantine|quarantined|terminated?)$/i;
const ALLOWED =
  /^(allow|allowed|accept|accepted|permit|permitted|pass|passed|alert|alerted|notified|detected|logged)$/i;
const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");

/** Splits the pipe-delimited header (`\|` and `\\` escaped); the 8th part is the extension. */
function splitHeader(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (parts.length === 7) {
      parts.push(text.slice(index));
      return parts;
    }
    if (char === "\\" && (text[index + 1] === "|" || text[index + 1] === "\\")) {
      current += text[index + 1];
      index += 1;
    } else if (char === "|") {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

const KEY_START = /(?:^|\s)([A-Za-z0-9_.[\]-]{1,64})=/g;

/** `key=value key2=value with spaces`: a value runs to the next ` key=`; `\=`, `\\`, `\n` unescaped. */
export function parseExtension(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  const starts: { key: string; keyAt: number; valueAt: number }[] = [];
  KEY_START.lastIndex = 0;
  for (let m = KEY_START.exec(text); m !== null; m = KEY_START.exec(text)) {
    // `\=` inside a value is not a key.
    if (text[m.index + m[0].length - 2] === "\\") continue;
    starts.push({ key: m[1]!, keyAt: m.index, valueAt: m.index + m[0].length });
  }
  for (let index = 0; index < starts.length; index += 1) {
    const { key, valueAt } = starts[index]!;
    const end = starts[index + 1]?.keyAt ?? text.length;
    const value = text
      .slice(valueAt, end)
      .trim()
      .replace(/\\([=\\nr])/g, (_, char: string) => (char === "n" ? "\n" : char === "r" ? "\r" : char));
    if (!fields.has(key)) fields.set(key, value);
  }
  return fields;
}

/** `rt`: epoch ms, or `MMM dd yyyy HH:mm:ss[.SSS] [zone]` (zone ignored unless UTC/GMT: taken as UTC). */
function cefTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d{10,13}$/.test(value)) return value.length === 13 ? Number(value) : Number(value) * 1000;
  const m = /^([A-Z][a-z]{2}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?/.exec(value);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!);
  if (month === -1) return undefined;
  const time = Date.UTC(
    Number(m[3]),
    month,
    Number(m[2]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    Number(m[7] ?? 0),
  );
  return Number.isFinite(time) ? time : undefined;
}

function severityOf(value: string | undefined): number {
  if (value === undefined) return 0;
  if (/^\d{1,2}$/.test(value)) {
    const level = Number(value);
    return level <= 3 ? 2 : level <= 6 ? 3 : level <= 8 ? 4 : level <= 10 ? 5 : 0;
  }
  const word = value.toLowerCase();
  return word === "low" ? 2 : word === "medium" ? 3 : word === "high" ? 4 : word === "very-high" ? 5 : 0;
}

/** ArcSight CEF (any version 0/1 header, extension keys from the CEF spec). */
export function parseCef(context: MessageContext): DraftResult {
  const start = CEF_START.exec(context.body);
  if (!start) return invalid("unrecognized", "not a CEF event: no CEF:<version>| header");
  const parts = splitHeader(context.body.slice(start.index + 4));
  if (parts.length < 7)
    return invalid("malformed", `CEF header has ${parts.length} of 7 pipe-separated fields`);
  const [, vendor, product, , signature, name, severity, extension = ""] = parts;
  const ext = parseExtension(extension);
  try {
    const src: FirewallEndpoint = {};
    const dst: FirewallEndpoint = {};
    const srcIp = ext.get("src") ?? ext.get("c6a2");
    const dstIp = ext.get("dst") ?? ext.get("c6a3");
    if (srcIp) src.ip = requireIp(srcIp, "src");
    if (dstIp) dst.ip = requireIp(dstIp, "dst");
    const spt = portOf(ext.get("spt"), "spt");
    const dpt = portOf(ext.get("dpt"), "dpt");
    if (spt !== undefined) src.port = spt;
    if (dpt !== undefined) dst.port = dpt;
    const shost = ext.get("shost");
    const dhost = ext.get("dhost");
    if (shost) src.hostname = shost.slice(0, 255);
    if (dhost) dst.hostname = dhost.slice(0, 255);
    if (ext.get("smac")) src.mac = ext.get("smac")!.slice(0, 64);
    if (ext.get("dmac")) dst.mac = ext.get("dmac")!.slice(0, 64);
    const inIf = ext.get("deviceInboundInterface");
    const outIf = ext.get("deviceOutboundInterface");
    if (inIf) src.interface_name = inIf.slice(0, 128);
    if (outIf) dst.interface_name = outIf.slice(0, 128);
    const natSrc: FirewallEndpoint = {};
    const natDst: FirewallEndpoint = {};
    const nsrc = ext.get("sourceTranslatedAddress");
    const ndst = ext.get("destinationTranslatedAddress");
    if (nsrc) natSrc.ip = requireIp(nsrc, "sourceTranslatedAddress");
    if (ndst) natDst.ip = requireIp(ndst, "destinationTranslatedAddress");
    const nspt = portOf(ext.get("sourceTranslatedPort"), "sourceTranslatedPort");
    const ndpt = portOf(ext.get("destinationTranslatedPort"), "destinationTranslatedPort");
    if (natSrc.ip && nspt !== undefined) natSrc.port = nspt;
    if (natDst.ip && ndpt !== undefined) natDst.port = ndpt;

    const act = ext.get("act");
    const action =
      act === undefined ? undefined : DENIED.test(act) ? "Denied" : ALLOWED.test(act) ? "Allowed" : undefined;
    // A rule is named in a custom string labelled so (cs1Label=Rule), or in `cs1` on firewalls that use it that way.
    let rule: string | undefined;
    for (let n = 1; n <= 6; n += 1) {
      const label = ext.get(`cs${n}Label`)?.toLowerCase();
      if (label && /rule|policy/.test(label) && ext.get(`cs${n}`)) {
        rule = ext.get(`cs${n}`);
        break;
      }
    }
    const direction = ext.get("deviceDirection");
    const dvc = ipOrUndefined(ext.get("dvc"));
    const dvchost = ext.get("dvchost") || ext.get("deviceHostName");
    const bytesIn = countOf(ext.get("in"), "in");
    const bytesOut = countOf(ext.get("out"), "out");
    const severityId = severityOf(severity);
    return {
      status: "record",
      draft: defined({
        activity_id: action === "Denied" ? 5 : 99,
        metadata: defined({
          product: {
            name: (product || "unknown").slice(0, 128),
            vendor_name: (vendor || "unknown").slice(0, 128),
          },
          message_uid: signature ? signature.slice(0, 128) : undefined,
        }),
        device: dvc || dvchost ? defined({ hostname: dvchost?.slice(0, 255), ip: dvc }) : undefined,
        src_endpoint: src,
        dst_endpoint: dst,
        connection_info: defined({
          ...protocolOf(ext.get("proto")),
          boundary: direction === "0" ? "inbound" : direction === "1" ? "outbound" : undefined,
        }),
        action,
        disposition: act ? act.slice(0, 64) : undefined,
        firewall_rule: rule ? { uid: rule.slice(0, 256), name: rule.slice(0, 256) } : undefined,
        severity_id: severityId,
        traffic:
          bytesIn !== undefined || bytesOut !== undefined
            ? defined({
                bytes_in: bytesIn,
                bytes_out: bytesOut,
                bytes: bytesIn !== undefined && bytesOut !== undefined ? bytesIn + bytesOut : undefined,
              })
            : undefined,
        nat:
          natSrc.ip || natDst.ip
            ? defined({
                src_endpoint: natSrc.ip ? natSrc : undefined,
                dst_endpoint: natDst.ip ? natDst : undefined,
              })
            : undefined,
        app_name: ext.get("app")?.slice(0, 128) || undefined,
        threat: defined({
          name: name ? name.slice(0, 512) : undefined,
          uid: signature ? signature.slice(0, 128) : undefined,
          category: ext.get("cat")?.slice(0, 128) || undefined,
          severity: severity ? severity.slice(0, 32) : undefined,
        }),
        message: name ? name.slice(0, 4096) : undefined,
        time: cefTime(ext.get("rt")) ?? context.time,
      }),
    };
  } catch (error) {
    if (error instanceof FieldError) return invalid("field", error.message);
    throw error;
  }
}
