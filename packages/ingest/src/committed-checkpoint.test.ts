import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@vigil/observability";
import { IngestCheckpointV1, topicName, topics } from "@vigil/schema";
import { createEmbeddedTransport, EmbeddedBroker, ensureRegistryTopics, output } from "@vigil/stream";
import { describe, expect, it } from "vitest";
import { CheckpointError } from "./checkpoint.ts";
import { atomicCheckpointFor, loadCommittedPosition } from "./committed-checkpoint.ts";
import { runIngest } from "./run.ts";
import { tailFile } from "./tail.ts";

const dir = mkdtempSync(join(tmpdir(), "committed-checkpoint-"));

describe("checkpoints committed with the records", () => {
  it("commits each batch's position with it, and a restart resumes from the last one", async () => {
    const transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await ensureRegistryTopics(transport, "p.");
    const file = join(dir, "lines.txt");
    writeFileSync(file, Array.from({ length: 25 }, (_, i) => `line ${i + 1}\n`).join(""));
    const source = {
      transport,
      topicPrefix: "p.",
      stage: "test",
      path: file,
      checkpointPath: join(dir, "lines.ckpt"),
    };
    expect(await loadCommittedPosition(source)).toBeUndefined();
    const summary = await runIngest({
      transport,
      lines: tailFile({ path: file, maxLineBytes: 1024, follow: false }),
      parse: (bytes) => ({ status: "record" as const, value: { n: bytes.toString() } }),
      encode: (value, { prefix, source: ce }) => output(topics.dlq, value, { key: "k", source: ce, prefix }),
      topicPrefix: "p.",
      stage: "test",
      source: file,
      logger: silentLogger(),
      batchSize: 10,
      atomicCheckpoint: atomicCheckpointFor(source),
    });
    expect(summary).toMatchObject({ read: 25, published: 25, lastAckedLine: 25 });
    const checkpoints = (await transport.readAll(topicName(topics.ingestCheckpoints, "p."))).map((record) =>
      IngestCheckpointV1.parse(JSON.parse(String(record.value))),
    );
    // One per batch of 10, committed with it: lines 10, 20, then the rest.
    expect(checkpoints.map((checkpoint) => checkpoint.position.line)).toEqual([10, 20, 25]);
    const resumed = await loadCommittedPosition(source);
    expect(resumed?.line).toBe(25);
    expect(resumed?.offset).toBe(checkpoints.at(-1)?.position.offset);
    // Another file under the same checkpoint name is refused, not resumed at a foreign offset.
    await expect(loadCommittedPosition({ ...source, path: join(dir, "other.txt") })).rejects.toThrow(
      CheckpointError,
    );
    await transport.close();
  });
});
