import {
  contextClassUids,
  type IdsAlertV1,
  type IdsContextType,
  type IdsContextV1,
  IpAddress,
  Timestamp,
} from "@vigil/schema";
import { z } from "zod";
import {
  decodeLine,
  dedupe,
  describeIssue,
  endpoint,
  endpointKey,
  epochMillis,
  evidence,
  extractCves,
  FORBIDDEN_KEYS,
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
 * Suricata EVE JSON (one record per line) to `IdsAlertV1` (alert, anomaly) and `IdsContextV1`
 * (flow, http, dns, tls, ssh, fileinfo); other event types (stats, smb, ...) are counted and skipped.
 * Field reference: https://docs.suricata.io/en/latest/output/eve/eve-json-format.html
 */

export type { InvalidKind } from "./ids-common.ts";

export type ParseResult =
  | { status: "alert"; alert: IdsAlertV1 }
  | { status: "context"; event: IdsContextV1 }
  /** A well-formed EVE record of a type Vigil does not keep (stats, smb, dcerpc, ...). */
  | { status: "ignored"; eventType: string }
  | Invalid;

export interface SuricataParseOptions {
  /** The protected networks: decide `asset_ip` and the direction. Default `DEFAULT_HOME_NETS`. */
  homeNets?: HomeNets;
  /** Sensor name for records without a `host` field (EVE's `sensor-name`). */
  sensor?: string;
  /** Clock for `metadata.processed_time`. */
  now?: () => Date;
  /** Keep context events (default true); false reports them as ignored. */
  context?: boolean;
}

export { extractCves, LIMITS, mapSeverity };

const SURICATA_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})$/;

/** Suricata writes `+0100`; RFC 3339 wants `+01:00`. Impossible dates (Feb 30) are refused. */
export function normaliseSuricataTime(value: string): string | undefined {
  const match = SURICATA_TIME.exec(value);
  if (!match) return undefined;
  const offset = match[2]!;
  const normalised = `${match[1]}${offset === "Z" || offset.includes(":") ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`}`;
  return Timestamp.safeParse(normalised).success ? normalised : undefined;
}

const eveTime = z.string().transform((value, ctx) => {
  const normalised = normaliseSuricataTime(value);
  if (normalised === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `expected a time like 2024-01-17T10:52:17.542011+0100, got ${quote(value)}`,
    });
    return z.NEVER;
  }
  return normalised;
});

const metadataSchema = z
  .record(
    label(LIMITS.shortText),
    z
      .array(label(LIMITS.metadataValue))
      .max(LIMITS.metadataValues, { error: `at most ${LIMITS.metadataValues} values` }),
  )
  .refine((record) => Object.keys(record).length <= LIMITS.metadataKeys, {
    error: `at most ${LIMITS.metadataKeys} keys`,
  });

const flowIdSchema = z
  .union([uint64Number(), z.string().regex(/^\d{1,20}$/, { error: "expected decimal digits" })])
  .optional();
const protoSchema = z.union([label(LIMITS.shortText), z.number().int().min(0).max(255)]);

/** The fields of an EVE `alert` record that Vigil reads; the rest is dropped. */
export const EveAlertRecord = z.object({
  timestamp: eveTime,
  flow_id: flowIdSchema,
  in_iface: label(LIMITS.shortText).optional(),
  event_type: z.literal("alert"),
  src_ip: IpAddress,
  src_port: port.optional(),
  dest_ip: IpAddress,
  dest_port: port.optional(),
  proto: protoSchema,
  app_proto: label(LIMITS.shortText).optional(),
  community_id: label(LIMITS.shortText).optional(),
  host: label(LIMITS.shortText).optional(),
  alert: z.object({
    action: z.enum(["allowed", "blocked"]).optional(),
    gid: uint32.optional(),
    signature_id: uint32,
    rev: uint32.optional(),
    signature: label(LIMITS.signature),
    category: label(LIMITS.shortText).optional(),
    severity: z.number().int().min(1).max(255).optional(),
    metadata: metadataSchema.optional(),
    /** Suricata 8 writes the rule's `reference` keywords as URLs. */
    references: z.array(label(LIMITS.reference)).max(LIMITS.references).optional(),
  }),
  payload_printable: evidence(LIMITS.payloadPrintable).optional(),
  http: z
    .object({
      hostname: label(LIMITS.httpHostname).optional(),
      url: evidence(LIMITS.httpUrl).optional(),
      http_method: label(LIMITS.httpMethod).optional(),
      http_user_agent: evidence(LIMITS.httpUrl).optional(),
    })
    .optional(),
});
export type EveAlertRecord = z.output<typeof EveAlertRecord>;

/** EVE `anomaly`: decoder, stream and app-layer protocol violations; addresses only when a flow is known. */
export const EveAnomalyRecord = z.object({
  timestamp: eveTime,
  flow_id: flowIdSchema,
  in_iface: label(LIMITS.shortText).optional(),
  event_type: z.literal("anomaly"),
  src_ip: IpAddress.optional(),
  src_port: port.optional(),
  dest_ip: IpAddress.optional(),
  dest_port: port.optional(),
  proto: protoSchema.optional(),
  app_proto: label(LIMITS.shortText).optional(),
  community_id: label(LIMITS.shortText).optional(),
  host: label(LIMITS.shortText).optional(),
  anomaly: z.object({
    type: label(LIMITS.shortText).min(1),
    event: label(LIMITS.signature).min(1),
    layer: label(LIMITS.shortText).optional(),
    code: z.number().int().optional(),
    app_proto: label(LIMITS.shortText).optional(),
  }),
});
export type EveAnomalyRecord = z.output<typeof EveAnomalyRecord>;

const CONTEXT_TYPES = new Set<string>(["flow", "http", "dns", "tls", "ssh", "fileinfo"]);

/** The common part of the context event types; the type's own object is kept as `details`. */
const EveContextRecord = z.object({
  timestamp: eveTime,
  flow_id: flowIdSchema,
  in_iface: label(LIMITS.shortText).optional(),
  event_type: z.enum(["flow", "http", "dns", "tls", "ssh", "fileinfo"]),
  src_ip: IpAddress.optional(),
  src_port: port.optional(),
  dest_ip: IpAddress.optional(),
  dest_port: port.optional(),
  proto: protoSchema.optional(),
  app_proto: label(LIMITS.shortText).optional(),
  community_id: label(LIMITS.shortText).optional(),
  host: label(LIMITS.shortText).optional(),
});

/** zod's `.int()` stops at 2^53; flow ids go to 2^64 (see `exactFlowId`). */
function uint64Number() {
  return z
    .number()
    .min(0)
    .max(2 ** 64) // the double nearest 2^64 - 1
    .refine(Number.isInteger, { error: "expected an integer" });
}

/** What every EVE record carries, whatever its type: checked before a record is called "ignored". */
const EveEnvelope = z.object({ timestamp: eveTime, event_type: label(LIMITS.shortText).min(1) });

/**
 * Parses one EVE line. Never throws: anything that is not a well-formed record comes back as
 * `invalid` with a reason naming the field and what was expected.
 */
export function parseSuricataEve(line: Buffer | string, options: SuricataParseOptions = {}): ParseResult {
  const decoded = decodeLine(line);
  if ("status" in decoded) return decoded;
  const { text } = decoded;
  const object = parseJsonObject(text, "EVE record", "an EVE record");
  if ("status" in object) return object;
  const { record } = object;

  if (record.event_type === "alert") {
    const parsed = EveAlertRecord.safeParse(record, { error: describeIssue });
    if (!parsed.success) return invalid("schema", formatIssues(parsed.error));
    return { status: "alert", alert: toIdsAlert(parsed.data, text, options) };
  }
  if (record.event_type === "anomaly") {
    const parsed = EveAnomalyRecord.safeParse(record, { error: describeIssue });
    if (!parsed.success) return invalid("schema", formatIssues(parsed.error));
    return { status: "alert", alert: anomalyToIdsAlert(parsed.data, text, options) };
  }
  if (
    (options.context ?? true) &&
    typeof record.event_type === "string" &&
    CONTEXT_TYPES.has(record.event_type)
  ) {
    const parsed = EveContextRecord.safeParse(record, { error: describeIssue });
    if (!parsed.success) return invalid("schema", formatIssues(parsed.error));
    return { status: "context", event: toContextEvent(parsed.data, record, text, options) };
  }
  const envelope = EveEnvelope.safeParse(record, { error: describeIssue });
  if (!envelope.success) return invalid("schema", formatIssues(envelope.error));
  return { status: "ignored", eventType: envelope.data.event_type };
}

interface EveCommon {
  timestamp: string;
  flow_id?: number | string | undefined;
  in_iface?: string | undefined;
  src_ip?: string | undefined;
  src_port?: number | undefined;
  dest_ip?: string | undefined;
  dest_port?: number | undefined;
  proto?: string | number | undefined;
  app_proto?: string | undefined;
  community_id?: string | undefined;
  host?: string | undefined;
}

/** What alerts, anomalies and context events share: time, endpoints, connection, device, key. */
function commonFields(eve: EveCommon, text: string, options: SuricataParseOptions, originalTime: string) {
  const sides = flowSides(eve.src_ip, eve.dest_ip, networkSetOf(options.homeNets));
  const sensor = eve.host ?? options.sensor;
  const flowId = eve.flow_id === undefined ? undefined : exactFlowId(eve.flow_id, text);
  const src = endpoint(eve.src_ip, eve.src_port);
  const dst = endpoint(eve.dest_ip, eve.dest_port);
  return {
    sensor,
    flowId,
    fields: {
      time: epochMillis(eve.timestamp),
      time_dt: eve.timestamp,
      metadata: {
        version: "1.3.0" as const,
        product: { name: "Suricata" as const, vendor_name: "OISF" },
        log_name: "eve",
        original_time: originalTime,
        processed_time: (options.now?.() ?? new Date()).getTime(),
      },
      ...(src ? { src_endpoint: src } : {}),
      ...(dst ? { dst_endpoint: dst } : {}),
      connection_info: {
        ...protocolNameField(eve.proto),
        direction: sides.direction,
        direction_id: sides.direction_id,
        ...(flowId !== undefined ? { uid: flowId } : {}),
        ...(eve.community_id !== undefined ? { community_uid: eve.community_id } : {}),
      },
      device: {
        ...(sensor !== undefined ? { hostname: sensor } : {}),
        ...(eve.in_iface !== undefined ? { interface_name: eve.in_iface } : {}),
      },
      ...(sides.assetIp !== undefined ? { asset_ip: sides.assetIp } : {}),
      ...(eve.app_proto !== undefined ? { app_protocol: eve.app_proto } : {}),
      raw_data: text,
    },
  };
}

function originalTimeOf(text: string, fallback: string): string {
  return /"timestamp"\s*:\s*"([^"\\]{1,64})"/.exec(text)?.[1] ?? fallback;
}

function toIdsAlert(eve: EveAlertRecord, text: string, options: SuricataParseOptions): IdsAlertV1 {
  const { sensor, flowId, fields } = commonFields(eve, text, options, originalTimeOf(text, eve.timestamp));
  const metadata = eve.alert.metadata ?? {};
  const references = dedupe([...(metadata.reference ?? []), ...(eve.alert.references ?? [])]);
  const cves = extractCves([eve.alert.signature, ...(metadata.cve ?? []), ...references]);
  // The same parts as before the OCSF shape: ids (and so finding and incident ids) stay stable.
  const id = recordId("ids", [
    "suricata",
    sensor ?? "",
    flowId ?? "",
    eve.timestamp,
    String(eve.alert.gid ?? 1),
    String(eve.alert.signature_id),
    endpointKey(eve.src_ip, eve.src_port),
    endpointKey(eve.dest_ip, eve.dest_port),
  ]);
  const alert: IdsAlertV1 = {
    schema: "vigil.ids.alert/v1",
    id,
    class_uid: 2004,
    category_uid: 2,
    activity_id: 1,
    type_uid: 200401,
    ...severityFields(mapSeverity(eve.alert.severity, metadata.signature_severity)),
    ...fields,
    finding_info: {
      uid: id,
      title: eve.alert.signature,
      analytic: {
        uid: String(eve.alert.signature_id),
        name: eve.alert.signature,
        type: "Rule",
        type_id: 1,
        ...(eve.alert.category !== undefined ? { category: eve.alert.category } : {}),
        ...(eve.alert.rev !== undefined ? { version: String(eve.alert.rev) } : {}),
      },
      ...(eve.alert.category !== undefined ? { types: [eve.alert.category] } : {}),
    },
    cves,
    rule_metadata: metadata,
    references,
  };
  if (eve.alert.action !== undefined) {
    alert.action = eve.alert.action === "blocked" ? "Denied" : "Allowed";
    alert.action_id = eve.alert.action === "blocked" ? 2 : 1;
  }
  if (eve.payload_printable !== undefined) alert.payload_printable = eve.payload_printable;
  const http = eve.http;
  if (
    http !== undefined &&
    (http.hostname ?? http.url ?? http.http_method ?? http.http_user_agent) !== undefined
  ) {
    alert.http_request = {
      ...(http.http_method !== undefined ? { http_method: http.http_method } : {}),
      ...(http.hostname !== undefined || http.url !== undefined
        ? {
            url: {
              ...(http.hostname !== undefined ? { hostname: http.hostname } : {}),
              ...(http.url !== undefined ? { url_string: http.url } : {}),
            },
          }
        : {}),
      ...(http.http_user_agent !== undefined ? { user_agent: http.http_user_agent } : {}),
    };
  }
  const unmapped = {
    ...(eve.alert.gid !== undefined ? { gid: eve.alert.gid } : {}),
    ...(eve.alert.severity !== undefined ? { priority: eve.alert.severity } : {}),
  };
  if (Object.keys(unmapped).length > 0) alert.unmapped = unmapped;
  return alert;
}

/**
 * Anomalies have no rule: the analytic is `anomaly:<type>:<event>`, severity informational
 * (protocol violations are evidence next to alerts, not attacks on their own; a rule may
 * still count them), so the ids.alert rule does not turn each into an incident.
 */
function anomalyToIdsAlert(eve: EveAnomalyRecord, text: string, options: SuricataParseOptions): IdsAlertV1 {
  const { sensor, flowId, fields } = commonFields(eve, text, options, originalTimeOf(text, eve.timestamp));
  const analyticUid = `anomaly:${eve.anomaly.type}:${eve.anomaly.event}`;
  const id = recordId("ids", [
    "suricata",
    sensor ?? "",
    flowId ?? "",
    eve.timestamp,
    analyticUid,
    endpointKey(eve.src_ip, eve.src_port),
    endpointKey(eve.dest_ip, eve.dest_port),
  ]);
  const title = `Suricata ${eve.anomaly.type} anomaly ${eve.anomaly.event}${eve.anomaly.app_proto ? ` (${eve.anomaly.app_proto})` : ""}`;
  return {
    schema: "vigil.ids.alert/v1",
    id,
    class_uid: 2004,
    category_uid: 2,
    activity_id: 1,
    type_uid: 200401,
    ...severityFields("informational"),
    ...fields,
    finding_info: {
      uid: id,
      title,
      analytic: { uid: analyticUid, name: title, type: "Behavioral", type_id: 2, category: "anomaly" },
      types: ["anomaly"],
    },
    cves: [],
    rule_metadata: {},
    references: [],
    unmapped: { anomaly_type: eve.anomaly.type },
  };
}

/** The type's own object (EVE's `http`, `dns`, `flow`, ...) with prototype keys already refused. */
function detailsOf(record: Record<string, unknown>, type: IdsContextType): Record<string, unknown> {
  const own = record[type];
  const details: Record<string, unknown> =
    typeof own === "object" && own !== null && !Array.isArray(own)
      ? { ...(own as Record<string, unknown>) }
      : {};
  // fileinfo and http records carry the protocol object next to their own.
  for (const extra of ["http", "tls", "smtp", "email", "ssh"]) {
    if (
      extra !== type &&
      !FORBIDDEN_KEYS.has(extra) &&
      typeof record[extra] === "object" &&
      record[extra] !== null
    )
      details[extra] = record[extra];
  }
  return details;
}

function toContextEvent(
  eve: z.output<typeof EveContextRecord>,
  record: Record<string, unknown>,
  text: string,
  options: SuricataParseOptions,
): IdsContextV1 {
  const { sensor, flowId, fields } = commonFields(eve, text, options, originalTimeOf(text, eve.timestamp));
  return {
    schema: "vigil.ids.context/v1",
    // The line itself is part of the id: two events of one flow at one instant stay distinct.
    id: recordId("idsctx", ["suricata", sensor ?? "", eve.event_type, flowId ?? "", eve.timestamp, text]),
    event_type: eve.event_type,
    class_uid: contextClassUids[eve.event_type],
    ...fields,
    details: detailsOf(record, eve.event_type),
  };
}

/**
 * flow_id is a 64-bit integer: JSON.parse rounds values above 2^53, which would merge distinct
 * flows. The digits are taken from the line itself when they denote the same (rounded) number.
 */
function exactFlowId(value: number | string, text: string): string {
  if (typeof value === "string" || Number.isSafeInteger(value)) return String(value);
  const digits = /"flow_id"\s*:\s*(\d+)/.exec(text)?.[1];
  return digits !== undefined && Number(digits) === value ? digits : BigInt(value).toString();
}
