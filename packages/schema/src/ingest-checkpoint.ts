import { z } from "zod";
import { Timestamp } from "./common.ts";

/**
 * Where an ingest source stands, committed in the same Kafka transaction as the records it
 * covers: after a crash the source resumes exactly there (nothing lost, nothing twice).
 * Keyed by the source's id on the compacted `vigil.ingest.checkpoints`.
 */
export const IngestCheckpointV1 = z.object({
  schema: z.literal("vigil.ingest.checkpoint/v1"),
  /** The source's stable id, e.g. `ingest-ids:/var/lib/vigil/eve.checkpoint`. */
  id: z.string().min(1),
  /** The file being read. */
  path: z.string().min(1),
  /** File identity and the byte offset just after the last line covered, with its number. */
  position: z.object({
    dev: z.string().regex(/^\d+$/),
    ino: z.string().regex(/^\d+$/),
    offset: z.number().int().min(0),
    line: z.number().int().min(0),
  }),
  time: Timestamp,
});
export type IngestCheckpointV1 = z.infer<typeof IngestCheckpointV1>;
