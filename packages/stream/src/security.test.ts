import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestPki, type TestPki } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSecurityError, tlsFailure } from "./kafka.ts";
import { describeSecurity, KafkaSecurityConfigError, kafkaSecurityFromEnv } from "./security.ts";

let dir: string;
let pki: TestPki;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vigil-security-test-"));
  pki = createTestPki(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function configError(env: Record<string, string>): string {
  try {
    kafkaSecurityFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaSecurityConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a KafkaSecurityConfigError");
}

const sasl = {
  KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
  KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
  KAFKA_SASL_USERNAME: "alice",
};

describe("kafkaSecurityFromEnv", () => {
  it("is PLAINTEXT without TLS or SASL when nothing is set", () => {
    expect(kafkaSecurityFromEnv({})).toEqual({ summary: { protocol: "PLAINTEXT" } });
  });

  it("reads SASL_SSL with SCRAM-SHA-512, a CA file and the password from a *_FILE (trailing newline dropped)", () => {
    const security = kafkaSecurityFromEnv({
      ...sasl,
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SASL_PASSWORD_FILE: file("password", "s3cret-from-file\n"),
    });
    expect(security.sasl).toEqual({
      mechanism: "scram-sha-512",
      username: "alice",
      password: "s3cret-from-file",
    });
    expect(security.ssl).toMatchObject({ rejectUnauthorized: true });
    expect(String((security.ssl as { ca: string }).ca)).toContain("BEGIN CERTIFICATE");
    expect(security.summary).toEqual({
      protocol: "SASL_SSL",
      mechanism: "SCRAM-SHA-512",
      username: "alice",
      ca: pki.caFile,
      verifyServer: true,
    });
  });

  it("accepts PLAIN and SCRAM-SHA-256 in any case, with the password in the environment", () => {
    const plain = kafkaSecurityFromEnv({ ...sasl, KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "pw" });
    expect(plain.sasl).toEqual({ mechanism: "plain", username: "alice", password: "pw" });
    const scram256 = kafkaSecurityFromEnv({
      ...sasl,
      KAFKA_SECURITY_PROTOCOL: "sasl_plaintext",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-256",
      KAFKA_SASL_PASSWORD: "pw",
    });
    expect(scram256.sasl).toEqual({ mechanism: "scram-sha-256", username: "alice", password: "pw" });
    expect(scram256.ssl).toBeUndefined();
  });

  it("reads a PEM client certificate with an encrypted key and its password file", () => {
    const security = kafkaSecurityFromEnv({
      KAFKA_SECURITY_PROTOCOL: "SSL",
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SSL_CERT_FILE: pki.clientCertFile,
      KAFKA_SSL_KEY_FILE: pki.encryptedClientKeyFile,
      KAFKA_SSL_KEY_PASSWORD_FILE: file("key-password", `${pki.clientKeyPassword}\n`),
    });
    expect(security.ssl).toMatchObject({ passphrase: pki.clientKeyPassword, rejectUnauthorized: true });
    expect(security.summary).toMatchObject({ protocol: "SSL", clientCertificate: "PEM", ca: pki.caFile });
    expect(security.sasl).toBeUndefined();
  });

  it("reads a PKCS12 bundle with its password", () => {
    const security = kafkaSecurityFromEnv({
      KAFKA_SECURITY_PROTOCOL: "SSL",
      KAFKA_SSL_PKCS12_FILE: pki.pkcs12File,
      KAFKA_SSL_PKCS12_PASSWORD: pki.pkcs12Password,
    });
    expect(Buffer.isBuffer((security.ssl as { pfx: unknown }).pfx)).toBe(true);
    expect(security.summary.clientCertificate).toBe("PKCS12");
  });

  it("turns server verification off only when asked, and says so in the summary", () => {
    const security = kafkaSecurityFromEnv({
      KAFKA_SECURITY_PROTOCOL: "SSL",
      KAFKA_SSL_INSECURE_SKIP_VERIFY: "true",
    });
    expect(security.ssl).toMatchObject({ rejectUnauthorized: false });
    expect(describeSecurity(security.summary)).toContain("NOT VERIFIED");
  });

  it("builds an OAUTHBEARER provider that reads the token file again at every refresh", async () => {
    const tokenFile = file("token", "token-one\n");
    const security = kafkaSecurityFromEnv({
      KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
      KAFKA_SASL_MECHANISM: "OAUTHBEARER",
      KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokenFile,
    });
    const provider = (security.sasl as { oauthBearerProvider: () => Promise<{ value: string }> })
      .oauthBearerProvider;
    expect(await provider()).toEqual({ value: "token-one" });
    writeFileSync(tokenFile, "token-two");
    expect(await provider()).toEqual({ value: "token-two" });
  });

  it("uses a programmatic OAUTHBEARER provider when the program gives one", async () => {
    const oauthBearerProvider = async () => ({ value: "from-code" });
    const security = kafkaSecurityFromEnv(
      { KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_SASL_MECHANISM: "OAUTHBEARER" },
      { oauthBearerProvider },
    );
    expect(security.sasl).toEqual({ mechanism: "oauthbearer", oauthBearerProvider });
  });

  it.each([
    [{ KAFKA_SECURITY_PROTOCOL: "TLS" }, "KAFKA_SECURITY_PROTOCOL: invalid value, expected PLAINTEXT"],
    [
      { ...sasl, KAFKA_SASL_MECHANISM: "GSSAPI" },
      "KAFKA_SASL_MECHANISM: invalid value, expected SCRAM-SHA-512",
    ],
    [
      { KAFKA_SECURITY_PROTOCOL: "SASL_SSL" },
      "KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL",
    ],
    [{ ...sasl, KAFKA_SASL_USERNAME: "" }, "KAFKA_SASL_USERNAME: required"],
    [sasl, "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE: required"],
    [{ KAFKA_SASL_MECHANISM: "PLAIN" }, "does not use SASL"],
    [
      { KAFKA_SSL_CA_FILE: "/x.pem" },
      "KAFKA_SSL_CA_FILE set, but KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use TLS",
    ],
    [
      { KAFKA_SECURITY_PROTOCOL: "SSL", KAFKA_SSL_CA_FILE: "/no/such/ca.pem" },
      "KAFKA_SSL_CA_FILE=/no/such/ca.pem: cannot read the file (ENOENT)",
    ],
    [
      { KAFKA_SECURITY_PROTOCOL: "SSL", KAFKA_SSL_INSECURE_SKIP_VERIFY: "yes" },
      "KAFKA_SSL_INSECURE_SKIP_VERIFY: invalid value",
    ],
    [
      { ...sasl, KAFKA_SASL_MECHANISM: "OAUTHBEARER", KAFKA_SASL_USERNAME: "" },
      "KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: required",
    ],
  ])("rejects %j naming the variable", (env, message) => {
    expect(configError(env)).toContain(message);
  });

  it("rejects files that are not what the variable says, naming the variable", () => {
    const notPem = file("not-a-cert.pem", "hello");
    expect(configError({ KAFKA_SECURITY_PROTOCOL: "SSL", KAFKA_SSL_CA_FILE: notPem })).toBe(
      `KAFKA_SSL_CA_FILE=${notPem}: expected CA certificates in PEM format`,
    );
    expect(
      configError({ KAFKA_SECURITY_PROTOCOL: "SSL", KAFKA_SSL_CERT_FILE: pki.clientCertFile }),
    ).toContain("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together");
    expect(
      configError({
        KAFKA_SECURITY_PROTOCOL: "SSL",
        KAFKA_SSL_PKCS12_FILE: pki.pkcs12File,
        KAFKA_SSL_CERT_FILE: pki.clientCertFile,
        KAFKA_SSL_KEY_FILE: pki.clientKeyFile,
      }),
    ).toContain("KAFKA_SSL_PKCS12_FILE excludes");
    // A client certificate with the CA's key: they do not belong together.
    expect(
      configError({
        KAFKA_SECURITY_PROTOCOL: "SSL",
        KAFKA_SSL_CERT_FILE: pki.clientCertFile,
        KAFKA_SSL_KEY_FILE: join(pki.dir, "ca.key"),
      }),
    ).toContain("the TLS files do not make a usable configuration");
  });

  it("never echoes a secret: a wrong key or bundle password, a password given twice", () => {
    const wrongKeyPassword = "wrong-key-password-123";
    const keyError = configError({
      KAFKA_SECURITY_PROTOCOL: "SSL",
      KAFKA_SSL_CERT_FILE: pki.clientCertFile,
      KAFKA_SSL_KEY_FILE: pki.encryptedClientKeyFile,
      KAFKA_SSL_KEY_PASSWORD: wrongKeyPassword,
    });
    expect(keyError).toContain(
      `KAFKA_SSL_KEY_FILE=${pki.encryptedClientKeyFile}: cannot load the private key`,
    );
    expect(keyError).not.toContain(wrongKeyPassword);

    const wrongBundlePassword = "wrong-bundle-password-456";
    const bundleError = configError({
      KAFKA_SECURITY_PROTOCOL: "SSL",
      KAFKA_SSL_PKCS12_FILE: pki.pkcs12File,
      KAFKA_SSL_PKCS12_PASSWORD: wrongBundlePassword,
    });
    expect(bundleError).toContain(`KAFKA_SSL_PKCS12_FILE=${pki.pkcs12File}: cannot open the bundle`);
    expect(bundleError).not.toContain(wrongBundlePassword);

    const twice = configError({
      ...sasl,
      KAFKA_SASL_PASSWORD: "the-real-password-789",
      KAFKA_SASL_PASSWORD_FILE: file("pw2", "x"),
    });
    expect(twice).toBe("set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both");
  });

  it("describes the effective security without any secret", () => {
    const password = "do-not-log-me-000";
    const security = kafkaSecurityFromEnv({
      ...sasl,
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SASL_PASSWORD: password,
    });
    const line = describeSecurity(security.summary);
    expect(line).toBe(`SASL_SSL, SCRAM-SHA-512 as alice, CAs from ${pki.caFile}`);
    expect(JSON.stringify(security.summary)).not.toContain(password);
  });
});

describe("tlsFailure", () => {
  const error = (code: string, message: string) => Object.assign(new Error(message), { code });

  it("names KAFKA_SSL_CA_FILE for an untrusted certificate", () => {
    const failure = tlsFailure(
      error("SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain"),
      "b:9093",
    );
    expect(failure).toBeInstanceOf(KafkaSecurityError);
    expect(failure?.retriable).toBe(false);
    expect(failure?.message).toBe(
      "TLS: the certificate of the broker b:9093 is not trusted: self-signed certificate in certificate chain " +
        "(SELF_SIGNED_CERT_IN_CHAIN); set KAFKA_SSL_CA_FILE to the CA that signed it",
    );
  });

  it("explains a host name mismatch, an expired certificate and a refused client certificate", () => {
    expect(
      tlsFailure(error("ERR_TLS_CERT_ALTNAME_INVALID", "IP: 10.0.0.1 is not in the cert's list"), "b:1")
        ?.message,
    ).toContain("is not for that address");
    expect(tlsFailure(error("CERT_HAS_EXPIRED", "certificate has expired"), "b:1")?.message).toContain(
      "not valid now",
    );
    expect(
      tlsFailure(error("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "alert certificate required"), "b:1")
        ?.message,
    ).toContain("refused the handshake");
  });

  it("leaves network errors to kafkajs' retries", () => {
    expect(tlsFailure(error("ECONNREFUSED", "connect ECONNREFUSED"), "b:1")).toBeUndefined();
    expect(tlsFailure(error("ECONNRESET", "socket hang up"), "b:1")).toBeUndefined();
    expect(tlsFailure(new Error("no code"), "b:1")).toBeUndefined();
  });
});
