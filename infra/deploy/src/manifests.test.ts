import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2";
import { parseTelemetryEnv } from "@vigil/observability";
import { allTopics, topicName, topics } from "@vigil/schema";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { appNames, apps } from "./apps.ts";
import { writeManifests } from "./generate.ts";
import { buildManifests, type DeployOptions, type Manifest } from "./manifests.ts";

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

describe("generated manifests", () => {
  it("validate against the Kubernetes, Strimzi and KEDA schemas, read back from the YAML files", () => {
    expect(manifests.length).toBeGreaterThan(allTopics.length + apps.length);
    for (const manifest of manifests) {
      expect(() => validate(manifest), `${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
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
      const text = JSON.stringify(container);
      expect(text).toContain("vigil-kafka-credentials");
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

  it("connects over SASL_SSL with the Strimzi CA and the password as a mounted Secret file, never in env", () => {
    for (const workload of ofKind("Deployment")) {
      const pod = (workload.spec as { template: { spec: PodSpec } }).template.spec;
      const container = pod.containers[0];
      const env = Object.fromEntries((container?.env ?? []).map((entry) => [entry.name, entry]));
      expect(env.KAFKA_SECURITY_PROTOCOL?.value).toBe("SASL_SSL");
      expect(env.KAFKA_SSL_CA_FILE?.value).toBe("/etc/vigil/kafka-tls/ca.crt");
      expect(env.KAFKA_SASL_MECHANISM?.valueFrom?.secretKeyRef?.name).toBe("vigil-kafka-credentials");
      expect(env.KAFKA_SASL_USERNAME?.valueFrom?.secretKeyRef?.name).toBe("vigil-kafka-credentials");
      expect(env.KAFKA_SASL_PASSWORD).toBeUndefined();
      const passwordFile = env.KAFKA_SASL_PASSWORD_FILE?.value ?? "";
      const mount = container?.volumeMounts?.find((entry) => passwordFile.startsWith(`${entry.mountPath}/`));
      const volume = pod.volumes.find((entry) => entry.name === mount?.name);
      expect(volume?.secret?.secretName).toBe("vigil-kafka-credentials");
      expect(volume?.secret?.items).toEqual([
        { key: "KAFKA_SASL_PASSWORD", path: passwordFile.split("/").at(-1) },
      ]);
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
      expect(text).not.toMatch(/KAFKA_SSL_|KAFKA_SASL_|vigil-kafka-tls|vigil-kafka-credentials/);
    }
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
