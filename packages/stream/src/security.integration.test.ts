// The Kafka transport over TLS + SASL on a real broker (a SASL_SSL listener with certificates
// generated for this run): SCRAM-SHA-512, PLAIN and OAUTHBEARER, PEM and PKCS12, and the failures that must end
// connecting at once with a clear error instead of kafkajs' retries.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SecuredBroker, startSecuredBroker, uniqueTopicPrefix } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafkaTransport, KafkaSecurityError } from "./kafka.ts";
import { kafkaSecurityFromEnv, type OauthBearerProvider } from "./security.ts";

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

/** An unsigned JWT (alg none) for `sub`, expiring `expiresIn` seconds from now. */
function unsignedJwt(sub: string, expiresIn = 3600): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: "none" })}.${part({ sub, iat: now - 120, exp: now + expiresIn })}.`;
}

/** Connects with `env` and returns the error and how long it took to get it. */
async function connectError(
  env: Record<string, string>,
  oauthBearerProvider?: OauthBearerProvider,
): Promise<{ error: unknown; ms: number }> {
  const transport = createKafkaTransport({
    brokers: broker.brokers,
    clientId: "security-it-failing",
    security: kafkaSecurityFromEnv(env),
    ...(oauthBearerProvider && { oauthBearerProvider }),
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

  it("works with OAUTHBEARER: a token file, or the program's provider", async () => {
    // The test broker validates unsigned JWTs (Kafka's default OAUTHBEARER validator, for development).
    const scratch = mkdtempSync(join(tmpdir(), "vigil-oauth-"));
    try {
      const tokenFile = join(scratch, "token");
      writeFileSync(tokenFile, unsignedJwt("carol"));
      const {
        KAFKA_SASL_USERNAME: _u,
        KAFKA_SASL_PASSWORD: _p,
        ...tls
      } = broker.env(broker.users.alice, "PLAIN");
      const env = {
        ...tls,
        KAFKA_SASL_MECHANISM: "OAUTHBEARER",
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokenFile,
      };
      expect(await roundTrip(env, "oauth-file")).toEqual(["hello over oauth-file"]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    let calls = 0;
    const transport = createKafkaTransport({
      brokers: broker.brokers,
      clientId: "security-it-oauth-provider",
      security: kafkaSecurityFromEnv({
        KAFKA_SECURITY_PROTOCOL: "SSL",
        KAFKA_SSL_CA_FILE: broker.pki.caFile,
      }),
      oauthBearerProvider: async () => {
        calls++;
        return { value: unsignedJwt("dave") };
      },
    });
    try {
      expect(Array.isArray(await transport.listTopics())).toBe(true);
      expect(calls).toBeGreaterThan(0);
    } finally {
      await transport.close();
    }
  });

  it("a rejected OAUTHBEARER token ends connecting at once (kafkajs alone takes it for success)", async () => {
    const { error, ms } = await connectError(
      { KAFKA_SECURITY_PROTOCOL: "SSL", KAFKA_SSL_CA_FILE: broker.pki.caFile },
      async () => ({ value: unsignedJwt("carol", -60) }),
    );
    expect(error).toBeInstanceOf(KafkaSecurityError);
    expect((error as Error).message).toContain(
      'SASL authentication failed (OAUTHBEARER): the broker rejected the token: {"status":"invalid_token"}',
    );
    process.stderr.write(`security-it: expired OAUTHBEARER token failed after ${ms} ms\n`);
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

  it("a client certificate the broker does not trust ends connecting at once", async () => {
    const env = {
      ...broker.env(broker.users.alice, "SCRAM-SHA-512"),
      KAFKA_SSL_CERT_FILE: broker.pki.rogueClientCertFile,
      KAFKA_SSL_KEY_FILE: broker.pki.rogueClientKeyFile,
    };
    const { error, ms } = await connectError(env);
    expect(error).toBeInstanceOf(KafkaSecurityError);
    expect((error as Error).message).toMatch(/^TLS: the broker 127\.0\.0\.1:\d+ refused the handshake: /);
    process.stderr.write(`security-it: untrusted client certificate failed after ${ms} ms\n`);
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
