import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { Delivery, IncidentOutput } from "../delivery.ts";
import { jsonLine } from "../payload.ts";

export interface JsonLinesOutputOptions {
  name?: string;
  path: string;
  /** ISO time the line records as `delivered_at`; injectable for tests. */
  now?: () => string;
}

/**
 * Appends one JSON line per delivery and fsyncs before reporting it delivered. A retry after a
 * crash between the write and the acknowledgment can append the same delivery twice: consumers
 * dedupe by the line's `key`.
 */
export function jsonLinesOutput(options: JsonLinesOutputOptions): IncidentOutput {
  const now = options.now ?? (() => new Date().toISOString());
  let handle: FileHandle | undefined;
  let writing: Promise<void> = Promise.resolve();

  async function openHandle(): Promise<FileHandle> {
    if (handle) return handle;
    await mkdir(dirname(options.path), { recursive: true });
    const opened = await open(options.path, "a+");
    // A crash mid-write can leave a torn last line: start on a fresh line so the next record stays whole.
    const { size } = await opened.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await opened.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await opened.appendFile("\n");
    }
    handle = opened;
    return opened;
  }

  async function append(line: string): Promise<void> {
    const file = await openHandle();
    try {
      await file.appendFile(line);
      await file.sync();
    } catch (error) {
      handle = undefined;
      await file.close().catch(() => {});
      throw error;
    }
  }

  return {
    name: options.name ?? "jsonl",
    deliver(delivery: Delivery): Promise<void> {
      // Serialised: two deliveries never interleave their bytes.
      const result = writing.then(() => append(jsonLine(delivery, now())));
      writing = result.catch(() => {});
      return result;
    },
    async close(): Promise<void> {
      await writing;
      await handle?.close();
      handle = undefined;
    },
  };
}
