/**
 * Message metadata travels in Kafka headers, following CloudEvents' Kafka protocol binding in
 * binary mode (`ce_` prefixed attributes; the value is the payload itself), plus W3C trace context.
 */
export type Headers = Record<string, string>;

export const CE_SPECVERSION = "1.0";

export const ceHeader = {
  id: "ce_id",
  type: "ce_type",
  source: "ce_source",
  time: "ce_time",
  specversion: "ce_specversion",
  /** Binary mode carries the data content type in the Kafka `content-type` header. */
  contentType: "content-type",
} as const;

export interface CloudEventAttributes {
  id: string;
  type: string;
  source: string;
  time: string;
}

export function cloudEventHeaders(attrs: CloudEventAttributes): Headers {
  return {
    [ceHeader.id]: attrs.id,
    [ceHeader.type]: attrs.type,
    [ceHeader.source]: attrs.source,
    [ceHeader.time]: attrs.time,
    [ceHeader.specversion]: CE_SPECVERSION,
    [ceHeader.contentType]: "application/json",
  };
}

/** Headers on every `vigil.dlq` record: why it failed and exactly where it came from. */
export const dlqHeader = {
  reason: "vigil_dlq_reason",
  /** Machine-readable class of failure, e.g. `parse`, `schema`, `oversized`, `processing`. */
  kind: "vigil_dlq_kind",
  stage: "vigil_dlq_stage",
  sourceTopic: "vigil_dlq_source_topic",
  sourcePartition: "vigil_dlq_source_partition",
  sourceOffset: "vigil_dlq_source_offset",
  /** For records that never were on Kafka (a file line, stdin): where they were read. */
  sourceLocation: "vigil_dlq_source_location",
  time: "vigil_dlq_time",
} as const;

export const traceHeader = { traceparent: "traceparent", tracestate: "tracestate" } as const;
