import type { UpdateOutcome } from "@vigil/schema";
import {
  buildTime,
  type Entry,
  GUID_PATTERN,
  localOffset,
  outcomeFromText,
  quote,
  type UpdateParseOptions,
  updateServer,
} from "./common.ts";

/**
 * ConfigMgr's WSUS sync manager log (`Wsyncmgr.log` on the site server), in its three shapes:
 * - CMTrace: `<![LOG[text]LOG]!><time="HH:MM:SS.mmm+bias" date="MM-DD-YYYY" component="..." context="" type="1" thread="N" file="...">`
 *   (the text may span lines; `bias` is minutes to add to local time to get UTC, as Windows counts it);
 * - SMS 2003 / ConfigMgr 2007: `text  $$<component><MM-DD-YYYY HH:MM:SS.mmm+bias><thread=N (0xN)>`;
 * - plain text lines (excerpts, as advisories quote them): message only, no time.
 */
const CMTRACE = /^<!\[LOG\[([\s\S]*)\]LOG\]!>(<[^\n]*>)\s*$/;
const ATTRIBUTE = /(\w+)="([^"]*)"/g;
const SMS = /^([\s\S]*?)\s*\$\$<([^>]*)><([^>]*)><thread=(\d+)(?:\s*\((0x[0-9A-Fa-f]+)\))?>\s*$/;
const SMS_TIME = /^(\d{1,2})-(\d{1,2})-(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?([+-]\d{1,4})?$/;
const CM_TIME = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?([+-]\d{1,4})?$/;
const CM_DATE = /^(\d{1,2})-(\d{1,2})-(\d{4})$/;

const SYNCHRONIZING_UPDATE = new RegExp(`Synchronizing update \\{?(${GUID_PATTERN})\\}?`, "i");

export const WSYNCMGR_EXPECTED =
  "ConfigMgr Wsyncmgr.log lines: CMTrace '<![LOG[text]LOG]!><time=... date=... component=...>', 'text  $$<component><date time><thread=N>', or plain sync manager text";

/** CMTrace entries may span lines: a line continues an entry whose `]LOG]!>` has not come yet. */
export function wsyncmgrContinues(line: Buffer, previous: Buffer, first: Buffer): boolean {
  if (line.subarray(0, 7).toString("latin1") === "<![LOG[") return false;
  if (first.subarray(0, 7).toString("latin1") !== "<![LOG[") return false;
  return !previous.toString("latin1").includes("]LOG]!><");
}

export interface WsyncmgrState {
  /** The WSUS server the site syncs with, once the log named it. */
  server: { url?: string; host?: string } | undefined;
}

export function newWsyncmgrState(): WsyncmgrState {
  return { server: undefined };
}

/** Windows' bias is UTC minus local time in minutes; RFC 3339 wants local minus UTC. */
function offsetFromBias(bias: string | undefined): number | undefined {
  if (bias === undefined) return undefined;
  const minutes = -Number(bias);
  return Math.abs(minutes) <= 14 * 60 ? minutes : undefined;
}

export function parseWsyncmgrEntry(
  text: string,
  state: WsyncmgrState,
  options: UpdateParseOptions,
): Entry | { invalid: string; kind: "format" | "time" | "orphan" } {
  let message = text;
  let component: string | undefined;
  let level: string | undefined;
  let thread: string | undefined;
  let time: string | undefined;
  let loggedTime: string | undefined;
  let timeBasis: Entry["timeBasis"];
  let outcome: UpdateOutcome | undefined;

  const cm = CMTRACE.exec(text);
  const sms = cm ? null : SMS.exec(text);
  if (cm) {
    message = cm[1]!;
    const attributes = new Map<string, string>();
    for (const match of cm[2]!.matchAll(ATTRIBUTE)) attributes.set(match[1]!, match[2]!);
    const clock = CM_TIME.exec(attributes.get("time") ?? "");
    const date = CM_DATE.exec(attributes.get("date") ?? "");
    if (!clock || !date)
      return {
        kind: "time",
        invalid: `CMTrace entry without a valid time="HH:MM:SS.mmm+bias" date="MM-DD-YYYY": ${quote(cm[2]!)}`,
      };
    const offset = localOffset(offsetFromBias(clock[5]), options);
    time = buildTime(
      Number(date[3]),
      Number(date[1]),
      Number(date[2]),
      Number(clock[1]),
      Number(clock[2]),
      Number(clock[3]),
      clock[4],
      offset.minutes,
    );
    loggedTime = `${attributes.get("date")} ${attributes.get("time")}`;
    timeBasis = offset.basis;
    component = attributes.get("component") || undefined;
    thread = attributes.get("thread") || undefined;
    const type = attributes.get("type");
    level = type === "3" ? "error" : type === "2" ? "warning" : type === "1" ? "info" : type;
    if (type === "3") outcome = "failure";
    else if (type === "2") outcome = "warning";
  } else if (sms) {
    message = sms[1]!;
    component = sms[2]! || undefined;
    thread = sms[4]!;
    loggedTime = sms[3]!;
    const stamp = SMS_TIME.exec(sms[3]!.trim());
    if (stamp) {
      const offset = localOffset(offsetFromBias(stamp[8]), options);
      time = buildTime(
        Number(stamp[3]),
        Number(stamp[1]),
        Number(stamp[2]),
        Number(stamp[4]),
        Number(stamp[5]),
        Number(stamp[6]),
        stamp[7],
        offset.minutes,
      );
      timeBasis = offset.basis;
    }
    if (time === undefined) return { kind: "time", invalid: `impossible or unknown time ${quote(sms[3]!)}` };
  } else if (text.startsWith("<![LOG[")) {
    return { kind: "format", invalid: `CMTrace entry not closed by ']LOG]!><time=... >': ${quote(text)}` };
  } else if (/^\s*$/.test(text)) {
    return { kind: "format", invalid: "empty entry" };
  }
  if (cm && time === undefined)
    return { kind: "time", invalid: `impossible date or time ${quote(loggedTime ?? "")}` };

  const firstLine = message.split("\n")[0]!.trim();
  let signature: Entry["signature"];
  let updateIds: string[] | undefined;

  const deploymentAction =
    /Unexpected DeploymentAction for update (\d+)\. Returned from CreateUpdateNode/.exec(message);
  const summary = /Updates summary: (\d+) processed, (\d+) matched, (\d+) outdated, (\d+) updated/.exec(
    message,
  );
  const statmsg = /STATMSG: ID=(\d+)/.exec(message);
  if (deploymentAction) {
    signature = "ms-954474-unexpected-deploymentaction";
    updateIds = [deploymentAction[1]!];
    outcome = "failure";
  } else if (summary) {
    const counts = summary.slice(1, 5).map(Number);
    if (counts.every((count) => count === 0)) {
      signature = "ms-954474-zero-processed-summary";
      outcome = "warning";
    } else {
      outcome ??= "success";
    }
  } else if (statmsg) {
    // 6701 sync started, 6702 sync done, 6703 sync failed (SMS_WSUS_SYNC_MANAGER status messages).
    const id = statmsg[1];
    if (id === "6703") outcome = "failure";
    else if (id === "6702") outcome ??= "success";
  }
  if (/^Error 0x[0-9A-Fa-f]{8}\b|\bSync failed\b|\bfailed to sync/i.test(firstLine)) outcome = "failure";
  outcome ??= /Sync succeeded|Done synchronizing/i.test(message)
    ? "success"
    : (outcomeFromText(firstLine) ?? "info");

  const serverMatch =
    /(?:Synchronizing (?:SMS )?with WSUS [Ss]erver|WSUS [Ss]erver(?: is| =|:)?|Synchronizing WSUS server)\s+([A-Za-z0-9_.:/[\]-]+)/.exec(
      message,
    );
  if (serverMatch) {
    const server = updateServer(serverMatch[1]!);
    if (server) state.server = server;
  }
  const guid = SYNCHRONIZING_UPDATE.exec(message);
  if (guid) updateIds = [`{${guid[1]!.toUpperCase()}}`];
  const sys = /\bSYS=([A-Za-z0-9_.-]{1,255})/.exec(message);

  return {
    ...(time !== undefined ? { time } : {}),
    ...(timeBasis !== undefined ? { timeBasis } : {}),
    ...(loggedTime !== undefined ? { loggedTime } : {}),
    ...(component !== undefined ? { component } : {}),
    ...(level !== undefined ? { level } : {}),
    ...(thread !== undefined ? { thread } : {}),
    message: message.trim(),
    eventKind: /Started with command line|SMS_EXECUTIVE started|Thread terminated|shutting down/i.test(
      firstLine,
    )
      ? "service"
      : "sync",
    outcome,
    ...(sys ? { host: sys[1]! } : {}),
    ...(state.server !== undefined ? { updateServer: state.server } : {}),
    ...(updateIds !== undefined ? { updateIds } : {}),
    ...(signature !== undefined ? { signature } : {}),
  };
}
