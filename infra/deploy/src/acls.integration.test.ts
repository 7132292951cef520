// The generated KafkaUsers' ACLs enforced by a real authorizer: a broker with KRaft's
// StandardAuthorizer (kafka.sh KAFKA_AUTHORIZER=standard, nothing allowed without an ACL), one
// SCRAM-SHA-512 user per app holding exactly the ACLs of its KafkaUser in users.yaml, and every
// deployed app run as a process as that user over SASL_SSL. The pipeline must work (incidents on
// vigil.incidents, an analyst's command applied), no app may log an authorization error and the
// broker may deny none of them anything; withholding one ACL must break the app loudly.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { allTopics, IncidentEventV1, IncidentV1, topicName, topics } from "@vigil/schema";
import {
  createKafkaClient,
  createKafkaTransport,
  ensureRegistryTopics,
  kafkaSecurityFromEnv,
  type Transport,
} from "@vigil/stream";
import {
  type AclEntry,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  freePort,
  ResourcePatternTypes,
  type SaslUser,
  type SecuredBroker,
  startSecuredBroker,
  uniqueTopicPrefix,
  waitFor,
} from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppName, appNames } from "./apps.ts";
import { type AclOperation, buildManifests, type DeployOptions, type KafkaAcl } from "./manifests.ts";

const repo = path.resolve(import.meta.dirname, "../../..");
const examples = path.join(repo, "examples");
const at = (...parts: string[]) => path.join(examples, ...parts);
const main = (name: string) => path.join(repo, "apps", name, "src", "main.ts");

/** Strimzi's `simple` authorization as kafkajs `createAcls` entries (Strimzi's defaults: allow, any host). */
const resourceTypes = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  transactionalId: AclResourceTypes.TRANSACTIONAL_ID,
} as const;
const patternTypes = {
  literal: ResourcePatternTypes.LITERAL,
  prefix: ResourcePatternTypes.PREFIXED,
} as const;
const operationTypes: Record<AclOperation, AclEntry["operation"]> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Describe: AclOperationTypes.DESCRIBE,
  Delete: AclOperationTypes.DELETE,
  IdempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
};

function toKafkaAcls(username: string, acls: readonly KafkaAcl[]): AclEntry[] {
  return acls.flatMap(({ resource, operations }) =>
    operations.map((operation) => ({
      principal: `User:${username}`,
      host: "*",
      permissionType: AclPermissionTypes.ALLOW,
      operation: operationTypes[operation],
      ...(resource.type === "cluster"
        ? // Kafka's one cluster resource is named kafka-cluster.
          {
            resourceType: AclResourceTypes.CLUSTER,
            resourceName: "kafka-cluster",
            resourcePatternType: ResourcePatternTypes.LITERAL,
          }
        : {
            resourceType: resourceTypes[resource.type],
            resourceName: resource.name,
            resourcePatternType: patternTypes[resource.patternType],
          }),
    })),
  );
}

/** What an authorization failure looks like in kafkajs' errors and in the apps' logs. */
const AUTHORIZATION_ERROR = /AUTHORIZATION_FAILED|authorization failed|not authorized/i;

interface Proc {
  app: AppName;
  name: string;
  username: string;
  child: ChildProcess;
  output: string[];
}

describe("the generated ACLs on a broker that enforces them", () => {
  const prefix = uniqueTopicPrefix("acl");
  const deployOptions: DeployOptions = {
    namespace: "vigil",
    kafkaNamespace: "kafka",
    kafkaCluster: "vigil",
    brokers: "unused:9093",
    prefix,
    replicationFactor: 1,
    image: { registry: "registry.example/vigil", tag: "test" },
    examplesDir: examples,
    rulePacks: [],
    lagThreshold: 1000,
  };
  // Exactly what users.yaml holds: the SCRAM user is the KafkaUser's name, its ACLs are its spec's.
  const generated = new Map(
    buildManifests(deployOptions)
      .flatMap((file) => file.manifests)
      .filter((manifest) => manifest.kind === "KafkaUser")
      .map((user) => {
        const app = user.metadata.labels?.["app.kubernetes.io/name"] as AppName;
        const { authorization } = user.spec as { authorization: { type: string; acls: KafkaAcl[] } };
        if (authorization.type !== "simple") throw new Error(`${app}: authorization ${authorization.type}`);
        return [app, { username: user.metadata.name, acls: authorization.acls }] as const;
      }),
  );
  const engine = generated.get("rules-engine");
  if (engine === undefined || generated.size !== appNames.length)
    throw new Error("not every app has a generated KafkaUser");
  /** The engine's ACLs but the one on its consumer group: the negative check. */
  const withoutGroup = {
    username: `${engine.username}.no-group`,
    acls: engine.acls.filter(
      (acl) => !(acl.resource.type === "group" && acl.resource.name === `${prefix}vigil-rules-engine`),
    ),
  };

  const sink = generated.get("sink-incidents");
  if (sink === undefined) throw new Error("no KafkaUser for sink-incidents");
  /** The sink's ACLs but those on its transactional ids: a refused transaction must name its id. */
  const withoutTransactions = {
    username: `${sink.username}.no-txn`,
    acls: sink.acls.filter((acl) => acl.resource.type !== "transactionalId"),
  };

  let broker: SecuredBroker;
  let admin: Transport;
  let scratch: string;
  const everything: Proc[] = [];
  const token = randomBytes(24).toString("hex");

  beforeAll(async () => {
    // Throws (failing the suite) when the broker cannot start: never skipped.
    broker = await startSecuredBroker({
      authorizer: "standard",
      extraUsers: [
        ...[...generated.values()].map((user) => user.username),
        withoutGroup.username,
        withoutTransactions.username,
      ],
    });
    // alice is the super user: she creates the topics and the ACLs, and reads the results.
    admin = createKafkaTransport({
      brokers: broker.brokers,
      clientId: "acls-it-admin",
      security: kafkaSecurityFromEnv(broker.env(broker.users.alice, "SCRAM-SHA-512")),
    });
    await ensureRegistryTopics(admin, prefix);
    await broker.createAcls([
      ...[...generated.values()].flatMap((user) => toKafkaAcls(user.username, user.acls)),
      ...toKafkaAcls(withoutGroup.username, withoutGroup.acls),
      ...toKafkaAcls(withoutTransactions.username, withoutTransactions.acls),
    ]);
    scratch = await mkdtemp(path.join(tmpdir(), "vigil-acls-"));
  }, 300_000);

  afterAll(async () => {
    for (const proc of everything) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await admin?.close();
    await broker?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }, 120_000);

  const userOf = (app: AppName | "no-group"): SaslUser => {
    const username = app === "no-group" ? withoutGroup.username : generated.get(app)?.username;
    const user = username === undefined ? undefined : broker.extraUsers.get(username);
    if (user === undefined) throw new Error(`no broker user for ${app}`);
    return user;
  };

  /** The app as a process, as `user`, given only the broker's SASL_SSL listener and the prefix. */
  function start(
    app: AppName,
    args: string[],
    user: SaslUser,
    env: Record<string, string> = {},
    label: string = app,
  ): Proc {
    const child = spawn(process.execPath, [main(app), ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        // Debug: the failures the code swallows (deleting a readAll group) are logged there.
        LOG_LEVEL: "debug",
        ...broker.env(user, "SCRAM-SHA-512"),
        VIGIL_TOPIC_PREFIX: prefix,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const proc: Proc = { app, name: label, username: user.username, child, output: [] };
    child.stdout?.on("data", (chunk: Buffer) => proc.output.push(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => proc.output.push(chunk.toString()));
    everything.push(proc);
    return proc;
  }

  async function exitOf(proc: Proc, timeoutMs = 90_000): Promise<number | null> {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
      await once(proc.child, "exit");
      clearTimeout(timer);
    }
    return proc.child.exitCode;
  }

  /** A run-to-end ingest as its app's user: it must exit 0. */
  async function ingest(app: AppName, args: string[], label?: string): Promise<void> {
    const proc = start(app, args, userOf(app), {}, label);
    expect(await exitOf(proc), `${proc.name}\n${proc.output.join("")}`).toBe(0);
  }

  /** A service as its app's user, once its /readyz answers 200 (topics checked, tables restored, groups joined). */
  async function service(app: AppName, args: string[], env: Record<string, string> = {}): Promise<Proc> {
    const health = await freePort();
    const proc = start(app, args, userOf(app), { VIGIL_HEALTH_LISTEN: `127.0.0.1:${health}`, ...env });
    const state = await waitFor(
      async () => {
        // An app that exits (a refused transactional id ends the sink at once) fails now, not after the timeout.
        if (proc.child.exitCode !== null) return "exited";
        const status = (await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined))?.status;
        return status === 200 ? "ready" : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, message: `${app} is ready` },
    );
    if (state === "exited")
      throw new Error(
        `${app} exited with ${proc.child.exitCode} before it was ready:\n${proc.output.join("")}`,
      );
    return proc;
  }

  async function stop(proc: Proc): Promise<void> {
    proc.child.kill("SIGTERM");
    expect(await exitOf(proc), `${proc.name} on SIGTERM\n${proc.output.join("")}`).toBe(0);
  }

  const engineArgs = [
    ...["--priority-list", at("assets", "priority-list.yaml")],
    ...["--baselines", at("baselines", "windows.yaml")],
    ...["--exceptions", at("exceptions", "exceptions.yaml")],
  ];
  // Event time: a replay of 2024's samples escalates (and requests response actions) as it did then.
  const sinkArgs = [
    ...["--clock", "event", "--priority-list", at("assets", "priority-list.yaml")],
    ...["--urgency-matrix", at("incidents", "urgency.yaml")],
    ...["--escalation-policy", at("incidents", "escalation.yaml")],
  ];
  const AS_OF = "2024-03-12T06:00:00.000Z";
  const inventory = (format: string, ...file: string[]) => [
    "--format",
    format,
    "--file",
    at("inventory", ...file),
    "--as-of",
    AS_OF,
  ];
  // With --checkpoint, as deployed: the file position is committed in a transaction with the alerts.
  const idsArgs = () => [
    "--file",
    at("suricata", "eve.json"),
    "--checkpoint",
    path.join(scratch, "eve.ckpt"),
  ];

  const records = async (spec: { name: string }) => admin.readAll(topicName(spec, prefix));

  it("runs every deployed app as its own user with only its generated ACLs, end to end", async () => {
    let rules = await service("rules-engine", engineArgs);
    let sink = await service("sink-incidents", sinkArgs);

    // Reference side, then events; each of these writes at least one record.
    await Promise.all([
      ingest("ingest-inventory", inventory("osquery", "osquery", "osqueryd.results.log")),
      ingest("ingest-advisories", ["--dir", at("advisories")]),
    ]);
    await Promise.all([
      ingest("ingest-updates", [
        "--dir",
        at("updates"),
        "--once",
        "--state",
        path.join(scratch, "updates.json"),
      ]),
      ingest("ingest-firewall", ["--file", at("firewall", "iptables.log"), "--year-of", AS_OF]),
      ingest("ingest-ids", idsArgs()),
    ]);

    const incidents = await waitFor(
      async () => {
        const read = (await records(topics.incidents)).map((r) =>
          IncidentV1.parse(JSON.parse(String(r.value))),
        );
        return read.length > 0 ? read : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: "incidents on vigil.incidents" },
    );

    // The console restores both incident topics whole (readAll groups), follows the tables and the
    // live feed in groups of its own, and publishes an analyst's command, which the sink applies.
    const consolePort = await freePort();
    const console_ = await service("console", ["--listen", `127.0.0.1:${consolePort}`], {
      VIGIL_CONSOLE_TOKENS: `${token}=acl-analyst:analyst`,
    });
    const api = (route: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${consolePort}${route}`, {
        ...init,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      });
    const listed = await waitFor(
      async () => {
        const body = (await (await api("/api/incidents?status=all")).json()) as { incidents: IncidentV1[] };
        return body.incidents.find((incident) => incident.status === "new");
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "the console lists a new incident" },
    );
    const posted = await api(`/api/incidents/${encodeURIComponent(listed.id)}/actions`, {
      method: "POST",
      body: JSON.stringify({ type: "acknowledge", note: "acl test" }),
    });
    expect(posted.status, await posted.clone().text()).toBe(202);
    const { id: commandId } = (await posted.json()) as { id: string };
    await waitFor(
      async () =>
        (await records(topics.incidentEvents))
          .map((r) => IncidentEventV1.parse(JSON.parse(String(r.value))))
          .some((event) => event.type === "acknowledged" && event.command_id === commandId),
      { timeoutMs: 60_000, intervalMs: 500, message: "the sink applied the console's acknowledge" },
    );

    // Second runs read back what the first wrote, through readAll's throwaway groups: the asset
    // table from vigil.inventory.hosts, the committed file position from vigil.ingest.checkpoints.
    await ingest(
      "ingest-inventory",
      inventory("ad-csv", "directory", "ad-computers.csv"),
      "ingest-inventory #2",
    );
    await ingest("ingest-ids", idsArgs(), "ingest-ids #2");
    // Restarted, the engine and the sink read their state back whole (rules state, the incident table).
    await stop(rules);
    await stop(sink);
    rules = await service("rules-engine", engineArgs);
    sink = await service("sink-incidents", sinkArgs);
    for (const proc of [console_, rules, sink]) await stop(proc);

    // What ran, to see which reads and writes the run exercised (a topic left empty was not written).
    const counts = new Map<string, number>();
    for (const spec of allTopics) {
      const ends = await admin.endOffsets(topicName(spec, prefix));
      counts.set(
        spec.name,
        ends.reduce((sum, { offset }) => sum + Number(offset), 0),
      );
    }
    process.stderr.write(
      `acls-it: ${incidents.length} incident records at first read; offsets per topic: ${JSON.stringify(Object.fromEntries(counts))}\n`,
    );
    for (const spec of [
      topics.rulesState,
      topics.responseActions,
      topics.inventoryHosts,
      topics.inventoryAudits,
      topics.advisories,
      topics.updatesAgent,
      topics.firewallEvents,
      topics.idsAlerts,
      topics.ingestCheckpoints,
      topics.findings,
      topics.incidents,
      topics.incidentEvents,
      topics.incidentCommands,
    ]) {
      expect(counts.get(spec.name), `records on ${spec.name}`).toBeGreaterThan(0);
    }

    // Nothing dead-lettered for want of a permission.
    for (const record of await records(topics.dlq)) {
      expect(JSON.stringify(record.headers), "a dead letter's reason").not.toMatch(AUTHORIZATION_ERROR);
    }
    // Every deployed app ran (the CLI is not deployed and has no user)...
    expect(new Set(everything.map((proc) => proc.app))).toEqual(new Set(appNames));
    for (const proc of everything) {
      // ...each as its own user over SASL_SSL (the transport says so at start, without the password)...
      expect(proc.output.join(""), proc.name).toContain(`SASL_SSL, SCRAM-SHA-512 as ${proc.username},`);
      // ...and saw no authorization error, not even one it retried or swallowed (logged at debug).
      expect(proc.output.join(""), proc.name).not.toMatch(AUTHORIZATION_ERROR);
    }
    // The broker denied none of the apps' users anything.
    const appUsers = [...generated.values()].map((user) => `User:${user.username} `);
    const denied = readFileSync(broker.serverLog, "utf8")
      .split("\n")
      .filter((line) => line.includes(" is Denied ") && appUsers.some((user) => line.includes(user)));
    expect(denied).toEqual([]);
    // readAll's throwaway groups were deleted (Delete on vigil-read-all-*), none left behind.
    const client = createKafkaClient({
      brokers: broker.brokers,
      clientId: "acls-it-groups",
      security: kafkaSecurityFromEnv(broker.env(broker.users.alice, "SCRAM-SHA-512")),
    });
    const groups = client.kafka.admin();
    await groups.connect();
    try {
      const { groups: listedGroups } = await groups.listGroups();
      expect(
        listedGroups.map((group) => group.groupId).filter((id) => id.includes("vigil-read-all-")),
      ).toEqual([]);
    } finally {
      await groups.disconnect();
    }
  }, 300_000);

  it("denies the engine's group to its user without the group's ACL: the engine exits 1 naming the group", async () => {
    const group = `${prefix}vigil-rules-engine`;
    const health = await freePort();
    const proc = start(
      "rules-engine",
      engineArgs,
      userOf("no-group"),
      { VIGIL_HEALTH_LISTEN: `127.0.0.1:${health}` },
      "rules-engine without its group ACL",
    );
    // Its consumer refused for good, it must not stay up looking ready: it ends by itself, exit 1,
    // saying which group and what to check.
    const code = await exitOf(proc);
    const output = proc.output.join("");
    process.stderr.write(
      `acls-it: rules engine without its group ACL exited ${code}: ${output.slice(-400)}\n`,
    );
    expect(code, output).toBe(1);
    expect(output).toContain(`the consumer of group ${group} stopped for good`);
    expect(output).toContain("check its ACLs");
    // The broker refused exactly that: the group, at the coordinator lookup or the join.
    const denied = readFileSync(broker.serverLog, "utf8")
      .split("\n")
      .filter((line) => line.includes(`User:${withoutGroup.username} is Denied`));
    expect(denied.length, "the broker's denial").toBeGreaterThan(0);
    for (const line of denied) expect(line).toContain(`on resource = Group:LITERAL:${group} `);
    // kafkajs names the real cause only in its debug log of the response.
    expect(proc.output.join("")).toMatch(/Not authorized to access group/);
  }, 180_000);

  it("names the transactional id a writer may not use (kafkajs does not)", async () => {
    const user = broker.extraUsers.get(withoutTransactions.username);
    if (user === undefined) throw new Error("the user without transactional ids was not created");
    const writer = createKafkaTransport({
      brokers: broker.brokers,
      clientId: "acls-it-no-txn",
      security: kafkaSecurityFromEnv(broker.env(user, "SCRAM-SHA-512")),
    });
    const transactionalId = `${prefix}vigil-sink-incidents.sink`;
    try {
      await expect(
        writer.sendAtomically(
          [{ topic: topicName(topics.incidents, prefix), messages: [{ key: "k", value: "{}" }] }],
          transactionalId,
        ),
      ).rejects.toThrow(`transactional id ${transactionalId} (grant Write and Describe on it)`);
    } finally {
      await writer.close();
    }
  });

  it("gives a user without ACLs nothing: an app as bob finds none of its topics", async () => {
    const proc = start(
      "ingest-advisories",
      ["--dir", at("advisories")],
      broker.users.bob,
      {},
      "advisories as bob",
    );
    const code = await exitOf(proc);
    const output = proc.output.join("");
    process.stderr.write(
      `acls-it: ingest-advisories as a user without ACLs exited ${code}: ${output.slice(-600)}\n`,
    );
    expect(code, output).not.toBe(0);
    expect(output).toContain(topicName(topics.advisories, prefix));
  });
});
