// Kafka connection security (TLS and SASL) from environment variables and mounted files.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { KafkaConfig, OauthbearerProviderResponse, SASLOptions } from "kafkajs";
import { z } from "zod";

export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
export type SaslMechanism = "SCRAM-SHA-512" | "SCRAM-SHA-256" | "PLAIN" | "OAUTHBEARER";
export type OauthBearerProvider = () => Promise<OauthbearerProviderResponse>;

/** What may be logged about the connection's security: never a password, key or token. */
export interface SecuritySummary {
  protocol: SecurityProtocol;
  mechanism?: SaslMechanism;
  username?: string;
  /** Where trusted CAs come from: a file, the PKCS12 bundle, or Node's bundled roots. */
  ca?: string;
  clientCertificate?: "PEM" | "PKCS12";
  /** False only with KAFKA_SSL_INSECURE_SKIP_VERIFY=true. */
  verifyServer?: boolean;
}

/** kafkajs `ssl` / `sasl` options plus the loggable summary. */
export interface KafkaSecurity {
  ssl?: KafkaConfig["ssl"];
  sasl?: SASLOptions;
  summary: SecuritySummary;
}

/** An invalid security configuration: names the variable and what was expected (exit code 2 in the apps). */
export class KafkaSecurityConfigError extends Error {
  override name = "KafkaSecurityConfigError";
}

/** Every variable read, for `--help` texts and documentation. */
export const kafkaSecurityVariables = {
  KAFKA_SECURITY_PROTOCOL: "PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL",
  KAFKA_SSL_CA_FILE:
    "PEM file of the CA(s) that signed the brokers' certificates (default: Node's public roots)",
  KAFKA_SSL_CERT_FILE: "PEM client certificate (chain), for mutual TLS; with KAFKA_SSL_KEY_FILE",
  KAFKA_SSL_KEY_FILE: "PEM private key of the client certificate",
  KAFKA_SSL_KEY_PASSWORD: "passphrase of an encrypted KAFKA_SSL_KEY_FILE (or KAFKA_SSL_KEY_PASSWORD_FILE)",
  KAFKA_SSL_PKCS12_FILE: "PKCS12 bundle (key, certificate, CAs) instead of the PEM files",
  KAFKA_SSL_PKCS12_PASSWORD: "password of the PKCS12 bundle (or KAFKA_SSL_PKCS12_PASSWORD_FILE)",
  KAFKA_SSL_INSECURE_SKIP_VERIFY:
    "true turns off verification of the brokers' certificates (never in production)",
  KAFKA_SASL_MECHANISM: "SCRAM-SHA-512, SCRAM-SHA-256, PLAIN or OAUTHBEARER",
  KAFKA_SASL_USERNAME: "SASL user (SCRAM, PLAIN)",
  KAFKA_SASL_PASSWORD: "SASL password (better: KAFKA_SASL_PASSWORD_FILE, a mounted Secret)",
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: "OAUTHBEARER token file, read again at every token refresh",
} as const;

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value));

const envSchema = z.object({
  KAFKA_SECURITY_PROTOCOL: z
    .string()
    .optional()
    .transform((value) => value?.trim().toUpperCase() || "PLAINTEXT")
    .pipe(z.enum(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])),
  KAFKA_SSL_CA_FILE: optionalText,
  KAFKA_SSL_CERT_FILE: optionalText,
  KAFKA_SSL_KEY_FILE: optionalText,
  KAFKA_SSL_KEY_PASSWORD: optionalText,
  KAFKA_SSL_KEY_PASSWORD_FILE: optionalText,
  KAFKA_SSL_PKCS12_FILE: optionalText,
  KAFKA_SSL_PKCS12_PASSWORD: optionalText,
  KAFKA_SSL_PKCS12_PASSWORD_FILE: optionalText,
  KAFKA_SSL_INSECURE_SKIP_VERIFY: z
    .string()
    .optional()
    .transform((value) => value?.trim().toLowerCase() || "false")
    .pipe(z.enum(["true", "false"])),
  KAFKA_SASL_MECHANISM: z
    .string()
    .optional()
    .transform((value) => value?.trim().toUpperCase() || undefined)
    .pipe(z.enum(["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", "OAUTHBEARER"]).optional()),
  KAFKA_SASL_USERNAME: optionalText,
  KAFKA_SASL_PASSWORD: optionalText,
  KAFKA_SASL_PASSWORD_FILE: optionalText,
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: optionalText,
});

type SecurityEnv = z.infer<typeof envSchema>;

export interface KafkaSecurityOptions {
  /** Supplies OAUTHBEARER tokens programmatically (instead of KAFKA_SASL_OAUTHBEARER_TOKEN_FILE). */
  oauthBearerProvider?: OauthBearerProvider;
  /** For tests: how files are read (default: readFileSync). */
  readFile?: (path: string) => Buffer;
}

function fail(message: string): never {
  throw new KafkaSecurityConfigError(message);
}

/**
 * Reads the connection security from the environment (see `kafkaSecurityVariables`), reading
 * the files it names. Throws KafkaSecurityConfigError, which names the variable and never
 * contains a secret's value.
 */
export function kafkaSecurityFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: KafkaSecurityOptions = {},
): KafkaSecurity {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? "KAFKA_SECURITY_PROTOCOL");
    const expected =
      kafkaSecurityVariables[variable as keyof typeof kafkaSecurityVariables] ?? "a valid value";
    // The value is not echoed: the enum-checked variables are not secret, but one rule for all is simpler.
    fail(`${variable}: invalid value, expected ${expected}`);
  }
  const vars = parsed.data;
  const read = options.readFile ?? ((path: string) => readFileSync(path));
  const protocol = vars.KAFKA_SECURITY_PROTOCOL;
  const usesTls = protocol === "SSL" || protocol === "SASL_SSL";
  const usesSasl = protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL";
  const summary: SecuritySummary = { protocol };

  const tlsVariables = (Object.keys(vars) as Array<keyof SecurityEnv>).filter(
    (name) => name.startsWith("KAFKA_SSL_") && vars[name] !== undefined && vars[name] !== "false",
  );
  if (!usesTls && tlsVariables.length > 0) {
    fail(
      `${tlsVariables.join(", ")} set, but KAFKA_SECURITY_PROTOCOL=${protocol} does not use TLS: ` +
        "set KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL, or unset them",
    );
  }
  const saslVariables = (Object.keys(vars) as Array<keyof SecurityEnv>).filter(
    (name) => name.startsWith("KAFKA_SASL_") && vars[name] !== undefined,
  );
  if (!usesSasl && saslVariables.length > 0) {
    fail(
      `${saslVariables.join(", ")} set, but KAFKA_SECURITY_PROTOCOL=${protocol} does not use SASL: ` +
        "set KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT), or unset them",
    );
  }

  const security: KafkaSecurity = { summary };
  if (usesTls) security.ssl = tlsOptions(vars, read, summary);
  if (usesSasl) security.sasl = saslOptions(vars, read, summary, options.oauthBearerProvider);
  return security;
}

function readVariableFile(variable: string, path: string, read: (path: string) => Buffer): Buffer {
  try {
    return read(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(`${variable}=${path}: cannot read the file (${code ?? (error as Error).message})`);
  }
}

/** A secret from `NAME` or from the file `NAME_FILE` (one trailing newline dropped), never both. */
function secret(
  vars: SecurityEnv,
  name: "KAFKA_SSL_KEY_PASSWORD" | "KAFKA_SSL_PKCS12_PASSWORD" | "KAFKA_SASL_PASSWORD",
  read: (path: string) => Buffer,
): string | undefined {
  const fileVariable = `${name}_FILE` as const;
  const direct = vars[name];
  const file = vars[fileVariable];
  if (direct !== undefined && file !== undefined) fail(`set ${name} or ${fileVariable}, not both`);
  if (file === undefined) return direct;
  const value = readVariableFile(fileVariable, file, read)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (value === "") fail(`${fileVariable}=${file}: the file is empty`);
  return value;
}

function pemFile(variable: string, path: string, read: (path: string) => Buffer, kind: RegExp, what: string) {
  const text = readVariableFile(variable, path, read).toString("utf8");
  if (!kind.test(text)) fail(`${variable}=${path}: expected ${what} in PEM format`);
  return text;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

function tlsOptions(
  vars: SecurityEnv,
  read: (path: string) => Buffer,
  summary: SecuritySummary,
): SecureContextOptions & { rejectUnauthorized: boolean } {
  const ssl: SecureContextOptions & { rejectUnauthorized: boolean } = { rejectUnauthorized: true };
  const cert = vars.KAFKA_SSL_CERT_FILE;
  const key = vars.KAFKA_SSL_KEY_FILE;
  const pkcs12 = vars.KAFKA_SSL_PKCS12_FILE;
  const keyPassword = secret(vars, "KAFKA_SSL_KEY_PASSWORD", read);
  const pkcs12Password = secret(vars, "KAFKA_SSL_PKCS12_PASSWORD", read);

  if (vars.KAFKA_SSL_CA_FILE !== undefined) {
    ssl.ca = pemFile("KAFKA_SSL_CA_FILE", vars.KAFKA_SSL_CA_FILE, read, PEM_CERTIFICATE, "CA certificates");
    summary.ca = vars.KAFKA_SSL_CA_FILE;
  }
  if (pkcs12 !== undefined) {
    if (cert !== undefined || key !== undefined) {
      fail(
        "KAFKA_SSL_PKCS12_FILE excludes KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE: give one or the other",
      );
    }
    ssl.pfx = readVariableFile("KAFKA_SSL_PKCS12_FILE", pkcs12, read);
    if (pkcs12Password !== undefined) ssl.passphrase = pkcs12Password;
    summary.clientCertificate = "PKCS12";
    summary.ca ??= `${pkcs12} (PKCS12) and Node's public roots`;
    // Opening the bundle here turns a wrong password into a configuration error, before any connection.
    try {
      createSecureContext({
        pfx: ssl.pfx,
        ...(pkcs12Password !== undefined && { passphrase: pkcs12Password }),
      });
    } catch (error) {
      fail(
        `KAFKA_SSL_PKCS12_FILE=${pkcs12}: cannot open the bundle (${(error as Error).message}); ` +
          "check KAFKA_SSL_PKCS12_PASSWORD(_FILE)",
      );
    }
  } else {
    if (pkcs12Password !== undefined) fail("KAFKA_SSL_PKCS12_PASSWORD is set without KAFKA_SSL_PKCS12_FILE");
    if ((cert === undefined) !== (key === undefined)) {
      fail("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together: set both for mutual TLS, or neither");
    }
    if (keyPassword !== undefined && key === undefined) {
      fail("KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_FILE");
    }
    if (cert !== undefined && key !== undefined) {
      ssl.cert = pemFile("KAFKA_SSL_CERT_FILE", cert, read, PEM_CERTIFICATE, "a certificate");
      ssl.key = pemFile("KAFKA_SSL_KEY_FILE", key, read, PEM_PRIVATE_KEY, "a private key");
      try {
        createPrivateKey({ key: ssl.key, ...(keyPassword !== undefined && { passphrase: keyPassword }) });
      } catch (error) {
        fail(
          `KAFKA_SSL_KEY_FILE=${key}: cannot load the private key (${(error as Error).message}); ` +
            "an encrypted key needs KAFKA_SSL_KEY_PASSWORD(_FILE)",
        );
      }
      if (keyPassword !== undefined) ssl.passphrase = keyPassword;
      summary.clientCertificate = "PEM";
    }
  }
  summary.ca ??= "Node's public roots";
  if (vars.KAFKA_SSL_INSECURE_SKIP_VERIFY === "true") ssl.rejectUnauthorized = false;
  summary.verifyServer = ssl.rejectUnauthorized;
  // Everything together (a certificate that does not match its key, a malformed CA file) fails here too.
  try {
    createSecureContext(ssl);
  } catch (error) {
    fail(`the TLS files do not make a usable configuration: ${(error as Error).message}`);
  }
  return ssl;
}

function saslOptions(
  vars: SecurityEnv,
  read: (path: string) => Buffer,
  summary: SecuritySummary,
  provider: OauthBearerProvider | undefined,
): SASLOptions {
  const mechanism = vars.KAFKA_SASL_MECHANISM;
  if (mechanism === undefined) {
    fail(
      `KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL=${summary.protocol}, expected ${kafkaSecurityVariables.KAFKA_SASL_MECHANISM}`,
    );
  }
  summary.mechanism = mechanism;
  if (mechanism === "OAUTHBEARER") {
    const tokenFile = vars.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE;
    if (vars.KAFKA_SASL_USERNAME !== undefined || vars.KAFKA_SASL_PASSWORD !== undefined) {
      fail("KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD are not used with KAFKA_SASL_MECHANISM=OAUTHBEARER");
    }
    if (tokenFile !== undefined && provider !== undefined) {
      fail("KAFKA_SASL_OAUTHBEARER_TOKEN_FILE is set, but this program supplies its own OAUTHBEARER tokens");
    }
    if (tokenFile === undefined && provider === undefined) {
      fail("KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: required with KAFKA_SASL_MECHANISM=OAUTHBEARER");
    }
    if (tokenFile !== undefined) readToken(tokenFile, read);
    return {
      mechanism: "oauthbearer",
      // Re-read at every refresh: a token sidecar or a projected volume rotates the file in place.
      oauthBearerProvider: provider ?? (async () => ({ value: readToken(tokenFile as string, read) })),
    };
  }
  if (vars.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE !== undefined) {
    fail(`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE is only used with OAUTHBEARER, not ${mechanism}`);
  }
  const username = vars.KAFKA_SASL_USERNAME;
  if (username === undefined) fail(`KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=${mechanism}`);
  const password = secret(vars, "KAFKA_SASL_PASSWORD", read);
  if (password === undefined) {
    fail(`KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE: required with KAFKA_SASL_MECHANISM=${mechanism}`);
  }
  summary.username = username;
  switch (mechanism) {
    case "PLAIN":
      return { mechanism: "plain", username, password };
    case "SCRAM-SHA-256":
      return { mechanism: "scram-sha-256", username, password };
    case "SCRAM-SHA-512":
      return { mechanism: "scram-sha-512", username, password };
  }
}

function readToken(path: string, read: (path: string) => Buffer): string {
  const token = readVariableFile("KAFKA_SASL_OAUTHBEARER_TOKEN_FILE", path, read).toString("utf8").trim();
  if (token === "") fail(`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE=${path}: the file is empty`);
  return token;
}

/** One line for the log: the effective security without any secret. */
export function describeSecurity(summary: SecuritySummary): string {
  const parts: string[] = [summary.protocol];
  if (summary.mechanism)
    parts.push(`${summary.mechanism}${summary.username ? ` as ${summary.username}` : ""}`);
  if (summary.ca) parts.push(`CAs from ${summary.ca}`);
  if (summary.clientCertificate) parts.push(`client certificate (${summary.clientCertificate})`);
  if (summary.verifyServer === false) parts.push("SERVER CERTIFICATES NOT VERIFIED");
  return parts.join(", ");
}
