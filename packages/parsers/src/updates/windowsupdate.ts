import type { UpdateEventKind, UpdateOutcome } from "@vigil/schema";
import {
  buildTime,
  type Entry,
  kindFromText,
  localOffset,
  outcomeFromText,
  parseUtcOffset,
  quote,
  type UpdateParseOptions,
  updateServer,
} from "./common.ts";

/**
 * The classic Windows Update agent log (`%windir%\WindowsUpdate.log`, Windows 2000 to 8.1):
 * `date<TAB>time<TAB>pid<TAB>tid<TAB>component<TAB>text`, local time with milliseconds after a
 * colon (`2008-06-13 19:59:53:383`), pid and tid in hex. Copies pasted from web pages have the
 * tabs turned into spaces, so any run of blanks separates the fields.
 */
export const WINDOWSUPDATE_HEADER =
  /^(\d{4})-(\d{2})-(\d{2})[\t ]+(\d{2}):(\d{2}):(\d{2})[:.](\d{3})[\t ]+([0-9A-Fa-f]{1,8})[\t ]+([0-9A-Fa-f]{1,8})[\t ]+([A-Za-z][\w-]{0,31})(?:[\t ]+(.*))?$/;

export const WINDOWSUPDATE_EXPECTED =
  "WindowsUpdate.log lines: 'YYYY-MM-DD<TAB>HH:MM:SS:mmm<TAB>pid<TAB>tid<TAB>component<TAB>text'";

/** The lines Windows Update writes after a SOAP failure: one block with the failure line. */
const SOAP_FAULT_LINE =
  /^WARNING:\s*(?:SOAP Fault:|faultstring:|ErrorCode:|Message:|Method:|ID:|Detail:|faultcode:)/i;

export interface WindowsUpdateState {
  /** `Logging initialized (..., tz: +0200)`: the log states its own offset. */
  offsetMinutes: number | undefined;
  /** The last `Server URL = ...` / `WSUS server: ...`, which later sync lines are about. */
  server: { url?: string; host?: string } | undefined;
  /** What each component's open `** START **` block is doing: its lines are about that. */
  activity: Map<string, UpdateEventKind>;
}

export function newWindowsUpdateState(): WindowsUpdateState {
  return { offsetMinutes: undefined, server: undefined, activity: new Map() };
}

/** A line continues the open entry when it belongs to the SOAP fault block of a sync failure. */
export function windowsUpdateContinues(line: Buffer, first: Buffer): boolean {
  // Nearly every entry is one line: rule that out before any regex.
  if (!first.includes("soap client error") || !line.includes("WARNING:")) return false;
  const text = line.toString("latin1");
  const next = WINDOWSUPDATE_HEADER.exec(text);
  if (!next) return false;
  const head = WINDOWSUPDATE_HEADER.exec(first.toString("latin1"));
  if (!head) return false;
  if (next[8] !== head[8] || next[9] !== head[9] || next[10] !== head[10]) return false;
  return /soap client error/i.test(head[11] ?? "") && SOAP_FAULT_LINE.test(next[11] ?? "");
}

const COMPONENT_KIND: Record<string, UpdateEventKind> = {
  PT: "sync",
  DnldMgr: "download",
  Handler: "install",
  Report: "report",
  Misc: "service",
  Service: "service",
  Setup: "service",
  SLS: "sync",
};

export function parseWindowsUpdateEntry(
  text: string,
  state: WindowsUpdateState,
  options: UpdateParseOptions,
): Entry | { invalid: string; kind: "format" | "time" | "orphan" } {
  const lines = text.split("\n");
  const head = WINDOWSUPDATE_HEADER.exec(lines[0]!);
  if (!head) {
    return {
      kind: /^\s/.test(lines[0]!) ? "orphan" : "format",
      invalid: `expected ${WINDOWSUPDATE_EXPECTED}, found ${quote(lines[0]!)}`,
    };
  }
  const message = (head[11] ?? "").trim();
  const component = head[10]!;

  const initialised = /Logging initialized \(build: ([\d.]+), tz: ([+-]\d{4})\)/i.exec(message);
  if (initialised) state.offsetMinutes = parseUtcOffset(initialised[2]!);
  const offset = localOffset(state.offsetMinutes, options);
  const time = buildTime(
    Number(head[1]),
    Number(head[2]),
    Number(head[3]),
    Number(head[4]),
    Number(head[5]),
    Number(head[6]),
    head[7],
    offset.minutes,
  );
  const loggedTime = `${head[1]}-${head[2]}-${head[3]} ${head[4]}:${head[5]}:${head[6]}:${head[7]}`;
  if (time === undefined) return { kind: "time", invalid: `impossible date or time ${quote(loggedTime)}` };

  const serverUrl = /(?:Server URL|WSUS server|Server)\s*[=:]\s*(https?:\/\/.+?)\s*(?:,|$)/i.exec(message);
  if (serverUrl) state.server = updateServer(serverUrl[1]!);

  const whole = lines.map((line) => WINDOWSUPDATE_HEADER.exec(line)?.[11] ?? line).join("\n");
  const block = /(START|END)\s*(?:##|\*\*)\s+\w+: (.+?)(?:\s+\[|$)/.exec(message);
  const blockKind = block ? kindFromText(block[2]!) : undefined;
  if (block?.[1] === "START" && blockKind !== undefined) state.activity.set(component, blockKind);
  let eventKind: UpdateEventKind =
    COMPONENT_KIND[component] ??
    blockKind ??
    state.activity.get(component) ??
    kindFromText(message) ??
    (component === "AU" ? "service" : "other");
  if (block?.[1] === "END") state.activity.delete(component);
  let outcome: UpdateOutcome = "info";
  let signature: Entry["signature"];

  const syncFailure = /(\w+) failure, error = (0x[0-9A-Fa-f]{8})/.exec(message);
  const reportEvent = /REPORT EVENT:/.test(message);
  if (syncFailure) {
    eventKind = /Sync|GetCookie|GetConfig|RegisterComputer/i.test(syncFailure[1]!) ? "sync" : eventKind;
    outcome = "failure";
    if (syncFailure[1] === "SyncUpdates" && syncFailure[2]!.toUpperCase() === "0X8024400E")
      signature = "ms-954960-client-syncupdates-0x8024400e";
  } else if (reportEvent) {
    const fields = message.split("\t");
    const category = fields.find((field) =>
      /^(Content Install|Content Download|Software Synchronization|Pre-Deployment Check|Content Verification)$/.test(
        field.trim(),
      ),
    );
    if (category) {
      eventKind = /Install/.test(category)
        ? "install"
        : /Download|Verification/.test(category)
          ? "download"
          : /Synchronization/.test(category)
            ? "sync"
            : "detect";
    } else {
      eventKind = kindFromText(message) ?? "report";
    }
    outcome = /\bFailure\b|_FAILED\b/.test(message)
      ? "failure"
      : /\bSuccess\b|_SUCCEEDED\b|_FINISHED\b/.test(message)
        ? "success"
        : "info";
  } else {
    const words = outcomeFromText(message);
    const exitCode = /Exit code = (0x[0-9A-Fa-f]{8})/i.exec(message);
    if (exitCode) outcome = /^0x0{8}$/i.test(exitCode[1]!) ? "success" : "failure";
    else if (words !== undefined) outcome = words;
    else if (/\bWARNING\b/.test(message)) outcome = "warning";
    if (/\bFATAL\b|error = 0x(?!0{8})|with error code [0-9A-F]{8}\b/i.test(message)) outcome = "failure";
  }

  const faultId = /^WARNING:\s*ID:\s*([0-9A-Fa-f-]{8,64})\s*$/m.exec(whole);
  const server =
    state.server !== undefined && (component === "PT" || eventKind === "sync" || eventKind === "report")
      ? state.server
      : undefined;
  return {
    time,
    timeBasis: offset.basis,
    loggedTime,
    component,
    level: /\bWARNING\b/.test(message) ? "WARNING" : "INFO",
    process: head[8]!,
    thread: head[9]!,
    message,
    eventKind,
    outcome,
    ...(server !== undefined ? { updateServer: server } : {}),
    ...(faultId ? { soapFaultId: faultId[1]!.toLowerCase() } : {}),
    ...(signature !== undefined ? { signature } : {}),
    ...(initialised && /^\d{1,5}(\.\d{1,5}){1,3}$/.test(initialised[1]!)
      ? { fileVersions: [{ file: "wuaueng.dll", version: initialised[1]! }] }
      : {}),
  };
}
