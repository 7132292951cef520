// The apps as processes given only a broker's SASL_SSL listener (certificates generated
// for this run): topics:apply, `vigil reference publish` / `incidents list`, ingest-ids and the rules engine connect
// and work with SCRAM-SHA-512 / PLAIN and PEM / PKCS12, a wrong password or an untrusted
// certificate ends the app at once with a clear message, and no secret reaches any output.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { FindingV1, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, kafkaSecurityFromEnv, type Transport } from "@vigil/stream";
import { freePort, type SecuredBroker, startSecuredBroker, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "../../..");
const examples = path.join(repo, "examples");
const app = (name: string) => path.join(repo, "apps", name, "src", "main.ts");
const topicsApply = path.join(repo, "infra", "kafka", "topics-apply.ts");

interface Proc {
  child: ChildProcess;
  output: string[];
  started: number;
}

const everything: Proc[] = [];

function start(script: string, args: string[], env: Record<string, string>): Proc {
  // Only what the app needs: nothing of this test's own environment (KAFKA_BROKERS!) leaks in.
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = { child, output: [], started: performance.now() };
  child.stdout?.on("data", (chunk: Buffer) => proc.output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => proc.output.push(chunk.toString()));
  everything.push(proc);
  return proc;
}

/** Exit code and milliseconds from start to exit; kills the process after `timeoutMs`. */
async function exitOf(proc: Proc, timeoutMs = 90_000): Promise<{ code: number | null; ms: number }> {
  if (proc.child.exitCode === null) {
    const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
    await once(proc.child, "exit");
    clearTimeout(timer);
  }
  return { code: proc.child.exitCode, ms: Math.round(performance.now() - proc.started) };
}

describe("the apps on a broker's SASL_SSL listener", () => {
  const prefix = uniqueTopicPrefix("secured");
  let broker: SecuredBroker;
  let reader: Transport | undefined;
  let secrets: string[];

  beforeAll(async () => {
    // Throws (failing the suite) when the broker cannot start: never skipped.
    broker = await startSecuredBroker();
    secrets = [
      broker.users.alice.password,
      broker.users.bob.password,
      broker.pki.pkcs12Password,
      broker.pki.clientKeyPassword,
    ];
  }, 300_000);

  afterAll(async () => {
    for (const proc of everything) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await reader?.close();
    await broker?.stop();
  }, 120_000);

  /** SCRAM-SHA-512 as alice, CA as a PEM file. */
  const scram = () => ({ ...broker.env(broker.users.alice, "SCRAM-SHA-512"), VIGIL_TOPIC_PREFIX: prefix });
  /** PLAIN as bob, with a PKCS12 client bundle (mutual TLS). */
  const plainPkcs12 = () => ({
    ...broker.env(broker.users.bob, "PLAIN"),
    KAFKA_SSL_PKCS12_FILE: broker.pki.pkcs12File,
    KAFKA_SSL_PKCS12_PASSWORD: broker.pki.pkcs12Password,
    VIGIL_TOPIC_PREFIX: prefix,
  });

  it("topics:apply, reference publish, ingest-ids and the rules engine work over SASL_SSL", async () => {
    const apply = start(topicsApply, ["--json"], scram());
    expect((await exitOf(apply)).code, apply.output.join("")).toBe(0);
    expect(apply.output.join("")).toContain(`"topic": "${topicName(topics.findings, prefix)}"`);

    const publish = start(
      app("cli"),
      [
        "reference",
        "publish",
        "--kind",
        "priority-list",
        path.join(examples, "assets", "priority-list.yaml"),
      ],
      plainPkcs12(),
    );
    expect((await exitOf(publish)).code, publish.output.join("")).toBe(0);

    const healthPort = await freePort();
    const engine = start(app("rules-engine"), [], {
      ...plainPkcs12(),
      VIGIL_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
    });
    await waitFor(
      async () => {
        if (engine.child.exitCode !== null) throw new Error(`rules engine exited: ${engine.output.join("")}`);
        const status = (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status;
        return status === 200 ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, message: "the rules engine is ready" },
    );

    const ingest = start(app("ingest-ids"), ["--file", path.join(examples, "suricata", "eve.json")], scram());
    expect((await exitOf(ingest)).code, ingest.output.join("")).toBe(0);

    reader = createKafkaTransport({
      brokers: broker.brokers,
      clientId: "secured-it-reader",
      security: kafkaSecurityFromEnv(scram()),
    });
    const findings = await waitFor(
      async () => {
        const records = await reader?.readAll(topicName(topics.findings, prefix));
        return records && records.length > 0 ? records : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: "findings from the rules engine" },
    );
    for (const record of findings) FindingV1.parse(JSON.parse(String(record.value)));

    // The incidents CLI reads its topics over the same listener (none raised: no sink runs here).
    const list = start(app("cli"), ["incidents", "list"], plainPkcs12());
    expect((await exitOf(list)).code, list.output.join("")).toBe(0);
    expect(list.output.join("")).toContain("no incidents");

    engine.child.kill("SIGTERM");
    expect((await exitOf(engine)).code, engine.output.join("")).toBe(0);
    // What is logged about the connection: protocol, mechanism and user, never a password.
    expect(engine.output.join("")).toContain("Kafka connection security: SASL_SSL, PLAIN as bob");
  });

  it("a wrong password ends the app at once (exit 1) with a clear message", async () => {
    const wrong = "wrong-password-4711";
    const engine = start(app("rules-engine"), [], { ...scram(), KAFKA_SASL_PASSWORD: wrong });
    const { code, ms } = await exitOf(engine);
    const output = engine.output.join("");
    expect(code, output).toBe(1);
    expect(output).toContain("SASL authentication failed for user alice (SCRAM-SHA-512)");
    expect(output).not.toContain(wrong);
    process.stderr.write(`secured-it: rules engine with a wrong password exited 1 after ${ms} ms\n`);
  });

  it("a broker certificate of an untrusted CA ends the app at once (exit 1) naming KAFKA_SSL_CA_FILE", async () => {
    const env = { ...scram(), KAFKA_SSL_CA_FILE: broker.pki.otherCaFile };
    const ingest = start(app("ingest-ids"), ["--file", path.join(examples, "suricata", "eve.json")], env);
    const apply = start(topicsApply, [], env);
    for (const [name, proc] of [
      ["ingest-ids", ingest],
      ["topics:apply", apply],
    ] as const) {
      const { code, ms } = await exitOf(proc);
      const output = proc.output.join("");
      expect(code, output).toBe(1);
      expect(output).toMatch(
        /TLS: the certificate of the broker 127\.0\.0\.1:\d+ is not trusted: .*KAFKA_SSL_CA_FILE/,
      );
      process.stderr.write(`secured-it: ${name} with an untrusted certificate exited 1 after ${ms} ms\n`);
    }
  });

  it("an invalid security setting is a configuration error (exit 2) naming the variable", async () => {
    const engine = start(app("rules-engine"), [], { ...scram(), KAFKA_SASL_MECHANISM: "GSSAPI" });
    const { code } = await exitOf(engine);
    expect(code, engine.output.join("")).toBe(2);
    expect(engine.output.join("")).toContain("KAFKA_SASL_MECHANISM: invalid value");
  });

  it("no password, key password or bundle password appeared in any output, at log level debug", () => {
    expect(everything.length).toBeGreaterThanOrEqual(8);
    for (const proc of everything) {
      const output = proc.output.join("");
      for (const secret of secrets) expect(output).not.toContain(secret);
    }
  });
});
