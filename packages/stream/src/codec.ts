import { randomUUID } from "node:crypto";
import { injectTraceHeaders } from "@vigil/observability";
import { cloudEventHeaders, type Headers, type TopicSpec, topicName } from "@vigil/schema";
import type { z } from "zod";
import type { ConsumedMessage, OutgoingMessage } from "./transport.ts";

/** Why a record could not be decoded; `kind` becomes the dead-letter kind. */
export class DecodeError extends Error {
  override name = "DecodeError";
  readonly kind: "empty" | "json" | "schema";
  constructor(kind: "empty" | "json" | "schema", message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Formats a zod error as `path: message; ...`, short enough for a header. */
export function describeZodError(error: z.ZodError, limit = 5): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "(root)";
    return `${path}: ${issue.message}`;
  });
  if (error.issues.length > limit) parts.push(`... ${error.issues.length - limit} more`);
  return parts.join("; ");
}

/** Parses and validates a consumed record's JSON value against the topic's schema. */
export function decodeValue<S extends z.ZodType>(
  schema: S,
  message: Pick<ConsumedMessage, "value">,
): z.output<S> {
  if (message.value === null || message.value.length === 0)
    throw new DecodeError("empty", "record has no value");
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString("utf8"));
  } catch (error) {
    throw new DecodeError("json", `value is not valid JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new DecodeError("schema", `value does not match the schema: ${describeZodError(result.error)}`);
  return result.data;
}

export interface EncodeOptions {
  key: string | null;
  /** CloudEvents `ce_source`: the producing stage, e.g. `vigil/ingest-ids`. */
  source: string;
  /** Event id; defaults to the value's `id` field, else a random UUID. */
  id?: string;
  /** Event time; defaults to the value's `time` field, else now. */
  time?: string;
  headers?: Headers;
}

/**
 * Validates a value against the topic's schema on the way out (a bug upstream must not publish
 * a malformed record), serialises it to JSON and adds CloudEvents and trace-context headers.
 */
export function encodeValue<S extends z.ZodType>(
  spec: TopicSpec<S>,
  value: z.input<S>,
  options: EncodeOptions,
): OutgoingMessage {
  const result = spec.value.safeParse(value);
  if (!result.success) {
    throw new Error(`refusing to publish an invalid ${spec.name} record: ${describeZodError(result.error)}`);
  }
  const record = result.data as Record<string, unknown>;
  const id = options.id ?? (typeof record.id === "string" ? record.id : randomUUID());
  const time = options.time ?? (typeof record.time === "string" ? record.time : new Date().toISOString());
  const headers = {
    ...options.headers,
    ...cloudEventHeaders({ id, type: spec.ceType, source: options.source, time }),
  };
  injectTraceHeaders(headers);
  return { key: options.key, value: JSON.stringify(result.data), headers };
}

/** An output of a processing step: where it goes and what it is. */
export interface Output {
  topic: string;
  message: OutgoingMessage;
}

/** Encodes a value for a registry topic (with the deployment's prefix) as an Output. */
export function output<S extends z.ZodType>(
  spec: TopicSpec<S>,
  value: z.input<S>,
  options: EncodeOptions & { prefix?: string },
): Output {
  const { prefix, ...encode } = options;
  return { topic: topicName(spec, prefix), message: encodeValue(spec, value, encode) };
}
