import { createHash } from "node:crypto";
import type {
  TimeBasis,
  UpdateEventKind,
  UpdateEventV1,
  UpdateOutcome,
  UpdateRole,
  UpdateSignatureId,
  UpdateSourceLog,
} from "@vigil/schema";

export type UpdateInvalidKind = "encoding" | "format" | "orphan" | "time" | "schema";

export type UpdateParseResult =
  | { status: "record"; value: UpdateEventV1 }
  | { status: "ignored"; eventType: string }
  | { status: "invalid"; kind: UpdateInvalidKind; reason: string };

export interface UpdateParseOptions {
  /** The machine the log came from, for logs that do not name it (`--host`). */
  host?: string;
  /** Offset of logs written in local time (WindowsUpdate.log, CBS): `+09:00`, `-0700`, `Z`. */
  utcOffset?: string;
  /** The input's name, for `source_location.file`. */
  file?: string;
  now?: () => Date;
}

/** Where the record was read: its first and last physical line. */
export interface RecordPosition {
  line: number;
  lastLine?: number;
}

/** What a format parser makes of one record's text, before the common fields are filled in. */
export interface Entry {
  time?: string;
  timeBasis?: TimeBasis;
  loggedTime?: string;
  component?: string;
  level?: string;
  process?: string;
  thread?: string;
  message: string;
  eventKind: UpdateEventKind;
  outcome: UpdateOutcome;
  host?: string;
  updateServer?: { url?: string; host?: string };
  updateIds?: string[];
  soapFaultId?: string;
  exception?: { type: string; message: string };
  signature?: UpdateSignatureId;
  fileVersions?: { file: string; version: string }[];
}

export const SIGNATURES: Record<UpdateSignatureId, { advisory: string; title: string }> = {
  "ms-954960-client-syncupdates-0x8024400e": {
    advisory: "954960",
    title: "WSUS 3.0 client sync fails with 0x8024400E (SOAP InternalServerError): no update can be deployed",
  },
  "ms-954960-server-duplicate-key": {
    advisory: "954960",
    title: "WSUS 3.0 SyncUpdates throws 'Item has already been added' (duplicate key) for clients",
  },
  "ms-954960-server-unfixed-version": {
    advisory: "954960",
    title: "WSUS client web service older than 3.1.6001.66: the 954960 fix is not installed",
  },
  "ms-954960-server-fix-installed": {
    advisory: "954960",
    title: "WSUS client web service at 3.1.6001.66 or later: the 954960 fix is installed",
  },
  "ms-954474-unexpected-deploymentaction": {
    advisory: "954474",
    title: "ConfigMgr 2007 catalog sync fails: Unexpected DeploymentAction in CreateUpdateNode",
  },
  "ms-954474-zero-processed-summary": {
    advisory: "954474",
    title: "ConfigMgr 2007 legacy sync processed no updates (0 processed, 0 matched)",
  },
};

export const ROLE_OF: Record<UpdateSourceLog, UpdateRole> = {
  windowsupdate: "client",
  cbs: "client",
  "wsus-softwaredistribution": "server",
  "configmgr-wsyncmgr": "site-server",
};

const MAX_RAW = 262_144;
const MAX_MESSAGE = 65_536;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Update logs are UTF-8 or the machine's ANSI code page. Valid UTF-8 is taken as such; anything
 * else is read byte for byte as Latin-1 so no record is refused for its code page. UTF-16 (NUL
 * bytes everywhere) is refused: the line splitting already broke it.
 */
export function decodeLogText(bytes: Buffer | string): { text: string } | { error: string } {
  if (typeof bytes === "string") return { text: bytes };
  let zeros = 0;
  for (const byte of bytes) if (byte === 0) zeros += 1;
  if (zeros > 0 && zeros * 4 >= bytes.length)
    return { error: "the bytes look like UTF-16 (NUL bytes): convert the file to UTF-8 first" };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = bytes.toString("latin1");
  }
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

/** `+09:00`, `-0700`, `+9`, `Z`, `UTC` to minutes east of UTC; undefined when not an offset. */
export function parseUtcOffset(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^(Z|UTC|GMT)$/i.test(trimmed)) return 0;
  const match = /^([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(trimmed);
  if (!match) return undefined;
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? "0");
  if (hours > 14 || minutes > 59) return undefined;
  return (match[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

export function formatOffset(minutes: number): string {
  if (minutes === 0) return "Z";
  const sign = minutes < 0 ? "-" : "+";
  const absolute = Math.abs(minutes);
  return `${sign}${pad(Math.floor(absolute / 60))}:${pad(absolute % 60)}`;
}

/** An RFC 3339 time from logged parts, or undefined for an impossible date or time. */
export function buildTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  fraction: string | undefined,
  offsetMinutes: number,
): string | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCDate() !== day || probe.getUTCMonth() !== month - 1) return undefined;
  if (year < 1970 || year > 9999) return undefined;
  const millis = fraction ? `.${fraction.slice(0, 3).padEnd(3, "0")}` : "";
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${millis}${formatOffset(offsetMinutes)}`;
}

/** The offset for a log in local time: the one it logged, else the configured one, else UTC (flagged). */
export function localOffset(
  logged: number | undefined,
  options: UpdateParseOptions,
): { minutes: number; basis: TimeBasis } {
  if (logged !== undefined) return { minutes: logged, basis: "logged-offset" };
  const configured = options.utcOffset !== undefined ? parseUtcOffset(options.utcOffset) : undefined;
  if (configured !== undefined) return { minutes: configured, basis: "configured-offset" };
  return { minutes: 0, basis: "assumed-utc" };
}

const HRESULT = /(?<![0-9A-Za-z])0x([0-9A-Fa-f]{8})(?![0-9A-Za-z])/g;
/** `error code 8024400E`, `error = 8024400e` (WindowsUpdate.log often omits the 0x). */
const BARE_ERROR = /\berror(?: code)?\s*[=:]?\s*([0-9A-Fa-f]{8})(?![0-9A-Za-z])/gi;

/** Error codes in the text, normalized to `0x8024400E`, first appearance order, without success codes. */
export function extractErrorCodes(text: string): string[] {
  const codes: string[] = [];
  const add = (hex: string) => {
    const code = `0x${hex.toUpperCase()}`;
    if (code !== "0x00000000" && !codes.includes(code) && codes.length < 64) codes.push(code);
  };
  const found: { index: number; hex: string }[] = [];
  for (const match of text.matchAll(HRESULT)) found.push({ index: match.index, hex: match[1]! });
  for (const match of text.matchAll(BARE_ERROR))
    if (/[A-Fa-f]/.test(match[1]!) || match[1]!.startsWith("8"))
      found.push({ index: match.index, hex: match[1]! });
  found.sort((left, right) => left.index - right.index);
  for (const { hex } of found) add(hex);
  return codes;
}

const KB = /(?<![A-Za-z0-9])KB(\d{4,8})(?!\d)/gi;

export function extractKbIds(text: string): string[] {
  const ids: string[] = [];
  for (const match of text.matchAll(KB)) {
    const id = `KB${match[1]}`;
    if (!ids.includes(id) && ids.length < 256) ids.push(id);
  }
  return ids;
}

const GUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";
const UPDATE_GUID = new RegExp(`\\bUpdate ?Id\\s*[=:]\\s*\\{?(${GUID})\\}?(\\.\\d+)?`, "gi");

export function extractUpdateGuids(text: string): string[] {
  const ids: string[] = [];
  for (const match of text.matchAll(UPDATE_GUID)) {
    const id = `{${match[1]!.toUpperCase()}}${match[2] ?? ""}`;
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

export const GUID_PATTERN = GUID;

const FILE_VERSION =
  /([A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\.(?:dll|exe|sys))\b[^\n]{0,40}?\b(?:file )?version\s*[:=]?\s*v?(\d{1,5}(?:\.\d{1,5}){1,3})(?![\d.]*\d)/gi;
const SERVICING_STACK =
  /Loaded Servicing Stack v(\d{1,5}(?:\.\d{1,5}){1,3}) with Core: (?:.*\\)?([^\\\s]+\.dll)/i;

export function extractFileVersions(text: string): { file: string; version: string }[] {
  const versions: { file: string; version: string }[] = [];
  // The pattern scans back from each position: only run it on text that can match.
  if (!/version|Servicing Stack/i.test(text) || !/\.(?:dll|exe|sys)\b/i.test(text)) return versions;
  const stack = SERVICING_STACK.exec(text);
  if (stack) versions.push({ file: stack[2]!, version: stack[1]! });
  for (const match of text.matchAll(FILE_VERSION)) {
    if (versions.length >= 64) break;
    versions.push({ file: match[1]!, version: match[2]! });
  }
  return versions;
}

const FIXED_CLIENT_WEBSERVICE = [3, 1, 6001, 66];

/** 954960's check: Microsoft.UpdateServices.WebServices.Client.Dll at 3.1.6001.66 or later. */
export function webServiceVersionSignature(
  versions: { file: string; version: string }[],
): UpdateSignatureId | undefined {
  const logged = versions.find(
    (entry) => entry.file.toLowerCase() === "microsoft.updateservices.webservices.client.dll",
  );
  if (!logged) return undefined;
  const parts = logged.version.split(".").map(Number);
  for (let index = 0; index < FIXED_CLIENT_WEBSERVICE.length; index++) {
    const have = parts[index] ?? 0;
    const want = FIXED_CLIENT_WEBSERVICE[index]!;
    if (have !== want)
      return have > want ? "ms-954960-server-fix-installed" : "ms-954960-server-unfixed-version";
  }
  return "ms-954960-server-fix-installed";
}

const URL_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[0-9a-f:.]+\]|[^/:?#\s]+)/i;
const HOSTNAME =
  /^(?=.{1,255}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/** An update server from a URL or a bare name; the host only when it is a real host name or address. */
export function updateServer(text: string): { url?: string; host?: string } | undefined {
  const value = text.trim().replace(/[,;.]+$/, "");
  if (value === "") return undefined;
  const match = URL_HOST.exec(value);
  if (match) {
    const host = match[1]!.replace(/^\[|\]$/g, "").toLowerCase();
    return { url: value.slice(0, 2048), ...(HOSTNAME.test(host) || host.includes(":") ? { host } : {}) };
  }
  return HOSTNAME.test(value) ? { host: value.replace(/\.$/, "").toLowerCase() } : undefined;
}

export function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

let lastObserved = { ms: Number.NaN, text: "" };

/** The read time; formatting a date per record is measurable, so one string serves a millisecond. */
function observedTime(options: UpdateParseOptions): string {
  if (options.now) return options.now().toISOString();
  const ms = Date.now();
  if (ms !== lastObserved.ms) lastObserved = { ms, text: new Date(ms).toISOString() };
  return lastObserved.text;
}

export interface ParserState {
  /** Ids given out at the current timestamp, so repeated identical entries get distinct ids. */
  idsAtTime: Map<string, number>;
  lastTime: string | undefined;
}

export function newParserState(): ParserState {
  return { idsAtTime: new Map(), lastTime: undefined };
}

/** Fills in the common fields of an event: ids, host, role, codes, signature details, raw data. */
export function finishEvent(
  sourceLog: UpdateSourceLog,
  entry: Entry,
  raw: string,
  state: ParserState,
  options: UpdateParseOptions,
  position: RecordPosition | undefined,
): UpdateEventV1 {
  const host = options.host ?? entry.host;
  const base = createHash("sha256")
    .update(`${sourceLog}\u0000${host?.toLowerCase() ?? ""}\u0000${raw}`)
    .digest("hex")
    .slice(0, 32);
  // Identical entries in the same second (CBS repeats lines) are told apart by their order.
  if (entry.loggedTime !== state.lastTime) {
    state.idsAtTime.clear();
    state.lastTime = entry.loggedTime;
  }
  const seen = state.idsAtTime.get(base) ?? 0;
  state.idsAtTime.set(base, seen + 1);
  const id = `upd-${base}${seen > 0 ? `-${seen}` : ""}`;
  const fileVersions = entry.fileVersions ?? extractFileVersions(raw);
  const signature = entry.signature ?? webServiceVersionSignature(fileVersions);
  const event: UpdateEventV1 = {
    schema: "vigil.updates.agent/v1",
    id,
    ...(entry.time !== undefined ? { time: entry.time } : {}),
    ...(entry.timeBasis !== undefined ? { time_basis: entry.timeBasis } : {}),
    ...(entry.loggedTime !== undefined ? { logged_time: entry.loggedTime } : {}),
    observed_time: observedTime(options),
    source_log: sourceLog,
    ...(host !== undefined
      ? { host, host_origin: options.host !== undefined ? ("configured" as const) : ("log" as const) }
      : {}),
    role: ROLE_OF[sourceLog],
    ...(entry.updateServer !== undefined ? { update_server: entry.updateServer } : {}),
    ...(entry.component !== undefined ? { component: truncate(entry.component, 512) } : {}),
    ...(entry.level !== undefined ? { level: truncate(entry.level, 64) } : {}),
    ...(entry.process !== undefined ? { process: truncate(entry.process, 128) } : {}),
    ...(entry.thread !== undefined ? { thread: truncate(entry.thread, 128) } : {}),
    event_kind: entry.eventKind,
    outcome: entry.outcome,
    message: truncate(entry.message, MAX_MESSAGE),
    error_codes: extractErrorCodes(raw),
    kb_ids: extractKbIds(raw),
    update_ids: (entry.updateIds ?? extractUpdateGuids(raw)).slice(0, 256),
    ...(entry.soapFaultId !== undefined ? { soap_fault_id: entry.soapFaultId } : {}),
    ...(entry.exception !== undefined
      ? {
          exception: {
            type: truncate(entry.exception.type, 512),
            message: truncate(entry.exception.message, 4096),
          },
        }
      : {}),
    file_versions: fileVersions,
    ...(signature !== undefined ? { signature: { id: signature, ...SIGNATURES[signature] } } : {}),
    ...(position !== undefined
      ? {
          source_location: {
            ...(options.file !== undefined ? { file: options.file } : {}),
            line: position.line,
            last_line: position.lastLine ?? position.line,
          },
        }
      : {}),
    raw_data: truncate(raw, MAX_RAW),
  };
  return event;
}

/** Classifies by keywords when the component does not say: the order matters (install before download). */
export function kindFromText(text: string): UpdateEventKind | undefined {
  if (/\binstall/i.test(text)) return "install";
  if (/\bdownload|\bBITS\b|DnldMgr/i.test(text)) return "download";
  if (/find(?:ing)? updates|\bsearch|detect|applicab|\bscan/i.test(text)) return "detect";
  if (/\bsync/i.test(text)) return "sync";
  if (/\breport/i.test(text)) return "report";
  return undefined;
}

/** Outcome words common to the logs; `undefined` when the text says nothing either way. */
export function outcomeFromText(text: string): UpdateOutcome | undefined {
  if (/\bfail(?:ed|ure|s)?\b|\bFATAL\b|\bexception\b|\bcould not\b|\bunable to\b/i.test(text))
    return "failure";
  if (/\bsucce(?:ss|ssful|ssfully|eded)\b|\bcompleted\b|\bDone synchronizing\b/i.test(text)) return "success";
  return undefined;
}

export function quote(text: string, max = 80): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}
