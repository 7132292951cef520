import { FileCheckpoint, type FilePosition } from "./checkpoint.ts";
import { type TailEvent, type TailLine, tailFile } from "./tail.ts";

export interface CheckpointedTailOptions {
  path: string;
  /** Checkpoint file; without it the tail starts at the file's beginning and records nothing. */
  checkpointPath?: string | undefined;
  /** Keep reading as the file grows and follow its rotation; false stops at end of file. */
  follow: boolean;
  maxLineBytes: number;
  /**
   * A position committed to Kafka with the records (`loadCommittedPosition`): when present it
   * wins over the checkpoint file, which can only be behind it.
   */
  committed?: FilePosition | undefined;
  /** Nothing is acknowledged on a dry run: the checkpoint is read but never written. */
  dryRun?: boolean;
  pollIntervalMs?: number;
  signal?: AbortSignal | undefined;
  onEvent?: (event: TailEvent) => void;
}

export interface CheckpointedTail {
  /** Where reading resumes (the checkpoint), or undefined for the file's beginning. */
  start: FilePosition | undefined;
  lines: AsyncGenerator<TailLine>;
  /**
   * Durably records that everything up to `position` is acknowledged; undefined without a
   * checkpoint or on a dry run. Call it from `runIngest`'s `onAcknowledged` with the position
   * of the last physical line the acknowledged batch covers.
   */
  save: ((position: FilePosition) => Promise<void>) | undefined;
}

/**
 * `tailFile` resumed from a `FileCheckpoint`: what `--follow --checkpoint` means in every ingest
 * app. Throws `CheckpointError` when the checkpoint is unreadable or belongs to another file.
 */
export async function checkpointedTail(options: CheckpointedTailOptions): Promise<CheckpointedTail> {
  const checkpoint =
    options.checkpointPath !== undefined
      ? new FileCheckpoint(options.checkpointPath, options.path)
      : undefined;
  const start = options.committed ?? (await checkpoint?.load());
  const lines = tailFile({
    path: options.path,
    maxLineBytes: options.maxLineBytes,
    start,
    follow: options.follow,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  const save =
    checkpoint !== undefined && !options.dryRun
      ? (position: FilePosition) => checkpoint.save(position)
      : undefined;
  return { start, lines, save };
}
