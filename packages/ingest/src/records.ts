import type { Line } from "./lines.ts";
import { type IngestOptions, type IngestSummary, type ParsedLine, runIngest } from "./run.ts";

/**
 * Record-based ingest for whole-document formats (a KEV catalog, an NVD page, a directory of CSAF
 * files): the caller parses the documents and hands over one record per entry, already parsed, with
 * its bytes and where it sits. Publishing, batching, acknowledgement, dead letters, dry run and the
 * summary are `runIngest`'s own: each record travels as a "line" whose number is its ordinal.
 */
export interface IngestRecord<T> {
  /** What the entry became: a record to publish, ignored, or invalid (dead-lettered with these bytes). */
  result: ParsedLine<T>;
  /** The entry's bytes: the dead-letter value when it is invalid. */
  bytes: Buffer;
  /** Where it came from, for dead letters and logs, e.g. `kev.json#vulnerabilities[12]`. */
  location: string;
}

interface RecordLine<T> extends Line {
  result: ParsedLine<T>;
  location: string;
}

export type RecordIngestOptions<T> = Omit<
  IngestOptions<T, RecordLine<T>>,
  "lines" | "parse" | "locate" | "maxLineBytes"
> & {
  records: AsyncIterable<IngestRecord<T>> | Iterable<IngestRecord<T>>;
};

async function* asLines<T>(records: RecordIngestOptions<T>["records"]): AsyncGenerator<RecordLine<T>> {
  let ordinal = 0;
  for await (const record of records) {
    ordinal += 1;
    yield {
      lineNumber: ordinal,
      bytes: record.bytes,
      oversized: false,
      length: record.bytes.length,
      result: record.result,
      location: record.location,
    };
  }
}

/**
 * Publishes pre-parsed records with `runIngest`'s guarantees: every record ends up published,
 * ignored (counted) or in `vigil.dlq` with its bytes, reason and location. The summary's `read` and
 * `lastAckedLine` count records (ordinals), not lines.
 */
export function runRecordIngest<T>(options: RecordIngestOptions<T>): Promise<IngestSummary> {
  const { records, ...rest } = options;
  return runIngest<T, RecordLine<T>>({
    ...rest,
    lines: asLines(records),
    parse: (_bytes, line) => line.result,
    locate: (line) => line.location,
  });
}
