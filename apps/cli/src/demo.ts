import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startConsole } from "@vigil/console";
import * as ingestAdvisories from "@vigil/ingest-advisories";
import * as ingestFirewall from "@vigil/ingest-firewall";
import * as ingestIds from "@vigil/ingest-ids";
import * as ingestInventory from "@vigil/ingest-inventory";
import * as ingestUpdates from "@vigil/ingest-updates";
import { createLogger, type Logger } from "@vigil/observability";
import * as rulesEngine from "@vigil/rules-engine";
import { IncidentV1, type TopicSpec, topicName, topics } from "@vigil/schema";
import * as sinkIncidents from "@vigil/sink-incidents";
import { createEmbeddedTransport, EmbeddedBroker, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { latestIncidents } from "./present.ts";

export interface DemoOptions {
  /** The examples folder (inventory/, advisories/, updates/, firewall/, suricata/, ids/, assets/, baselines/, exceptions/). */
  examplesDir: string;
  /** Also write the incidents as JSON lines here. */
  out?: string | undefined;
  logLevel: string;
  /** Merge window as the sink's flag spells it, e.g. `24h`. */
  mergeWindow?: string | undefined;
  /** Progress lines ("ingest: ...") go here; default stderr. */
  progress?: (line: string) => void;
  /**
   * Keep the pipeline running afterwards and serve the SOC console over it (loopback), logging in
   * with this analyst token; `result.console` then has its address and the way to stop it all.
   */
  console?: { listen: string; token: string };
}

export interface DemoResult {
  incidents: IncidentV1[];
  findings: number;
  /** Findings per rule id. */
  findingsByRule: Record<string, number>;
  deadLetters: number;
  elapsedMs: number;
  /** With `options.console`: the console's address; `stop()` ends it and the pipeline. */
  console?: { url: string; stop(): Promise<void> };
}

/** The morning the examples describe: records without a time of their own are dated then. */
const AS_OF = "2024-03-12T06:00:00.000Z";

export type IngestApp =
  | "ingest-inventory"
  | "ingest-advisories"
  | "ingest-updates"
  | "ingest-firewall"
  | "ingest-ids";

/** One run of an ingest app: its name and its command line, exactly as a shell would run it. */
export interface DemoStep {
  app: IngestApp;
  args: string[];
  /** What it reads, for progress lines. */
  input: string;
}

export interface DemoPlan {
  /** The rules engine's command line. */
  engineArgs: string[];
  /** The sink's: the ladder runs on event time, so a replay of 2024's data escalates as it did then. */
  sinkArgs: string[];
  /** Reference side: the estate and the advisories, judged before any event. */
  reference: DemoStep[];
  /** Event side: update-infrastructure logs, firewall and IDS events. */
  events: DemoStep[];
}

/**
 * What the demo runs, as command lines: the embedded demo runs them in one process, and the
 * end-to-end test runs the very same lines as separate processes against Kafka.
 * `scratch` is a writable folder for the state files a directory ingest keeps.
 */
export function demoPlan(examplesDir: string, scratch: string): DemoPlan {
  const at = (...parts: string[]) => path.join(examplesDir, ...parts);
  const inventory = (format: string, file: string, ...extra: string[]): DemoStep => ({
    app: "ingest-inventory",
    args: ["--format", format, "--file", at("inventory", file), "--as-of", AS_OF, ...extra],
    input: at("inventory", file),
  });
  const file = (app: IngestApp, parts: string[], ...extra: string[]): DemoStep => ({
    app,
    args: ["--file", at(...parts), ...extra],
    input: at(...parts),
  });
  return {
    engineArgs: [
      "--priority-list",
      at("assets", "priority-list.yaml"),
      // The SOC's quarantine list: a second priority list, kept by another team than the owners'.
      "--priority-list",
      at("assets", "quarantine.yaml"),
      "--baselines",
      at("baselines", "windows.yaml"),
      "--baselines",
      at("baselines", "linux.yaml"),
      "--exceptions",
      at("exceptions", "exceptions.yaml"),
    ],
    sinkArgs: [
      "--clock",
      "event",
      "--priority-list",
      at("assets", "priority-list.yaml"),
      "--urgency-matrix",
      at("incidents", "urgency.yaml"),
      "--escalation-policy",
      at("incidents", "escalation.yaml"),
    ],
    reference: [
      // In the order the estate's README gives: the agents' view first.
      inventory("osquery", "osquery/osqueryd.results.log"),
      inventory(
        "inventory-csv",
        "configmgr/hardware.csv",
        "--mapping",
        at("inventory", "configmgr/hardware.mapping.json"),
      ),
      inventory(
        "inventory-csv",
        "wsus/missing-updates.csv",
        "--mapping",
        at("inventory", "wsus/missing-updates.mapping.json"),
      ),
      inventory("ad-csv", "directory/ad-computers.csv"),
      inventory("bind-zone", "dns/corp.example.zone"),
      inventory("dhcp-leases", "dhcp/dhcpd.leases", "--domain", "corp.example"),
      { app: "ingest-advisories", args: ["--dir", at("advisories")], input: at("advisories") },
    ],
    events: [
      {
        app: "ingest-updates",
        args: ["--dir", at("updates"), "--once", "--state", path.join(scratch, "updates-state.json")],
        input: at("updates"),
      },
      // RFC 3164 lines carry no year: the samples were written in March 2024.
      ...["iptables.log", "pfsense.log", "asa.log"].map((log) =>
        file("ingest-firewall", ["firewall", log], "--year-of", AS_OF),
      ),
      file("ingest-ids", ["suricata", "eve.json"]),
      file("ingest-ids", ["suricata", "eve-wsus01.json"]),
      file("ingest-ids", ["ids", "snort-alert_json.txt"]),
      file("ingest-ids", ["ids", "zeek-notice.json"]),
    ],
  };
}

/** Runs one step in this process, through the app's own command-line parser and entry point. */
async function runStep(step: DemoStep, transport: Transport, logger: Logger): Promise<string> {
  const log = logger.child({ app: step.app });
  const source = relative(step.input);
  switch (step.app) {
    case "ingest-inventory":
      return ingestInventory.describeSummary(
        await ingestInventory.runInventoryIngest({
          transport,
          logger: log,
          config: ingestInventory.cli.parse(step.args, {}).values,
        }),
      );
    case "ingest-advisories":
      return ingestAdvisories.describeSummary(
        await ingestAdvisories.runIngestAdvisories({
          transport,
          logger: log,
          config: ingestAdvisories.cli.parse(step.args, {}).values,
        }),
        source,
      );
    case "ingest-updates":
      return ingestUpdates.describeSummary(
        await ingestUpdates.runIngestUpdates({
          transport,
          logger: log,
          config: ingestUpdates.cli.parse(step.args, {}).values,
        }),
        source,
      );
    case "ingest-firewall":
      return ingestFirewall.describeSummary(
        await ingestFirewall.runIngestFirewall({
          transport,
          logger: log,
          config: ingestFirewall.cli.parse(step.args, {}).values,
        }),
        source,
      );
    case "ingest-ids":
      return ingestIds.describeSummary(
        await ingestIds.runIngestIds({
          transport,
          logger: log,
          config: ingestIds.cli.parse(step.args, {}).values,
        }),
        source,
      );
  }
}

/**
 * The whole pipeline in one process on the embedded transport: the same apps, wired exactly as
 * they run on Kafka, over the sample data. Rules engine and sink start first; the reference
 * side (inventory, advisories) is ingested and judged before the event side (update logs,
 * firewall, IDS), as in a deployment that has been running for a while, so the result does not
 * depend on which ingest happens to be faster. The run ends when every consumer group has
 * committed everything on its input topics.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const logger = createLogger("vigil-demo", { level: options.logLevel });
  const transport = createEmbeddedTransport({ broker: new EmbeddedBroker(), logger });
  const scratch = await mkdtemp(path.join(tmpdir(), "vigil-demo-"));
  const plan = demoPlan(options.examplesDir, scratch);
  try {
    await ensureRegistryTopics(transport);
    const rules = await rulesEngine.startRulesEngine({
      transport,
      logger: logger.child({ app: rulesEngine.STAGE }),
      config: rulesEngine.cli.parse(plan.engineArgs, {}).values,
    });
    progress(
      `rules-engine: ${rules.rules.length} rules of ${rulesEngine.DEFAULT_PACK}; reference documents ${rules.tables
        .documents()
        .map((document) => `${document.kind} ${relative(document.origin)}`)
        .join(", ")}`,
    );
    const sink = await sinkIncidents.startSinkIncidents({
      transport,
      logger: logger.child({ app: sinkIncidents.STAGE }),
      config: sinkIncidents.cli.parse(
        [...plan.sinkArgs, ...(options.mergeWindow ? ["--merge-window", options.mergeWindow] : [])],
        {},
      ).values,
    });
    for (const step of plan.reference) progress(`${step.app}: ${await runStep(step, transport, logger)}`);
    await waitUntilConsumed(transport, engineInputs(DEMO_REFERENCE_TOPICS));
    for (const step of plan.events) progress(`${step.app}: ${await runStep(step, transport, logger)}`);
    await waitUntilConsumed(transport, engineInputs(DEMO_EVENT_TOPICS));
    // Then what the engine re-keyed for the correlations by source (written before those commits).
    await waitUntilConsumed(transport, engineInputs([topics.rulesRepartition]));
    await waitUntilConsumed(transport, [
      { groupId: sinkIncidents.DEFAULT_GROUP_ID, topic: topicName(topics.findings) },
    ]);
    // The store and outputs have every incident event: what the console and CLI read is complete.
    await sink.delivered();
    const keepRunning = options.console;
    let console: DemoResult["console"];
    if (keepRunning) {
      const running = await startConsole({
        transport,
        store: sink.store,
        tables: rules.tables,
        logger: logger.child({ app: "console" }),
        config: {
          listen: keepRunning.listen,
          tokens: [{ token: keepRunning.token, name: "demo-analyst", role: "analyst" }],
          topicPrefix: "",
        },
      });
      console = {
        url: running.url,
        stop: async () => {
          await running.stop();
          await rules.stop();
          await sink.stop();
          await transport.close();
          logger.flush();
        },
      };
    } else {
      await rules.stop();
      await sink.stop();
    }
    const findingRecords = await transport.readAll(topicName(topics.findings));
    const findingsByRule: Record<string, number> = {};
    for (const record of findingRecords) {
      const rule = (JSON.parse(String(record.value)) as { rule: { id: string } }).rule.id;
      findingsByRule[rule] = (findingsByRule[rule] ?? 0) + 1;
    }
    const deadLetters = (await transport.readAll(topicName(topics.dlq))).length;
    const incidentEvents = (await transport.readAll(topicName(topics.incidentEvents))).length;
    const actions = new Set(
      (await transport.readAll(topicName(topics.responseActions))).map((record) => String(record.key)),
    ).size;
    const incidents = latestIncidents(
      (await transport.readAll(topicName(topics.incidents))).map((record) =>
        IncidentV1.parse(JSON.parse(String(record.value))),
      ),
    );
    progress(
      `rules-engine: ${findingRecords.length} findings from ${Object.keys(findingsByRule).length} rules; sink-incidents: ${incidents.length} incidents, ${incidentEvents} incident events, ${actions} response actions requested (dry run) on vigil.response.actions; ${deadLetters} dead letters (bad input lines, kept with their reason)`,
    );
    if (options.out) {
      await writeFile(options.out, incidents.map((incident) => `${JSON.stringify(incident)}\n`).join(""));
      progress(`wrote ${incidents.length} incidents as JSON lines to ${options.out}`);
    }
    return {
      incidents,
      findings: findingRecords.length,
      findingsByRule,
      deadLetters,
      elapsedMs: Date.now() - started,
      ...(console ? { console } : {}),
    };
  } catch (error) {
    await transport.close();
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    if (!options.console) {
      await transport.close();
      logger.flush();
    }
  }
}

/** The engine's inputs of each side of the demo. */
export const DEMO_REFERENCE_TOPICS: TopicSpec[] = [
  topics.inventoryHosts,
  topics.inventoryAudits,
  topics.advisories,
];
export const DEMO_EVENT_TOPICS: TopicSpec[] = [topics.updatesAgent, topics.firewallEvents, topics.idsAlerts];

function engineInputs(specs: TopicSpec[]): Array<{ groupId: string; topic: string }> {
  return specs.map((spec) => ({ groupId: rulesEngine.DEFAULT_GROUP_ID, topic: topicName(spec) }));
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
