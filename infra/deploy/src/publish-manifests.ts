/**
 * `pnpm deploy` copies the workspace packages an app needs with their development package.json,
 * whose `exports` point at src/*.ts, and Node refuses to strip types under node_modules. pnpm
 * applies `publishConfig` only when packing (pnpm/pnpm#6693), so this does what `pnpm pack` would
 * for every workspace package in a deployed tree: each publishConfig field below replaces the
 * top-level one, and the result resolves to dist/*.js.
 *
 *   node infra/deploy/src/publish-manifests.ts <deploy dir>
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

/** The fields `pnpm pack` takes from publishConfig (access, registry and the like are not manifest fields). */
const PUBLISHED_FIELDS = [
  "exports",
  "main",
  "module",
  "types",
  "typings",
  "bin",
  "imports",
  "browser",
] as const;

const Manifest = z.looseObject({
  name: z.string().min(1),
  publishConfig: z.record(z.string(), z.unknown()).optional(),
});

const Lockfile = z.object({
  packages: z
    .record(z.string(), z.looseObject({ resolution: z.looseObject({ directory: z.string().optional() }) }))
    .default({}),
});

/** Names of the packages the deployed lockfile resolves from a directory: the workspace's own. */
function workspacePackageNames(deployDir: string): Set<string> {
  const lockfile = Lockfile.parse(parse(readFileSync(join(deployDir, "pnpm-lock.yaml"), "utf8")));
  const names = new Set<string>();
  for (const [key, entry] of Object.entries(lockfile.packages)) {
    // Keys are `<name>@<version or file: URL>`; a scoped name starts with its own "@".
    if (entry.resolution.directory !== undefined) names.add(key.slice(0, key.indexOf("@", 1)));
  }
  return names;
}

/** Every package directory in the deployed virtual store (node_modules/.pnpm/<entry>/node_modules/<name>). */
function storedPackageDirs(deployDir: string): string[] {
  const store = join(deployDir, "node_modules", ".pnpm");
  const dirs: string[] = [];
  for (const entry of readdirSync(store, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === "node_modules") continue;
    const modules = join(store, entry.name, "node_modules");
    for (const name of readdirSync(modules)) {
      if (!name.startsWith("@")) dirs.push(join(modules, name));
      else for (const scoped of readdirSync(join(modules, name))) dirs.push(join(modules, name, scoped));
    }
  }
  return dirs;
}

/** Rewrites a package's manifest with its publishConfig when `wanted(name)`; returns the name if it did. */
function applyPublishConfig(packageDir: string, wanted: (name: string) => boolean): string | undefined {
  const file = join(packageDir, "package.json");
  const manifest = Manifest.parse(JSON.parse(readFileSync(file, "utf8")));
  const { publishConfig, ...rest } = manifest;
  if (publishConfig === undefined || !wanted(manifest.name)) return undefined;
  const published: Record<string, unknown> = { ...rest };
  for (const field of PUBLISHED_FIELDS) if (field in publishConfig) published[field] = publishConfig[field];
  // A new file, then a rename: never write through a hard link into the workspace's own package.json.
  writeFileSync(`${file}.published`, `${JSON.stringify(published, null, 2)}\n`);
  renameSync(`${file}.published`, file);
  return manifest.name;
}

/** Applies publishConfig to the deployed app and its workspace dependencies; returns the names rewritten. */
export function publishManifests(deployDir: string): string[] {
  const workspace = workspacePackageNames(deployDir);
  const rewritten = [
    applyPublishConfig(deployDir, () => true),
    ...storedPackageDirs(deployDir).map((dir) => applyPublishConfig(dir, (name) => workspace.has(name))),
  ];
  return rewritten.filter((name) => name !== undefined).sort();
}

if (import.meta.main) {
  const deployDir = process.argv[2];
  if (deployDir === undefined) {
    process.stderr.write("usage: node infra/deploy/src/publish-manifests.ts <deploy dir>\n");
    process.exit(2);
  }
  process.stdout.write(`publishConfig applied: ${publishManifests(deployDir).join(", ")}\n`);
}
