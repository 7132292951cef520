// What can be checked of the Dockerfile and docker-compose.yml without a Docker engine: stages, user, init,
// versions against the repository's own pins, and that the compose file runs the apps with options they have.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { entrypoint, entrypointCommand, readDockerfile } from "./dockerfile.ts";

const REPO = resolve(import.meta.dirname, "../../..");
const DEPLOY = join(REPO, "infra", "deploy");
const apps = readdirSync(join(REPO, "apps")).sort();

const dockerfile = readDockerfile();
const runtime = dockerfile.stages.at(-1)!;
const rootPackage = z
  .object({
    engines: z.object({ node: z.string() }),
    devEngines: z.object({ packageManager: z.object({ name: z.literal("pnpm"), version: z.string() }) }),
  })
  .parse(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")));

describe("Dockerfile", () => {
  it("copies only from stages defined before the copy", () => {
    const copies = dockerfile.stages.flatMap((stage, index) =>
      stage.instructions
        .filter((instruction) => instruction.keyword === "COPY")
        .flatMap((instruction) =>
          [...instruction.args.matchAll(/--from=(\S+)/g)].map((match) => ({ index, from: match[1]! })),
        ),
    );
    expect(copies.length).toBeGreaterThan(0);
    for (const { index, from } of copies) {
      const earlier = dockerfile.stages.slice(0, index).map((stage) => stage.name);
      expect(earlier, `COPY --from=${from}`).toContain(from);
    }
  });

  it("runs the app as a numeric, non-root user", () => {
    const users = runtime.instructions.filter((instruction) => instruction.keyword === "USER");
    expect(users).toHaveLength(1);
    const match = /^(\d+)(?::(\d+))?$/.exec(users[0]!.args);
    expect(match, `USER ${users[0]!.args} (numeric, so that runAsNonRoot can verify it)`).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThan(0);
    if (match![2] !== undefined) expect(Number(match![2])).toBeGreaterThan(0);
  });

  it("starts node under tini (signals forwarded, zombies reaped), in exec form", () => {
    expect(entrypoint(dockerfile)[0]).toMatch(/\/tini$/);
    expect(entrypoint(dockerfile)).toContain("--");
    // Source maps: stack traces name the TypeScript files and lines, not the compiled ones.
    expect(entrypointCommand(dockerfile)).toEqual(["node", "--enable-source-maps", "dist/main.js"]);
    expect(
      runtime.instructions.some((i) => i.keyword === "RUN" && /apt-get install[^&]*\btini\b/.test(i.args)),
    ).toBe(true);
  });

  it("uses the Node major of the repository's engines and the pnpm it pins", () => {
    const nodeMajor = /(\d+)/.exec(rootPackage.engines.node)![1];
    const images = dockerfile.stages.map((stage) =>
      stage.base.replace(/^\$\{(\w+)\}$/, (_, name) => dockerfile.args.get(name) ?? ""),
    );
    for (const image of images) expect(image).toMatch(new RegExp(`^node:${nodeMajor}(\\D|$)`));
    const pnpmInstalls = dockerfile.stages.flatMap((stage) =>
      stage.instructions.flatMap((i) => [...i.args.matchAll(/\bpnpm@(\S+)/g)].map((match) => match[1])),
    );
    expect(pnpmInstalls).toEqual([rootPackage.devEngines.packageManager.version]);
  });

  it("builds with the script the image test runs (infra/deploy/build-app.sh)", () => {
    const build = dockerfile.stages.find((stage) => stage.name === "build")!;
    expect(build.instructions.map((i) => i.args)).toContain('sh infra/deploy/build-app.sh "$APP" /out');
    expect(runtime.instructions.find((i) => i.keyword === "COPY")?.args).toMatch(
      /--from=build .*\/out \/app$/,
    );
  });
});

const Service = z.looseObject({
  image: z.string().optional(),
  build: z
    .looseObject({
      context: z.string(),
      dockerfile: z.string(),
      target: z.string().optional(),
      args: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  ports: z.array(z.string()).optional(),
  read_only: z.boolean().optional(),
  tmpfs: z.array(z.string()).optional(),
  init: z.boolean().optional(),
  healthcheck: z.looseObject({ test: z.array(z.string()) }).optional(),
});
const Compose = z.looseObject({
  services: z.record(z.string(), Service),
  "x-no-service": z.record(z.string(), z.string().min(20)).default({}),
});
const compose = Compose.parse(
  parse(readFileSync(join(DEPLOY, "docker-compose.yml"), "utf8"), { merge: true }),
);
const appServices = Object.entries(compose.services).filter(
  ([, service]) => service.build?.args?.APP !== undefined && service.build.target === undefined,
);

/** `node apps/<app>/src/main.ts --help`: the options and environment variables the app really has. */
async function help(app: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(REPO, "apps", app, "src", "main.ts"), "--help"],
    {
      env: { PATH: process.env.PATH ?? "" },
    },
  );
  return stdout;
}

const LintReport = z.array(
  z.object({
    messages: z.array(z.object({ rule: z.string(), message: z.string(), line: z.number() })),
    errorCount: z.number(),
    warningCount: z.number(),
  }),
);

describe("docker-compose.yml", () => {
  it("is valid against the Compose Specification schema and passes dclint", async () => {
    // .dclintrc.json turns off the ordering rules and one opinion (each app service both builds and names
    // its image, on purpose), and asks for the double quotes biome writes around ports.
    const { stdout } = await promisify(execFile)(
      join(DEPLOY, "node_modules", ".bin", "dclint"),
      ["docker-compose.yml", "--config", ".dclintrc.json", "--formatter", "json"],
      { cwd: DEPLOY },
    );
    const [report] = LintReport.parse(JSON.parse(stdout));
    expect(report?.messages.map(({ rule, line, message }) => `${line}: ${message} (${rule})`)).toEqual([]);
  }, 60_000);

  it("runs every app in apps/, or says why not (x-no-service)", () => {
    const covered = new Set([...appServices.map(([name]) => name), ...Object.keys(compose["x-no-service"])]);
    expect(apps.filter((app) => !covered.has(app))).toEqual([]);
    expect(Object.keys(compose["x-no-service"]).filter((app) => !apps.includes(app))).toEqual([]);
  });

  it.each(appServices.map(([name]) => name))(
    "%s: its own image, read-only root, tmpfs /tmp, tini from the image",
    (name) => {
      const service = compose.services[name]!;
      expect(service.build?.args?.APP).toBe(name);
      expect(service.build?.dockerfile).toBe("infra/deploy/Dockerfile");
      expect(service.image).toMatch(new RegExp(`^vigil/${name}:`));
      expect(service.read_only).toBe(true);
      expect(service.tmpfs).toContain("/tmp");
      // The image's ENTRYPOINT is tini already: Docker's init on top would be a second one.
      expect(service.init).not.toBe(true);
    },
  );

  it.each(appServices.map(([name]) => name))(
    "%s: flags, variables and ports the app has",
    async (name) => {
      const service = compose.services[name]!;
      const text = await help(name);
      for (const arg of service.command ?? []) {
        const flag = /^(--[a-z][a-z0-9-]*)/.exec(arg)?.[1];
        expect(flag, `${arg} is an option`).toBeDefined();
        expect(text, `${name} --help has ${flag}`).toMatch(new RegExp(`${flag}[ ,=]`));
      }
      const env = Object.keys(service.environment ?? {});
      expect(env).toContain("VIGIL_HEALTH_LISTEN");
      for (const variable of env)
        expect(text, `${name} --help names ${variable}`).toMatch(new RegExp(`\\b${variable}\\b`));
      // Every published container port is one the app listens on (a --listen* flag or *_LISTEN variable).
      const listening = [
        ...(service.command ?? []).filter((arg) => arg.startsWith("--listen")),
        ...Object.entries(service.environment ?? {})
          .filter(([key]) => key.endsWith("_LISTEN"))
          .map(([, value]) => String(value)),
      ].map((value) => /:(\d+)$/.exec(value)?.[1]);
      for (const port of service.ports ?? []) {
        const container = /:(\d+)(?:\/(?:tcp|udp))?$/.exec(port)?.[1];
        expect(listening, `${name} publishes ${port}`).toContain(container);
      }
    },
    60_000,
  );

  it("probes readiness on the port VIGIL_HEALTH_LISTEN serves", () => {
    for (const [name, service] of appServices) {
      const listen = String(service.environment?.VIGIL_HEALTH_LISTEN ?? "");
      const port = /:(\d+)$/.exec(listen)?.[1];
      expect(port, `${name} VIGIL_HEALTH_LISTEN`).toBeDefined();
      if (service.healthcheck !== undefined)
        expect(service.healthcheck.test.join(" "), name).toContain(`:${port}/readyz`);
    }
  });
});
