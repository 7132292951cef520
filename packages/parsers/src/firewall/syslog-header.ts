/**
 * Syslog headers as firewalls write them: RFC 5424, RFC 3164 (BSD) with or without `<PRI>`, with
 * or without a hostname or tag, Cisco's `Mmm dd yyyy hh:mm:ss:` and ISO timestamps. Never throws:
 * a line without a recognisable header is all body.
 */
export interface SyslogHeader {
  format: "rfc5424" | "rfc3164" | "none";
  facility?: number;
  severity?: number;
  /** Epoch ms; absent when the header has no (valid) timestamp. */
  time?: number;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  structuredData?: string;
  /** The message after the header. */
  body: string;
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

const PRI = /^<(\d{1,3})>/;
const RFC5424 = /^1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: |$)/;
// `Feb  4 23:33:37`, `Oct 03 2018 17:34:08`, with optional fraction and a trailing colon (Cisco).
const BSD_TIME =
  /^([A-Z][a-z]{2}) {1,2}(\d{1,2})(?: (\d{4}))? (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: ?([A-Z]{3}))?:? /;
const ISO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?):? /;
const TAG = /^([A-Za-z0-9_./-]{1,48})(?:\[([^\]\s]{1,32})\])?:(?: |(?=CEF:))/;
const HOSTNAME = /^[A-Za-z0-9_.:-]{1,255}$/;

/** RFC 3164 has no year: the latest year that does not put the line more than a day ahead of `now`. */
function inferYear(month: number, day: number, now: number): number {
  const year = new Date(now).getUTCFullYear();
  return Date.UTC(year, month, day) > now + 86_400_000 ? year - 1 : year;
}

function bsdTime(match: RegExpExecArray, now: number): number | undefined {
  const month = MONTHS[match[1]!];
  const day = Number(match[2]);
  if (month === undefined || day < 1 || day > 31) return undefined;
  const year = match[3] !== undefined ? Number(match[3]) : inferYear(month, day, now);
  const [hours, minutes, seconds] = [Number(match[4]), Number(match[5]), Number(match[6])];
  if (hours > 23 || minutes > 59 || seconds > 60) return undefined;
  const millis = match[7] !== undefined ? Math.floor(Number(`0.${match[7]}`) * 1000) : 0;
  const time = Date.UTC(year, month, day, hours, minutes, seconds, millis);
  // Date.UTC rolls Feb 31 into March: such a date is not what the line said.
  return new Date(time).getUTCDate() === day ? time : undefined;
}

function isoTime(text: string): number | undefined {
  const time = Date.parse(text);
  return Number.isFinite(time) && time >= 0 ? time : undefined;
}

/** Splits `tag[pid]: ` off a BSD message; what remains is the body. */
function takeTag(rest: string, header: SyslogHeader): string {
  const tag = TAG.exec(rest);
  if (!tag) return rest;
  header.appName = tag[1]!;
  if (tag[2] !== undefined) header.procId = tag[2];
  return rest.slice(tag[0].length);
}

export function parseSyslogHeader(line: string, now: number = Date.now()): SyslogHeader {
  let rest = line;
  const header: SyslogHeader = { format: "none", body: line };
  const pri = PRI.exec(rest);
  if (pri) {
    const value = Number(pri[1]);
    if (value <= 191) {
      header.facility = value >> 3;
      header.severity = value & 7;
      rest = rest.slice(pri[0].length);
    }
  }
  const structured = pri ? RFC5424.exec(rest) : null;
  if (structured) {
    header.format = "rfc5424";
    const nil = (value: string) => (value === "-" ? undefined : value);
    const time = nil(structured[1]!);
    if (time !== undefined) {
      const parsed = isoTime(time);
      if (parsed !== undefined) header.time = parsed;
    }
    const fields = {
      hostname: nil(structured[2]!),
      appName: nil(structured[3]!),
      procId: nil(structured[4]!),
      msgId: nil(structured[5]!),
      structuredData: nil(structured[6]!),
    };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) header[key as "hostname"] = value;
    }
    let body = rest.slice(structured[0].length);
    if (body.startsWith("\uFEFF")) body = body.slice(1);
    header.body = body;
    return header;
  }

  const bsd = BSD_TIME.exec(rest);
  const iso = bsd ? null : ISO_TIME.exec(rest);
  if (bsd || iso) {
    header.format = "rfc3164";
    const time = bsd ? bsdTime(bsd, now) : isoTime(iso![1]!);
    if (time !== undefined) header.time = time;
    rest = rest.slice((bsd ?? iso)![0].length);
    // A message straight after the time (`Jan 22 18:34:00 filterlog: ...`, `... : %ASA-...`) has no hostname.
    if (rest.startsWith("%") || rest.startsWith(": ") || TAG.test(rest)) {
      if (rest.startsWith(": ")) rest = rest.slice(2);
      header.body = takeTag(rest, header);
      return header;
    }
    const space = rest.indexOf(" ");
    const host = space === -1 ? rest : rest.slice(0, space);
    if (space !== -1 && HOSTNAME.test(host)) {
      header.hostname = host;
      rest = rest.slice(space + 1);
      // Cisco with `logging device-id`: `asa01 : %ASA-...`.
      if (rest.startsWith(": ")) rest = rest.slice(2);
    }
    header.body = takeTag(rest, header);
    return header;
  }
  // `<134>%ASA-...` or `filterlog: ...`: a priority and/or a tag, nothing else of a header.
  if (pri) header.format = "rfc3164";
  header.body = takeTag(rest, header);
  return header;
}
