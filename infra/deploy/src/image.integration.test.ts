// The image's build stage without Docker: infra/deploy/build-app.sh (what the Dockerfile runs) deploys
// every app, and each deployed tree runs the way the image's ENTRYPOINT does (`node ... dist/main.js`), from a
// copy nobody can write, as uid 10001 when the test runs as root, on the real broker.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import {
  chmodSync,
  chownSync,
  cpSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { createKafkaTransport, ensureRegistryTopics } from "@vigil/stream";
import { freePort, kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entrypointCommand, readDockerfile } from "./dockerfile.ts";

const REPO = resolve(import.meta.dirname, "../../..");
const apps = readdirSync(join(REPO, "apps")).sort();
/** The image's user; as root the test drops to it, so that file modes mean what they mean in the image. */
const APP_UID = 10001;
const asRoot = process.getuid?.() === 0;
/** What tini starts in the image: `node <options> dist/main.js`, taken from the Dockerfile itself. */
const [program, ...entryArgs] = entrypointCommand(readDockerfile());

/** Packages that must never reach an image (test runners, compilers, linters, fixtures), as node_modules/.pnpm names them. */
const DEV_ONLY_IN_STORE =
  /^(vitest|vite|typescript|testcontainers|turbo|fast-check|playwright-core)@|^@(vitest|typescript|biomejs|turbo)\+|^@vigil\+testkit@/;
const DEV_IMPORT = /from\s+"(vitest|@vigil\/testkit|fast-check|testcontainers|playwright-core)(\/[^"]*)?"/;

let root: string;
/** A copy of examples/ the image's user can read wherever the checkout lives (e.g. under /root). */
let examples: string;
let nodeBin: string;
let home: string;
const deployed = new Map<string, { dir: string; megabytes: number; seconds: number }>();

/** Regular files under dir; symbolic links (pnpm's links between packages) are not followed. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.isFile() ? [path] : [];
  });
}

function megabytes(dir: string): number {
  const bytes = files(dir).reduce((sum, path) => sum + lstatSync(path).size, 0);
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

/** The deployed tree's own code: the app and every workspace package (node_modules/.pnpm/@vigil+<name>@file...). */
function vigilFiles(dir: string): string[] {
  const store = join(dir, "node_modules", ".pnpm");
  return files(dir).filter((path) => {
    const inStore = relative(store, path);
    return inStore.startsWith("..")
      ? !relative(dir, path).startsWith("node_modules")
      : inStore.startsWith("@vigil+");
  });
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The image's ENTRYPOINT command in the read-only deployed app (tini's part, forwarding SIGTERM, is the test's). */
function start(app: string, args: string[], env: Record<string, string> = {}): Run {
  const entry = deployed.get(app);
  if (entry === undefined) throw new Error(`${app} was not deployed`);
  if (program !== "node") throw new Error(`the image's ENTRYPOINT starts ${program}, not node`);
  const child = spawn(nodeBin, [...entryArgs, ...args], {
    cwd: entry.dir,
    env: {
      PATH: "/usr/bin:/bin",
      HOME: home,
      TMPDIR: home,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    ...(asRoot ? { uid: APP_UID, gid: APP_UID } : {}),
  });
  const chunks: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  // A process that cannot even be spawned (EACCES, ENOENT) fails its test with the reason, not as an unhandled rejection.
  const exited = once(child, "exit").then(
    ([code]) => code as number | null,
    (error: unknown) => {
      chunks.push(`spawn failed: ${String(error)}`);
      return null;
    },
  );
  return { child, output: () => chunks.join(""), exited };
}

async function runToExit(app: string, args: string[], env: Record<string, string> = {}) {
  const run = start(app, args, env);
  return { code: await run.exited, output: run.output() };
}

/** SIGTERM, then the exit code; a process that hangs on shutdown fails the test instead of hanging it. */
async function terminate(run: Run): Promise<number | null> {
  run.child.kill("SIGTERM");
  const timer = setTimeout(() => run.child.kill("SIGKILL"), 60_000);
  try {
    return await run.exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Where uid 10001 can reach the deployed tree: TMPDIR unless one of its directories is closed to
 * others (CI's private `mktemp -d` TMPDIR is 0700), else /tmp.
 */
function reachableTempBase(): string {
  if (!asRoot) return tmpdir();
  let dir = resolve(tmpdir());
  for (;;) {
    if ((statSync(dir).mode & 0o001) === 0) return "/tmp";
    const parent = dirname(dir);
    if (parent === dir) return tmpdir();
    dir = parent;
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(reachableTempBase(), "vigil-image-"));
  // Readable by the image's user when it runs as uid 10001 (mkdtemp makes the directory 0700).
  chmodSync(root, 0o755);
  mkdirSync(join(root, "bin"));
  // The toolchain's node usually lives under /root, which uid 10001 cannot enter: a link beside the apps.
  nodeBin = join(root, "bin", "node");
  try {
    linkSync(process.execPath, nodeBin);
  } catch {
    cpSync(process.execPath, nodeBin);
  }
  examples = join(root, "examples");
  cpSync(join(REPO, "examples"), examples, { recursive: true });
  home = join(root, "home");
  mkdirSync(home);
  if (asRoot) chownSync(home, APP_UID, APP_UID);

  const buildStart = performance.now();
  // Every app's workspace packages at once (turbo builds each package once); build-app.sh then finds them cached.
  execFileSync("pnpm", ["exec", "turbo", "run", "build", "--filter=./apps/*", "--output-logs=errors-only"], {
    cwd: REPO,
    stdio: "pipe",
  });
  const buildSeconds = (performance.now() - buildStart) / 1000;
  for (const app of apps) {
    const dir = join(root, "apps", app);
    const started = performance.now();
    execFileSync("sh", ["infra/deploy/build-app.sh", app, dir], { cwd: REPO, stdio: "pipe" });
    const seconds = (performance.now() - started) / 1000;
    const size = megabytes(dir);
    // The image's /app is owned by root and not writable: no file of the app, nor node_modules, can change.
    chmodSync(dir, 0o555);
    execFileSync("chmod", ["-R", "a-w", dir]);
    deployed.set(app, { dir, megabytes: size, seconds });
  }
  const lines = [...deployed].map(
    ([app, { megabytes, seconds }]) => `  ${app.padEnd(18)} ${megabytes} MB, ${seconds.toFixed(1)} s`,
  );
  const totalSeconds = (performance.now() - buildStart) / 1000;
  console.log(
    `image build stage: turbo build of all apps ${buildSeconds.toFixed(1)} s, then per app (build-app.sh: turbo, ` +
      `deploy, publishConfig):\n${lines.join("\n")}\nbuild and deploy of all apps: ${totalSeconds.toFixed(1)} s`,
  );
}, 600_000);

afterAll(() => {
  if (root === undefined) return;
  execFileSync("chmod", ["-R", "u+w", root]);
  rmSync(root, { recursive: true, force: true });
});

describe("the image's build stage (build-app.sh) without Docker", () => {
  it("deploys every app in apps/", () => {
    expect([...deployed.keys()]).toEqual(apps);
    expect(apps.length).toBeGreaterThan(0);
  });

  it.each(apps)("%s: production dependencies only, no test code", (app) => {
    const { dir } = deployed.get(app)!;
    const stored = readdirSync(join(dir, "node_modules", ".pnpm"));
    expect(stored.filter((entry) => DEV_ONLY_IN_STORE.test(entry))).toEqual([]);
    const own = vigilFiles(dir);
    expect(own.some((path) => path.endsWith("/dist/main.js"))).toBe(true);
    expect(own.filter((path) => /\.test\.(ts|js)$/.test(path))).toEqual([]);
    // What the image runs must not import a development package (a test helper compiled into dist/, say).
    const importsDev = own
      .filter((path) => path.endsWith(".js"))
      .filter((path) => DEV_IMPORT.test(readFileSync(path, "utf8")))
      .map((path) => relative(dir, path));
    expect(importsDev).toEqual([]);
  });

  it.each(apps)("%s: --version and --help from the read-only tree", async (app) => {
    const version = await runToExit(app, ["--version"]);
    expect(version.code, version.output).toBe(0);
    expect(version.output).toMatch(/\b0\.1\.0\b/);
    const help = await runToExit(app, ["--help"]);
    expect(help.code, help.output).toBe(0);
    expect(help.output).toMatch(/Usage: /);
  });
});

describe("the deployed services on Kafka, read-only", () => {
  let prefix: string;
  beforeAll(async () => {
    prefix = uniqueTopicPrefix("image-it");
    const admin = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "image-it" });
    try {
      await ensureRegistryTopics(admin, prefix);
    } finally {
      await admin.close();
    }
  });
  const kafka = () => ({ KAFKA_BROKERS: kafkaBrokers().join(","), VIGIL_TOPIC_PREFIX: prefix });

  // Every long-running mode, as docker-compose.yml runs it: inputs read-only, state in the writable home
  // (the image's /var/lib/vigil). `port` is a free port for the app's own listener.
  const services: Record<string, (port: number) => { args: string[]; env?: Record<string, string> }> = {
    "rules-engine": () => ({ args: [`--priority-list=${join(examples, "assets", "priority-list.yaml")}`] }),
    "sink-incidents": () => ({ args: [`--priority-list=${join(examples, "assets", "priority-list.yaml")}`] }),
    console: (port) => ({
      args: [`--listen=127.0.0.1:${port}`],
      env: { VIGIL_CONSOLE_TOKENS: "image-test-token-0123456789=tester:analyst" },
    }),
    "ingest-firewall": (port) => ({
      args: [`--listen-tcp=127.0.0.1:${port}`, `--listen-udp=127.0.0.1:${port}`],
    }),
    "ingest-ids": () => ({
      args: [
        `--file=${join(examples, "suricata", "eve.json")}`,
        "--follow",
        `--checkpoint=${join(home, "eve.ckpt")}`,
      ],
    }),
    "ingest-inventory": () => ({
      args: [
        "--format=osquery",
        `--dir=${join(examples, "inventory", "osquery")}`,
        `--state=${join(home, "inv.json")}`,
      ],
    }),
    "ingest-updates": () => ({
      args: [`--dir=${join(examples, "updates")}`, `--state=${join(home, "updates.json")}`],
    }),
  };

  it.each(Object.keys(services))("%s: ready on --health-listen, exit 0 on SIGTERM", async (app) => {
    const [health, port] = [await freePort(), await freePort()];
    const service = services[app]!(port);
    const run = start(app, service.args, {
      ...kafka(),
      VIGIL_HEALTH_LISTEN: `127.0.0.1:${health}`,
      ...service.env,
    });
    try {
      await waitFor(
        async () => {
          if (run.child.exitCode !== null)
            throw new Error(`${app} exited ${run.child.exitCode}: ${run.output()}`);
          const response = await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined);
          return response?.status === 200 ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250, message: `${app} /readyz answers 200` },
      );
    } finally {
      const code = await terminate(run);
      expect(code, run.output()).toBe(0);
    }
  });

  it("ingest-advisories (a one-shot job): publishes the sample KEV catalog and exits 0", async () => {
    const { code, output } = await runToExit(
      "ingest-advisories",
      [`--file=${join(examples, "advisories", "kev.json")}`],
      kafka(),
    );
    expect(code, output).toBe(0);
  });
});
