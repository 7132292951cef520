// The Kafka transport over TLS + SASL on a real broker (a SASL_SSL listener with certificates
// generated for this run): SCRAM-SHA-512 and PLAIN, PEM and PKCS12, and the failures that must end
// connecting at once with a clear error instead of kafkajs' retries.
import { type SecuredBroker, startSecuredBroker, uniqueTopicPrefix } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafkaTransport, KafkaSecurityError } from "./kafka.ts";
import { kafkaSecurityFromEnv } from "./security.ts";

let broker: SecuredBroker;

beforeAll(async () => {
  // Throws (failing the suite) when the broker cannot start: never skipped.
  broker = await startSecuredBroker();
}, 300_000);

afterAll(async () => {
  await broker?.stop();
}, 120_000);

/** Creates a topic, sends a record and reads it back through a transport built from `env`. */
async function roundTrip(env: Record<string, string>, label: string): Promise<string[]> {
  const transport = createKafkaTransport({
    brokers: broker.brokers,
    clientId: `security-it-${label}`,
    security: kafkaSecurityFromEnv(env),
  });
  try {
    const topic = `${uniqueTopicPrefix(label)}roundtrip`;
    await transport.createTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    await transport.send(topic, [{ key: "k", value: `hello over ${label}` }]);
    const read = await transport.readAll(topic);
    return read.map((message) => message.value?.toString() ?? "");
  } finally {
    await transport.close();
  }
}

/** Connects with `env` and returns the error and how long it took to get it. */
async function connectError(env: Record<string, string>): Promise<{ error: unknown; ms: number }> {
  const transport = createKafkaTransport({
    brokers: broker.brokers,
    clientId: "security-it-failing",
    security: kafkaSecurityFromEnv(env),
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const started = performance.now();
  try {
    await transport.listTopics();
  } catch (error) {
    return { error, ms: Math.round(performance.now() - started) };
  } finally {
    await transport.close().catch(() => {});
  }
  throw new Error("expected connecting to fail");
}

describe("Kafka transport over SASL_SSL", () => {
  it("works with SCRAM-SHA-512 and the CA as a PEM file", async () => {
    const env = broker.env(broker.users.alice, "SCRAM-SHA-512");
    expect(await roundTrip(env, "scram")).toEqual(["hello over scram"]);
  });

  it("works with PLAIN and a PKCS12 client bundle (mutual TLS)", async () => {
    const { KAFKA_SSL_CA_FILE: _ca, ...env } = broker.env(broker.users.bob, "PLAIN");
    const pkcs12 = {
      ...env,
      KAFKA_SSL_CA_FILE: broker.pki.caFile,
      KAFKA_SSL_PKCS12_FILE: broker.pki.pkcs12File,
      KAFKA_SSL_PKCS12_PASSWORD: broker.pki.pkcs12Password,
    };
    expect(await roundTrip(pkcs12, "plain-p12")).toEqual(["hello over plain-p12"]);
  });

  it("works with a PEM client certificate whose key is encrypted (mutual TLS)", async () => {
    const env = {
      ...broker.env(broker.users.alice, "SCRAM-SHA-512"),
      KAFKA_SSL_CERT_FILE: broker.pki.clientCertFile,
      KAFKA_SSL_KEY_FILE: broker.pki.encryptedClientKeyFile,
      KAFKA_SSL_KEY_PASSWORD: broker.pki.clientKeyPassword,
    };
    expect(await roundTrip(env, "scram-mtls")).toEqual(["hello over scram-mtls"]);
  });

  it.each([
    ["SCRAM-SHA-512", "alice"],
    ["PLAIN", "bob"],
  ] as const)("a wrong %s password ends connecting at once with a clear error", async (mechanism, name) => {
    const env = { ...broker.env(broker.users[name], mechanism), KAFKA_SASL_PASSWORD: "not-the-password" };
    const { error, ms } = await connectError(env);
    expect(error).toBeInstanceOf(KafkaSecurityError);
    expect((error as Error).message).toMatch(
      new RegExp(`^SASL authentication failed for user ${name} \\(${mechanism}\\): `),
    );
    expect((error as Error).message).not.toContain("not-the-password");
    process.stderr.write(`security-it: wrong ${mechanism} password failed after ${ms} ms\n`);
  });

  it("a broker certificate of another CA ends connecting at once, naming KAFKA_SSL_CA_FILE", async () => {
    const env = {
      ...broker.env(broker.users.alice, "SCRAM-SHA-512"),
      KAFKA_SSL_CA_FILE: broker.pki.otherCaFile,
    };
    const { error, ms } = await connectError(env);
    expect(error).toBeInstanceOf(KafkaSecurityError);
    expect((error as Error).message).toMatch(
      /^TLS: the certificate of the broker 127\.0\.0\.1:\d+ is not trusted: .*set KAFKA_SSL_CA_FILE/,
    );
    process.stderr.write(`security-it: untrusted certificate failed after ${ms} ms\n`);
  });

  it("a broker certificate for another name ends connecting at once", async () => {
    // The certificate lists 127.0.0.1 and localhost; verifying it for another name must fail.
    const security = kafkaSecurityFromEnv(broker.env(broker.users.alice, "SCRAM-SHA-512"));
    const transport = createKafkaTransport({
      brokers: broker.brokers,
      clientId: "security-it-altname",
      security,
      ssl: { ...(security.ssl as object), servername: "kafka.example.com" },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    try {
      await expect(transport.listTopics()).rejects.toThrow(
        /^TLS: the certificate of the broker 127\.0\.0\.1:\d+ is not for that address: .*kafka\.example\.com/,
      );
    } finally {
      await transport.close().catch(() => {});
    }
  });
});
