import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";

export type BrokerSource = "external" | "testcontainers" | "local-jvm";

export interface AcquiredBroker {
  brokers: string[];
  source: BrokerSource;
  /** Stops what the fixture started (and deletes its state); a no-op for an external broker. */
  stop(): Promise<void>;
}

/** Everything `acquireBroker` asks of the outside world, so that its decisions can be tested without processes. */
export interface BrokerEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  /** Resolves once the brokers answer a metadata request; rejects with the cause otherwise. */
  verifyBrokers(brokers: readonly string[], timeoutMs: number): Promise<void>;
  /** True when a container engine answers. Must answer quickly. */
  dockerAvailable(): Promise<boolean>;
  startContainer(): Promise<AcquiredBroker>;
  /** Why the local JVM broker cannot be started here (missing Java or Maven), or undefined when it can. */
  localJvmMissing(): string | undefined;
  startLocalJvm(): Promise<AcquiredBroker>;
  log(line: string): void;
}

export const SKIP_INTEGRATION_VARIABLE = "VIGIL_SKIP_INTEGRATION";
const EXTERNAL_VERIFY_TIMEOUT_MS = 15_000;
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const KAFKA_SH = join(REPO_ROOT, "infra/kafka/kafka.sh");

export function kafkaVersion(): string {
  const pom = readFileSync(join(REPO_ROOT, "infra/kafka/pom.xml"), "utf8");
  return /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1] ?? "unknown";
}

export function parseBrokerList(value: string): string[] {
  return value
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
}

export function noBrokerMessage(reasons: readonly string[]): string {
  return [
    "No Kafka broker for the integration tests. Tried, in order:",
    ...reasons.map((reason) => `  - ${reason}`),
    "Get one in any of these ways:",
    "  1. point the tests at a running broker: KAFKA_BROKERS=host:port pnpm test",
    "     (a local one: `pnpm kafka:up` starts Apache Kafka on 127.0.0.1:9092)",
    `  2. install Java 17+ and Maven so the fixture can fetch Apache Kafka ${safeKafkaVersion()} from Maven Central`,
    "     and start it itself (infra/kafka/kafka.sh)",
    "  3. start Docker, so the fixture can run the apache/kafka image with testcontainers",
    `To run without the integration suites (explicitly, never in CI): ${SKIP_INTEGRATION_VARIABLE}=1 pnpm test`,
  ].join("\n");
}

function safeKafkaVersion(): string {
  try {
    return kafkaVersion();
  } catch {
    return "4.x";
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A broker for the integration tests: `KAFKA_BROKERS` when set, else a container when Docker answers,
 * else a local JVM broker fetched from Maven Central. Throws with the ways to get one when none can be had.
 */
export async function acquireBroker(overrides: Partial<BrokerEnvironment> = {}): Promise<AcquiredBroker> {
  const environment: BrokerEnvironment = { ...defaultBrokerEnvironment(), ...overrides };
  const { env, log } = environment;

  const external = env.KAFKA_BROKERS?.trim();
  if (external) {
    const brokers = parseBrokerList(external);
    try {
      await environment.verifyBrokers(brokers, EXTERNAL_VERIFY_TIMEOUT_MS);
    } catch (error) {
      throw new Error(
        `KAFKA_BROKERS=${external} is set, but no broker there answered a metadata request within ` +
          `${EXTERNAL_VERIFY_TIMEOUT_MS / 1000} s (${errorMessage(error)}).\n` +
          "Start that broker (for 127.0.0.1:9092: `pnpm kafka:up`), or unset KAFKA_BROKERS so that the " +
          "tests start their own.",
      );
    }
    log(`using the Kafka broker at ${brokers.join(",")} (KAFKA_BROKERS)`);
    return { brokers, source: "external", stop: async () => {} };
  }

  const reasons = ["KAFKA_BROKERS: not set"];
  if (await environment.dockerAvailable()) {
    try {
      return await environment.startContainer();
    } catch (error) {
      reasons.push(`Docker: answers, but the Kafka container did not start: ${errorMessage(error)}`);
      log(`the Kafka container did not start (${errorMessage(error)}); trying the local JVM broker`);
    }
  } else {
    reasons.push("Docker: no container engine answered");
  }

  const missing = environment.localJvmMissing();
  if (missing === undefined) {
    try {
      return await environment.startLocalJvm();
    } catch (error) {
      reasons.push(`local JVM broker (infra/kafka/kafka.sh): ${errorMessage(error)}`);
    }
  } else {
    reasons.push(`local JVM broker (infra/kafka/kafka.sh): ${missing}`);
  }
  throw new Error(noBrokerMessage(reasons));
}

export function defaultBrokerEnvironment(): BrokerEnvironment {
  return {
    env: process.env,
    verifyBrokers,
    dockerAvailable,
    startContainer,
    localJvmMissing,
    startLocalJvm,
    log: (line) => process.stderr.write(`testkit: ${line}\n`),
  };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function verifyBrokers(brokers: readonly string[], timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: "vigil-testkit-probe",
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0) throw new Error("metadata lists no brokers");
      })(),
      timeoutMs,
      `metadata from ${brokers.join(",")}`,
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await withTimeout(getContainerRuntimeClient(), 5_000, "container runtime");
    return true;
  } catch {
    return false;
  }
}

/** A port that is free now, whose controller companion (port + 100, see kafka.sh) is free too. */
export function freeBrokerPort(): Promise<number> {
  return freeClusterPorts(1);
}

/**
 * A first client port for `nodes` nodes (kafka.sh: client ports port..port+n-1, controllers
 * port+100..port+100+n-1) whose ports are all free now.
 */
export async function freeClusterPorts(nodes: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await bindAndRelease(0);
    if (base + 100 + nodes > 65_535) continue;
    const others = [...Array(nodes).keys()].flatMap((i) => [base + 100 + i, ...(i > 0 ? [base + i] : [])]);
    if ((await Promise.all(others.map(portFree))).every(Boolean)) return base;
  }
  throw new Error(`no ${nodes} free port pairs (port + i, port + 100 + i) found on 127.0.0.1`);
}

/** Whether the port can be bound on 127.0.0.1 right now. */
export function portFree(port: number): Promise<boolean> {
  return bindAndRelease(port).then(
    () => true,
    () => false,
  );
}

function bindAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

export async function startContainer(): Promise<AcquiredBroker> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import("testcontainers");
  const image = process.env.VIGIL_KAFKA_IMAGE ?? `apache/kafka:${kafkaVersion()}`;
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  // The same port inside and outside, so that the advertised listener is right without a restart.
  const port = await freeBrokerPort();
  const started = Date.now();
  process.stderr.write(`testkit: starting Kafka container ${image} on ${host}:${port} ...`);
  const container = await new GenericContainer(image)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: "1",
      KAFKA_PROCESS_ROLES: "broker,controller",
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
      KAFKA_NUM_PARTITIONS: "3",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start();
  const brokers = [`${host}:${port}`];
  try {
    await verifyBrokers(brokers, 60_000);
  } catch (error) {
    await container.stop().catch(() => {});
    throw error;
  }
  process.stderr.write(` ready in ${Math.round((Date.now() - started) / 1000)}s\n`);
  return {
    brokers,
    source: "testcontainers",
    stop: async () => {
      await container.stop();
    },
  };
}

function commandWorks(command: string, args: readonly string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 15_000 });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

function kafkaJarsCached(): boolean {
  const cache =
    process.env.VIGIL_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "vigil");
  return existsSync(join(cache, `kafka-${kafkaVersion()}`, "libs", ".complete"));
}

export function localJvmMissing(): string | undefined {
  const java = commandWorks("java", ["-version"]);
  if (!java.ok) return "no `java` on PATH (Java 17 or newer is needed)";
  const version = /version "(\d+)(?:\.(\d+))?/.exec(java.output);
  const major = version ? Number(version[1] === "1" ? version[2] : version[1]) : Number.NaN;
  if (major < 17) return `Java ${major} found; Kafka ${kafkaVersion()} needs Java 17 or newer`;
  if (!kafkaJarsCached() && !commandWorks("mvn", ["-v"]).ok) {
    return `the Kafka ${kafkaVersion()} jars are not cached yet and there is no \`mvn\` on PATH to fetch them`;
  }
  return undefined;
}

function runKafkaSh(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [KAFKA_SH, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else {
        const tail = stderr.trim().split("\n").slice(-15).join("\n");
        reject(new Error(`kafka.sh ${args.join(" ")} exited with ${code}${tail ? `:\n${tail}` : ""}`));
      }
    });
  });
}

/** A broker or cluster kafka.sh started, with its state in `stateDir` (under TMPDIR: `vigil-kafka-*`). */
export interface KafkaShBrokers {
  /** The bootstrap servers `kafka.sh up` printed. */
  brokers: string[];
  stateDir: string;
  /** Another kafka.sh command on these nodes (`stop-node 2`, `start-node 2`); resolves with its stdout. */
  kafkaSh(args: readonly string[]): Promise<string>;
  /** Stops every node and deletes the state. */
  stop(): Promise<void>;
}

/**
 * `kafka.sh up` on `port` in a fresh `$TMPDIR/vigil-kafka-*` (or the given directory), where CI's exit
 * trap finds brokers a crashed run left. Nodes are killed if this process exits before `stop()`;
 * a failed start stops what did start and deletes the state before throwing.
 */
export async function startKafkaSh(options: {
  port: number;
  nodes?: number;
  stateDir?: string;
  env?: Record<string, string>;
}): Promise<KafkaShBrokers> {
  const nodes = options.nodes ?? 1;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), "vigil-kafka-")));
  const env = { ...process.env, ...options.env, KAFKA_PORT: String(options.port), VIGIL_KAFKA_DIR: stateDir };
  // If this process dies without calling stop(), the nodes must not outlive it.
  const killOnExit = () => {
    for (let node = 0; node < nodes; node++) {
      try {
        process.kill(Number(readFileSync(join(stateDir, `node${node}`, "pid"), "utf8")), "SIGKILL");
      } catch {
        // Not running (or never started): nothing to kill.
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  const release = () => {
    process.off("exit", killOnExit);
    rmSync(stateDir, { recursive: true, force: true });
  };
  let stdout: string;
  try {
    ({ stdout } = await runKafkaSh(nodes === 1 ? ["up"] : ["up", "--nodes", String(nodes)], env));
  } catch (error) {
    await runKafkaSh(["down", "--purge"], env).catch(() => {});
    release();
    throw error;
  }
  return {
    brokers: parseBrokerList(stdout.trim().split("\n").at(-1) ?? ""),
    stateDir,
    kafkaSh: async (args) => (await runKafkaSh(args, env)).stdout,
    stop: async () => {
      try {
        await runKafkaSh(["down", "--purge"], env);
      } finally {
        release();
      }
    },
  };
}

export async function startLocalJvm(): Promise<AcquiredBroker> {
  const port = await freeBrokerPort();
  const started = Date.now();
  const fetching = !kafkaJarsCached();
  process.stderr.write(
    `testkit: ${fetching ? `fetching Apache Kafka ${kafkaVersion()} from Maven Central, then ` : ""}` +
      `starting local Kafka ${kafkaVersion()} broker on 127.0.0.1:${port} ...`,
  );
  let run: KafkaShBrokers;
  try {
    run = await startKafkaSh({ port });
  } catch (error) {
    process.stderr.write(" failed\n");
    throw error;
  }
  process.stderr.write(` ready in ${Math.round((Date.now() - started) / 1000)}s\n`);
  return {
    brokers: run.brokers.length > 0 ? run.brokers : [`127.0.0.1:${port}`],
    source: "local-jvm",
    stop: run.stop,
  };
}
