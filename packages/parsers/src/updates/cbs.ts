import type { UpdateEventKind, UpdateOutcome } from "@vigil/schema";
import { buildTime, type Entry, localOffset, quote, type UpdateParseOptions } from "./common.ts";

/**
 * The component-based servicing log (`%windir%\Logs\CBS\CBS.log`, Vista and later):
 * `YYYY-MM-DD HH:MM:SS, Level<spaces>Component<spaces>text`, local time without offset. Lines
 * without the timestamp (e.g. the `CSIPERF:` line after `CSI perf trace:`) continue the entry.
 */
export const CBS_HEADER =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}), ([A-Za-z]+)[\t ]+([A-Za-z][\w-]{0,31})(?:[\t ]+(.*?))?[\t ]*$/;
const CBS_START = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}, /;

export const CBS_EXPECTED = "CBS.log lines: 'YYYY-MM-DD HH:MM:SS, Level  Component  text'";

export function cbsContinues(line: Buffer): boolean {
  return !CBS_START.test(line.toString("latin1", 0, 24));
}

function kindOf(component: string, message: string): UpdateEventKind {
  if (/Exec: (?:Installing|Staging|Resolving)|\binstall(?:ing|ed|ation)?\b/i.test(message)) return "install";
  if (/\bdownload/i.test(message)) return "download";
  if (/applicab|Plan:|Appl:|\bdetect/i.test(message)) return "detect";
  if (/Loaded Servicing Stack|TrustedInstaller|Startup processing|Ending TrustedInstaller/i.test(message))
    return "service";
  return component === "CBS" || component === "CSI" ? "servicing" : "other";
}

function outcomeOf(level: string, message: string): UpdateOutcome {
  if (/^Error$/i.test(level)) return "failure";
  if (/^Warning$/i.test(level)) return "warning";
  // CBS logs every failed HRESULT at Info level; the text says what happened.
  if (/^(?:SQM: )?Warning:/i.test(message)) return "warning";
  if (/\bFailed\b|\bfailure\b|\berror\b/i.test(message) && !/HRESULT = 0x00000000/i.test(message))
    return "failure";
  if (/\bsucce(?:ss|ssfully|eded)\b|completed successfully|\bSuccess\b/i.test(message)) return "success";
  return "info";
}

export function parseCbsEntry(
  text: string,
  options: UpdateParseOptions,
): Entry | { invalid: string; kind: "format" | "time" | "orphan" } {
  const lines = text.split("\n");
  const head = CBS_HEADER.exec(lines[0]!);
  if (!head) {
    return {
      kind: CBS_START.test(lines[0]!) ? "format" : "orphan",
      invalid: `expected ${CBS_EXPECTED}, found ${quote(lines[0]!)}`,
    };
  }
  const offset = localOffset(undefined, options);
  const loggedTime = `${head[1]}-${head[2]}-${head[3]} ${head[4]}:${head[5]}:${head[6]}`;
  const time = buildTime(
    Number(head[1]),
    Number(head[2]),
    Number(head[3]),
    Number(head[4]),
    Number(head[5]),
    Number(head[6]),
    undefined,
    offset.minutes,
  );
  if (time === undefined) return { kind: "time", invalid: `impossible date or time ${quote(loggedTime)}` };
  const level = head[7]!;
  const component = head[8]!;
  const message = head[9] ?? "";
  return {
    time,
    timeBasis: offset.basis,
    loggedTime,
    component,
    level,
    message,
    eventKind: kindOf(component, message),
    outcome: outcomeOf(level, message),
  };
}
