// The pipeline as separate processes on a 3-node Kafka cluster (replication factor 3,
// min.insync.replicas=2, topics from topics-apply), under three faults while events flow: the
// leader of a partition it uses stops and comes back; every service instance is restarted in turn;
// a second rules-engine instance joins the group and leaves. After each, every input is accounted
// for (the incidents the embedded demo raises over the same input) and nothing is duplicated on
// vigil.incidents, vigil.incident-events or vigil.response.actions.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  allTopics,
  IncidentEventV1,
  IncidentV1,
  ResponseActionV1,
  type TopicSpec,
  topicName,
  topics,
} from "@vigil/schema";
import { createKafkaTransport, type Transport } from "@vigil/stream";
import { type KafkaCluster, startKafkaCluster, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EVENT_TOPICS, DEMO_REFERENCE_TOPICS, type DemoResult, demoPlan, runDemo } from "./demo.ts";
import { latestIncidents } from "./present.ts";
import { incidentSummary, orderDependentRulesFired, stableFindingCount, stableIncidents } from "./testing.ts";

const repo = path.resolve(import.meta.dirname, "../../..");
const examples = path.join(repo, "examples");
const app = (name: string) => path.join(repo, "apps", name, "src", "main.ts");
const TOPICS_APPLY = path.join(repo, "infra", "kafka", "topics-apply.ts");

// Correlations keyed by the source address, while firewall events are partitioned by the inside
// address. The engine judges them on vigil.rules.repartition, keyed by the source, so two engine
// instances no longer each hold part of a sweep (3 of 9 rebalance runs lost one before): a restart
// or a rebalance must lose none. A partition of that topic that stalls while the others move on
// (its leader stopped) can still make its events later than the rules' allowed lateness: only the
// leader-loss scenario tolerates these rules missing, and every scenario prints which were.
const KEYED_BY_SOURCE = new Set([
  "core.firewall.port-scan",
  "core.firewall.address-sweep",
  "core.firewall.denied-burst",
]);

interface Proc {
  name: string;
  child: ChildProcess;
  stderr: string[];
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [app(name), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  child.stdout?.resume();
  return { name, child, stderr };
}

async function exitOf(proc: Proc, timeoutMs = 60_000): Promise<number | null> {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
  const [code] = (await once(proc.child, "exit")) as [number | null];
  clearTimeout(timer);
  return code;
}

/** The line a service logs once started (subscribed): a rolling restart moves on from there. */
const STARTED: Record<string, string> = {
  "rules-engine": '"msg":"rules-engine subscribed"',
  "sink-incidents": '"msg":"sink-incidents running"',
};

/** Resolves with the milliseconds from `since` until the service has started. */
async function startedAfter(proc: Proc, since: number): Promise<number> {
  const marker = STARTED[proc.name] ?? "";
  await waitFor(() => proc.child.exitCode === null && proc.stderr.join("").includes(marker), {
    timeoutMs: 120_000,
    intervalMs: 100,
    message: `${proc.name} started`,
  });
  return Date.now() - since;
}

/** SIGTERM, and it must stop cleanly (exit 0). */
async function terminate(proc: Proc): Promise<void> {
  proc.child.kill("SIGTERM");
  expect(await exitOf(proc), `${proc.name}\n${proc.stderr.join("").slice(-4000)}`).toBe(0);
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const sumOffsets = (offsets: Array<{ offset: string }>) =>
  offsets.reduce((sum, o) => sum + Number(o.offset), 0);

/** Keys seen more than once, each with where it was seen. */
function twice<T>(items: T[], key: (item: T) => string, where: (item: T) => string): string[] {
  const places = new Map<string, string[]>();
  for (const item of items) places.set(key(item), [...(places.get(key(item)) ?? []), where(item)]);
  return [...places].filter(([, at]) => at.length > 1).map(([k, at]) => `${k} at ${at.join(", ")}`);
}
const at = (record: { partition: number; offset: string }) => `#${record.partition}@${record.offset}`;

type Figures = Record<string, number | string>;

/** One pipeline on its own topic prefix, run while a fault happens: what the fault hooks into. */
interface Run {
  topic(spec: Pick<TopicSpec, "name">): string;
  engineGroup: string;
  sinkGroup: string;
  /** Resolves once this many event-side ingest runs have finished. */
  eventSteps(count: number): Promise<void>;
  /** Resolves once every ingest run has finished. */
  ingested: Promise<void>;
  rules: Proc[];
  sink: Proc;
  startRules(): Proc;
  startSink(): Proc;
  /** Records on the event-side input topics now. */
  eventsIn(): Promise<number>;
  /**
   * Resolves once event-side records are waiting for the rules engine (it is behind: events are
   * being ingested and processed), with the records in and the engine's backlog then.
   */
  midStream(): Promise<{ eventsIn: number; backlog: number }>;
  /** Holds the event-side ingest run `step` (1-based) back until the returned function is called. */
  holdBefore(step: number): () => void;
  /**
   * Notes what the sink has published now (read before the fault: a read during it may fail), and
   * returns a function that resolves with the milliseconds from `since` until it published more.
   */
  progressFromNow(): Promise<(since: number) => Promise<number>>;
  /** Resolves with the milliseconds from `since` until a group has this many members. */
  membersAfter(groupId: string, count: number, since: number): Promise<number>;
}

describe("the pipeline on a 3-node cluster under faults", () => {
  let cluster: KafkaCluster;
  let transport: Transport;
  let reference: DemoResult;
  const running: Proc[] = [];
  const scratchDirs: string[] = [];
  const figures: Record<string, Figures> = {};

  beforeAll(async () => {
    // The fault-free reference while the cluster starts: the embedded demo over the same input.
    [cluster, reference] = await Promise.all([
      startKafkaCluster(),
      runDemo({ examplesDir: examples, logLevel: "silent", progress: () => {} }),
    ]);
    // The test's own client: its connection errors while a node is down say nothing the assertions do not.
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    transport = createKafkaTransport({ brokers: cluster.brokers, clientId: "fault-test", logger: quiet });
  }, 240_000);

  afterAll(async () => {
    for (const proc of running) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await transport?.close();
    await cluster?.stop();
    for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
    if (Object.keys(figures).length > 0)
      process.stderr.write(`fault test figures:\n${JSON.stringify(figures, null, 2)}\n`);
  }, 120_000);

  async function topicsApply(prefix: string): Promise<{ replicationFactor: number; topics: unknown[] }> {
    const { stdout } = await promisify(execFile)(process.execPath, [TOPICS_APPLY, "--json"], {
      env: { ...process.env, KAFKA_BROKERS: cluster.brokers.join(","), VIGIL_TOPIC_PREFIX: prefix },
    });
    return JSON.parse(stdout) as { replicationFactor: number; topics: unknown[] };
  }

  /** Resolves when a group has committed everything on these topics. */
  async function consumed(groupId: string, topicNames: string[]): Promise<void> {
    await waitFor(
      async () => {
        for (const topic of topicNames) {
          const ends = await transport.endOffsets(topic);
          const committed = await transport.committedOffsets(groupId, topic);
          for (const { partition, offset } of ends) {
            if (offset !== "0" && committed.find((c) => c.partition === partition)?.offset !== offset)
              return false;
          }
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 250, message: `${groupId} consumed ${topicNames.join(", ")}` },
    );
  }

  /**
   * Runs the demo's input through the pipeline (rules engine and sink as processes, every ingest
   * run as a process) on a fresh prefix while `fault` does its damage, then reconciles: the
   * reference's incidents, every input consumed, nothing duplicated.
   */
  async function scenario(
    label: string,
    fault: (run: Run) => Promise<Figures>,
    tolerated: ReadonlySet<string> = new Set(),
  ): Promise<Figures> {
    const started = Date.now();
    const prefix = uniqueTopicPrefix(label);
    const topic = (spec: Pick<TopicSpec, "name">) => topicName(spec, prefix);
    expect((await topicsApply(prefix)).replicationFactor).toBe(3);
    const scratch = await mkdtemp(path.join(tmpdir(), "vigil-faults-"));
    scratchDirs.push(scratch);
    const plan = demoPlan(examples, scratch);
    const env = {
      ...process.env,
      KAFKA_BROKERS: cluster.brokers.join(","),
      VIGIL_TOPIC_PREFIX: prefix,
      LOG_LEVEL: "info",
    };
    const launch = (name: string, args: string[]) => {
      const proc = start(name, args, env);
      running.push(proc);
      return proc;
    };
    const ingest = async (step: { app: string; args: string[] }) => {
      const proc = launch(step.app, step.args);
      expect(await exitOf(proc, 120_000), `${step.app} ${step.args.join(" ")}\n${proc.stderr.join("")}`).toBe(
        0,
      );
    };
    const recordsOn = async (specs: TopicSpec[]) => {
      let total = 0;
      for (const spec of specs) total += sumOffsets(await transport.endOffsets(topic(spec)));
      return total;
    };
    const stepsDone = plan.events.map(() => Promise.withResolvers<void>());
    const holds = new Map<number, Promise<void>>();
    const run: Run = {
      topic,
      engineGroup: `${prefix}vigil-rules-engine`,
      sinkGroup: `${prefix}vigil-sink-incidents`,
      eventSteps: (count) => stepsDone[count - 1]?.promise ?? Promise.resolve(),
      ingested: Promise.resolve(),
      rules: [],
      sink: launch("sink-incidents", plan.sinkArgs),
      startRules: () => {
        const proc = launch("rules-engine", plan.engineArgs);
        run.rules.push(proc);
        return proc;
      },
      startSink: () => {
        run.sink = launch("sink-incidents", plan.sinkArgs);
        return run.sink;
      },
      eventsIn: () => recordsOn(DEMO_EVENT_TOPICS),
      midStream: () =>
        waitFor(
          async () => {
            let eventsIn = 0;
            let backlog = 0;
            for (const spec of DEMO_EVENT_TOPICS) {
              const committed = await transport.committedOffsets(run.engineGroup, topic(spec));
              for (const { partition, offset } of await transport.endOffsets(topic(spec))) {
                const done = Number(committed.find((c) => c.partition === partition)?.offset ?? "-1");
                eventsIn += Number(offset);
                backlog += Number(offset) - Math.max(0, done);
              }
            }
            return backlog > 0 ? { eventsIn, backlog } : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 20, message: "events waiting for the rules engine" },
        ),
      holdBefore: (step) => {
        const hold = Promise.withResolvers<void>();
        holds.set(step, hold.promise);
        return hold.resolve;
      },
      progressFromNow: async () => {
        const published = async () => sumOffsets(await transport.endOffsets(topic(topics.incidentEvents)));
        const before = await published();
        return async (since) => {
          await waitFor(async () => (await published()) > before, {
            timeoutMs: 180_000,
            intervalMs: 100,
            message: "the sink publishing again",
          });
          return Date.now() - since;
        };
      },
      membersAfter: async (groupId, count, since) => {
        await waitFor(async () => (await cluster.groupMembers(groupId)).length === count, {
          timeoutMs: 120_000,
          intervalMs: 100,
          message: `${groupId} with ${count} member(s)`,
        });
        return Date.now() - since;
      },
    };
    run.startRules();
    // As the demo does: the estate and advisories judged before the events.
    for (const step of plan.reference) await ingest(step);
    await consumed(run.engineGroup, DEMO_REFERENCE_TOPICS.map(topic));

    const eventsStarted = Date.now();
    run.ingested = (async () => {
      for (const [index, step] of plan.events.entries()) {
        await holds.get(index + 1);
        await ingest(step);
        stepsDone[index]?.resolve();
      }
    })();
    const [{ faultAt, ...faultFigures }] = await Promise.all([fault(run), run.ingested]);
    const ingestDone = Date.now();

    // Converged: the reference's incidents, every input consumed by the engine, every finding by the sink.
    const incidentsTopic = topic(topics.incidents);
    let latest: IncidentV1[] = [];
    await waitFor(
      async () => {
        const records = await transport.readAll(incidentsTopic);
        latest = latestIncidents(records.map((r) => IncidentV1.parse(JSON.parse(String(r.value)))));
        return (
          stableIncidents(latest).length === stableIncidents(reference.incidents).length &&
          stableFindingCount(latest) === stableFindingCount(reference.incidents)
        );
      },
      { timeoutMs: 180_000, intervalMs: 500, message: `the reference's incidents on ${incidentsTopic}` },
    ).catch(() => {
      // Show what differs rather than only that it did not converge.
      expect(incidentSummary(latest)).toEqual(incidentSummary(reference.incidents));
    });
    await consumed(run.engineGroup, [...DEMO_REFERENCE_TOPICS, ...DEMO_EVENT_TOPICS].map(topic));
    // The events re-keyed for the correlations by source exist once the events are committed.
    await consumed(run.engineGroup, [topic(topics.rulesRepartition)]);
    await consumed(run.sinkGroup, [topic(topics.findings)]);
    const caughtUp = Date.now();

    // Every input accounted for: the incidents of the fault-free reference.
    const incidentRecords = (await transport.readAll(incidentsTopic)).map((record) => ({
      record,
      incident: IncidentV1.parse(JSON.parse(String(record.value))),
    }));
    latest = latestIncidents(incidentRecords.map(({ incident }) => incident));
    expect(incidentSummary(latest)).toEqual(incidentSummary(reference.incidents));
    const fired = orderDependentRulesFired(latest);
    const missing = orderDependentRulesFired(reference.incidents).filter((rule) => !fired.includes(rule));
    expect(fired.filter((rule) => !orderDependentRulesFired(reference.incidents).includes(rule))).toEqual([]);
    expect(missing.filter((rule) => !tolerated.has(rule))).toEqual([]);

    // Nothing duplicated: an incident version (one transition) once; an incident event (its id is
    // incident + change + cause) once; a response action (its id is the idempotency key) once.
    const duplicateVersions = twice(
      incidentRecords,
      ({ incident }) => `${incident.id} v${incident.version}`,
      ({ record }) => at(record),
    );
    expect(duplicateVersions).toEqual([]);
    // Nothing lost between: each incident's versions are 1..n.
    const versions = new Map<string, number[]>();
    for (const { incident } of incidentRecords)
      versions.set(incident.id, [...(versions.get(incident.id) ?? []), incident.version]);
    expect(
      [...versions].filter(([, list]) => list.sort((a, b) => a - b).some((v, i) => v !== i + 1)),
    ).toEqual([]);
    const events = (await transport.readAll(topic(topics.incidentEvents))).map((record) => ({
      record,
      event: IncidentEventV1.parse(JSON.parse(String(record.value))),
    }));
    expect(
      twice(
        events,
        ({ event }) => event.id,
        ({ record }) => at(record),
      ),
    ).toEqual([]);
    const actions = (await transport.readAll(topic(topics.responseActions))).map((record) => ({
      record,
      action: ResponseActionV1.parse(JSON.parse(String(record.value))),
    }));
    expect(
      twice(
        actions,
        ({ action }) => action.id,
        ({ record }) => at(record),
      ),
    ).toEqual([]);
    // Every requested action is on vigil.response.actions, and every record there was requested;
    // each incident has one per level it reached past the first (level 1 notifies, 2 and 3 act).
    const requested = events.flatMap(({ event }) =>
      event.type === "action_requested" ? [event.action_id] : [],
    );
    expect(actions.map(({ action }) => action.id).sort()).toEqual(requested.sort());
    expect(actions.length).toBe(
      latest.reduce((sum, i) => sum + Math.max(0, (i.escalation?.level ?? 0) - 1), 0),
    );

    const findings = (await transport.readAll(topic(topics.findings))).map(
      (record) => (JSON.parse(String(record.value)) as { id: string }).id,
    );
    for (const proc of run.rules) if (proc.child.exitCode === null) await terminate(proc);
    await terminate(run.sink);
    return {
      "reference records in": await recordsOn(DEMO_REFERENCE_TOPICS),
      "event records in": await run.eventsIn(),
      "finding records (at least once)": findings.length,
      "distinct findings": new Set(findings).size,
      incidents: latest.length,
      "incident versions": incidentRecords.length,
      "incident events": events.length,
      "response actions": actions.length,
      "source-keyed rules that did not fire": missing.join(", ") || "none",
      ...faultFigures,
      "event ingest (s)": seconds(ingestDone - eventsStarted),
      "fault to caught up (s)": seconds(caughtUp - Number(faultAt)),
      "scenario wall time (s)": seconds(Date.now() - started),
    };
  }

  it("creates every topic through topics-apply with replication factor 3 and min.insync.replicas=2", async () => {
    const prefix = uniqueTopicPrefix("faults-topics");
    const applied = await topicsApply(prefix);
    expect(applied.topics).toHaveLength(allTopics.length);
    for (const spec of allTopics) {
      const described = await cluster.describeTopic(topicName(spec, prefix));
      expect({
        topic: spec.name,
        rf: described.replicationFactor,
        isr: described.configs["min.insync.replicas"],
      }).toEqual({ topic: spec.name, rf: 3, isr: "2" });
    }
  });

  /** The leader of vigil.findings partition 0 (the engine's output to the sink) goes, and comes back. */
  async function leaderLoss(label: string): Promise<Figures> {
    return scenario(
      label,
      async (run) => {
        const findings = run.topic(topics.findings);
        const { eventsIn: eventsAtFault, backlog } = await run.midStream();
        const leader = await cluster.leaderOf(findings, 0);
        const progressed = await run.progressFromNow();
        const faultAt = Date.now();
        const progress = progressed(faultAt);
        await cluster.stopNode(leader);
        const stoppedIn = Date.now() - faultAt;
        // Another replica leads now (metadata may take a moment to say so).
        await waitFor(async () => (await cluster.leaderOf(findings, 0)) !== leader, {
          timeoutMs: 60_000,
          message: `a leader other than node ${leader} for ${findings}#0`,
        });
        const newLeaderIn = Date.now() - faultAt;
        const firstProgress = await progress;
        // Back once the rest of the input is in: it catches up from the other replicas.
        await run.ingested;
        const restartAt = Date.now();
        await cluster.startNode(leader);
        await cluster.waitInSync(leader);
        return {
          faultAt,
          "node stopped (controlled shutdown)": leader,
          "event records in at the fault": eventsAtFault,
          "engine backlog at the fault": backlog,
          "fault to process gone (s)": seconds(stoppedIn),
          "fault to another leader in the metadata (s)": seconds(newLeaderIn),
          "fault to first output (s)": seconds(firstProgress),
          "node start to in every ISR (s)": seconds(Date.now() - restartAt),
        };
      },
      KEYED_BY_SOURCE,
    );
  }

  it("loses the leader of a partition it uses mid-stream, gets it back, and loses and duplicates nothing", async () => {
    const result = await leaderLoss("faults-leader");
    figures["leader loss"] = result;
    expect(result["event records in at the fault"]).toBeLessThan(Number(result["event records in"]));
  }, 300_000);

  it("restarts every service instance in turn mid-stream, and loses and duplicates nothing", async () => {
    const result = await scenario("faults-rolling", async (run) => {
      const { eventsIn: eventsAtFault, backlog } = await run.midStream();
      const faultAt = Date.now();
      // The rules engine, then the sink: SIGTERM (finish the batch, commit, leave), start anew.
      const [engine] = run.rules;
      if (!engine) throw new Error("no rules engine running");
      await terminate(engine);
      const engineStopped = Date.now() - faultAt;
      const engineBack = await startedAfter(run.startRules(), faultAt);
      const progressed = await run.progressFromNow();
      const sinkAt = Date.now();
      const progress = progressed(sinkAt);
      await terminate(run.sink);
      const sinkStopped = Date.now() - sinkAt;
      const sinkBack = await startedAfter(run.startSink(), sinkAt);
      return {
        faultAt,
        "event records in at the first SIGTERM": eventsAtFault,
        "engine backlog at the first SIGTERM": backlog,
        "rules engine: SIGTERM to exit (s)": seconds(engineStopped),
        "rules engine: SIGTERM to restarted (s)": seconds(engineBack),
        "sink: SIGTERM to exit (s)": seconds(sinkStopped),
        "sink: SIGTERM to restarted (s)": seconds(sinkBack),
        "sink: SIGTERM to first output (s)": seconds(await progress),
      };
    });
    figures["rolling restart"] = result;
    expect(result["event records in at the first SIGTERM"]).toBeLessThan(Number(result["event records in"]));
  }, 300_000);

  it("rebalances as a second rules engine joins and leaves mid-stream, and loses and duplicates nothing", async () => {
    const result = await scenario("faults-rebalance", async (run) => {
      const { eventsIn: eventsAtJoin, backlog } = await run.midStream();
      const faultAt = Date.now();
      // The rest of the input waits for the second instance: most of it goes through two.
      const release = run.holdBefore(2);
      const second = run.startRules();
      await startedAfter(second, faultAt);
      const joined = await run.membersAfter(run.engineGroup, 2, faultAt);
      release();
      const eventsAtJoined = await run.eventsIn();
      await run.eventSteps(4);
      const eventsAtLeave = await run.eventsIn();
      const leaveAt = Date.now();
      await terminate(second);
      const left = await run.membersAfter(run.engineGroup, 1, leaveAt);
      return {
        faultAt,
        "event records in at the join": eventsAtJoin,
        "engine backlog at the join": backlog,
        "event records in with 2 members": eventsAtJoined,
        "event records in at the leave": eventsAtLeave,
        "second instance: start to 2 members (s)": seconds(joined),
        "second instance: SIGTERM to 1 member (s)": seconds(left),
      };
    });
    figures.rebalance = result;
    expect(result["event records in with 2 members"]).toBeLessThan(Number(result["event records in"]));
    expect(result["event records in at the leave"]).toBeLessThan(Number(result["event records in"]));
  }, 300_000);
});
