import { type IdsAlertV1, IpAddress } from "@vigil/schema";
import { z } from "zod";
import {
  decodeLine,
  describeIssue,
  endpoint,
  endpointKey,
  extractCves,
  FORBIDDEN_KEYS,
  flowSides,
  formatIssues,
  type HomeNets,
  type Invalid,
  invalid,
  LIMITS,
  label,
  networkSetOf,
  parseJsonObject,
  port,
  protocolNameField,
  quote,
  recordId,
  severityFields,
} from "./ids-common.ts";

/**
 * Zeek `notice.log` to `IdsAlertV1`, in both of Zeek's writers: JSON (`LogAscii::use_json`, one
 * object per line, `ts` as epoch seconds or ISO 8601) and the default TSV, whose `#separator`,
 * `#set_separator`, `#empty_field`, `#unset_field`, `#fields` and `#types` header lines say how
 * to read the rows that follow. TSV needs that header, so `ZeekNoticeParser` is a small object
 * holding it per source; every line (header lines included) goes through `parse`.
 * Field reference: https://docs.zeek.org/en/master/scripts/base/frameworks/notice/main.zeek.html
 */

export type ZeekParseResult =
  | { status: "alert"; alert: IdsAlertV1 }
  /** A header or footer line of the TSV format (`#fields`, `#close`, ...). */
  | { status: "ignored"; eventType: string }
  | Invalid;

export interface ZeekParseOptions {
  homeNets?: HomeNets;
  /** notice.log names no sensor (unless `peer_descr`): this one is used. */
  sensor?: string;
  now?: () => Date;
}

const epochSeconds = z.number().min(0).max(253_402_300_799);

/** The notice fields Vigil reads (names as Zeek writes them, `id.orig_h` flattened). */
export const ZeekNoticeRecord = z.object({
  ts: z.union([epochSeconds, z.iso.datetime({ offset: true })]),
  uid: label(LIMITS.shortText).optional(),
  "id.orig_h": IpAddress.optional(),
  "id.orig_p": port.optional(),
  "id.resp_h": IpAddress.optional(),
  "id.resp_p": port.optional(),
  proto: label(LIMITS.shortText).optional(),
  note: label(LIMITS.shortText).min(1),
  msg: label(LIMITS.signature).optional(),
  sub: label(LIMITS.signature).optional(),
  src: IpAddress.optional(),
  dst: IpAddress.optional(),
  p: port.optional(),
  peer_descr: label(LIMITS.shortText).optional(),
  actions: z.array(label(LIMITS.shortText)).max(64).optional(),
});
export type ZeekNoticeRecord = z.output<typeof ZeekNoticeRecord>;

/** What a TSV header has said so far. */
interface TsvHeader {
  separator: string;
  setSeparator: string;
  emptyField: string;
  unsetField: string;
  fields: string[] | undefined;
  types: string[] | undefined;
  path: string | undefined;
}

function freshHeader(): TsvHeader {
  return {
    separator: "\t",
    setSeparator: ",",
    emptyField: "(empty)",
    unsetField: "-",
    fields: undefined,
    types: undefined,
    path: undefined,
  };
}

/** `\x09` escapes as Zeek writes them in the header and in values. */
function unescapeZeek(value: string): string {
  return value.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

const MAX_FIELDS = 256;

/** A notice.log reader for one source (file, socket): holds the TSV header between lines. */
export class ZeekNoticeParser {
  #header: TsvHeader = freshHeader();
  readonly #options: ZeekParseOptions;

  constructor(options: ZeekParseOptions = {}) {
    this.#options = options;
  }

  /** Forgets the TSV header: call when the source starts over (a new file after rotation). */
  reset(): void {
    this.#header = freshHeader();
  }

  /** Whether a `#fields` header has been read (a TSV row can be parsed). */
  get hasHeader(): boolean {
    return this.#header.fields !== undefined;
  }

  parse(line: Buffer | string): ZeekParseResult {
    const decoded = decodeLine(line);
    if ("status" in decoded) return decoded;
    const text = decoded.text;
    if (text.startsWith("#")) return this.#headerLine(text);
    if (text.trimStart().startsWith("{")) {
      const object = parseJsonObject(text, "Zeek notice", "a Zeek notice");
      if ("status" in object) return object;
      return toAlert(object.record, text, this.#options);
    }
    return this.#row(text);
  }

  #headerLine(text: string): ZeekParseResult {
    const header = this.#header;
    // `#separator \x09` is the one header line separated by a space.
    if (text.startsWith("#separator")) {
      const value = unescapeZeek(text.slice("#separator".length).trim());
      if (value.length !== 1)
        return invalid("schema", `#separator: expected one character, got ${quote(value)}`);
      this.#header = { ...freshHeader(), separator: value };
      return { status: "ignored", eventType: "zeek-header" };
    }
    const [name, ...rest] = text.split(header.separator);
    const values = rest.map(unescapeZeek);
    switch (name) {
      case "#set_separator":
        header.setSeparator = values[0] ?? ",";
        break;
      case "#empty_field":
        header.emptyField = values[0] ?? "(empty)";
        break;
      case "#unset_field":
        header.unsetField = values[0] ?? "-";
        break;
      case "#path":
        header.path = values[0];
        if (header.path !== undefined && header.path !== "notice")
          return invalid("schema", `#path: expected notice, got ${quote(header.path)}`);
        break;
      case "#fields":
        if (values.length === 0 || values.length > MAX_FIELDS)
          return invalid("schema", `#fields: expected 1 to ${MAX_FIELDS} field names, got ${values.length}`);
        if (values.some((field) => FORBIDDEN_KEYS.has(field)))
          return invalid("schema", "#fields: names a field not allowed in a Zeek notice");
        header.fields = values;
        break;
      case "#types":
        header.types = values;
        break;
      default:
        // #open, #close and any comment.
        break;
    }
    return { status: "ignored", eventType: "zeek-header" };
  }

  #row(text: string): ZeekParseResult {
    const header = this.#header;
    if (header.fields === undefined)
      return invalid("schema", "a notice.log TSV row before any #fields header (or not a notice line)");
    const values = text.split(header.separator);
    if (values.length !== header.fields.length)
      return invalid(
        "schema",
        `expected ${header.fields.length} tab-separated fields as #fields says, got ${values.length}`,
      );
    const record: Record<string, unknown> = Object.create(null);
    for (let index = 0; index < values.length; index++) {
      const field = header.fields[index]!;
      const type = header.types?.[index] ?? "string";
      const raw = values[index]!;
      if (raw === header.unsetField) continue;
      record[field] = convert(raw, type, header);
    }
    return toAlert({ ...record }, text, this.#options);
  }
}

/** TSV text to the JSON writer's value: numbers for time/count/port/double, lists for sets. */
function convert(raw: string, type: string, header: TsvHeader): unknown {
  const container = /^(?:set|vector)\[(.+)\]$/.exec(type);
  if (container) {
    if (raw === header.emptyField) return [];
    return raw.split(header.setSeparator).map((item) => convert(item, container[1]!, header));
  }
  if (raw === header.emptyField) return "";
  switch (type) {
    case "time":
    case "interval":
    case "double":
    case "count":
    case "int":
    case "port": {
      const number = Number(raw);
      return raw.trim() !== "" && Number.isFinite(number) ? number : raw;
    }
    case "bool":
      return raw === "T" ? true : raw === "F" ? false : raw;
    default:
      return unescapeZeek(raw);
  }
}

function toAlert(record: Record<string, unknown>, text: string, options: ZeekParseOptions): ZeekParseResult {
  const parsed = ZeekNoticeRecord.safeParse(record, { error: describeIssue });
  if (!parsed.success) return invalid("schema", formatIssues(parsed.error));
  const notice = parsed.data;
  // Microseconds kept in time_dt, as Zeek writes them.
  const micros = typeof notice.ts === "number" ? Math.round(notice.ts * 1e6) : undefined;
  const timeMs = micros !== undefined ? Math.floor(micros / 1000) : Date.parse(notice.ts as string);
  if (!Number.isFinite(timeMs) || timeMs < 0)
    return invalid("schema", `ts: expected a time, got ${quote(notice.ts)}`);
  const timeDt =
    micros !== undefined
      ? `${new Date(timeMs).toISOString().slice(0, 19)}.${String(micros % 1_000_000).padStart(6, "0")}Z`
      : (notice.ts as string);

  // Scan notices carry no connection: `src` (the scanner), `dst` and `p` say who and where.
  const srcIp = notice["id.orig_h"] ?? notice.src;
  const dstIp = notice["id.resp_h"] ?? notice.dst;
  const srcPort = notice["id.orig_h"] !== undefined ? notice["id.orig_p"] : undefined;
  const dstPort = notice["id.resp_p"] ?? notice.p;
  const sides = flowSides(srcIp, dstIp, networkSetOf(options.homeNets));
  const sensor = options.sensor ?? notice.peer_descr;
  const title = notice.msg ?? notice.note;
  const id = recordId("ids", [
    "zeek",
    sensor ?? "",
    notice.uid ?? "",
    String(notice.ts),
    notice.note,
    endpointKey(srcIp, srcPort),
    endpointKey(dstIp, dstPort),
    notice.sub ?? "",
  ]);
  const src = endpoint(srcIp, srcPort);
  const dst = endpoint(dstIp, dstPort);
  const now = options.now?.() ?? new Date();
  const alert: IdsAlertV1 = {
    schema: "vigil.ids.alert/v1",
    id,
    class_uid: 2004,
    category_uid: 2,
    activity_id: 1,
    type_uid: 200401,
    time: timeMs,
    time_dt: timeDt,
    // A notice says "look at this", with no severity of its own.
    ...severityFields("medium"),
    metadata: {
      version: "1.3.0",
      product: { name: "Zeek", vendor_name: "Zeek" },
      log_name: "notice",
      original_time: String(notice.ts),
      processed_time: now.getTime(),
    },
    finding_info: {
      uid: id,
      title,
      analytic: { uid: notice.note, name: notice.note, type: "Behavioral", type_id: 2 },
      types: [notice.note.split("::")[0] ?? notice.note],
    },
    ...(src ? { src_endpoint: src } : {}),
    ...(dst ? { dst_endpoint: dst } : {}),
    connection_info: {
      ...protocolNameField(notice.proto),
      direction: sides.direction,
      direction_id: sides.direction_id,
      ...(notice.uid !== undefined ? { uid: notice.uid } : {}),
    },
    device: sensor !== undefined ? { hostname: sensor } : {},
    raw_data: text,
    ...(sides.assetIp !== undefined ? { asset_ip: sides.assetIp } : {}),
    cves: extractCves([title, notice.sub ?? ""]),
    rule_metadata: {},
    references: [],
    unmapped: {
      ...(notice.sub !== undefined ? { sub: notice.sub } : {}),
      ...(notice.actions !== undefined ? { actions: notice.actions } : {}),
    },
  };
  return { status: "alert", alert };
}

/** One-off parse of a JSON notice line (TSV needs a `ZeekNoticeParser`). */
export function parseZeekNoticeJson(line: Buffer | string, options: ZeekParseOptions = {}): ZeekParseResult {
  const decoded = decodeLine(line);
  if ("status" in decoded) return decoded;
  const object = parseJsonObject(decoded.text, "Zeek notice", "a Zeek notice");
  if ("status" in object) return object;
  return toAlert(object.record, decoded.text, options);
}
