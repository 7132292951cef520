import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";

/**
 * Where a file tail stands: the file's identity (device + inode, as decimal strings because
 * inodes can exceed 2^53) and the byte offset just after the last line that was handled, with
 * that line's 1-based number so dead-letter locations stay right after a resume.
 */
export interface FilePosition {
  dev: string;
  ino: string;
  offset: number;
  line: number;
}

const CheckpointRecord = z.object({
  version: z.literal(1),
  /** The tailed path: a checkpoint of another file is refused rather than applied. */
  source: z.string(),
  position: z.object({
    dev: z.string().regex(/^\d+$/),
    ino: z.string().regex(/^\d+$/),
    offset: z.number().int().min(0),
    line: z.number().int().min(0),
  }),
  updated: z.string(),
});

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/**
 * Writes `data` so that a reader (or a crash at any instant) sees either the old file or the
 * new one, never a torn mix: temp file in the same directory, fsync, rename, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temp, "w", 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // The rename itself is only durable once the directory entry is on disk.
  const dirHandle = await open(dir, "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/**
 * A durable checkpoint file for one tailed source. `save` calls are serialized and coalesced:
 * when several arrive while one is being written, only the newest is written next.
 */
export class FileCheckpoint {
  readonly path: string;
  readonly source: string;
  #writing: Promise<void> = Promise.resolve();
  #next: FilePosition | undefined;
  #saved: FilePosition | undefined;

  constructor(path: string, source: string) {
    this.path = path;
    this.source = source;
  }

  /** The saved position, or undefined when there is no checkpoint yet. */
  async load(): Promise<FilePosition | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new CheckpointError(`cannot read checkpoint ${this.path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new CheckpointError(
        `checkpoint ${this.path} is not valid JSON (${(error as Error).message}); remove it to start over`,
      );
    }
    const parsed = CheckpointRecord.safeParse(json);
    if (!parsed.success)
      throw new CheckpointError(
        `checkpoint ${this.path} is not a Vigil checkpoint (${parsed.error.issues[0]?.message ?? "invalid"}); remove it to start over`,
      );
    if (parsed.data.source !== this.source)
      throw new CheckpointError(
        `checkpoint ${this.path} belongs to ${parsed.data.source}, not ${this.source}; use one checkpoint file per source`,
      );
    this.#saved = parsed.data.position;
    return { ...parsed.data.position };
  }

  /** The last position durably written by this instance (or loaded). */
  get saved(): FilePosition | undefined {
    return this.#saved;
  }

  /** Resolves once `position` (or a newer one) is durably on disk. */
  save(position: FilePosition): Promise<void> {
    this.#next = { ...position };
    this.#writing = this.#writing.then(async () => {
      const next = this.#next;
      if (next === undefined) return;
      this.#next = undefined;
      await mkdir(dirname(this.path), { recursive: true });
      const record: z.input<typeof CheckpointRecord> = {
        version: 1,
        source: this.source,
        position: next,
        updated: new Date().toISOString(),
      };
      await writeFileAtomic(this.path, `${JSON.stringify(record)}\n`);
      this.#saved = next;
    });
    return this.#writing;
  }
}
