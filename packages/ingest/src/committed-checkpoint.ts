import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { IngestCheckpointV1, topicName, topics } from "@vigil/schema";
import { decodeValue, type Output, output, type Transport } from "@vigil/stream";
import { CheckpointError, type FilePosition } from "./checkpoint.ts";

/** A file source whose position is committed to Kafka with its records (exactly once). */
export interface CommittedSource {
  transport: Transport;
  topicPrefix: string;
  /** The app, e.g. `ingest-ids`: part of the source id and the transactional id. */
  stage: string;
  /** The file being read. */
  path: string;
  /** The local checkpoint file: with the stage, what names this source across restarts. */
  checkpointPath: string;
}

function sourceId(source: Omit<CommittedSource, "transport">): string {
  return `${source.stage}:${resolve(source.checkpointPath)}`;
}

/**
 * The position last committed with this source's records, or undefined when none was. It is
 * never behind the local checkpoint file, which is written only after the commit.
 */
export async function loadCommittedPosition(source: CommittedSource): Promise<FilePosition | undefined> {
  const id = sourceId(source);
  // Fence a crashed predecessor first: its open transaction would hold read-committed reads back.
  await source.transport.sendAtomically([], atomicCheckpointFor(source).transactionalId);
  const records = await source.transport.readAll(topicName(topics.ingestCheckpoints, source.topicPrefix));
  const mine = records.filter((record) => record.key?.toString() === id).at(-1);
  if (mine === undefined) return undefined;
  const checkpoint = decodeValue(IngestCheckpointV1, mine);
  if (resolve(checkpoint.path) !== resolve(source.path)) {
    throw new CheckpointError(
      `the committed checkpoint ${id} is of ${checkpoint.path}, not of ${source.path}: use another --checkpoint`,
    );
  }
  return checkpoint.position;
}

/** `runIngest`'s `atomicCheckpoint` for this source: its transactional id and checkpoint record. */
export function atomicCheckpointFor<L extends { position: FilePosition }>(
  source: Omit<CommittedSource, "transport">,
): { transactionalId: string; checkpoint: (lastLine: L) => Output } {
  const id = sourceId(source);
  const digest = createHash("sha256").update(`${source.topicPrefix}\n${id}`).digest("hex").slice(0, 24);
  return {
    // The topic prefix in front too (not only in the digest): a tenant's ACLs on a shared cluster
    // can then grant its own transactional ids by prefix and no other tenant's.
    transactionalId: `${source.topicPrefix}vigil-${source.stage}-${digest}`,
    checkpoint: (lastLine) =>
      output(
        topics.ingestCheckpoints,
        {
          schema: "vigil.ingest.checkpoint/v1",
          id,
          path: resolve(source.path),
          position: lastLine.position,
          time: new Date().toISOString(),
        },
        { key: id, source: `vigil/${source.stage}`, prefix: source.topicPrefix },
      ),
  };
}
