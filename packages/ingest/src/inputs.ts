import { createReadStream } from "node:fs";
import { access, constants, stat } from "node:fs/promises";
import type { Readable } from "node:stream";

/** The input cannot be read (missing file, a directory, no permission): a configuration problem (exit 2). */
export class InputError extends Error {
  override name = "InputError";
}

/** A file is not in the expected format at all (exit 2): names what was expected and what was found. */
export class FormatError extends Error {
  override name = "FormatError";
}

/** Fails with an InputError naming `flag` unless `path` is a readable file. */
export async function checkReadableFile(flag: string, path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
    if ((await stat(path)).isDirectory()) throw new InputError(`${flag} ${path} is a directory`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** `--file PATH` or `-` (stdin), checked before anything is published, so a typo fails fast and clearly. */
export async function openInput(
  file: string,
  stdin?: Readable,
): Promise<{ stream: Readable; source: string }> {
  if (file === "-") {
    if (!stdin) throw new InputError("--file - reads stdin, but no stdin was given");
    return { stream: stdin, source: "stdin" };
  }
  await checkReadableFile("--file", file);
  return { stream: createReadStream(file, { highWaterMark: 64 * 1024 }), source: file };
}
