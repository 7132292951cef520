import { writeFile } from "node:fs/promises";
import path from "node:path";
import * as ingestIds from "@vigil/ingest-ids";
import { createLogger, type Logger, PipelineMetrics } from "@vigil/observability";
import * as rulesEngine from "@vigil/rules-engine";
import { IncidentV1, topicName, topics } from "@vigil/schema";
import * as sinkIncidents from "@vigil/sink-incidents";
import { createEmbeddedTransport, EmbeddedBroker, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { latestIncidents } from "./present.ts";

export interface DemoOptions {
  /** The folder with `suricata/eve.json` and `assets/priority-list.yaml`. */
  examplesDir: string;
  /** Also write the incidents as JSON lines here. */
  out?: string | undefined;
  logLevel: string;
  /** Merge window as the sink's flag spells it, e.g. `24h`. */
  mergeWindow?: string | undefined;
  /** Progress lines ("ingest: ...") go here; default stderr. */
  progress?: (line: string) => void;
}

export interface DemoResult {
  incidents: IncidentV1[];
  ingest: Awaited<ReturnType<typeof ingestIds.runIngestIds>>;
  findings: number;
  deadLetters: number;
  elapsedMs: number;
}

/**
 * The whole pipeline in one process on the embedded transport: the same apps, wired exactly as
 * they run on Kafka, over the sample data. Rules engine and sink start first (each restores its
 * reference data), then ingest reads the file; the run ends when both consumer groups have
 * committed everything on their input topics.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const logger = createLogger("vigil-demo", { level: options.logLevel });
  const transport = createEmbeddedTransport({ broker: new EmbeddedBroker(), logger });
  const eve = path.join(options.examplesDir, "suricata", "eve.json");
  const priorityList = path.join(options.examplesDir, "assets", "priority-list.yaml");
  try {
    await ensureRegistryTopics(transport);
    const rules = await rulesEngine.startRulesEngine({
      transport,
      logger: logger.child({ app: rulesEngine.STAGE }),
      config: rulesEngine.cli.parse(["--priority-list", priorityList], {}).values,
    });
    progress(
      `rules-engine: ${rules.assets.assetCount} assets and ${rules.assets.selectorCount} selectors loaded from ${relative(priorityList)}`,
    );
    const sinkValues = sinkIncidents.cli.parse(
      options.mergeWindow ? ["--merge-window", options.mergeWindow] : [],
      {},
    ).values;
    const sink = await sinkIncidents.startSinkIncidents({
      transport,
      logger: logger.child({ app: sinkIncidents.STAGE }),
      config: sinkValues,
    });
    const ingestMetrics = new PipelineMetrics(ingestIds.STAGE);
    const ingest = await ingestIds.runIngestIds({
      transport,
      logger: logger.child({ app: ingestIds.STAGE }),
      metrics: ingestMetrics,
      config: ingestIds.cli.parse(["--file", eve], {}).values,
    });
    progress(`ingest-ids: ${ingestIds.describeSummary(ingest, relative(eve))}`);
    await waitUntilConsumed(transport, [
      { groupId: rulesEngine.DEFAULT_GROUP_ID, topic: topicName(topics.idsAlerts) },
      { groupId: sinkIncidents.DEFAULT_GROUP_ID, topic: topicName(topics.findings) },
    ]);
    await rules.stop();
    await sink.stop();
    const findings = (await transport.readAll(topicName(topics.findings))).length;
    const deadLetters = (await transport.readAll(topicName(topics.dlq))).length;
    const incidents = latestIncidents(
      (await transport.readAll(topicName(topics.incidents))).map((record) =>
        IncidentV1.parse(JSON.parse(String(record.value))),
      ),
    );
    progress(
      `rules-engine: ${findings} findings; sink-incidents: ${incidents.length} incidents; ${deadLetters} dead letters`,
    );
    if (options.out) {
      await writeFile(options.out, incidents.map((incident) => `${JSON.stringify(incident)}\n`).join(""));
      progress(`wrote ${incidents.length} incidents as JSON lines to ${options.out}`);
    }
    return { incidents, ingest, findings, deadLetters, elapsedMs: Date.now() - started };
  } finally {
    await transport.close();
    logger.flush();
  }
}

/** Resolves when every group has committed up to the end of its topic, twice in a row. */
async function waitUntilConsumed(
  transport: Transport,
  pairs: Array<{ groupId: string; topic: string }>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  while (quietRounds < 2) {
    if (Date.now() > deadline) throw new Error(`the pipeline did not drain within ${timeoutMs} ms`);
    let drained = true;
    for (const { groupId, topic } of pairs) {
      const ends = await transport.endOffsets(topic);
      const committed = new Map(
        (await transport.committedOffsets(groupId, topic)).map(({ partition, offset }) => [
          partition,
          Number(offset),
        ]),
      );
      for (const { partition, offset } of ends) {
        if (Number(offset) > 0 && (committed.get(partition) ?? -1) < Number(offset)) drained = false;
      }
    }
    quietRounds = drained ? quietRounds + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function relative(file: string): string {
  return path.relative(process.cwd(), file) || file;
}

export type { Logger };
