export { CheckpointError, FileCheckpoint, type FilePosition, writeFileAtomic } from "./checkpoint.ts";
export { atomicCheckpointFor, type CommittedSource, loadCommittedPosition } from "./committed-checkpoint.ts";
export {
  type DirectoryFile,
  type DirectoryState,
  loadDirectoryState,
  type WatchDirectoryOptions,
  watchDirectory,
} from "./directory.ts";
export { type CheckpointedTail, type CheckpointedTailOptions, checkpointedTail } from "./follow.ts";
export { checkReadableFile, FormatError, InputError, openInput } from "./inputs.ts";
export { DEFAULT_OVERSIZED_KEEP_BYTES, type Line, type ReadLinesOptions, readLines } from "./lines.ts";
export { type GroupLinesOptions, groupLines, type OpenRecord, type RecordLines } from "./multiline.ts";
export { type IngestRecord, type RecordIngestOptions, runRecordIngest } from "./records.ts";
export {
  type Encoder,
  type IngestOptions,
  IngestPublishError,
  type IngestSummary,
  type ParsedLine,
  publishTo,
  runIngest,
} from "./run.ts";
export * from "./syslog/index.ts";
export { type TailEvent, type TailLine, type TailOptions, tailFile } from "./tail.ts";
export { listenUnixSocket, type SocketLine, type UnixSocketOptions } from "./unix-socket.ts";
