import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { KafkaTopic, KafkaUser } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2";
import { parseTelemetryEnv } from "@vigil/observability";
import { allTopics, type TopicSpec, topicName, topics } from "@vigil/schema";
import { kafkaSecurityFromEnv } from "@vigil/stream";
import { createTestPki } from "@vigil/testkit";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { describe, expect, it, vi } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { type AppName, appNames, apps } from "./apps.ts";
import { writeManifests } from "./generate.ts";
import { buildManifests, type DeployOptions, type KafkaAcl, type Manifest } from "./manifests.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface PodSpec {
  containers: Array<{ env?: EnvVar[]; volumeMounts?: Array<{ name: string; mountPath: string }> }>;
  volumes: Array<{
    name: string;
    secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  }>;
}

/** What an app's main gives @vigil/runtime: its CLI and the topics it checks exist at start. */
interface StartUp {
  cli: { parse(argv: readonly string[], env: NodeJS.ProcessEnv): { values: Record<string, unknown> } };
  topics: (values: Record<string, unknown>) => TopicSpec[];
}

// Each app's real main.ts runs against a stand-in @vigil/runtime that keeps what prepareApp or
// runService is given and connects nowhere: the topics below are the apps' own lists, not apps.ts's.
const startUps = vi.hoisted(() => new Map<string, StartUp>());
vi.mock("../../../packages/runtime/src/index.ts", () => {
  class Captured extends Error {}
  const keep = (options: unknown, cli: unknown): void => {
    const { stage, topics } = options as { stage: string; topics: StartUp["topics"] };
    startUps.set(stage, { cli: cli as StartUp["cli"], topics });
  };
  return {
    ExitError: class extends Error {},
    exitOnError: async (_name: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        if (!(error instanceof Captured)) throw error;
      }
    },
    prepareApp: async (cli: unknown, options: unknown) => {
      keep(options, cli);
      throw new Captured("start-up captured");
    },
    runService: async (cli: unknown, options: unknown) => keep(options, cli),
    runToEnd: async () => {},
  };
});

const options: DeployOptions = {
  namespace: "vigil",
  kafkaNamespace: "kafka",
  kafkaCluster: "vigil",
  brokers: "vigil-kafka-bootstrap.kafka.svc:9093",
  prefix: "tenant_A.",
  replicationFactor: 3,
  image: { registry: "registry.example/vigil", tag: "0.1.0" },
  examplesDir: join(repoRoot, "examples"),
  rulePacks: [],
  lagThreshold: 1000,
};

/** Each kind's schema model; validate() throws on anything the API server or the CRD would refuse. */
const models: Record<string, (data: Manifest) => { validate(): void }> = {
  KafkaTopic: (data) => new KafkaTopic(data as unknown as ConstructorParameters<typeof KafkaTopic>[0]),
  KafkaUser: (data) => new KafkaUser(data as unknown as ConstructorParameters<typeof KafkaUser>[0]),
  Deployment: (data) => new Deployment(data as unknown as ConstructorParameters<typeof Deployment>[0]),
  CronJob: (data) => new CronJob(data as unknown as ConstructorParameters<typeof CronJob>[0]),
  PodDisruptionBudget: (data) =>
    new PodDisruptionBudget(data as unknown as ConstructorParameters<typeof PodDisruptionBudget>[0]),
  ConfigMap: (data) => new ConfigMap(data as unknown as ConstructorParameters<typeof ConfigMap>[0]),
  Service: (data) => new Service(data as unknown as ConstructorParameters<typeof Service>[0]),
  ScaledObject: (data) => new ScaledObject(data as unknown as ConstructorParameters<typeof ScaledObject>[0]),
  TriggerAuthentication: (data) =>
    new TriggerAuthentication(data as unknown as ConstructorParameters<typeof TriggerAuthentication>[0]),
};

function validate(manifest: Manifest): void {
  const model = models[manifest.kind];
  if (model === undefined) throw new Error(`no schema for kind ${manifest.kind}`);
  model(manifest).validate();
}

async function generatedManifests(): Promise<Manifest[]> {
  const out = await mkdtemp(join(tmpdir(), "vigil-deploy-"));
  writeManifests(out, buildManifests(options));
  const files = (await readdir(out)).filter((file) => file !== "kustomization.yaml");
  const texts = await Promise.all(files.map((file) => readFile(join(out, file), "utf8")));
  const kustomization = parse(await readFile(join(out, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  expect(kustomization.resources.sort()).toEqual(files.sort());
  return texts.flatMap((text) => parseAllDocuments(text).map((document) => document.toJS() as Manifest));
}

const manifests = await generatedManifests();
const ofKind = (kind: string) => manifests.filter((manifest) => manifest.kind === kind);

const build = (overrides: Partial<DeployOptions>) =>
  buildManifests({ ...options, ...overrides }).flatMap((file) => file.manifests);
/** The other security settings every manifest must validate with. */
const variants: Partial<DeployOptions>[] = [
  { kafkaSecurity: "SSL" },
  { kafkaUsers: "none" },
  { kafkaSecurity: "SSL", kafkaUsers: "none" },
  { kafkaSecurity: "PLAINTEXT" },
];
const workloadsOf = (list: Manifest[]) =>
  list.filter((manifest) => manifest.kind === "Deployment" || manifest.kind === "CronJob");
function podOf(workload: Manifest): PodSpec {
  const spec = workload.spec as {
    template?: { spec: PodSpec };
    jobTemplate?: { spec: { template: { spec: PodSpec } } };
  };
  const pod = spec.template?.spec ?? spec.jobTemplate?.spec.template.spec;
  if (pod === undefined) throw new Error(`${workload.metadata.name}: no pod template`);
  return pod;
}
/** The KafkaUser (and Secret) an app's workload should use: `vigil-<app>` after the prefix, as a Kubernetes name. */
const userOf = (workload: Manifest) => `tenant-a.${workload.metadata.name}`;

describe("generated manifests", () => {
  it("validate against the Kubernetes, Strimzi and KEDA schemas, read back from the YAML files", () => {
    expect(manifests.length).toBeGreaterThan(allTopics.length + 2 * apps.length);
    expect(ofKind("KafkaUser")).toHaveLength(apps.length);
    for (const manifest of manifests) {
      expect(() => validate(manifest), `${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
    }
    // The other security settings, straight from the builder.
    for (const variant of variants) {
      for (const manifest of build(variant)) {
        expect(
          () => validate(manifest),
          `${JSON.stringify(variant)} ${manifest.kind}/${manifest.metadata.name}`,
        ).not.toThrow();
      }
    }
  });

  it("reject a broken manifest: the check can fail", () => {
    const [topic] = ofKind("KafkaTopic");
    const [deployment] = ofKind("Deployment");
    if (topic === undefined || deployment === undefined) throw new Error("nothing generated");
    const spec = topic.spec as Record<string, unknown>;
    expect(() => validate({ ...topic, spec: { ...spec, partitions: "six" } })).toThrow();
    const { selector: _selector, ...withoutSelector } = deployment.spec as Record<string, unknown>;
    expect(() => validate({ ...deployment, spec: withoutSelector })).toThrow();
    const [user] = ofKind("KafkaUser");
    if (user === undefined) throw new Error("no KafkaUser generated");
    const userSpec = user.spec as { authorization: { type: string; acls: KafkaAcl[] } };
    const withAcl = (acl: unknown) => ({
      ...user,
      spec: { ...userSpec, authorization: { ...userSpec.authorization, acls: [acl] } },
    });
    expect(() => validate(withAcl(userSpec.authorization.acls[0]))).not.toThrow();
    const topicAcl = { resource: { type: "topic", name: "vigil.dlq", patternType: "literal" } };
    expect(() => validate(withAcl({ ...topicAcl, operations: ["Publish"] }))).toThrow();
    expect(() =>
      validate(withAcl({ resource: { type: "queue", name: "vigil.dlq" }, operations: ["Read"] })),
    ).toThrow();
    expect(() =>
      validate(
        withAcl({
          ...topicAcl,
          resource: { ...topicAcl.resource, patternType: "glob" },
          operations: ["Read"],
        }),
      ),
    ).toThrow();
    expect(() =>
      validate({ ...user, spec: { ...userSpec, authentication: { type: "scram-sha-256" } } }),
    ).toThrow();
  });

  it("has one KafkaTopic per registry topic, with its partitions, replicas and configs", () => {
    const kafkaTopics = ofKind("KafkaTopic");
    expect(kafkaTopics).toHaveLength(allTopics.length);
    for (const spec of allTopics) {
      const resource = kafkaTopics.find(
        (manifest) => (manifest.spec as { topicName: string }).topicName === topicName(spec, options.prefix),
      );
      expect(resource, spec.name).toBeDefined();
      expect(resource?.metadata.name).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
      expect(resource?.metadata.labels?.["strimzi.io/cluster"]).toBe("vigil");
      expect(resource?.spec).toMatchObject({
        partitions: spec.partitions,
        replicas: 3,
        config: {
          "cleanup.policy": spec.cleanupPolicy,
          "retention.ms": spec.retentionMs,
          "min.insync.replicas": 2,
        },
      });
    }
  });

  it("caps every ScaledObject at the partitions of the topics its triggers watch", () => {
    const scaledObjects = ofKind("ScaledObject");
    expect(scaledObjects.map((manifest) => manifest.metadata.name)).toEqual(["vigil-rules-engine"]);
    for (const manifest of scaledObjects) {
      const spec = manifest.spec as {
        maxReplicaCount: number;
        triggers: { type: string; metadata: Record<string, string> }[];
      };
      const watched = spec.triggers.map((trigger) => {
        expect(trigger.type).toBe("kafka");
        expect(trigger.metadata.consumerGroup).toBe("tenant_A.vigil-rules-engine");
        // Beyond a topic's partitions KEDA must not count idle consumers.
        expect(trigger.metadata.allowIdleConsumers).toBe("false");
        const spec = allTopics.find((topic) => topicName(topic, options.prefix) === trigger.metadata.topic);
        if (spec === undefined) throw new Error(`trigger on ${trigger.metadata.topic}, not in the registry`);
        return spec.partitions;
      });
      expect(spec.maxReplicaCount).toBeLessThanOrEqual(Math.max(...watched));
      expect(spec.maxReplicaCount).toBe(topics.idsAlerts.partitions);
    }
  });

  it("lets the operator cap the rules engine lower, never above its partitions", () => {
    const ceiling = (maxEngineInstances: number) => {
      const scaled = buildManifests({ ...options, maxEngineInstances })
        .flatMap((file) => file.manifests)
        .find((manifest) => manifest.kind === "ScaledObject");
      return (scaled?.spec as { maxReplicaCount: number } | undefined)?.maxReplicaCount;
    };
    expect(ceiling(1)).toBe(1);
    expect(ceiling(1000)).toBe(topics.idsAlerts.partitions);
  });

  it("runs every app as a locked-down workload with probes on a named port and Kafka credentials by name", () => {
    const workloads = [...ofKind("Deployment"), ...ofKind("CronJob")];
    expect(workloads.map((workload) => workload.metadata.name).sort()).toEqual(
      appNames.map((name) => `vigil-${name}`).sort(),
    );
    for (const workload of ofKind("Deployment")) {
      const container = (workload.spec as { template: { spec: { containers: Record<string, unknown>[] } } })
        .template.spec.containers[0];
      expect(container?.securityContext).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(container?.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "health" } });
      expect(container?.readinessProbe).toMatchObject({ httpGet: { path: "/readyz", port: "health" } });
      const text = JSON.stringify(workload);
      expect(text).toContain(`"secretName":"${userOf(workload)}"`);
      expect(text).not.toContain("vigil-kafka-credentials");
      expect(text).not.toMatch(/password"\s*,\s*"value"/i);
      // Every app but the batch one has a disruption budget.
      expect(ofKind("PodDisruptionBudget").map((pdb) => pdb.metadata.name)).toContain(workload.metadata.name);
    }
  });

  it("names each pod in its telemetry and lets Prometheus find /metrics; OTLP only when a collector is given", () => {
    for (const workload of [...ofKind("Deployment"), ...ofKind("CronJob")]) {
      const text = JSON.stringify(workload);
      expect(text).toContain('"prometheus.io/scrape":"true"');
      expect(text).toContain('"prometheus.io/port":"9464"');
      expect(text).toContain("service.instance.id=$(POD_NAME)");
      // Kubernetes expands $(VAR) only for variables defined earlier in the same list.
      const env =
        JSON.parse(text).spec.template?.spec?.containers?.[0]?.env ??
        JSON.parse(text).spec.jobTemplate.spec.template.spec.containers[0].env;
      const names = (env as { name: string }[]).map((entry) => entry.name);
      expect(names.indexOf("POD_NAME")).toBeLessThan(names.indexOf("OTEL_RESOURCE_ATTRIBUTES"));
      expect(names.indexOf("POD_NAMESPACE")).toBeLessThan(names.indexOf("OTEL_RESOURCE_ATTRIBUTES"));
    }
    const config = (files: typeof manifests) =>
      files.find((m) => m.kind === "ConfigMap" && m.metadata.name === "vigil-config");
    expect(JSON.stringify(config(manifests))).not.toContain("OTEL_");
    const withCollector = buildManifests({
      ...options,
      otlpEndpoint: "http://otel-collector.observability:4318",
    }).flatMap((file) => file.manifests);
    expect(config(withCollector)).toMatchObject({
      data: {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector.observability:4318",
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_METRICS_EXPORTER: "prometheus,otlp",
      },
    });
    // What the generator writes is what the apps accept (they exit 2 on a value they do not).
    const data = config(withCollector)?.data as Record<string, string>;
    const parsed = parseTelemetryEnv({
      ...data,
      OTEL_RESOURCE_ATTRIBUTES: "service.instance.id=vigil-rules-engine-7d9f,k8s.namespace.name=vigil",
    });
    expect(parsed.OTEL_METRICS_EXPORTER).toEqual(["prometheus", "otlp"]);
    expect(parsed.OTEL_TRACES_EXPORTER).toEqual(["otlp"]);
  });

  it("connects over SASL_SSL with the Strimzi CA and the app's own SCRAM user, its password a mounted file", () => {
    for (const workload of workloadsOf(manifests)) {
      const pod = podOf(workload);
      const container = pod.containers[0];
      const env = Object.fromEntries((container?.env ?? []).map((entry) => [entry.name, entry]));
      expect(env.KAFKA_SECURITY_PROTOCOL?.value).toBe("SASL_SSL");
      expect(env.KAFKA_SSL_CA_FILE?.value).toBe("/etc/vigil/kafka-tls/ca.crt");
      // Plain values: the user name is the KafkaUser's, nothing secret.
      expect(env.KAFKA_SASL_MECHANISM?.value).toBe("SCRAM-SHA-512");
      expect(env.KAFKA_SASL_USERNAME?.value).toBe(userOf(workload));
      expect(env.KAFKA_SASL_PASSWORD).toBeUndefined();
      const passwordFile = env.KAFKA_SASL_PASSWORD_FILE?.value ?? "";
      const mount = container?.volumeMounts?.find((entry) => passwordFile.startsWith(`${entry.mountPath}/`));
      const volume = pod.volumes.find((entry) => entry.name === mount?.name);
      // Strimzi's Secret of a scram-sha-512 KafkaUser: named after the user, the password under `password`.
      expect(volume?.secret?.secretName).toBe(userOf(workload));
      expect(volume?.secret?.items).toEqual([{ key: "password", path: passwordFile.split("/").at(-1) }]);
    }
  });

  it("leaves every KAFKA_SSL_* / KAFKA_SASL_* setting and Secret volume out for PLAINTEXT", () => {
    const plain = buildManifests({ ...options, kafkaSecurity: "PLAINTEXT" }).flatMap(
      (file) => file.manifests,
    );
    const deployments = plain.filter((manifest) => manifest.kind === "Deployment");
    expect(deployments.length).toBeGreaterThan(0);
    for (const workload of deployments) {
      const text = JSON.stringify(workload);
      expect(text).toContain('"KAFKA_SECURITY_PROTOCOL","value":"PLAINTEXT"');
      expect(text).not.toMatch(/KAFKA_SSL_|KAFKA_SASL_|vigil-kafka-tls|vigil-kafka-credentials|kafka-user/);
    }
    // No identity to give ACLs to, nothing for KEDA to authenticate with.
    expect(plain.filter((manifest) => manifest.kind === "KafkaUser")).toEqual([]);
    expect(plain.filter((manifest) => manifest.kind === "TriggerAuthentication")).toEqual([]);
    expect(JSON.stringify(plain)).not.toContain("authenticationRef");
    expect(() => buildManifests({ ...options, kafkaSecurity: "PLAINTEXT", kafkaUsers: "strimzi" })).toThrow(
      /PLAINTEXT/,
    );
  });

  it("ships the examples' reference files and passes each to the rules engine", () => {
    const baselines = ofKind("ConfigMap").find((manifest) => manifest.metadata.name === "vigil-baselines");
    expect(baselines?.data).toMatchObject({
      "windows.yaml": readFileSync(join(repoRoot, "examples/baselines/windows.yaml"), "utf8"),
    });
    const engine = ofKind("Deployment").find((manifest) => manifest.metadata.name === "vigil-rules-engine");
    expect(JSON.stringify(engine)).toContain(
      "--priority-list=/etc/vigil/reference/priority-lists/priority-list.yaml",
    );
    expect(JSON.stringify(engine)).toContain("--exceptions=/etc/vigil/reference/exceptions/exceptions.yaml");
  });
});

// Each app's start-up, from its own main.ts (see the stand-in runtime at the top).
for (const name of appNames) await import(`../../../apps/${name}/src/main.ts`);

/** The values an app parses from its Deployment's arguments and vigil-config's VIGIL_TOPIC_PREFIX. */
function startUp(name: AppName): { values: Record<string, unknown>; topics: TopicSpec[]; prefix: string } {
  const captured = startUps.get(name);
  const app = apps.find((spec) => spec.name === name);
  if (captured === undefined || app === undefined) throw new Error(`${name}: its main did not start`);
  const { values } = captured.cli.parse(app.args, { VIGIL_TOPIC_PREFIX: options.prefix });
  return { values, topics: captured.topics(values), prefix: String(values.topicPrefix) };
}

/**
 * What each app's code writes, and which of those it also reads back; every other topic its main
 * checks at start it only reads. Written here from the code, apart from apps.ts.
 */
const written: Record<AppName, { writes: TopicSpec[]; readsBack?: TopicSpec[] }> = {
  // runIngest's records and dead letters; the committed file position (packages/ingest), read at start.
  "ingest-ids": {
    writes: [topics.idsAlerts, topics.idsContext, topics.dlq, topics.ingestCheckpoints],
    readsBack: [topics.ingestCheckpoints],
  },
  "ingest-firewall": { writes: [topics.firewallEvents, topics.dlq] },
  // restoreTable reads the hosts back whole before diffing an export against them.
  "ingest-inventory": {
    writes: [topics.inventoryHosts, topics.inventoryAudits, topics.dlq],
    readsBack: [topics.inventoryHosts],
  },
  "ingest-updates": { writes: [topics.updatesAgent, topics.dlq] },
  "ingest-advisories": { writes: [topics.advisories, topics.dlq] },
  // Findings, correlation state (restored with readAll), events re-keyed by correlation key, dead letters.
  "rules-engine": {
    writes: [topics.findings, topics.rulesState, topics.rulesRepartition, topics.dlq],
    readsBack: [topics.rulesState, topics.rulesRepartition],
  },
  // The incident table is restored from vigil.incidents; the outputs group reads vigil.incident-events.
  "sink-incidents": {
    writes: [topics.incidents, topics.incidentEvents, topics.responseActions, topics.dlq],
    readsBack: [topics.incidents, topics.incidentEvents],
  },
  // server.ts publishes analysts' commands; the console dead-letters nothing.
  console: { writes: [topics.incidentCommands] },
};

type Resource = { type: string; name: string; patternType: string; operations: string[] };

/** The groups and transactional ids each app's code builds, from its parsed defaults (`--group-id`). */
function expectedNames(name: AppName): Resource[] {
  const { values, prefix } = startUp(name);
  const group = `${prefix}${String(values.groupId)}`;
  const read = (groupName: string, patternType = "literal"): Resource => ({
    type: "group",
    name: groupName,
    patternType,
    operations: ["Read"],
  });
  const transactional = (id: string, patternType = "literal"): Resource => ({
    type: "transactionalId",
    name: id,
    patternType,
    operations: ["Write", "Describe"],
  });
  // readAll's throwaway groups, behind the prefix the runtime gives the transport.
  const readAllGroup: Resource = {
    type: "group",
    name: `${prefix}vigil-read-all-`,
    patternType: "prefix",
    operations: ["Read", "Delete"],
  };
  switch (name) {
    case "rules-engine":
      // Its group (KEDA's too), the table followers `<group>.tables.<uuid>`, the state restore.
      return [read(group), read(`${group}.tables.`, "prefix"), readAllGroup];
    case "sink-incidents":
      return [
        read(group),
        read(`${group}.outputs`),
        readAllGroup,
        transactional(`${group}.sink`),
        transactional(`${group}.sink.ticks`),
      ];
    case "console":
      return [
        read(`${prefix}vigil-console.tables.`, "prefix"),
        read(`${prefix}vigil-console.live.`, "prefix"),
        readAllGroup,
      ];
    case "ingest-ids":
      // `<prefix>vigil-<stage>-<digest>`.
      return [readAllGroup, transactional(`${prefix}vigil-ingest-ids-`, "prefix")];
    case "ingest-inventory":
      return [readAllGroup];
    default:
      return [];
  }
}

/**
 * Every consumer group and transactional id the deployed apps' code builds (apps/ but the CLI,
 * packages/ but the testkit), as written in the source. A new or changed one fails here until
 * apps.ts (the ACLs) and `expectedNames` say what it needs. Placeholders are written `{x}` for `${x}`.
 */
const knownNameExpressions = [
  "apps/console/src/index.ts groupPrefix: `{prefix}vigil-console.tables`",
  "apps/console/src/index.ts groupId: `{prefix}vigil-console.live.{randomUUID()}`",
  "apps/rules-engine/src/index.ts groupPrefix: `{prefix}{config.groupId}.tables`",
  "apps/rules-engine/src/index.ts groupId: `{prefix}{config.groupId}`",
  "apps/sink-incidents/src/index.ts transactionalId = `{prefix}{config.groupId}.sink`",
  "apps/sink-incidents/src/index.ts tickTransactionalId = `{transactionalId}.ticks`",
  "apps/sink-incidents/src/index.ts groupId: `{prefix}{config.groupId}`",
  "apps/sink-incidents/src/index.ts groupId: `{prefix}{config.groupId}.outputs`",
  "packages/ingest/src/committed-checkpoint.ts transactionalId: `{source.topicPrefix}vigil-{source.stage}-{digest}`",
  'packages/stream/src/kafka.ts groupId = `{this.options.groupPrefix ?? ""}vigil-read-all-{randomUUID()}`',
  "packages/stream/src/table.ts groupId: `{options.groupPrefix}.{randomUUID()}`",
];

function nameExpressionsInCode(): string[] {
  const found: string[] = [];
  const pattern = /\b(groupId|groupPrefix|\w*[tT]ransactionalId)\s*([:=])\s*(`[^`]*`|"[^"]*")/g;
  const roots = [
    ...appNames.map((name) => `apps/${name}/src`),
    ...readdirSync(join(repoRoot, "packages"))
      .filter((name) => name !== "testkit")
      .map((name) => `packages/${name}/src`),
  ];
  for (const root of roots) {
    for (const entry of readdirSync(join(repoRoot, root), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts")) continue;
      // Test helpers (an app's testing.ts, the transport contract suite) are not deployed.
      if (entry.name === "testing.ts" || entry.name === "contract.ts") continue;
      const path = join(entry.parentPath, entry.name);
      for (const match of readFileSync(path, "utf8").matchAll(pattern)) {
        const [, name, operator, text] = match;
        const separator = operator === "=" ? " =" : ":";
        found.push(`${relative(repoRoot, path)} ${name}${separator} ${text?.replaceAll("${", "{")}`);
      }
    }
  }
  return found.sort();
}

const usersOf = (list: Manifest[]) => list.filter((manifest) => manifest.kind === "KafkaUser");
const aclsOf = (user: Manifest | undefined) =>
  (user?.spec as { authorization: { type: string; acls: KafkaAcl[] } } | undefined)?.authorization.acls ?? [];
const userOfApp = (list: Manifest[], name: AppName) =>
  usersOf(list).find((user) => user.metadata.labels?.["app.kubernetes.io/name"] === name);
const topicOperations = (acls: KafkaAcl[]) =>
  new Map(
    acls.flatMap((acl) =>
      acl.resource.type === "topic" ? [[acl.resource.name, acl.operations] as const] : [],
    ),
  );

describe("Kafka users", () => {
  it("gives every app a KafkaUser of its own, in the topics' namespace, named after it behind the prefix", () => {
    const users = ofKind("KafkaUser");
    expect(users.map((user) => user.metadata.name).sort()).toEqual(
      appNames.map((name) => `tenant-a.vigil-${name}`).sort(),
    );
    const topicNamespaces = new Set(ofKind("KafkaTopic").map((topic) => topic.metadata.namespace));
    for (const user of users) {
      expect(user.metadata.name).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
      expect(topicNamespaces).toEqual(new Set([user.metadata.namespace]));
      expect(user.metadata.labels?.["strimzi.io/cluster"]).toBe("vigil");
      expect(user.spec).toMatchObject({
        authentication: { type: "scram-sha-512" },
        authorization: { type: "simple" },
      });
    }
    const elsewhere = build({ kafkaUserNamespace: "vigil" });
    expect(new Set(usersOf(elsewhere).map((user) => user.metadata.namespace))).toEqual(new Set(["vigil"]));
    expect(
      new Set(
        build({ kafkaUserNamespace: "vigil" })
          .filter((m) => m.kind === "KafkaTopic")
          .map((m) => m.metadata.namespace),
      ),
    ).toEqual(new Set(["kafka"]));
  });

  it("grants each app exactly the topics its main checks at start, Write only on those its code writes", () => {
    for (const name of appNames) {
      const { topics: checked, prefix } = startUp(name);
      const acls = aclsOf(userOfApp(manifests, name));
      const operations = topicOperations(acls);
      const named = (list: TopicSpec[]) => new Set(list.map((spec) => topicName(spec, prefix)));
      const writes = named(written[name].writes);
      const readsBack = named(written[name].readsBack ?? []);
      expect(new Set(operations.keys()), name).toEqual(named(checked));
      for (const topic of named(checked)) {
        const expected = [
          ...(!writes.has(topic) || readsBack.has(topic) ? ["Read"] : []),
          ...(writes.has(topic) ? ["Write"] : []),
          "Describe",
        ];
        expect(operations.get(topic), `${name} on ${topic}`).toEqual(expected);
      }
      // Nothing it only reads is writable, whatever apps.ts says.
      for (const [topic, granted] of operations) {
        if (!writes.has(topic)) expect(granted, `${name} on ${topic}`).not.toContain("Write");
      }
    }
  });

  it("grants Read on exactly the consumer groups, Write and Describe on the transactional ids, the apps build", () => {
    expect(nameExpressionsInCode()).toEqual([...knownNameExpressions].sort());
    for (const name of appNames) {
      const acls = aclsOf(userOfApp(manifests, name));
      const named = acls.flatMap((acl) =>
        acl.resource.type === "group" || acl.resource.type === "transactionalId"
          ? [{ ...acl.resource, operations: acl.operations }]
          : [],
      );
      const byName = (a: Resource, b: Resource) => `${a.type}/${a.name}`.localeCompare(`${b.type}/${b.name}`);
      expect(named.sort(byName), name).toEqual(expectedNames(name).sort(byName));
      // Every app writes something (if only dead letters): its idempotent producer needs the cluster right.
      expect(
        acls.filter((acl) => acl.resource.type === "cluster"),
        name,
      ).toEqual([{ resource: { type: "cluster" }, operations: ["IdempotentWrite"] }]);
      // Nothing wider than its own names: no wildcard and no operation it does not use.
      expect(JSON.stringify(acls), name).not.toMatch(/"name":"\*"|"All"|Alter|Create|ClusterAction/);
    }
  });

  it("mounts only the app's own user's Secret (and the CA) in every Deployment and CronJob", () => {
    for (const list of [manifests, build({ kafkaSecurity: "SSL" })]) {
      const workloads = workloadsOf(list);
      expect(workloads).toHaveLength(apps.length);
      for (const workload of workloads) {
        const pod = podOf(workload);
        const secrets = pod.volumes.flatMap((volume) => (volume.secret ? [volume.secret.secretName] : []));
        expect(secrets.sort(), workload.metadata.name).toEqual([userOf(workload), "vigil-kafka-tls"].sort());
        expect(JSON.stringify(pod), workload.metadata.name).not.toContain("secretKeyRef");
        expect(usersOf(list).map((user) => user.metadata.name)).toContain(userOf(workload));
      }
    }
  });

  it("connects with mutual TLS under --kafka-security SSL: tls users, user.crt and user.key mounted and named", async () => {
    const mutual = build({ kafkaSecurity: "SSL" });
    for (const user of usersOf(mutual)) {
      expect(user.spec).toMatchObject({ authentication: { type: "tls" } });
      expect(aclsOf(user)).toEqual(
        aclsOf(userOfApp(manifests, user.metadata.labels?.["app.kubernetes.io/name"] as AppName)),
      );
    }
    // What the generator writes is what the apps accept: their own parser, on the mounted files.
    const pki = createTestPki(await mkdtemp(join(tmpdir(), "vigil-deploy-pki-")));
    const files: Record<string, string> = {
      "/etc/vigil/kafka-tls/ca.crt": pki.caFile,
      "/etc/vigil/kafka-user/user.crt": pki.clientCertFile,
      "/etc/vigil/kafka-user/user.key": pki.clientKeyFile,
    };
    for (const workload of workloadsOf(mutual)) {
      const pod = podOf(workload);
      const container = pod.containers[0];
      const env = Object.fromEntries((container?.env ?? []).map((entry) => [entry.name, entry.value]));
      expect(env).toMatchObject({
        KAFKA_SECURITY_PROTOCOL: "SSL",
        KAFKA_SSL_CA_FILE: "/etc/vigil/kafka-tls/ca.crt",
        KAFKA_SSL_CERT_FILE: "/etc/vigil/kafka-user/user.crt",
        KAFKA_SSL_KEY_FILE: "/etc/vigil/kafka-user/user.key",
      });
      expect(Object.keys(env).filter((key) => key.startsWith("KAFKA_SASL_"))).toEqual([]);
      const mount = container?.volumeMounts?.find((entry) => entry.mountPath === "/etc/vigil/kafka-user");
      const volume = pod.volumes.find((entry) => entry.name === mount?.name);
      // Strimzi's Secret of a tls KafkaUser; not its ca.crt (the clients CA) nor the PKCS12 bundle.
      expect(volume?.secret).toMatchObject({
        secretName: userOf(workload),
        items: [
          { key: "user.crt", path: "user.crt" },
          { key: "user.key", path: "user.key" },
        ],
      });
      const security = kafkaSecurityFromEnv(env, {
        readFile: (path) => readFileSync(files[path] ?? `missing:${path}`),
      });
      expect(security.summary).toMatchObject({
        protocol: "SSL",
        clientCertificate: "PEM",
        verifyServer: true,
      });
    }
  });

  it("keeps the shared Secret with --kafka-users none: no KafkaUser, SASL from vigil-kafka-credentials", () => {
    const shared = build({ kafkaUsers: "none" });
    expect(usersOf(shared)).toEqual([]);
    expect(buildManifests({ ...options, kafkaUsers: "none" }).map((file) => file.file)).not.toContain(
      "users.yaml",
    );
    for (const workload of workloadsOf(shared)) {
      const pod = podOf(workload);
      const env = Object.fromEntries((pod.containers[0]?.env ?? []).map((entry) => [entry.name, entry]));
      expect(env.KAFKA_SASL_MECHANISM?.valueFrom?.secretKeyRef?.name).toBe("vigil-kafka-credentials");
      expect(env.KAFKA_SASL_USERNAME?.valueFrom?.secretKeyRef?.name).toBe("vigil-kafka-credentials");
      expect(env.KAFKA_SASL_PASSWORD_FILE?.value).toBe("/etc/vigil/kafka-credentials/KAFKA_SASL_PASSWORD");
      const secrets = pod.volumes.flatMap((volume) => (volume.secret ? [volume.secret] : []));
      expect(secrets.map((secret) => secret.secretName).sort()).toEqual([
        "vigil-kafka-credentials",
        "vigil-kafka-tls",
      ]);
    }
    const auth = shared.find((manifest) => manifest.kind === "TriggerAuthentication");
    expect(auth?.spec).toEqual({
      secretTargetRef: [
        { parameter: "sasl", name: "vigil-kafka-credentials", key: "KEDA_SASL" },
        { parameter: "username", name: "vigil-kafka-credentials", key: "KAFKA_SASL_USERNAME" },
        { parameter: "password", name: "vigil-kafka-credentials", key: "KAFKA_SASL_PASSWORD" },
        { parameter: "tls", name: "vigil-kafka-credentials", key: "KEDA_TLS" },
        { parameter: "ca", name: "vigil-kafka-tls", key: "ca.crt" },
      ],
    });
    // SSL without users: the CA only, for the apps and for KEDA.
    const caOnly = build({ kafkaSecurity: "SSL", kafkaUsers: "none" });
    expect(JSON.stringify(workloadsOf(caOnly))).not.toMatch(
      /KAFKA_SASL_|KAFKA_SSL_CERT|kafka-user|vigil-kafka-credentials/,
    );
    expect(caOnly.find((manifest) => manifest.kind === "TriggerAuthentication")?.spec).toEqual({
      secretTargetRef: [{ parameter: "ca", name: "vigil-kafka-tls", key: "ca.crt" }],
    });
  });

  it("lets KEDA read the rules engine's lag as the engine's own user, sasl and tls as trigger metadata", () => {
    const engineUser = "tenant-a.vigil-rules-engine";
    const grants = aclsOf(userOfApp(manifests, "rules-engine"));
    const cases = [
      {
        list: manifests,
        metadata: { sasl: "scram_sha512", tls: "enable" },
        spec: {
          // KAFKA_SASL_USERNAME of the scaled container: a plain value, the KafkaUser's name.
          env: [{ parameter: "username", name: "KAFKA_SASL_USERNAME", containerName: "rules-engine" }],
          secretTargetRef: [
            { parameter: "password", name: engineUser, key: "password" },
            { parameter: "ca", name: "vigil-kafka-tls", key: "ca.crt" },
          ],
        },
      },
      {
        list: build({ kafkaSecurity: "SSL" }),
        metadata: { tls: "enable" },
        spec: {
          secretTargetRef: [
            { parameter: "ca", name: "vigil-kafka-tls", key: "ca.crt" },
            { parameter: "cert", name: engineUser, key: "user.crt" },
            { parameter: "key", name: engineUser, key: "user.key" },
          ],
        },
      },
    ];
    for (const { list, metadata, spec } of cases) {
      const auths = list.filter((manifest) => manifest.kind === "TriggerAuthentication");
      expect(auths.map((auth) => auth.spec)).toEqual([spec]);
      const engine = workloadsOf(list).find((workload) => workload.metadata.name === "vigil-rules-engine");
      const scaled = list.find((manifest) => manifest.kind === "ScaledObject");
      if (engine === undefined || scaled === undefined) throw new Error("no rules engine or ScaledObject");
      const env = podOf(engine).containers[0]?.env ?? [];
      if ("env" in spec)
        expect(env.find((entry) => entry.name === "KAFKA_SASL_USERNAME")?.value).toBe(engineUser);
      const { triggers } = scaled.spec as {
        triggers: { authenticationRef: { name: string }; metadata: Record<string, string> }[];
      };
      for (const trigger of triggers) {
        expect(trigger.authenticationRef.name).toBe(auths[0]?.metadata.name);
        expect(trigger.metadata).toMatchObject(metadata);
        if (!("sasl" in metadata)) expect(trigger.metadata.sasl).toBeUndefined();
        // The scaler describes the group's offsets and the topic's: Read on both implies Describe.
        expect(topicOperations(grants).get(trigger.metadata.topic ?? "")).toContain("Read");
        expect(grants).toContainEqual({
          resource: { type: "group", name: trigger.metadata.consumerGroup, patternType: "literal" },
          operations: ["Read"],
        });
      }
    }
  });
});

describe("docker-compose.yml", () => {
  it("runs every app against the kafka service, after the topics exist", () => {
    const compose = parse(readFileSync(join(repoRoot, "infra/deploy/docker-compose.yml"), "utf8"), {
      merge: true,
    }) as {
      services: Record<string, { depends_on?: Record<string, { condition: string }>; image?: string }>;
    };
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:4\./);
    expect(compose.services.topics?.depends_on?.kafka?.condition).toBe("service_healthy");
    for (const name of appNames) {
      const service = compose.services[name];
      expect(service, name).toBeDefined();
      expect(service?.depends_on?.kafka, name).toBeDefined();
      expect(service?.depends_on?.topics?.condition, name).toBe("service_completed_successfully");
    }
  });
});
