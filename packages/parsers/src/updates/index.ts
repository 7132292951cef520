import { UpdateEventV1, type UpdateSourceLog } from "@vigil/schema";
import { CBS_EXPECTED, CBS_HEADER, cbsContinues, parseCbsEntry } from "./cbs.ts";
import {
  decodeLogText,
  type Entry,
  finishEvent,
  newParserState,
  quote,
  type RecordPosition,
  type UpdateParseOptions,
  type UpdateParseResult,
} from "./common.ts";
import {
  newWindowsUpdateState,
  parseWindowsUpdateEntry,
  WINDOWSUPDATE_EXPECTED,
  WINDOWSUPDATE_HEADER,
  windowsUpdateContinues,
} from "./windowsupdate.ts";
import { parseWsusEntry, WSUS_EXPECTED, WSUS_HEADER, wsusContinues } from "./wsus.ts";
import { newWsyncmgrState, parseWsyncmgrEntry, WSYNCMGR_EXPECTED, wsyncmgrContinues } from "./wsyncmgr.ts";

export {
  extractErrorCodes,
  extractFileVersions,
  extractKbIds,
  parseUtcOffset,
  type RecordPosition,
  SIGNATURES,
  type UpdateInvalidKind,
  type UpdateParseOptions,
  type UpdateParseResult,
} from "./common.ts";

/** The `--format` names, one per log. */
export const UPDATE_LOG_FORMATS = ["windowsupdate", "wsus", "wsyncmgr", "cbs"] as const;
export type UpdateLogFormat = (typeof UPDATE_LOG_FORMATS)[number];

export const SOURCE_LOG_OF: Record<UpdateLogFormat, UpdateSourceLog> = {
  windowsupdate: "windowsupdate",
  wsus: "wsus-softwaredistribution",
  wsyncmgr: "configmgr-wsyncmgr",
  cbs: "cbs",
};

/** What each format looks like, for error messages that say what was expected. */
export const UPDATE_LOG_EXPECTED: Record<UpdateLogFormat, string> = {
  windowsupdate: WINDOWSUPDATE_EXPECTED,
  wsus: WSUS_EXPECTED,
  wsyncmgr: WSYNCMGR_EXPECTED,
  cbs: CBS_EXPECTED,
};

const FORMAT_TITLE: Record<UpdateLogFormat, string> = {
  windowsupdate: "a WindowsUpdate.log",
  wsus: "a WSUS SoftwareDistribution.log",
  wsyncmgr: "a ConfigMgr Wsyncmgr.log",
  cbs: "a CBS.log",
};

const WSYNCMGR_STRUCTURED = /^<!\[LOG\[|\$\$<[^>]*><[^>]*><thread=\d+/;
const WSYNCMGR_WORDS =
  /STATMSG:|SMS_WSUS_SYNC_MANAGER|wsyncmgr|legacy sync|Updates summary:|WSUS (?:server|catalog)|wsusscn2\.cab|CreateUpdateNode|Synchroniz/i;

/** The format a single line is in, when it unmistakably is one (plain Wsyncmgr text needs its words). */
export function lineFormat(text: string): UpdateLogFormat | undefined {
  const line = text.endsWith("\r") ? text.slice(0, -1) : text;
  if (WINDOWSUPDATE_HEADER.test(line)) return "windowsupdate";
  if (WSUS_HEADER.test(line)) return "wsus";
  if (CBS_HEADER.test(line)) return "cbs";
  if (WSYNCMGR_STRUCTURED.test(line) || WSYNCMGR_WORDS.test(line)) return "wsyncmgr";
  return undefined;
}

/** Says what some text looks like, for a "found ..." in an error. */
export function describeFound(line: string): string {
  const format = lineFormat(line);
  if (format) return FORMAT_TITLE[format];
  if (line.includes("\u0000")) return "UTF-16 or binary data";
  const trimmed = line.trim();
  if (/^[[{]/.test(trimmed)) {
    try {
      JSON.parse(trimmed);
      return /"event_type"/.test(trimmed) ? "JSON (a Suricata EVE record?)" : "JSON";
    } catch {
      // Not JSON after all: described as text below.
    }
  }
  if (/^[^,]+(,[^,]*){3,}$/.test(trimmed)) return `CSV-like text ${quote(trimmed, 60)}`;
  return `text starting ${quote(trimmed, 60)}`;
}

export interface FormatDetection {
  format: UpdateLogFormat | undefined;
  /** When undefined: what the lines look like instead. */
  found: string;
}

/** The format of a log from its first lines: the format most of them are in. */
export function detectUpdateLogFormat(lines: readonly string[]): FormatDetection {
  const counts = new Map<UpdateLogFormat, number>();
  for (const line of lines) {
    const format = lineFormat(line);
    if (format) counts.set(format, (counts.get(format) ?? 0) + 1);
  }
  let best: UpdateLogFormat | undefined;
  for (const [format, count] of counts) if (best === undefined || count > counts.get(best)!) best = format;
  const first = lines.find((line) => line.trim() !== "") ?? "";
  return {
    format: best,
    found: best ? FORMAT_TITLE[best] : first === "" ? "an empty input" : describeFound(first),
  };
}

/**
 * Does the start of a log fit `format`? Undefined when it does; else an error text naming the
 * format expected and what was found (the caller refuses the whole input with it).
 */
export function checkUpdateLogFormat(format: UpdateLogFormat, lines: readonly string[]): string | undefined {
  const sample = lines.filter((line) => line.trim() !== "");
  if (sample.length === 0) return undefined;
  const formats = sample.map(lineFormat);
  if (formats.includes(format)) return undefined;
  if (format === "wsyncmgr" && formats.every((found) => found === undefined)) {
    // Plain Wsyncmgr text has no header to recognise: refuse only what is plainly something else.
    if (!sample.some((line) => /^\s*[[{]/.test(line) || line.includes("\u0000"))) return undefined;
  }
  return `expected ${UPDATE_LOG_EXPECTED[format]}; found ${describeFound(sample[0]!)}`;
}

/** For `groupLines`: does this line continue the open entry of a log in `format`? */
export function updateLogContinues(
  format: UpdateLogFormat,
): (line: Buffer, record: { first: Buffer; previous: Buffer }) => boolean {
  switch (format) {
    case "windowsupdate":
      return (line, record) => windowsUpdateContinues(line, record.first);
    case "wsus":
      return (line) => wsusContinues(line);
    case "wsyncmgr":
      return (line, record) => wsyncmgrContinues(line, record.previous, record.first);
    case "cbs":
      return (line) => cbsContinues(line);
  }
}

export type UpdateLogParser = (record: Buffer | string, position?: RecordPosition) => UpdateParseResult;

/**
 * A parser for one log file in `format`: call it with each record (one entry, multi-line entries
 * joined with `\n`, as `groupLines` makes them) in file order; it keeps what the log said earlier
 * (its time zone, its update server). Never throws: a record it cannot read is `invalid` with a reason.
 */
export function createUpdateLogParser(
  format: UpdateLogFormat,
  options: UpdateParseOptions = {},
): UpdateLogParser {
  const sourceLog = SOURCE_LOG_OF[format];
  const state = newParserState();
  const windowsUpdate = newWindowsUpdateState();
  const wsyncmgr = newWsyncmgrState();
  const entryOf = (text: string): Entry | { invalid: string; kind: "format" | "time" | "orphan" } => {
    switch (format) {
      case "windowsupdate":
        return parseWindowsUpdateEntry(text, windowsUpdate, options);
      case "wsus":
        return parseWsusEntry(text);
      case "wsyncmgr":
        return parseWsyncmgrEntry(text, wsyncmgr, options);
      case "cbs":
        return parseCbsEntry(text, options);
    }
  };
  return (record, position) => {
    try {
      const decoded = decodeLogText(record);
      if ("error" in decoded) return { status: "invalid", kind: "encoding", reason: decoded.error };
      const text = decoded.text.replace(/\r(?=\n|$)/g, "");
      const entry = entryOf(text);
      if ("invalid" in entry) return { status: "invalid", kind: entry.kind, reason: entry.invalid };
      const event = finishEvent(sourceLog, entry, text, state, options, position);
      const checked = UpdateEventV1.safeParse(event);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        return {
          status: "invalid",
          kind: "schema",
          reason: `${issue?.path.join(".") || "record"}: ${issue?.message ?? "refused"}`,
        };
      }
      return { status: "record", value: checked.data };
    } catch (error) {
      // A parser bug must not stop an ingest: the record is refused with what went wrong.
      return { status: "invalid", kind: "schema", reason: `parser error: ${(error as Error).message}` };
    }
  };
}

/**
 * Splits a whole log text into records the way `groupLines` does on a stream (blank lines
 * skipped, continuation lines joined with `\n`): for tests, benches and small in-memory inputs.
 */
export function splitUpdateLogRecords(
  text: string,
  format: UpdateLogFormat,
): { text: string; position: RecordPosition }[] {
  const continues = updateLogContinues(format);
  const records: { lines: string[]; first: number; last: number }[] = [];
  const physical = text.split("\n");
  for (let index = 0; index < physical.length; index++) {
    const line = physical[index]!.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const open = records.at(-1);
    if (
      open !== undefined &&
      continues(Buffer.from(line), {
        first: Buffer.from(open.lines[0]!),
        previous: Buffer.from(open.lines.at(-1)!),
      })
    ) {
      open.lines.push(line);
      open.last = index + 1;
    } else {
      records.push({ lines: [line], first: index + 1, last: index + 1 });
    }
  }
  return records.map((record) => ({
    text: record.lines.join("\n"),
    position: { line: record.first, lastLine: record.last },
  }));
}
