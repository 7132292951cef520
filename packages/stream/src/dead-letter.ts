import { dlqHeader, type Headers, topicName, topics } from "@vigil/schema";
import type { ConsumedMessage, OutgoingMessage } from "./transport.ts";

/** Largest header value we write: a reason is for humans, the bytes travel as the value. */
const MAX_REASON_LENGTH = 2000;

export interface DeadLetter {
  /** Human-readable reason: what was wrong and where. */
  reason: string;
  /** Class of failure: `json`, `schema`, `oversized`, `parse`, `processing`, `empty`, ... */
  kind: string;
  /** The stage that gave up, e.g. `ingest-ids`. */
  stage: string;
  /** The original bytes, exactly as received. */
  value: Buffer | null;
  key?: Buffer | string | null;
  /** Where it came from when it came from Kafka. */
  source?: Pick<ConsumedMessage, "topic" | "partition" | "offset" | "headers">;
  /** Where it came from otherwise (file path and line number, `stdin:12`). */
  location?: string;
}

/** The dead-letter topic's name for a deployment prefix. */
export function deadLetterTopic(prefix = ""): string {
  return topicName(topics.dlq, prefix);
}

/**
 * Builds a `vigil.dlq` record: original bytes as the value, the original headers kept
 * (trace context included), reason and source position added as `vigil_dlq_*` headers.
 */
export function deadLetterMessage(letter: DeadLetter, now: Date = new Date()): OutgoingMessage {
  const headers: Headers = { ...letter.source?.headers };
  headers[dlqHeader.reason] = truncate(letter.reason);
  headers[dlqHeader.kind] = letter.kind;
  headers[dlqHeader.stage] = letter.stage;
  headers[dlqHeader.time] = now.toISOString();
  if (letter.source) {
    headers[dlqHeader.sourceTopic] = letter.source.topic;
    headers[dlqHeader.sourcePartition] = String(letter.source.partition);
    headers[dlqHeader.sourceOffset] = letter.source.offset;
  }
  if (letter.location !== undefined) headers[dlqHeader.sourceLocation] = truncate(letter.location);
  return { key: letter.key ?? null, value: letter.value, headers };
}

function truncate(text: string): string {
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;
}
