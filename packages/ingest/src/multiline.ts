import type { Line } from "./lines.ts";

/** A record made of one or more physical lines; `lineNumber` is its first line (dead letters point there). */
export interface RecordLines<L extends Line = Line> extends Line {
  lastLineNumber: number;
  lineCount: number;
  /** The record's last physical line as the reader gave it (a tail's carries the position a checkpoint resumes after). */
  last: L;
}

/** What the grouping knows of the record being built when it asks whether a line continues it. */
export interface OpenRecord {
  /** The record's first line. */
  first: Buffer;
  /** The line before the candidate. */
  previous: Buffer;
  lineCount: number;
}

export interface GroupLinesOptions {
  /** Does `line` belong to the open record (a stack frame, a fault line) rather than start a new one? */
  continues: (line: Buffer, record: OpenRecord) => boolean;
  /** A record longer than this is yielded as oversized, holding its first `maxRecordBytes` bytes. */
  maxRecordBytes: number;
  /** More lines than this start a new record, so one runaway trace cannot swallow the file (default 10 000). */
  maxRecordLines?: number;
  /**
   * A record whose next line has not arrived within this many ms is yielded anyway, so a tailed
   * stream does not hold its last entry back forever (default: wait for the next line or the end).
   */
  flushAfterMs?: number;
}

const NEWLINE = Buffer.from("\n");

/**
 * Groups physical lines into records: a line either continues the open record (as `continues`
 * says) or starts a new one. Records are `Line`-shaped (bytes joined with `\n`, numbered by their
 * first line), so `runIngest` takes them as they are. An oversized input line is a record of its
 * own; a record that outgrows `maxRecordBytes` keeps its first bytes and is marked oversized, its
 * further lines are counted but not held.
 */
export async function* groupLines<L extends Line = Line>(
  lines: AsyncIterable<L>,
  options: GroupLinesOptions,
): AsyncGenerator<RecordLines<L>> {
  const { continues, maxRecordBytes } = options;
  if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1)
    throw new RangeError("maxRecordBytes must be a positive integer");
  const maxRecordLines = options.maxRecordLines ?? 10_000;

  let parts: Buffer[] = [];
  let held = 0;
  let length = 0;
  let first: Buffer | undefined;
  let previous: Buffer | undefined;
  let firstLine = 0;
  let lastLine = 0;
  let lastRead: L | undefined;
  let count = 0;
  let oversized = false;

  const open = (line: L): void => {
    parts = [line.bytes];
    held = line.bytes.length;
    length = line.length;
    first = line.bytes;
    previous = line.bytes;
    firstLine = line.lineNumber;
    lastLine = line.lineNumber;
    lastRead = line;
    count = 1;
    oversized = line.oversized;
  };

  const append = (line: L): void => {
    length += 1 + line.length;
    lastLine = line.lineNumber;
    lastRead = line;
    previous = line.bytes;
    count += 1;
    if (oversized) return;
    if (held + 1 + line.bytes.length <= maxRecordBytes) {
      parts.push(NEWLINE, line.bytes);
      held += 1 + line.bytes.length;
      return;
    }
    oversized = true;
    const room = maxRecordBytes - held;
    if (room > 0) parts.push(Buffer.concat([NEWLINE, line.bytes]).subarray(0, room));
  };

  const close = (): RecordLines<L> | undefined => {
    if (first === undefined || lastRead === undefined) return undefined;
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const record: RecordLines<L> = {
      lineNumber: firstLine,
      lastLineNumber: lastLine,
      last: lastRead,
      lineCount: count,
      bytes,
      oversized,
      length,
    };
    parts = [];
    first = undefined;
    previous = undefined;
    lastRead = undefined;
    return record;
  };

  const accept = (line: L): RecordLines<L> | undefined => {
    if (
      first !== undefined &&
      count < maxRecordLines &&
      continues(line.bytes, { first, previous: previous!, lineCount: count })
    ) {
      append(line);
      return undefined;
    }
    const done = close();
    open(line);
    return done;
  };

  const flushAfterMs = options.flushAfterMs;
  if (flushAfterMs === undefined) {
    for await (const line of lines) {
      // An oversized line never continues nor is continued: it is dead-lettered on its own.
      if (line.oversized) {
        const done = close();
        if (done) yield done;
        open(line);
        yield close()!;
        continue;
      }
      const done = accept(line);
      if (done) yield done;
    }
    const last = close();
    if (last) yield last;
    return;
  }

  // Tailing: race each next line against the idle timer, keeping the pending read across races.
  const iterator = lines[Symbol.asyncIterator]();
  let pendingNext: Promise<IteratorResult<L>> | undefined;
  const idle = Symbol("idle");
  try {
    for (;;) {
      pendingNext ??= iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const next =
        first === undefined
          ? await pendingNext
          : await Promise.race([
              pendingNext,
              new Promise<typeof idle>((resolve) => {
                timer = setTimeout(() => resolve(idle), flushAfterMs);
              }),
            ]);
      if (timer) clearTimeout(timer);
      if (next === idle) {
        const done = close();
        if (done) yield done;
        continue;
      }
      pendingNext = undefined;
      if (next.done) break;
      const line = next.value;
      if (line.oversized) {
        const done = close();
        if (done) yield done;
        open(line);
        yield close()!;
        continue;
      }
      const done = accept(line);
      if (done) yield done;
    }
  } finally {
    await iterator.return?.();
  }
  const last = close();
  if (last) yield last;
}
