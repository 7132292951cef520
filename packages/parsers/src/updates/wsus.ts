import type { UpdateEventKind, UpdateOutcome } from "@vigil/schema";
import {
  buildTime,
  type Entry,
  GUID_PATTERN,
  kindFromText,
  outcomeFromText,
  quote,
  updateServer,
} from "./common.ts";

/**
 * WSUS 3.0's server log (`%ProgramFiles%\Update Services\LogFiles\SoftwareDistribution.log`):
 * `YYYY-MM-DD HH:MM:SS.mmm UTC<TAB>Level<TAB>process.thread<TAB>Class.Method<TAB>text`, and the
 * lines of a .NET stack trace (`at ...`) after an exception. Blanks separate the fields in copies.
 */
export const WSUS_HEADER =
  /^(\d{4})-(\d{2})-(\d{2})[\t ](\d{2}):(\d{2}):(\d{2})\.(\d{3})[\t ]+UTC[\t ]+([A-Za-z]+)[\t ]+(\S+)[\t ]+(\S+)(?:[\t ]+(.*))?$/;

/** A line starting with the timestamp starts an entry; anything else continues the one before. */
const WSUS_START = /^\d{4}-\d{2}-\d{2}[\t ]\d{2}:\d{2}:\d{2}\.\d{3}[\t ]+UTC\b/;

export const WSUS_EXPECTED =
  "WSUS SoftwareDistribution.log lines: 'YYYY-MM-DD HH:MM:SS.mmm UTC<TAB>Level<TAB>process.thread<TAB>Class.Method<TAB>text'";

export function wsusContinues(line: Buffer): boolean {
  return !WSUS_START.test(line.toString("latin1", 0, 40));
}

const FAULT_ID = new RegExp(`\\bID=(${GUID_PATTERN})`, "i");
const EXCEPTION = /^((?:[A-Za-z_][\w]*\.)+[A-Za-z_]\w*(?:Exception|Error))\s*:\s*(.*)$/;

function kindOf(component: string, message: string): UpdateEventKind {
  if (
    /SyncUpdates|GetCookie|GetConfig|RegisterComputer|GetExtendedUpdateInfo|CatalogSync|Synchroniz/i.test(
      component,
    )
  )
    return "sync";
  if (/Report/i.test(component)) return "report";
  if (/ClientWebService|client\.asmx/i.test(message)) return "sync";
  if (/Content|Download|BITS/i.test(component)) return "download";
  if (/\.ctor|Startup|Service(Start|Stop)|OnStart|OnStop|Init/i.test(component)) return "service";
  return kindFromText(`${component} ${message}`) ?? "other";
}

export function parseWsusEntry(
  text: string,
): Entry | { invalid: string; kind: "format" | "time" | "orphan" } {
  const lines = text.split("\n");
  const head = WSUS_HEADER.exec(lines[0]!);
  if (!head) {
    return {
      kind: WSUS_START.test(lines[0]!) ? "format" : "orphan",
      invalid: `expected ${WSUS_EXPECTED}, found ${quote(lines[0]!)}`,
    };
  }
  const time = buildTime(
    Number(head[1]),
    Number(head[2]),
    Number(head[3]),
    Number(head[4]),
    Number(head[5]),
    Number(head[6]),
    head[7],
    0,
  );
  const loggedTime = `${head[1]}-${head[2]}-${head[3]} ${head[4]}:${head[5]}:${head[6]}.${head[7]} UTC`;
  if (time === undefined) return { kind: "time", invalid: `impossible date or time ${quote(loggedTime)}` };
  const level = head[8]!;
  const component = head[10]!;
  const message = (head[11] ?? "").trim();

  let outcome: UpdateOutcome = /^(Error|Fatal)$/i.test(level)
    ? "failure"
    : /^Warn/i.test(level)
      ? "warning"
      : (outcomeFromText(message) ?? "info");
  if (outcome === "failure" && /^Info/i.test(level)) outcome = "warning";

  const exception = EXCEPTION.exec(message);
  let signature: Entry["signature"];
  if (
    exception &&
    /ClientImplementation\.SyncUpdates/.test(component) &&
    exception[1] === "System.ArgumentException" &&
    /Item has already been added/.test(exception[2]!)
  )
    signature = "ms-954960-server-duplicate-key";

  const actor = /\bactor\s*=\s*([^\s,]+)/i.exec(message);
  const faultId = FAULT_ID.exec(message);
  return {
    time,
    timeBasis: "utc",
    loggedTime,
    component,
    level,
    process: head[9]!,
    message,
    eventKind: kindOf(component, message),
    outcome,
    ...(actor ? withServer(actor[1]!) : {}),
    ...(faultId ? { soapFaultId: faultId[1]!.toLowerCase() } : {}),
    ...(exception ? { exception: { type: exception[1]!, message: exception[2]! } } : {}),
    ...(signature !== undefined ? { signature } : {}),
  };
}

function withServer(url: string): { updateServer?: { url?: string; host?: string } } {
  const server = updateServer(url);
  return server ? { updateServer: server } : {};
}
