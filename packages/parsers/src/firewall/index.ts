import { FirewallEventV1, type FirewallFormat } from "@vigil/schema";
import { ASA_MESSAGE, parseAsa } from "./asa.ts";
import { CEF_START, parseCef } from "./cef.ts";
import {
  classify,
  type DraftResult,
  eventId,
  type FirewallParseOptions,
  type FirewallParseResult,
  invalid,
  ipOrUndefined,
  type MessageContext,
} from "./common.ts";
import { IPTABLES_FIELDS, parseIptables } from "./iptables.ts";
import { PANOS_HEAD, parsePanos } from "./panos.ts";
import { FILTERLOG_HEAD, parseFilterlog } from "./pfsense.ts";
import { parseSyslogHeader } from "./syslog-header.ts";

export type { FirewallInvalidKind, FirewallParseOptions, FirewallParseResult } from "./common.ts";
export { splitCsv } from "./panos.ts";
export { parseSyslogHeader, type SyslogHeader } from "./syslog-header.ts";

export const FIREWALL_FORMATS = [
  "iptables",
  "pfsense",
  "asa",
  "panos",
  "cef",
] as const satisfies readonly FirewallFormat[];
export const DEFAULT_FIREWALL_MAX_BYTES = 64 * 1024;

const PARSERS: Record<FirewallFormat, (context: MessageContext) => DraftResult> = {
  iptables: parseIptables,
  pfsense: parseFilterlog,
  asa: parseAsa,
  panos: parsePanos,
  cef: parseCef,
};

const PRODUCT_OF_FORMAT: Record<FirewallFormat, string> = {
  iptables: "iptables",
  pfsense: "pfSense filterlog",
  asa: "Cisco ASA/FTD",
  panos: "PAN-OS",
  cef: "CEF",
};

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Which format a message body (syslog header removed) is in, or undefined. */
export function detectFirewallFormat(body: string, appName?: string): FirewallFormat | undefined {
  const asa = ASA_MESSAGE.exec(body);
  if (asa && asa.index < 128) return "asa";
  const cef = CEF_START.exec(body);
  if (cef && cef.index < 256) return "cef";
  if (appName === "filterlog" || FILTERLOG_HEAD.test(body)) return "pfsense";
  if (PANOS_HEAD.test(body)) return "panos";
  if (IPTABLES_FIELDS.test(body)) return "iptables";
  return undefined;
}

/**
 * Parses one firewall log line (with or without a syslog header) into a `FirewallEventV1`.
 * Never throws: every input ends as a record, an ignored message of a known format, or an
 * invalid result whose reason names the field.
 */
export function parseFirewallLine(
  input: Uint8Array | string,
  options: FirewallParseOptions = {},
): FirewallParseResult {
  try {
    return parseUnsafe(input, options);
  } catch (error) {
    // A parser bug must not stop ingestion: the line is refused with what went wrong.
    return invalid("malformed", `parser error: ${(error as Error).message}`);
  }
}

function parseUnsafe(input: Uint8Array | string, options: FirewallParseOptions): FirewallParseResult {
  const maxBytes = options.maxBytes ?? DEFAULT_FIREWALL_MAX_BYTES;
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes)
    return invalid("oversized", `line of ${size} bytes exceeds the firewall line limit of ${maxBytes} bytes`);
  let raw: string;
  if (typeof input === "string") raw = input;
  else {
    try {
      raw = decoder.decode(input);
    } catch {
      return invalid("encoding", "line is not valid UTF-8");
    }
  }
  raw = raw.replace(/[\r\n]+$/, "");
  if (raw.includes("\0")) return invalid("encoding", "line contains NUL bytes (binary data, not a log line)");
  const now = options.now ?? Date.now();
  const header = parseSyslogHeader(raw, options.yearReference ?? now);
  const body = header.body.trim();
  if (body === "") return invalid("malformed", "syslog message has a header but no body");
  const requested = options.format ?? "auto";
  const format = requested === "auto" ? detectFirewallFormat(body, header.appName) : requested;
  if (format === undefined)
    return invalid(
      "unrecognized",
      "not a supported firewall format (iptables, pfSense filterlog, Cisco ASA/FTD, PAN-OS, CEF)",
    );
  const context: MessageContext = {
    raw,
    body,
    time: header.time,
    hostname: header.hostname,
    appName: header.appName,
    now,
    options,
  };
  const result = PARSERS[format](context);
  if (result.status === "ignored") return { ...result, format };
  if (result.status === "invalid") return result;
  const { draft } = result;
  const { time: draftTime, device: draftDevice, ...rest } = draft;
  const hostname = header.hostname ?? draftDevice?.hostname;
  const deviceIp = draftDevice?.ip ?? ipOrUndefined(options.peer);
  const device = {
    ...(hostname !== undefined ? { hostname } : {}),
    ...(deviceIp !== undefined ? { ip: deviceIp } : {}),
  };
  const { asset_ip, direction } = classify(draft.src_endpoint, draft.dst_endpoint, options.homeNets);
  const time = draftTime ?? header.time;
  const candidate = {
    schema: "vigil.firewall.event/v1" as const,
    id: eventId(format, device.ip ?? device.hostname ?? "", raw),
    class_uid: 4001 as const,
    category_uid: 4 as const,
    time: time ?? now,
    observed_time: now,
    ...(time === undefined ? { time_inferred: true } : {}),
    format,
    ...rest,
    device,
    ...(asset_ip !== undefined ? { asset_ip } : {}),
    ...(direction !== undefined ? { direction } : {}),
    raw_data: raw,
  };
  const checked = FirewallEventV1.safeParse(candidate);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    return invalid(
      "field",
      `${PRODUCT_OF_FORMAT[format]}: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "the normalized event is not valid"}`,
    );
  }
  return { status: "record", value: checked.data };
}

/** The Kafka key: the inside address, else the reporting device. */
export function firewallEventKey(event: Pick<FirewallEventV1, "asset_ip" | "device">): string | null {
  return event.asset_ip ?? event.device.hostname ?? event.device.ip ?? null;
}
