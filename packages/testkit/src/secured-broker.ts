// A throwaway PKI (openssl) and a local Kafka broker with a SASL_SSL listener, for the security tests.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import kafkajs, { type AclEntry } from "kafkajs";
import { freeBrokerPort, type KafkaShBrokers, localJvmMissing, portFree, startKafkaSh } from "./broker.ts";

export interface TestPki {
  dir: string;
  /** The CA that signed the broker's and the client's certificates. */
  caFile: string;
  /** A second, unrelated CA: trusting only it must fail the handshake. */
  otherCaFile: string;
  /** The broker's PKCS#8 key followed by its certificate (SAN IP:127.0.0.1, DNS:localhost). */
  brokerPemFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A client certificate (and its key) signed by `otherCaFile`: the broker must refuse it. */
  rogueClientCertFile: string;
  rogueClientKeyFile: string;
  /** The client key encrypted with `clientKeyPassword`. */
  encryptedClientKeyFile: string;
  clientKeyPassword: string;
  /** Client key, certificate and the CA in one PKCS12 bundle protected by `pkcs12Password`. */
  pkcs12File: string;
  pkcs12Password: string;
}

function openssl(dir: string, args: readonly string[]): void {
  try {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`);
  }
}

function createCa(dir: string, name: string, subject: string): void {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    subject,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

function signLeaf(dir: string, name: string, subject: string, extensions: string, ca = "ca"): void {
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

/** Generates the test PKI into `dir` with `openssl` (2-day certificates, random passwords). */
export function createTestPki(dir: string): TestPki {
  createCa(dir, "ca", "/CN=Vigil test CA");
  createCa(dir, "other-ca", "/CN=Some other CA");
  signLeaf(
    dir,
    "broker",
    "/CN=localhost",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  writeFileSync(
    join(dir, "broker.pem"),
    readFileSync(join(dir, "broker.key"), "utf8") + readFileSync(join(dir, "broker.crt"), "utf8"),
  );
  signLeaf(dir, "client", "/CN=vigil-test-client", "extendedKeyUsage=clientAuth\n");
  signLeaf(dir, "rogue-client", "/CN=rogue-client", "extendedKeyUsage=clientAuth\n", "other-ca");
  const clientKeyPassword = randomBytes(12).toString("hex");
  const pkcs12Password = randomBytes(12).toString("hex");
  openssl(dir, [
    "pkey",
    "-in",
    "client.key",
    "-aes256",
    "-passout",
    `pass:${clientKeyPassword}`,
    "-out",
    "client-encrypted.key",
  ]);
  openssl(dir, [
    "pkcs12",
    "-export",
    "-in",
    "client.crt",
    "-inkey",
    "client.key",
    "-certfile",
    "ca.pem",
    "-passout",
    `pass:${pkcs12Password}`,
    "-out",
    "client.p12",
  ]);
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    otherCaFile: join(dir, "other-ca.pem"),
    brokerPemFile: join(dir, "broker.pem"),
    clientCertFile: join(dir, "client.crt"),
    clientKeyFile: join(dir, "client.key"),
    rogueClientCertFile: join(dir, "rogue-client.crt"),
    rogueClientKeyFile: join(dir, "rogue-client.key"),
    encryptedClientKeyFile: join(dir, "client-encrypted.key"),
    clientKeyPassword,
    pkcs12File: join(dir, "client.p12"),
    pkcs12Password,
  };
}

export interface SaslUser {
  username: string;
  password: string;
}

// kafkajs is CommonJS and Node's export detection misses its enums: taken off the default export,
// for tests that build ACL entries for `SecuredBroker.createAcls`.
export const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
export type { AclEntry };

export interface SecuredBrokerOptions {
  /**
   * `standard`: the broker enforces ACLs on the SASL_SSL listener (kafka.sh KAFKA_AUTHORIZER, KRaft's
   * StandardAuthorizer): alice is a super user, bob and `extraUsers` may do only what an ACL allows.
   * Without it every authenticated user may do everything, as before.
   */
  authorizer?: "standard";
  /** More users, created with the broker (SCRAM-SHA-512 and PLAIN), each with a random password. */
  extraUsers?: readonly string[];
}

export interface SecuredBroker {
  /** The SASL_SSL listener (SCRAM-SHA-512 and PLAIN; a client certificate, when given, must be trusted). */
  brokers: string[];
  /**
   * The same broker's PLAINTEXT listener, for setup and checks around the secured clients. With an
   * authorizer it is unrestricted (its principal, ANONYMOUS, is the broker's own: a super user).
   */
  plaintextBrokers: string[];
  pki: TestPki;
  /** Known to the broker for both SCRAM-SHA-512 and PLAIN; with an authorizer, alice is a super user. */
  users: { alice: SaslUser; bob: SaslUser };
  /** The `extraUsers` asked for, by name. */
  extraUsers: ReadonlyMap<string, SaslUser>;
  /** The environment that connects an app to `brokers` as `user` with `mechanism`, trusting the test CA. */
  env(user: SaslUser, mechanism: "SCRAM-SHA-512" | "PLAIN"): Record<string, string>;
  /**
   * Creates ACLs as alice over SASL_SSL (with `authorizer` only: without one the broker refuses
   * every ACL request); throws on the first one refused. Resolves once the broker lists every one of
   * them: its authorizer then applies them.
   */
  createAcls(acls: readonly AclEntry[]): Promise<void>;
  /**
   * Path of the broker's log (INFO and above), there until `stop()` deletes the state. With an
   * authorizer it has a line per denied operation, e.g. `Principal = User:bob is Denied operation =
   * DESCRIBE from host = 127.0.0.1 on resource = Group:LITERAL:... for request = FindCoordinator ...`.
   */
  serverLog: string;
  stop(): Promise<void>;
}

/** kafka.sh's users file takes letters, digits, `.`, `_` and `-` only (the names go into configs unquoted). */
const USER_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Starts a one-node local Kafka (infra/kafka/kafka.sh, KAFKA_SECURITY=sasl_ssl) on free ports,
 * with its state and PKI under `$TMPDIR/vigil-kafka-*`. Throws when it cannot (never skips).
 */
export async function startSecuredBroker(options: SecuredBrokerOptions = {}): Promise<SecuredBroker> {
  const missing = localJvmMissing();
  if (missing !== undefined)
    throw new Error(`the secured test broker needs the local JVM broker: ${missing}`);
  const extraNames = options.extraUsers ?? [];
  for (const name of extraNames) {
    if (!USER_NAME.test(name) || name === "alice" || name === "bob")
      throw new Error(`extra user "${name}": letters, digits, . _ - only, and not alice or bob`);
  }
  let port = await freeBrokerPort();
  for (let attempt = 0; !(await portFree(port + 200)); attempt++) {
    if (attempt >= 20) throw new Error("no free ports (port, +100, +200) for the secured broker");
    port = await freeBrokerPort();
  }
  const stateDir = await mkdtemp(join(tmpdir(), "vigil-kafka-"));
  const pkiDir = join(stateDir, "pki");
  mkdirSync(pkiDir);
  const pki = createTestPki(pkiDir);
  const users = {
    alice: { username: "alice", password: `alice-${randomBytes(12).toString("hex")}` },
    bob: { username: "bob", password: `bob-${randomBytes(12).toString("hex")}` },
  };
  const extraUsers = new Map(
    extraNames.map((username) => [username, { username, password: randomBytes(12).toString("hex") }]),
  );
  writeFileSync(
    join(pkiDir, "users"),
    [users.alice, users.bob, ...extraUsers.values()]
      .map(({ username, password }) => `${username} ${password}\n`)
      .join(""),
  );
  const started = Date.now();
  let run: KafkaShBrokers;
  try {
    run = await startKafkaSh({
      port,
      stateDir,
      env: {
        KAFKA_SECURITY: "sasl_ssl",
        KAFKA_SECURITY_DIR: pkiDir,
        KAFKA_SSL_CLIENT_AUTH: "requested",
        KAFKA_HEAP: process.env.KAFKA_HEAP ?? "512m",
        ...(options.authorizer && { KAFKA_AUTHORIZER: options.authorizer, KAFKA_SUPER_USERS: "alice" }),
      },
    });
  } catch (error) {
    throw new Error(`the secured test broker did not start: ${(error as Error).message}`, { cause: error });
  }
  process.stderr.write(
    `testkit: secured Kafka (SASL_SSL on 127.0.0.1:${port + 200}${options.authorizer ? ", ACLs enforced" : ""}) ` +
      `ready in ${Math.round((Date.now() - started) / 1000)}s\n`,
  );
  const brokers = [`127.0.0.1:${port + 200}`];
  return {
    brokers,
    plaintextBrokers: [`127.0.0.1:${port}`],
    pki,
    users,
    extraUsers,
    env: (user, mechanism) => ({
      KAFKA_BROKERS: brokers.join(","),
      KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
      KAFKA_SSL_CA_FILE: pki.caFile,
      KAFKA_SASL_MECHANISM: mechanism,
      KAFKA_SASL_USERNAME: user.username,
      KAFKA_SASL_PASSWORD: user.password,
    }),
    createAcls: async (acls) => {
      const admin = new kafkajs.Kafka({
        clientId: "vigil-testkit-acls",
        brokers,
        ssl: { ca: [readFileSync(pki.caFile, "utf8")] },
        sasl: { mechanism: "scram-sha-512", ...users.alice },
        logLevel: kafkajs.logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        await admin.createAcls({ acl: [...acls] });
        // The controller answers once the ACLs are in the metadata log; the broker's authorizer
        // applies them when it has read that far. Its DescribeAcls answers from the same data.
        const key = (acl: AclEntry) =>
          `${acl.principal}|${acl.host}|${acl.operation}|${acl.permissionType}|` +
          `${acl.resourceType}|${acl.resourcePatternType}|${acl.resourceName}`;
        const wanted = new Set(acls.map(key));
        for (let attempt = 0; ; attempt++) {
          const { resources } = await admin.describeAcls({
            resourceType: kafkajs.AclResourceTypes.ANY,
            resourcePatternType: kafkajs.ResourcePatternTypes.ANY,
            operation: kafkajs.AclOperationTypes.ANY,
            permissionType: kafkajs.AclPermissionTypes.ANY,
          });
          const listed = new Set(
            resources.flatMap((resource) => resource.acls.map((acl) => key({ ...resource, ...acl }))),
          );
          if ([...wanted].every((entry) => listed.has(entry))) return;
          if (attempt >= 50) throw new Error("the broker did not list the ACLs just created within 5 s");
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await admin.disconnect();
      }
    },
    serverLog: join(stateDir, "node0", "logs", "server.log"),
    stop: run.stop,
  };
}
