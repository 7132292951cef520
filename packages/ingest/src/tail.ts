import type { BigIntStats } from "node:fs";
import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FilePosition } from "./checkpoint.ts";
import { DEFAULT_OVERSIZED_KEEP_BYTES, type Line } from "./lines.ts";

/** A line read by `tailFile`: where it ends, so a checkpoint can resume right after it. */
export interface TailLine extends Line {
  /** The file this line came from (after a rotation: the rotated file's current name). */
  path: string;
  /** The position just after this line (its `\n` included). */
  position: FilePosition;
}

export type TailEvent =
  | { kind: "opened"; path: string; dev: string; ino: string; offset: number }
  | { kind: "resumed"; path: string; offset: number; line: number }
  /** The checkpointed file was rotated away while we were down: its rest is read first. */
  | { kind: "resumed-rotated"; path: string; offset: number }
  /** The checkpointed file is gone and could not be found beside the path: lines may be lost. */
  | { kind: "checkpoint-file-missing"; path: string; dev: string; ino: string }
  | { kind: "rotated"; path: string }
  /** copytruncate: the file shrank under us; reading restarts at byte 0. */
  | { kind: "truncated"; path: string; size: number; offset: number };

export interface TailOptions {
  path: string;
  /** Longest line accepted, in bytes; longer ones are yielded once as oversized (see `readLines`). */
  maxLineBytes: number;
  oversizedKeepBytes?: number;
  /** Resume here (a checkpoint); default: the start of the file. */
  start?: FilePosition | undefined;
  /** Keep waiting for new lines and follow rotations (default true); false: stop at end of file. */
  follow?: boolean;
  /** How often an idle tail looks for new data, rotation and truncation (default 250 ms). */
  pollIntervalMs?: number;
  /** Bytes per read (default 64 KiB). */
  chunkBytes?: number;
  signal?: AbortSignal;
  onEvent?: (event: TailEvent) => void;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

interface OpenFile {
  handle: FileHandle;
  path: string;
  dev: string;
  ino: string;
}

function identity(stats: BigIntStats): { dev: string; ino: string } {
  return { dev: stats.dev.toString(), ino: stats.ino.toString() };
}

async function openFile(path: string): Promise<OpenFile> {
  const handle = await open(path, "r");
  try {
    const stats = await handle.stat({ bigint: true });
    if (stats.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: "EISDIR" });
    return { handle, path, ...identity(stats) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function statIdentity(path: string): Promise<{ dev: string; ino: string } | undefined> {
  try {
    return identity(await stat(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** logrotate names: `eve.json.1`, `eve.json-20240317`, `eve.json.1.gz` (compressed ones never match an inode we read). */
async function findRotated(path: string, dev: string, ino: string): Promise<string | undefined> {
  const dir = dirname(path);
  const name = basename(path);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (entry === name || !entry.startsWith(name)) continue;
    const found = await statIdentity(join(dir, entry)).catch(() => undefined);
    if (found?.dev === dev && found.ino === ino) return join(dir, entry);
  }
  return undefined;
}

/**
 * Splits bytes into lines while counting file offsets, holding at most `maxLineBytes` of a line
 * (the rest of an oversized line is skipped as it streams by, as `readLines` does).
 */
class LineCutter {
  #parts: Buffer[] = [];
  #held = 0;
  #length = 0;
  #oversized = false;
  readonly #max: number;
  readonly #keep: number;

  constructor(max: number, keep: number) {
    this.#max = max;
    this.#keep = Math.min(keep, max);
  }

  get pending(): boolean {
    return this.#length > 0;
  }

  take(chunk: Buffer, start: number, end: number): void {
    this.#length += end - start;
    if (this.#oversized) return;
    if (this.#held + (end - start) <= this.#max) {
      this.#parts.push(chunk.subarray(start, end));
      this.#held += end - start;
      return;
    }
    this.#oversized = true;
    const prefix = Buffer.concat(
      [...this.#parts, chunk.subarray(start, end)],
      Math.min(this.#held + (end - start), this.#keep),
    );
    this.#parts = [prefix];
    this.#held = prefix.length;
  }

  /** The line so far, or undefined when it is blank (skipped, though it still counts). */
  finish(): { bytes: Buffer; oversized: boolean; length: number } | undefined {
    let bytes = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#held);
    let length = this.#length;
    const oversized = this.#oversized;
    if (!oversized && bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, bytes.length - 1);
      length -= 1;
    }
    this.reset();
    if (!oversized && isBlank(bytes)) return undefined;
    return { bytes, oversized, length };
  }

  reset(): void {
    this.#parts = [];
    this.#held = 0;
    this.#length = 0;
    this.#oversized = false;
  }
}

function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) return false;
  }
  return true;
}

/**
 * Reads a file line by line from `start` (a checkpoint) or its beginning and, with `follow`,
 * keeps reading as it grows, like `tail -F`:
 * - rename + create rotation: the old file is read to its end (a last line without `\n` is
 *   taken as complete), then the new file from byte 0;
 * - copytruncate: when the file shrinks below the read offset, reading restarts at byte 0
 *   (what the writer added between the copy and the truncation is lost: copytruncate's own race);
 * - a checkpoint whose file was rotated away while the process was down: the rotated file is
 *   found beside the path by its inode and its rest is read first.
 * Memory is bounded by one read chunk plus `maxLineBytes`; nothing is read ahead of the consumer
 * (an async generator only runs when pulled), so a slow publisher pauses the tail.
 * Lines carry per-file line numbers and `position`, the offset just after them.
 */
export async function* tailFile(options: TailOptions): AsyncGenerator<TailLine> {
  const { maxLineBytes, signal } = options;
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1)
    throw new RangeError("maxLineBytes must be a positive integer");
  const follow = options.follow ?? true;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const emit = options.onEvent ?? (() => {});
  const cutter = new LineCutter(maxLineBytes, options.oversizedKeepBytes ?? DEFAULT_OVERSIZED_KEEP_BYTES);

  let file: OpenFile | undefined;
  /** Offset of the next byte to read. */
  let readOffset = 0;
  /** Offset just after the last complete line, and that line's number. */
  let lineEnd = 0;
  let lineNumber = 0;
  /** The file being read is a rotated one to finish before `options.path`. */
  let draining = false;
  /** A rotation is acted on at the second idle look, so a writer's last lines into the old file are not missed. */
  let rotationSeen = false;

  const wait = async (): Promise<boolean> => {
    try {
      await sleep(pollIntervalMs, undefined, signal ? { signal } : {});
      return true;
    } catch {
      return false;
    }
  };

  const start = options.start;
  try {
    for (;;) {
      try {
        file = await openFile(options.path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !follow) throw error;
        if (!(await wait())) return;
      }
    }
    if (start !== undefined) {
      if (start.dev === file.dev && start.ino === file.ino) {
        const size = (await file.handle.stat()).size;
        if (start.offset <= size) {
          readOffset = lineEnd = start.offset;
          lineNumber = start.line;
          emit({ kind: "resumed", path: file.path, offset: start.offset, line: start.line });
        } else {
          emit({ kind: "truncated", path: file.path, size, offset: start.offset });
        }
      } else {
        const rotated = await findRotated(options.path, start.dev, start.ino);
        if (rotated !== undefined) {
          await file.handle.close();
          file = await openFile(rotated);
          readOffset = lineEnd = start.offset;
          lineNumber = start.line;
          draining = true;
          emit({ kind: "resumed-rotated", path: rotated, offset: start.offset });
        } else {
          emit({ kind: "checkpoint-file-missing", path: options.path, dev: start.dev, ino: start.ino });
        }
      }
    }
    emit({ kind: "opened", path: file.path, dev: file.dev, ino: file.ino, offset: readOffset });

    const lineAt = (
      current: OpenFile,
      cut: { bytes: Buffer; oversized: boolean; length: number },
      end: number,
    ): TailLine => ({
      lineNumber,
      bytes: cut.bytes,
      oversized: cut.oversized,
      length: cut.length,
      path: current.path,
      position: { dev: current.dev, ino: current.ino, offset: end, line: lineNumber },
    });

    for (;;) {
      if (signal?.aborted) return;
      const current: OpenFile = file;
      const chunk = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await current.handle.read(chunk, 0, chunkBytes, readOffset);
      if (bytesRead > 0) {
        const data = chunk.subarray(0, bytesRead);
        const base = readOffset;
        readOffset += bytesRead;
        let from = 0;
        for (;;) {
          const newline = data.indexOf(NEWLINE, from);
          if (newline === -1) break;
          cutter.take(data, from, newline);
          lineNumber += 1;
          lineEnd = base + newline + 1;
          const cut = cutter.finish();
          if (cut) yield lineAt(current, cut, lineEnd);
          if (signal?.aborted) return;
          from = newline + 1;
        }
        if (from < data.length) cutter.take(data, from, data.length);
        rotationSeen = false;
        continue;
      }

      // End of this file for now.
      const size = Number((await current.handle.stat({ bigint: true })).size);
      if (size < readOffset) {
        emit({ kind: "truncated", path: current.path, size, offset: readOffset });
        cutter.reset();
        readOffset = lineEnd = 0;
        lineNumber = 0;
        continue;
      }
      if (size > readOffset) continue;

      const atPath = draining ? undefined : await statIdentity(options.path);
      const switchFile =
        draining || (atPath !== undefined && (atPath.dev !== current.dev || atPath.ino !== current.ino));
      if (!follow && !draining) {
        if (cutter.pending) {
          lineNumber += 1;
          const cut = cutter.finish();
          if (cut) yield lineAt(current, cut, readOffset);
        }
        return;
      }
      if (switchFile && !draining && !rotationSeen) {
        rotationSeen = true;
        if (!(await wait())) return;
        continue;
      }
      if (switchFile) {
        rotationSeen = false;
        // The writer has moved on: a last line without a newline is as complete as it will get.
        if (cutter.pending) {
          lineNumber += 1;
          const cut = cutter.finish();
          if (cut) yield lineAt(current, cut, readOffset);
        }
        await current.handle.close();
        file = undefined;
        for (;;) {
          try {
            file = await openFile(options.path);
            break;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
            if (!(await wait())) return;
          }
        }
        draining = false;
        readOffset = lineEnd = 0;
        lineNumber = 0;
        emit({ kind: "rotated", path: file.path });
        emit({ kind: "opened", path: file.path, dev: file.dev, ino: file.ino, offset: 0 });
        continue;
      }
      if (!(await wait())) return;
    }
  } finally {
    await file?.handle.close().catch(() => {});
  }
}
