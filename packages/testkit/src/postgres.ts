import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, chownSync, constants, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "./ports.ts";

/**
 * Runs one SQL statement against a database URL. The test brings its own client: the testkit has
 * no PostgreSQL driver, and the package under test has one.
 */
export type ExecuteSql = (url: string, sql: string) => Promise<void>;

export type PostgresSource = "external" | "local-cluster";

export interface AcquiredPostgres {
  /** The server's maintenance database (`postgres`); tests use `createDatabase`. */
  url: string;
  source: PostgresSource;
  /** A new, empty database on this server; its URL. Dropped (or removed with the cluster) by `stop`. */
  createDatabase(label?: string): Promise<string>;
  /** Drops the databases it created, and stops and deletes a cluster it started. */
  stop(): Promise<void>;
}

export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
}

export interface StartedCluster {
  url: string;
  stop(): Promise<void>;
}

/** Everything `acquirePostgres` asks of the outside world, so that its decisions can be tested without processes. */
export interface PostgresEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  execute: ExecuteSql;
  /** The server binaries, or why there are none usable here. */
  findBinaries(): PostgresBinaries | string;
  startCluster(binaries: PostgresBinaries): Promise<StartedCluster>;
  log(line: string): void;
}

const VERIFY_TIMEOUT_MS = 15_000;
const SKIP_VARIABLE = "VIGIL_SKIP_INTEGRATION";

export function noPostgresMessage(reasons: readonly string[]): string {
  return [
    "No PostgreSQL for the integration tests. Tried, in order:",
    ...reasons.map((reason) => `  - ${reason}`),
    "Get one in any of these ways:",
    "  1. point the tests at a server: DATABASE_URL=postgres://user:password@host:5432/postgres pnpm test",
    "     (the user must be allowed to CREATE DATABASE: every test file gets a throwaway database)",
    "  2. install PostgreSQL's server binaries so that the fixture starts a throwaway cluster itself:",
    "     `apt-get install postgresql` on Debian/Ubuntu (initdb and pg_ctl under /usr/lib/postgresql/*/bin),",
    "     or put initdb and pg_ctl on PATH",
    `To run without the integration suites (explicitly, never in CI): ${SKIP_VARIABLE}=1 pnpm test`,
  ].join("\n");
}

/** The URL with its password masked: safe to print. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password !== "") url.password = "***";
    return url.href;
  } catch {
    return "<not a URL>";
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.href;
}

function databaseName(label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 30);
  return `vigil_test_${clean}_${randomBytes(4).toString("hex")}`;
}

/**
 * A PostgreSQL server for the integration tests: `DATABASE_URL` when set, else a throwaway cluster
 * started from the local server binaries. Throws with the ways to get one when neither can be had.
 */
export async function acquirePostgres(
  overrides: Partial<PostgresEnvironment> & { execute: ExecuteSql },
): Promise<AcquiredPostgres> {
  const environment: PostgresEnvironment = { ...defaultPostgresEnvironment(), ...overrides };
  const { env, execute, log } = environment;
  const created: string[] = [];

  const external = env.DATABASE_URL?.trim();
  if (external) {
    try {
      await withTimeout(execute(external, "SELECT 1"), VERIFY_TIMEOUT_MS, "PostgreSQL");
    } catch (error) {
      throw new Error(
        `DATABASE_URL=${redactUrl(external)} is set, but PostgreSQL there did not answer (${errorMessage(error)}).\n` +
          "Start that server, or unset DATABASE_URL so that the tests start their own throwaway cluster.",
      );
    }
    log(`using the PostgreSQL server at ${redactUrl(external)} (DATABASE_URL)`);
    return {
      url: external,
      source: "external",
      createDatabase: async (label = "t") => {
        const name = databaseName(label);
        try {
          await execute(external, `CREATE DATABASE "${name}"`);
        } catch (error) {
          throw new Error(
            `could not create the test database ${name} with DATABASE_URL=${redactUrl(external)} ` +
              `(${errorMessage(error)}): the tests need a user allowed to CREATE DATABASE`,
          );
        }
        created.push(name);
        return databaseUrl(external, name);
      },
      stop: async () => {
        for (const name of created.splice(0)) {
          await execute(external, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch((error: unknown) =>
            log(`could not drop the test database ${name}: ${errorMessage(error)}`),
          );
        }
      },
    };
  }

  const reasons = ["DATABASE_URL: not set"];
  const binaries = environment.findBinaries();
  if (typeof binaries === "string") {
    reasons.push(`local cluster: ${binaries}`);
    throw new Error(noPostgresMessage(reasons));
  }
  let cluster: StartedCluster;
  try {
    cluster = await environment.startCluster(binaries);
    await withTimeout(execute(cluster.url, "SELECT 1"), VERIFY_TIMEOUT_MS, "the local cluster");
  } catch (error) {
    reasons.push(`local cluster (${binaries.initdb}): ${errorMessage(error)}`);
    throw new Error(noPostgresMessage(reasons));
  }
  return {
    url: cluster.url,
    source: "local-cluster",
    createDatabase: async (label = "t") => {
      const name = databaseName(label);
      await execute(cluster.url, `CREATE DATABASE "${name}"`);
      return databaseUrl(cluster.url, name);
    },
    stop: () => cluster.stop(),
  };
}

export function defaultPostgresEnvironment(): Omit<PostgresEnvironment, "execute"> {
  return {
    env: process.env,
    findBinaries: () => findPostgresBinaries(),
    startCluster: (binaries) => startLocalCluster(binaries),
    log: (line) => process.stderr.write(`testkit: ${line}\n`),
  };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * initdb and pg_ctl from one directory: PATH first, then Debian's /usr/lib/postgresql/<version>/bin
 * (newest version first). Returns why not, when neither has them, or when root has no `postgres` user.
 */
export function findPostgresBinaries(
  options: { path?: string; libRoot?: string; isRoot?: boolean; postgresUser?: () => boolean } = {},
): PostgresBinaries | string {
  const path = options.path ?? process.env.PATH ?? "";
  const libRoot = options.libRoot ?? "/usr/lib/postgresql";
  const candidates = path.split(delimiter).filter((dir) => dir !== "");
  if (existsSync(libRoot)) {
    const versions = readdirSync(libRoot)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(libRoot, version, "bin")));
  }
  const dir = candidates.find(
    (candidate) => executable(join(candidate, "initdb")) && executable(join(candidate, "pg_ctl")),
  );
  if (dir === undefined) return `no initdb and pg_ctl on PATH or under ${libRoot}/*/bin`;
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  const postgresUser = options.postgresUser ?? (() => spawnSync("id", ["-u", "postgres"]).status === 0);
  if (isRoot && !postgresUser()) {
    return "running as root (which PostgreSQL refuses), and there is no `postgres` user to run the cluster as";
  }
  return { initdb: join(dir, "initdb"), pgCtl: join(dir, "pg_ctl") };
}

interface RunAs {
  command(binary: string, args: readonly string[]): [string, string[]];
  /** Gives the directory to the user the server runs as. */
  own(dir: string): void;
  /** Whether that user can write there (every parent must let it through). */
  canWrite(dir: string): boolean;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) {
    return {
      command: (binary, args) => [binary, [...args]],
      own: () => {},
      canWrite: () => true,
    };
  }
  const id = (flag: string) =>
    Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  return {
    command: (binary, args) => ["runuser", ["-u", "postgres", "--", binary, ...args]],
    own: (dir) => chownSync(dir, uid, gid),
    canWrite: (dir) => spawnSync("runuser", ["-u", "postgres", "--", "test", "-w", dir]).status === 0,
  };
}

function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(output);
      else {
        const tail = output.trim().split("\n").slice(-10).join("\n");
        reject(new Error(`${[command, ...args].join(" ")} exited with ${code}${tail ? `:\n${tail}` : ""}`));
      }
    });
  });
}

export interface LocalClusterOptions {
  /** Keep fsync and full-page writes on (for benchmarks); the tests turn them off for speed. */
  durable?: boolean;
}

/**
 * A throwaway cluster on 127.0.0.1 on a free port, trust authentication (local test use only),
 * its data in a temp dir owned by the user the server runs as (`postgres` when this process is root).
 */
export async function startLocalCluster(
  binaries: PostgresBinaries,
  options: LocalClusterOptions = {},
): Promise<StartedCluster> {
  const as = runAs();
  // A private TMPDIR (CI's) may be closed to the postgres user: /tmp then.
  let dir = await mkdtemp(join(tmpdir(), "vigil-pg-"));
  as.own(dir);
  if (!as.canWrite(dir)) {
    rmSync(dir, { recursive: true, force: true });
    dir = await mkdtemp(join("/tmp", "vigil-pg-"));
    as.own(dir);
  }
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  const started = Date.now();
  process.stderr.write(`testkit: starting a throwaway PostgreSQL cluster (${binaries.initdb}) ...`);

  const pidFile = join(data, "postmaster.pid");
  // If this process dies without running teardown, the server must not outlive it.
  const killOnExit = () => {
    try {
      process.kill(Number(readFileSync(pidFile, "utf8").split("\n")[0]), "SIGQUIT");
    } catch {
      // Not running: nothing to stop.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  const fail = (error: unknown): never => {
    process.stderr.write(" failed\n");
    process.off("exit", killOnExit);
    killOnExit();
    throw error;
  };

  try {
    await run(
      ...as.command(binaries.initdb, [
        "-D",
        data,
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
      ]),
      dir,
    );
  } catch (error) {
    fail(error);
  }

  const settings = ["-c listen_addresses=127.0.0.1", `-k ${dir}`, "-c max_connections=100"];
  if (!options.durable) settings.push("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off");
  let port = 0;
  let lastError: unknown;
  // The free port may be taken before the server binds it: a few tries.
  for (let attempt = 0; attempt < 3 && port === 0; attempt++) {
    const candidate = await freePort();
    try {
      await run(
        ...as.command(binaries.pgCtl, [
          "-D",
          data,
          "-l",
          log,
          "-w",
          "-t",
          "60",
          "-o",
          [...settings, `-p ${candidate}`].join(" "),
          "start",
        ]),
        dir,
      );
      port = candidate;
    } catch (error) {
      const serverLog = existsSync(log)
        ? readFileSync(log, "utf8").trim().split("\n").slice(-5).join("\n")
        : "";
      lastError = new Error(`${errorMessage(error)}${serverLog ? `\nserver log:\n${serverLog}` : ""}`);
    }
  }
  if (port === 0) fail(lastError);
  process.stderr.write(` ready on 127.0.0.1:${port} in ${Math.round((Date.now() - started) / 1000)}s\n`);

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      try {
        await run(...as.command(binaries.pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]), dir);
      } finally {
        process.off("exit", killOnExit);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
