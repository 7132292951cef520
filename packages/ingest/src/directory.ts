import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { z } from "zod";
import { CheckpointError, writeFileAtomic } from "./checkpoint.ts";

/** A file found in a watched directory. */
export interface DirectoryFile {
  /** Path to open (the directory joined with `name`). */
  path: string;
  /** Path relative to the directory, with `/` separators: the key the state remembers it by. */
  name: string;
  size: number;
  mtimeMs: number;
}

const DirectoryState = z.object({
  processed: z.record(z.string(), z.object({ size: z.number(), mtimeMs: z.number(), at: z.string() })),
});
export type DirectoryState = z.infer<typeof DirectoryState>;

export interface WatchDirectoryOptions {
  dir: string;
  /** Where processed files are remembered (JSON, written atomically after each file). */
  statePath: string;
  /** Write the state file (default true); false keeps it in memory only, e.g. for a dry run. */
  persist?: boolean;
  /** Descend into subdirectories (default false). Dot-files and dot-directories are always skipped. */
  recursive?: boolean;
  /** Which files to take, by their relative name (default: every file). */
  accept?: (name: string) => boolean;
  /** Process what is there now and return, instead of polling. */
  once: boolean;
  pollMs: number;
  signal?: AbortSignal;
  /**
   * Handles one file; once it resolves, the file is remembered and not handed over again while
   * its size and mtime stay the same. Resolving `false` (e.g. stopped half-way) does not remember it.
   * A rejection stops the watch.
   */
  process: (file: DirectoryFile) => Promise<unknown>;
}

export async function loadDirectoryState(path: string): Promise<DirectoryState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { processed: {} };
    throw new CheckpointError(`state ${path} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(
      `state ${path} is not valid JSON (${(error as Error).message}); remove it to process every file again`,
    );
  }
  const parsed = DirectoryState.safeParse(json);
  if (!parsed.success)
    throw new CheckpointError(
      `state ${path} is not a processed-files record (${parsed.error.issues[0]?.message ?? "invalid"}); remove it to process every file again`,
    );
  return parsed.data;
}

async function listFiles(
  dir: string,
  recursive: boolean,
  skip: string,
  accept: (name: string) => boolean,
): Promise<DirectoryFile[]> {
  const found: DirectoryFile[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (recursive) await walk(path);
        continue;
      }
      if (resolve(path) === skip) continue;
      const name = relative(dir, path).split(sep).join("/");
      if (!accept(name)) continue;
      // Gone or replaced since the listing: the next scan sees it as it is then.
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      found.push({ path, name, size: info.size, mtimeMs: info.mtimeMs });
    }
  };
  await walk(dir);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((done) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        done();
      },
      { once: true },
    );
  });

/**
 * Hands every file of a directory to `process` once, remembering processed files (by relative name,
 * size and mtime) in a state file so a rerun does not process them again; a file whose size or mtime
 * changed is processed again. Polling, a file is only taken once its size and mtime held for one
 * scan, so a file still being copied in is not read half-written (`once` takes what is there).
 * Returns how many files were processed.
 */
export async function watchDirectory(options: WatchDirectoryOptions): Promise<number> {
  const persist = options.persist ?? true;
  const state = await loadDirectoryState(options.statePath);
  const skip = resolve(options.statePath);
  const accept = options.accept ?? (() => true);
  const previous = new Map<string, string>();
  let processed = 0;
  while (!options.signal?.aborted) {
    for (const file of await listFiles(options.dir, options.recursive ?? false, skip, accept)) {
      if (options.signal?.aborted) break;
      const done = state.processed[file.name];
      if (done && done.size === file.size && done.mtimeMs === file.mtimeMs) continue;
      const seen = `${file.size}:${file.mtimeMs}`;
      if (!options.once && previous.get(file.name) !== seen) {
        previous.set(file.name, seen);
        continue;
      }
      const finished = await options.process(file);
      if (finished === false) continue;
      processed += 1;
      state.processed[file.name] = { size: file.size, mtimeMs: file.mtimeMs, at: new Date().toISOString() };
      if (persist) await writeFileAtomic(options.statePath, `${JSON.stringify(state, null, 1)}\n`);
    }
    if (options.once) break;
    await pause(options.pollMs, options.signal);
  }
  return processed;
}
