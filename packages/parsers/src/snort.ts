import { type IdsAlertV1, IpAddress } from "@vigil/schema";
import { z } from "zod";
import {
  decodeLine,
  describeIssue,
  endpoint,
  endpointKey,
  evidence,
  extractCves,
  flowSides,
  formatIssues,
  type HomeNets,
  type Invalid,
  invalid,
  LIMITS,
  label,
  mapSeverity,
  networkSetOf,
  parseJsonObject,
  port,
  protocolNameField,
  quote,
  recordId,
  severityFields,
  uint32,
} from "./ids-common.ts";

/**
 * Snort 3 `alert_json` (one JSON object per line) to `IdsAlertV1`. Which fields a line has
 * depends on the `fields` setting; Vigil needs a signature (`sid`, or `rule` as `gid:sid:rev`),
 * a message (`msg`) and a time (`seconds`, or `timestamp`); the rest is taken when present.
 * Field reference: https://docs.snort.org/start/alert_logging (alert_json).
 */

export type SnortParseResult = { status: "alert"; alert: IdsAlertV1 } | Invalid;

export interface SnortParseOptions {
  homeNets?: HomeNets;
  /** alert_json names no sensor: this one is used. */
  sensor?: string;
  now?: () => Date;
}

const SNORT_TIMESTAMP = /^(?:(\d{2})\/)?(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const RULE = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/;

/** The fields of an alert_json line Vigil reads; the rest is dropped. */
export const SnortAlertRecord = z.object({
  seconds: z.number().int().min(0).max(253_402_300_799).optional(),
  timestamp: label(LIMITS.shortText).optional(),
  action: label(LIMITS.shortText).optional(),
  class: label(LIMITS.shortText).optional(),
  dir: label(LIMITS.shortText).optional(),
  gid: uint32.optional(),
  sid: uint32.optional(),
  rev: uint32.optional(),
  rule: z.string().regex(RULE, { error: "expected gid:sid:rev" }).optional(),
  msg: label(LIMITS.signature),
  priority: z.number().int().min(0).max(255).optional(),
  proto: label(LIMITS.shortText).optional(),
  service: label(LIMITS.shortText).optional(),
  src_addr: IpAddress.optional(),
  src_port: port.optional(),
  dst_addr: IpAddress.optional(),
  dst_port: port.optional(),
  iface: label(LIMITS.shortText).optional(),
  pkt_num: z.number().int().min(0).optional(),
  b64_data: evidence(LIMITS.payloadPrintable).optional(),
  references: z.array(label(LIMITS.reference)).max(LIMITS.references).optional(),
});
export type SnortAlertRecord = z.output<typeof SnortAlertRecord>;

/**
 * Snort's `timestamp` is `MM/DD-hh:mm:ss.uuuuuu` (with `-y`: `YY/MM/DD-...`), in UTC when run with
 * `-U` (recommended for a SIEM; assumed here). Without a year, the year of `now` is used, or the
 * previous one when that would put the alert more than a day in the future (a new-year rollover).
 */
export function snortTimeToIso(value: string, now: Date): string | undefined {
  const match = SNORT_TIMESTAMP.exec(value);
  if (!match) return undefined;
  const [, yy, mm, dd, hh, mi, ss, fraction] = match;
  const micro = (fraction ?? "").padEnd(6, "0").slice(0, 6);
  const build = (year: number) => `${year}-${mm}-${dd}T${hh}:${mi}:${ss}.${micro}Z`;
  let text = build(yy !== undefined ? 2000 + Number(yy) : now.getUTCFullYear());
  if (yy === undefined && Date.parse(text) > now.getTime() + 86_400_000)
    text = build(now.getUTCFullYear() - 1);
  const date = new Date(text);
  // Feb 30 and friends roll over in Date: compare the calendar parts back.
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(5, 10) !== `${mm}-${dd}`) return undefined;
  return text;
}

function timeOf(record: SnortAlertRecord, now: Date): string | undefined {
  const fraction = record.timestamp ? /\.(\d{1,9})$/.exec(record.timestamp)?.[1] : undefined;
  if (record.seconds !== undefined) {
    const base = new Date(record.seconds * 1000).toISOString().slice(0, 19);
    return `${base}.${(fraction ?? "").padEnd(6, "0").slice(0, 6)}Z`;
  }
  return record.timestamp !== undefined ? snortTimeToIso(record.timestamp, now) : undefined;
}

const DENIED = new Set(["block", "drop", "reject", "reset", "blocked", "dropped"]);

/** Parses one alert_json line. Never throws. */
export function parseSnortAlertJson(
  line: Buffer | string,
  options: SnortParseOptions = {},
): SnortParseResult {
  const decoded = decodeLine(line);
  if ("status" in decoded) return decoded;
  const { text } = decoded;
  const object = parseJsonObject(text, "Snort alert", "a Snort alert");
  if ("status" in object) return object;
  const parsed = SnortAlertRecord.safeParse(object.record, { error: describeIssue });
  if (!parsed.success) return invalid("schema", formatIssues(parsed.error));
  const record = parsed.data;

  const rule = record.rule !== undefined ? RULE.exec(record.rule) : null;
  const gid = record.gid ?? (rule ? Number(rule[1]) : undefined);
  const sid = record.sid ?? (rule ? Number(rule[2]) : undefined);
  const rev = record.rev ?? (rule ? Number(rule[3]) : undefined);
  if (sid === undefined)
    return invalid("schema", "sid: expected a signature id (sid or rule), got nothing (missing)");
  const now = options.now?.() ?? new Date();
  const time = timeOf(record, now);
  if (time === undefined)
    return invalid(
      "schema",
      record.timestamp === undefined
        ? "seconds: expected a time (seconds or timestamp), got nothing (missing)"
        : `timestamp: expected a time like 09/15-12:26:40.123456, got ${quote(record.timestamp)}`,
    );

  const sides = flowSides(record.src_addr, record.dst_addr, networkSetOf(options.homeNets));
  const sensor = options.sensor;
  const src = endpoint(record.src_addr, record.src_port);
  const dst = endpoint(record.dst_addr, record.dst_port);
  const references = record.references ?? [];
  const id = recordId("ids", [
    "snort",
    sensor ?? "",
    time,
    String(gid ?? 1),
    String(sid),
    String(record.pkt_num ?? ""),
    endpointKey(record.src_addr, record.src_port),
    endpointKey(record.dst_addr, record.dst_port),
  ]);
  const alert: IdsAlertV1 = {
    schema: "vigil.ids.alert/v1",
    id,
    class_uid: 2004,
    category_uid: 2,
    activity_id: 1,
    type_uid: 200401,
    time: Date.parse(time),
    time_dt: time,
    ...severityFields(mapSeverity(record.priority)),
    metadata: {
      version: "1.3.0",
      product: { name: "Snort", vendor_name: "Cisco" },
      log_name: "alert_json",
      original_time: record.timestamp ?? String(record.seconds),
      processed_time: now.getTime(),
    },
    finding_info: {
      uid: id,
      title: record.msg,
      analytic: {
        uid: String(sid),
        name: record.msg,
        type: "Rule",
        type_id: 1,
        ...(record.class !== undefined ? { category: record.class } : {}),
        ...(rev !== undefined ? { version: String(rev) } : {}),
      },
      ...(record.class !== undefined ? { types: [record.class] } : {}),
    },
    ...(src ? { src_endpoint: src } : {}),
    ...(dst ? { dst_endpoint: dst } : {}),
    connection_info: {
      ...protocolNameField(record.proto),
      direction: sides.direction,
      direction_id: sides.direction_id,
    },
    device: {
      ...(sensor !== undefined ? { hostname: sensor } : {}),
      ...(record.iface !== undefined ? { interface_name: record.iface } : {}),
    },
    raw_data: text,
    ...(sides.assetIp !== undefined ? { asset_ip: sides.assetIp } : {}),
    ...(record.service !== undefined && record.service !== "unknown" ? { app_protocol: record.service } : {}),
    cves: extractCves([record.msg, ...references]),
    rule_metadata: {},
    references,
    unmapped: {
      ...(gid !== undefined ? { gid } : {}),
      ...(record.priority !== undefined ? { priority: record.priority } : {}),
    },
  };
  if (record.action !== undefined) {
    const denied = DENIED.has(record.action.toLowerCase());
    alert.action = denied ? "Denied" : "Allowed";
    alert.action_id = denied ? 2 : 1;
  }
  if (record.b64_data !== undefined) {
    const payload = Buffer.from(record.b64_data, "base64").toString("latin1");
    alert.payload_printable = payload.replace(/[^\x20-\x7e\r\n\t]/g, ".");
  }
  return { status: "alert", alert };
}
