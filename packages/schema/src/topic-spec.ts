import type { z } from "zod";

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface TopicSpec<S extends z.ZodType = z.ZodType> {
  /** Base name; deployments may prefix it (see `topicName`). */
  name: string;
  description: string;
  /** What the record key is: consumers rely on it for partitioning and compaction. */
  key: string;
  partitions: number;
  cleanupPolicy: "delete" | "compact";
  /** -1: kept forever (compacted tables). */
  retentionMs: number;
  /** CloudEvents `ce_type` of the records. */
  ceType: string;
  value: S;
}

/** Declares a registry topic (keeps the value schema's type). */
export function topic<S extends z.ZodType>(spec: TopicSpec<S>): TopicSpec<S> {
  return spec;
}

/** Deployments and tests may namespace every topic (e.g. `test-1a2b.` or `tenant-a.`). */
export function topicName(spec: Pick<TopicSpec, "name">, prefix = ""): string {
  return `${prefix}${spec.name}`;
}
