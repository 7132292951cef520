import type { Readable } from "node:stream";

export interface Line {
  /** 1-based physical line number in the input (empty lines count, so numbers match the file). */
  lineNumber: number;
  /**
   * The line without its `\n` / `\r\n`. For an oversized line: only its first `oversizedKeepBytes`
   * bytes, the rest was skipped without being held in memory.
   */
  bytes: Buffer;
  /** The line was longer than `maxLineBytes`. */
  oversized: boolean;
  /** Full length of the line in bytes (without the line break), also for an oversized line. */
  length: number;
}

export interface ReadLinesOptions {
  /** Longest line accepted, in bytes; longer ones are reported as oversized. */
  maxLineBytes: number;
  /** How much of an oversized line is kept as evidence (default 64 KiB, at most `maxLineBytes`). */
  oversizedKeepBytes?: number;
  /** Ends the iteration early (the input is destroyed) without an error. */
  signal?: AbortSignal;
}

export const DEFAULT_OVERSIZED_KEEP_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into lines on `\n` (a trailing `\r` is dropped) without decoding it, so
 * memory stays bounded by `maxLineBytes` whatever the input. Lines that are empty or only
 * blanks are skipped; a last line without a newline is still yielded (a cut-off record then
 * reaches the parser, which refuses it).
 */
export async function* readLines(input: Readable, options: ReadLinesOptions): AsyncGenerator<Line> {
  const { maxLineBytes } = options;
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1)
    throw new RangeError("maxLineBytes must be a positive integer");
  const keepBytes = Math.min(options.oversizedKeepBytes ?? DEFAULT_OVERSIZED_KEEP_BYTES, maxLineBytes);
  const onAbort = () => input.destroy();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  let parts: Buffer[] = [];
  let held = 0;
  let length = 0;
  let oversized = false;
  let lineNumber = 0;

  const take = (chunk: Buffer, start: number, end: number) => {
    length += end - start;
    if (oversized) return;
    if (held + (end - start) <= maxLineBytes) {
      parts.push(chunk.subarray(start, end));
      held += end - start;
      return;
    }
    oversized = true;
    // concat copies, so the chunks behind the dropped part of the line can be collected.
    const prefix = Buffer.concat(
      [...parts, chunk.subarray(start, end)],
      Math.min(held + (end - start), keepBytes),
    );
    parts = [prefix];
    held = prefix.length;
  };

  const finish = (): Line | undefined => {
    lineNumber += 1;
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
    let lineLength = length;
    if (!oversized && bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, bytes.length - 1);
      lineLength -= 1;
    }
    const line = { lineNumber, bytes, oversized, length: lineLength };
    parts = [];
    held = 0;
    length = 0;
    oversized = false;
    return !line.oversized && isBlank(line.bytes) ? undefined : line;
  };

  try {
    for await (const chunk of input) {
      const buffer: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      let start = 0;
      for (;;) {
        const newline = buffer.indexOf(NEWLINE, start);
        if (newline === -1) break;
        take(buffer, start, newline);
        const line = finish();
        if (line) yield line;
        start = newline + 1;
      }
      if (start < buffer.length) take(buffer, start, buffer.length);
    }
  } catch (error) {
    if (options.signal?.aborted) return;
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (options.signal?.aborted) return;
  if (length > 0) {
    const line = finish();
    if (line) yield line;
  }
}

function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) return false;
  }
  return true;
}
