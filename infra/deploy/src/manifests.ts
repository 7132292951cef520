// Kubernetes manifests built from the topic registry (@vigil/schema), the same source `pnpm topics:apply`
// uses, so partitions, retention and consumer-group bounds have one place to change.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { allTopics, type TopicSpec, topicName } from "@vigil/schema";
import {
  type AppSpec,
  apps,
  DATA_DIR,
  INPUT_DIR,
  type KafkaName,
  PACKS_DIR,
  type PatternType,
  REFERENCE_DIR,
} from "./apps.ts";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface ManifestFile {
  file: string;
  manifests: Manifest[];
}

export interface DeployOptions {
  namespace: string;
  /** Namespace the Strimzi Topic Operator watches (the Kafka cluster's). */
  kafkaNamespace: string;
  /** Strimzi `Kafka` resource name: the `strimzi.io/cluster` label of the topics. */
  kafkaCluster: string;
  brokers: string;
  prefix: string;
  replicationFactor: number;
  image: { registry: string; tag: string };
  /**
   * OTLP/HTTP collector (e.g. http://otel-collector.observability:4318): traces and metrics are
   * pushed there as well; without it metrics are scraped from /metrics and spans are not exported.
   */
  otlpEndpoint?: string;
  /** Reference files: examples/ by default. */
  examplesDir: string;
  /** Single-module rule packs to ship in a ConfigMap and load with --pack. */
  rulePacks: string[];
  lagThreshold: number;
  /**
   * Ceiling of the rules engine's autoscaling below its partition count (correlations keyed by
   * source stay whole at any count: the engine re-keys them through vigil.rules.repartition).
   */
  maxEngineInstances?: number;
  /** How the apps connect (KAFKA_SECURITY_PROTOCOL); default SASL_SSL, as Strimzi's TLS listener with SCRAM. */
  kafkaSecurity?: "PLAINTEXT" | "SSL" | "SASL_SSL";
  /**
   * Who the apps are on Kafka. `strimzi` (the default with SSL and SASL_SSL): a Strimzi `KafkaUser` per
   * app with the ACLs its code needs (SCRAM-SHA-512 with SASL_SSL, a client certificate with SSL), each
   * app mounting its own user's Secret. `none`: no KafkaUser (a cluster without the User Operator), one
   * shared Secret KAFKA_SECRET with SASL_SSL, the CA only with SSL.
   */
  kafkaUsers?: "strimzi" | "none";
  /**
   * Namespace of the KafkaUsers (the one the User Operator watches); default `kafkaNamespace`, as the
   * topics. The User Operator writes each user's Secret there, and pods mount Secrets of their own
   * namespace only: see infra/README.md, "Kafka security".
   */
  kafkaUserNamespace?: string;
}

export const CONFIG_MAP = "vigil-config";
/** Secret names only: values never pass through the generator. The shared SASL Secret (`kafkaUsers: none`). */
export const KAFKA_SECRET = "vigil-kafka-credentials";
export const KAFKA_TLS_SECRET = "vigil-kafka-tls";
export const HEALTH_PORT = 9464;
/**
 * Keys of KAFKA_SECRET the apps read as environment variables (with SASL): the mechanism
 * (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) and the user. The password is not among them: it is the
 * key KAFKA_SASL_PASSWORD, mounted as a file (KAFKA_SASL_PASSWORD_FILE), so that it is in no
 * process environment; KEDA's TriggerAuthentication reads the same key.
 */
export const kafkaSecretKeys = ["KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME"] as const;
/** Where the apps find the secrets: KAFKA_TLS_SECRET's `ca.crt` (Strimzi's cluster CA) and the SASL password. */
export const KAFKA_TLS_DIR = "/etc/vigil/kafka-tls";
export const KAFKA_CREDENTIALS_DIR = "/etc/vigil/kafka-credentials";

/** Where an app's own KafkaUser Secret is mounted (the SCRAM password, or the client certificate and key). */
export const KAFKA_USER_DIR = "/etc/vigil/kafka-user";

const protocolOf = (options: DeployOptions) => options.kafkaSecurity ?? "SASL_SSL";

/** Whether each app gets a Strimzi KafkaUser of its own; PLAINTEXT has no identity to give ACLs to. */
export function usesKafkaUsers(options: DeployOptions): boolean {
  const protocol = protocolOf(options);
  if (protocol === "PLAINTEXT" && options.kafkaUsers === "strimzi") {
    throw new Error("Kafka users need an authenticated connection: PLAINTEXT has none (use SSL or SASL_SSL)");
  }
  return protocol !== "PLAINTEXT" && options.kafkaUsers !== "none";
}

/**
 * The app's KafkaUser name: also its SCRAM user name and its certificate's CN (`CN=<name>` is then
 * the principal), and the name of the Secret Strimzi creates. The topic prefix comes first, so that
 * deployments sharing a Kafka cluster (and its namespace) have users of their own.
 */
export function kafkaUserName(app: Pick<AppSpec, "name">, options: DeployOptions): string {
  return resourceName(`${options.prefix}vigil-${app.name}`);
}

/** The KAFKA_* security environment of every app (packages/stream/README.md), secrets as mounted files. */
function kafkaSecurityEnv(app: AppSpec, options: DeployOptions): unknown[] {
  const protocol = protocolOf(options);
  const env: unknown[] = [{ name: "KAFKA_SECURITY_PROTOCOL", value: protocol }];
  if (protocol !== "PLAINTEXT") env.push({ name: "KAFKA_SSL_CA_FILE", value: `${KAFKA_TLS_DIR}/ca.crt` });
  if (usesKafkaUsers(options)) {
    if (protocol === "SASL_SSL") {
      // Strimzi's scram-sha-512 users: the user name is the KafkaUser's, no secret; the password is its Secret's key.
      env.push(
        { name: "KAFKA_SASL_MECHANISM", value: "SCRAM-SHA-512" },
        { name: "KAFKA_SASL_USERNAME", value: kafkaUserName(app, options) },
        { name: "KAFKA_SASL_PASSWORD_FILE", value: `${KAFKA_USER_DIR}/password` },
      );
    } else {
      env.push(
        { name: "KAFKA_SSL_CERT_FILE", value: `${KAFKA_USER_DIR}/user.crt` },
        { name: "KAFKA_SSL_KEY_FILE", value: `${KAFKA_USER_DIR}/user.key` },
      );
    }
  } else if (protocol === "SASL_SSL") {
    for (const key of kafkaSecretKeys) {
      env.push({ name: key, valueFrom: { secretKeyRef: { name: KAFKA_SECRET, key } } });
    }
    env.push({ name: "KAFKA_SASL_PASSWORD_FILE", value: `${KAFKA_CREDENTIALS_DIR}/KAFKA_SASL_PASSWORD` });
  }
  return env;
}

/** The Secret volumes KAFKA_SECURITY_PROTOCOL needs, with their mounts. */
function kafkaSecurityVolumes(
  app: AppSpec,
  options: DeployOptions,
): { volumes: unknown[]; mounts: unknown[] } {
  const protocol = protocolOf(options);
  const volumes: unknown[] = [];
  const mounts: unknown[] = [];
  if (protocol !== "PLAINTEXT") {
    volumes.push({
      name: "kafka-tls",
      secret: { secretName: KAFKA_TLS_SECRET, items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
    mounts.push({ name: "kafka-tls", mountPath: KAFKA_TLS_DIR, readOnly: true });
  }
  if (usesKafkaUsers(options)) {
    // Only the keys the app reads: not the TLS user's user.p12/user.password, nor its ca.crt (the
    // clients CA, which signs user certificates, not the brokers').
    const keys = protocol === "SASL_SSL" ? ["password"] : ["user.crt", "user.key"];
    volumes.push({
      name: "kafka-user",
      secret: {
        secretName: kafkaUserName(app, options),
        items: keys.map((key) => ({ key, path: key })),
        // Readable by the pod's fsGroup (the app's user is not the file's owner).
        defaultMode: 0o440,
      },
    });
    mounts.push({ name: "kafka-user", mountPath: KAFKA_USER_DIR, readOnly: true });
  } else if (protocol === "SASL_SSL") {
    volumes.push({
      name: "kafka-credentials",
      secret: {
        secretName: KAFKA_SECRET,
        items: [{ key: "KAFKA_SASL_PASSWORD", path: "KAFKA_SASL_PASSWORD" }],
        // Readable by the pod's fsGroup (the app's user is not the file's owner).
        defaultMode: 0o440,
      },
    });
    mounts.push({ name: "kafka-credentials", mountPath: KAFKA_CREDENTIALS_DIR, readOnly: true });
  }
  return { volumes, mounts };
}

export type AclOperation = "Read" | "Write" | "Describe" | "Delete" | "IdempotentWrite";
export interface KafkaAcl {
  resource:
    | { type: "topic" | "group" | "transactionalId"; name: string; patternType: PatternType }
    | { type: "cluster" };
  operations: AclOperation[];
}

/**
 * The app's ACLs, from its `kafka` access in apps.ts: Read+Describe on what it reads, Write+Describe
 * on what it writes (Describe also answers the metadata and offset requests of the start-up topic
 * check, `readAll` and lag metrics; no DescribeConfigs: nothing reads topic configs), Read on its
 * consumer groups (committing and fetching offsets included), Write+Describe on its transactional
 * ids, and IdempotentWrite on the cluster for the idempotent producer every writer uses (older
 * brokers require it; since KIP-679 Write on a topic implies it).
 */
export function kafkaAcls(app: AppSpec, options: DeployOptions): KafkaAcl[] {
  const named = ({ name, prefixed }: KafkaName) => `${prefixed ? options.prefix : ""}${name}`;
  const topicNames = new Map<string, { read: boolean; write: boolean }>();
  for (const spec of app.kafka.reads) {
    const name = topicName(spec, options.prefix);
    topicNames.set(name, { read: true, write: topicNames.get(name)?.write ?? false });
  }
  for (const spec of app.kafka.writes) {
    const name = topicName(spec, options.prefix);
    topicNames.set(name, { read: topicNames.get(name)?.read ?? false, write: true });
  }
  const acls: KafkaAcl[] = [...topicNames]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, use]) => ({
      resource: { type: "topic", name, patternType: "literal" },
      operations: [
        ...(use.read ? ["Read" as const] : []),
        ...(use.write ? ["Write" as const] : []),
        "Describe",
      ],
    }));
  for (const group of app.kafka.groups) {
    acls.push({
      resource: { type: "group", name: named(group), patternType: group.pattern },
      operations: group.delete ? ["Read", "Delete"] : ["Read"],
    });
  }
  for (const id of app.kafka.transactionalIds) {
    acls.push({
      resource: { type: "transactionalId", name: named(id), patternType: id.pattern },
      operations: ["Write", "Describe"],
    });
  }
  if (app.kafka.writes.length > 0)
    acls.push({ resource: { type: "cluster" }, operations: ["IdempotentWrite"] });
  return acls;
}

/** Strimzi limits a TLS user's name to a certificate CN's 64 characters. */
const MAX_TLS_USER_NAME = 64;

/** The app's Strimzi KafkaUser: authentication by the connection's protocol, ACLs from its code's use. */
export function kafkaUser(app: AppSpec, options: DeployOptions): Manifest {
  const name = kafkaUserName(app, options);
  const tls = protocolOf(options) === "SSL";
  if (tls && name.length > MAX_TLS_USER_NAME) {
    throw new Error(
      `KafkaUser ${name}: a TLS user's name is at most ${MAX_TLS_USER_NAME} characters (a shorter --prefix)`,
    );
  }
  return {
    apiVersion: "kafka.strimzi.io/v1beta2",
    kind: "KafkaUser",
    metadata: {
      name,
      namespace: options.kafkaUserNamespace ?? options.kafkaNamespace,
      labels: { "strimzi.io/cluster": options.kafkaCluster, ...appLabels(app.name) },
    },
    spec: {
      authentication: { type: tls ? "tls" : "scram-sha-512" },
      authorization: { type: "simple", acls: kafkaAcls(app, options) },
    },
  };
}

/** The widespread Prometheus pod-discovery convention: scrape /metrics on the health port. */
const scrapeAnnotations = {
  "prometheus.io/scrape": "true",
  "prometheus.io/port": String(HEALTH_PORT),
  "prometheus.io/path": "/metrics",
};

const partOf = { "app.kubernetes.io/part-of": "vigil" };
const appLabels = (app: string) => ({ "app.kubernetes.io/name": app, ...partOf });

/** Kubernetes names are DNS-1123 subdomains; topic names and prefixes may hold '_' or capitals. */
export function resourceName(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
}

export function kafkaTopic(spec: TopicSpec, options: DeployOptions): Manifest {
  const name = topicName(spec, options.prefix);
  const config: Record<string, string | number> = {
    "cleanup.policy": spec.cleanupPolicy,
    "retention.ms": spec.retentionMs,
  };
  // Same rule as topics:apply: with three replicas an acknowledged write survives one broker's loss.
  if (options.replicationFactor >= 3) config["min.insync.replicas"] = 2;
  return {
    apiVersion: "kafka.strimzi.io/v1beta2",
    kind: "KafkaTopic",
    metadata: {
      name: resourceName(name),
      namespace: options.kafkaNamespace,
      labels: { "strimzi.io/cluster": options.kafkaCluster, ...partOf },
    },
    spec: { topicName: name, partitions: spec.partitions, replicas: options.replicationFactor, config },
  };
}

interface ReferenceSet {
  configMap: string;
  dir: string;
  flag: string;
  files: Record<string, string>;
}

function readYamlFiles(dir: string, only?: string[]): Record<string, string> {
  const names = readdirSync(dir)
    .filter((file) => file.endsWith(".yaml") || file.endsWith(".yml"))
    .filter((file) => only === undefined || only.includes(file))
    .sort();
  return Object.fromEntries(names.map((file) => [file, readFileSync(join(dir, file), "utf8")]));
}

function referenceSets(options: DeployOptions): ReferenceSet[] {
  const examples = options.examplesDir;
  return [
    {
      configMap: "vigil-baselines",
      dir: `${REFERENCE_DIR}/baselines`,
      flag: "--baselines",
      files: readYamlFiles(join(examples, "baselines")),
    },
    {
      configMap: "vigil-priority-lists",
      dir: `${REFERENCE_DIR}/priority-lists`,
      flag: "--priority-list",
      files: readYamlFiles(join(examples, "assets"), ["priority-list.yaml", "quarantine.yaml"]),
    },
    {
      configMap: "vigil-exceptions",
      dir: `${REFERENCE_DIR}/exceptions`,
      flag: "--exceptions",
      files: readYamlFiles(join(examples, "exceptions")),
    },
  ];
}

function configMap(name: string, namespace: string, data: Record<string, string>): Manifest {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels: partOf }, data };
}

function sharedConfig(options: DeployOptions): Manifest {
  return configMap(CONFIG_MAP, options.namespace, {
    KAFKA_BROKERS: options.brokers,
    VIGIL_TOPIC_PREFIX: options.prefix,
    LOG_LEVEL: "info",
    // Where long-running services serve /healthz, /readyz and /metrics (runtime's --health-listen).
    VIGIL_HEALTH_LISTEN: `0.0.0.0:${HEALTH_PORT}`,
    ...(options.otlpEndpoint
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
          OTEL_TRACES_EXPORTER: "otlp",
          OTEL_METRICS_EXPORTER: "prometheus,otlp",
        }
      : {}),
  });
}

function appArgs(app: AppSpec, references: ReferenceSet[], options: DeployOptions): string[] {
  if (app.name !== "rules-engine" && app.name !== "console") return app.args;
  const referenceArgs = references.flatMap((set) =>
    Object.keys(set.files).map((file) => `${set.flag}=${set.dir}/${file}`),
  );
  const packArgs =
    app.name === "rules-engine" && options.rulePacks.length > 0
      ? [
          "--pack=@vigil/rules-core-pack",
          ...options.rulePacks.map((path) => `--pack=${PACKS_DIR}/${basename(path)}`),
        ]
      : [];
  return [...app.args, ...referenceArgs, ...packArgs];
}

function deployment(app: AppSpec, references: ReferenceSet[], options: DeployOptions): Manifest {
  const security = kafkaSecurityVolumes(app, options);
  const volumes: unknown[] = [
    { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
    { name: "data", emptyDir: { sizeLimit: "1Gi" } },
    ...security.volumes,
  ];
  const mounts: unknown[] = [
    { name: "tmp", mountPath: "/tmp" },
    { name: "data", mountPath: DATA_DIR },
    ...security.mounts,
  ];
  if (app.input) {
    volumes.push({
      name: "input",
      persistentVolumeClaim: { claimName: `vigil-${app.name}-input`, readOnly: true },
    });
    mounts.push({ name: "input", mountPath: INPUT_DIR, readOnly: true });
  }
  if (app.reference) {
    for (const set of references) {
      volumes.push({ name: set.configMap, configMap: { name: set.configMap } });
      mounts.push({ name: set.configMap, mountPath: set.dir, readOnly: true });
    }
    if (app.name === "rules-engine" && options.rulePacks.length > 0) {
      volumes.push({ name: "vigil-rule-packs", configMap: { name: "vigil-rule-packs" } });
      mounts.push({ name: "vigil-rule-packs", mountPath: PACKS_DIR, readOnly: true });
    }
  }
  const probe = (path: string, failureThreshold: number) => ({
    httpGet: { path, port: "health" },
    periodSeconds: 10,
    timeoutSeconds: 3,
    failureThreshold,
  });
  const container = {
    name: app.name,
    image: `${options.image.registry}/${app.name}:${options.image.tag}`,
    imagePullPolicy: "IfNotPresent",
    args: appArgs(app, references, options),
    envFrom: [{ configMapRef: { name: CONFIG_MAP } }],
    env: [
      { name: "KAFKA_CLIENT_ID", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      // Telemetry names the pod it came from: one series and one span source per instance.
      {
        name: "OTEL_RESOURCE_ATTRIBUTES",
        value: "service.instance.id=$(POD_NAME),k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)",
      },
      ...kafkaSecurityEnv(app, options),
    ],
    ports: [
      { name: "health", containerPort: HEALTH_PORT, protocol: "TCP" },
      ...app.ports.map(({ name, containerPort, protocol }) => ({ name, containerPort, protocol })),
    ],
    // A run-to-end batch (CronJob) is done when it exits: a Job has nothing to restart or route to.
    ...(app.schedule === undefined
      ? {
          // Restored tables can take a while on a large estate: startup gets its own budget (10 minutes).
          startupProbe: probe("/healthz", 60),
          livenessProbe: probe("/healthz", 3),
          readinessProbe: probe("/readyz", 3),
        }
      : {}),
    resources: app.resources,
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts: mounts,
  };
  const podSpec = {
    automountServiceAccountToken: false,
    // Finishing the current batch and committing offsets fits well within this.
    terminationGracePeriodSeconds: 60,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [container],
    volumes,
  };
  if (app.schedule !== undefined) {
    // Runs never overlap: the next one starts from the state the previous one left.
    return {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: `vigil-${app.name}`, namespace: options.namespace, labels: appLabels(app.name) },
      spec: {
        schedule: app.schedule,
        concurrencyPolicy: "Forbid",
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            template: {
              metadata: { labels: appLabels(app.name), annotations: scrapeAnnotations },
              spec: { ...podSpec, restartPolicy: "OnFailure" },
            },
          },
        },
      },
    };
  }
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `vigil-${app.name}`,
      namespace: options.namespace,
      labels: appLabels(app.name),
      ...(app.singleInstanceReason
        ? { annotations: { "vigil.dev/single-instance": app.singleInstanceReason } }
        : {}),
    },
    spec: {
      // KEDA owns the count of scaled apps; the others stay at one.
      ...(app.scaling ? {} : { replicas: 1 }),
      // A single instance that holds a checkpoint or a table must be gone before its successor starts.
      strategy: app.scaling
        ? { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
        : { type: "Recreate" },
      selector: { matchLabels: appLabels(app.name) },
      template: { metadata: { labels: appLabels(app.name), annotations: scrapeAnnotations }, spec: podSpec },
    },
  };
}

function podDisruptionBudget(app: AppSpec, options: DeployOptions): Manifest {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: `vigil-${app.name}`, namespace: options.namespace, labels: appLabels(app.name) },
    // A single instance may be evicted (drains must finish); scaled consumers lose at most one at a time.
    spec: { maxUnavailable: 1, selector: { matchLabels: appLabels(app.name) } },
  };
}

function service(app: AppSpec, options: DeployOptions): Manifest {
  const publicPort = (port: number) => (port === 5514 ? 514 : port === 5601 ? 601 : port);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `vigil-${app.name}`, namespace: options.namespace, labels: appLabels(app.name) },
    spec: {
      selector: appLabels(app.name),
      ports: app.ports.map((port) => ({
        name: port.name,
        port: publicPort(port.containerPort),
        targetPort: port.name,
        protocol: port.protocol,
      })),
    },
  };
}

/** The TriggerAuthentication a scaled app's triggers use: KEDA connects with the app's own credentials. */
const triggerAuthenticationName = (app: AppSpec) => `vigil-${app.name}-kafka`;

/**
 * What KEDA's Kafka scaler needs to read the app's lag: the app's own user (its group and topics
 * are what the scaler describes; Read on them implies Describe). KEDA takes `sasl` and `tls` as
 * literal words that no Strimzi Secret holds; since KEDA 2.10 they may be trigger metadata instead
 * of authentication parameters, so they go there (`kafkaTriggerSecurity`). The SCRAM user name is
 * not in Strimzi's Secret either: KEDA reads it from the scaled container's KAFKA_SASL_USERNAME.
 * Undefined with PLAINTEXT: nothing to authenticate.
 */
export function triggerAuthentication(app: AppSpec, options: DeployOptions): Manifest | undefined {
  const protocol = protocolOf(options);
  if (protocol === "PLAINTEXT") return undefined;
  const ca = { parameter: "ca", name: KAFKA_TLS_SECRET, key: "ca.crt" };
  const user = kafkaUserName(app, options);
  let spec: Record<string, unknown>;
  if (!usesKafkaUsers(options)) {
    spec = {
      secretTargetRef:
        protocol === "SASL_SSL"
          ? // KEDA's own words (sasl: scram_sha512|plaintext, tls: enable) beside the apps' keys, as before.
            [
              { parameter: "sasl", name: KAFKA_SECRET, key: "KEDA_SASL" },
              { parameter: "username", name: KAFKA_SECRET, key: "KAFKA_SASL_USERNAME" },
              { parameter: "password", name: KAFKA_SECRET, key: "KAFKA_SASL_PASSWORD" },
              { parameter: "tls", name: KAFKA_SECRET, key: "KEDA_TLS" },
              ca,
            ]
          : [ca],
    };
  } else if (protocol === "SASL_SSL") {
    spec = {
      env: [{ parameter: "username", name: "KAFKA_SASL_USERNAME", containerName: app.name }],
      secretTargetRef: [{ parameter: "password", name: user, key: "password" }, ca],
    };
  } else {
    spec = {
      secretTargetRef: [
        ca,
        { parameter: "cert", name: user, key: "user.crt" },
        { parameter: "key", name: user, key: "user.key" },
      ],
    };
  }
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "TriggerAuthentication",
    metadata: {
      name: triggerAuthenticationName(app),
      namespace: options.namespace,
      labels: appLabels(app.name),
    },
    spec,
  };
}

/** KEDA's `sasl`/`tls` as trigger metadata, where the credentials come from Strimzi's Secrets. */
function kafkaTriggerSecurity(options: DeployOptions): Record<string, string> {
  const protocol = protocolOf(options);
  // With the shared Secret they stay where they were (its KEDA_SASL/KEDA_TLS keys), except with SSL,
  // whose setup never had that Secret.
  if (protocol === "PLAINTEXT" || (protocol === "SASL_SSL" && !usesKafkaUsers(options))) return {};
  return protocol === "SASL_SSL" ? { sasl: "scram_sha512", tls: "enable" } : { tls: "enable" };
}

export function scaledObject(app: AppSpec, options: DeployOptions): Manifest | undefined {
  if (app.scaling === undefined) return undefined;
  // KEDA never asks for more consumers than a topic has partitions (allowIdleConsumers false), so the
  // ceiling is the widest topic of the group: beyond it an instance could only idle.
  const partitions = Math.max(...app.scaling.topics.map((spec) => spec.partitions));
  // A lower ceiling is the operator's choice: one instance keeps the source-keyed correlations whole.
  const maxReplicaCount = Math.min(partitions, options.maxEngineInstances ?? partitions);
  const consumerGroup = `${options.prefix}${app.scaling.consumerGroup}`;
  const authenticated = protocolOf(options) !== "PLAINTEXT";
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: `vigil-${app.name}`, namespace: options.namespace, labels: appLabels(app.name) },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: `vigil-${app.name}` },
      minReplicaCount: 1,
      maxReplicaCount,
      pollingInterval: 30,
      // Every scale event is a rebalance: wait before giving instances back.
      cooldownPeriod: 300,
      triggers: app.scaling.topics.map((spec) => ({
        type: "kafka",
        ...(authenticated ? { authenticationRef: { name: triggerAuthenticationName(app) } } : {}),
        metadata: {
          bootstrapServers: options.brokers,
          consumerGroup,
          topic: topicName(spec, options.prefix),
          lagThreshold: String(options.lagThreshold),
          offsetResetPolicy: "earliest",
          allowIdleConsumers: "false",
          ...kafkaTriggerSecurity(options),
        },
      })),
    },
  };
}

export function buildManifests(options: DeployOptions): ManifestFile[] {
  const references = referenceSets(options);
  const files: ManifestFile[] = [
    { file: "topics.yaml", manifests: allTopics.map((spec) => kafkaTopic(spec, options)) },
    ...(usesKafkaUsers(options)
      ? [{ file: "users.yaml", manifests: apps.map((app) => kafkaUser(app, options)) }]
      : []),
    {
      file: "config.yaml",
      manifests: [
        sharedConfig(options),
        ...references.map((set) => configMap(set.configMap, options.namespace, set.files)),
        ...(options.rulePacks.length > 0
          ? [
              configMap(
                "vigil-rule-packs",
                options.namespace,
                Object.fromEntries(
                  options.rulePacks.map((path) => [basename(path), readFileSync(path, "utf8")]),
                ),
              ),
            ]
          : []),
      ],
    },
  ];
  const scaled: Manifest[] = [];
  for (const app of apps) {
    const manifests = [deployment(app, references, options)];
    if (app.schedule === undefined) manifests.push(podDisruptionBudget(app, options));
    if (app.ports.length > 0) manifests.push(service(app, options));
    const autoscaler = scaledObject(app, options);
    const authentication = autoscaler ? triggerAuthentication(app, options) : undefined;
    if (authentication) scaled.push(authentication);
    if (autoscaler) scaled.push(autoscaler);
    files.push({ file: `${app.name}.yaml`, manifests });
  }
  files.push({ file: "autoscaling.yaml", manifests: scaled });
  return files;
}

export function kustomization(files: ManifestFile[]): Record<string, unknown> {
  return {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: files.map(({ file }) => file),
  };
}
