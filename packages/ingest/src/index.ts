export { DEFAULT_OVERSIZED_KEEP_BYTES, type Line, type ReadLinesOptions, readLines } from "./lines.ts";
export {
  type Encoder,
  type IngestOptions,
  IngestPublishError,
  type IngestSummary,
  type ParsedLine,
  publishTo,
  runIngest,
} from "./run.ts";
