/**
 * Loading and compiling a rule pack: from a package folder (its `exports`/`main` entry), a
 * module file, or a `pack.yaml` manifest. Every problem names the file, and for rules the rule
 * id, the key, line and column.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ReferenceKind } from "@vigil/schema";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { formatPath, formatProblem, type Locate, RuleCompileError } from "../language/errors.ts";
import { compileRules, yamlLocator } from "../language/parse.ts";
import type { CompiledRule } from "../model.ts";
import { loadSigmaPackRules, SigmaRulesError } from "../sigma-rules.ts";
import { PackManifest } from "./manifest.ts";

/** A pack that cannot be loaded or compiled; `problems` are one line each, naming file, rule and key. */
export class PackError extends Error {
  override name = "PackError";
  readonly source: string;
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `invalid pack ${source}:\n  ${problems.join("\n  ")}`);
    this.source = source;
    this.problems = problems;
  }
}

export interface LoadedPack {
  manifest: PackManifest;
  /** Paths in the manifest are relative to it. */
  root: string;
  /** The file the manifest came from. */
  source: string;
}

export interface PackDocument {
  kind: ReferenceKind;
  /** The file name without extension. */
  name: string;
  /** The absolute path. */
  origin: string;
  content: string;
}

export interface CompiledPack {
  rules: CompiledRule[];
  references: PackDocument[];
}

const yamlExtensions = new Set([".yaml", ".yml"]);
const moduleExtensions = new Set([".ts", ".mts", ".js", ".mjs"]);

async function isDirectory(path: string): Promise<boolean | undefined> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return undefined;
  }
}

function issuesToProblems(source: string, issues: readonly z.core.$ZodIssue[], locate?: Locate): string[] {
  const at = (path: (string | number)[], target: "key" | "value") => {
    const position = locate?.(path, target);
    return position ? `${source}:${position.line}:${position.column}` : source;
  };
  return issues.flatMap((issue) => {
    const path = issue.path as (string | number)[];
    if (issue.code === "unrecognized_keys")
      return issue.keys.map(
        (key) => `${at([...path, key], "key")}: ${formatPath([...path, key])}: unknown key "${key}"`,
      );
    return [`${at(path, "value")}: ${formatPath(path) || "(manifest)"}: ${issue.message}`];
  });
}

function validateManifest(value: unknown, source: string, root: string, locate?: Locate): LoadedPack {
  const parsed = PackManifest.safeParse(value);
  if (!parsed.success) {
    const problems = issuesToProblems(source, parsed.error.issues, locate);
    if (value !== null && typeof value === "object" && "id" in value && "on" in value)
      problems.unshift(
        `${source}: this is a rule, not a pack manifest (a manifest has name, version, description, rules, tests)`,
      );
    throw new PackError(source, problems);
  }
  return { manifest: parsed.data, root, source };
}

async function loadYamlManifest(path: string): Promise<LoadedPack> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new PackError(path, [`${path}: cannot read the file: ${(error as Error).message}`]);
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0)
    throw new PackError(
      path,
      document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return `${path}:${position.line}:${position.col}: ${error.message.split("\n")[0]}`;
      }),
    );
  return validateManifest(
    document.toJS({ maxAliasCount: 100 }),
    path,
    dirname(path),
    yamlLocator(document, lineCounter),
  );
}

async function loadModuleManifest(path: string, root: string): Promise<LoadedPack> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new PackError(path, [`${path}: cannot import the pack module: ${(error as Error).message}`]);
  }
  const manifest = module.default ?? module.pack;
  if (manifest === undefined)
    throw new PackError(path, [
      `${path}: the module exports no pack (expected a default export or an export named "pack")`,
    ]);
  return validateManifest(manifest, path, root);
}

function exportEntry(packageJson: Record<string, unknown>): string | undefined {
  const pick = (target: unknown): string | undefined => {
    if (typeof target === "string") return target;
    if (target && typeof target === "object") {
      const conditions = target as Record<string, unknown>;
      for (const condition of ["import", "node", "default"]) {
        const found = pick(conditions[condition]);
        if (found) return found;
      }
    }
    return undefined;
  };
  const exports = packageJson.exports;
  if (typeof exports === "string") return exports;
  if (exports && typeof exports === "object") {
    const map = exports as Record<string, unknown>;
    if (Object.hasOwn(map, ".")) return pick(map["."]);
    if (!Object.keys(map).some((key) => key.startsWith("."))) return pick(map);
  }
  return typeof packageJson.main === "string" ? packageJson.main : undefined;
}

/**
 * Loads a pack: a folder with a package.json (its `exports["."]` / `main` module, default export
 * or `pack`), a folder with `pack.yaml`, a module file, or a YAML manifest file.
 */
export async function loadPack(path: string): Promise<LoadedPack> {
  const target = resolve(path);
  const directory = await isDirectory(target);
  if (directory === undefined) throw new PackError(target, [`${target}: no such file or folder`]);
  if (!directory) {
    const extension = extname(target);
    if (yamlExtensions.has(extension)) return loadYamlManifest(target);
    if (moduleExtensions.has(extension)) return loadModuleManifest(target, dirname(target));
    throw new PackError(target, [
      `${target}: expected a pack folder, a module (.ts, .js) or a YAML manifest (.yaml)`,
    ]);
  }
  const packageJsonPath = join(target, "package.json");
  let packageJson: Record<string, unknown> | undefined;
  try {
    packageJson = JSON.parse(await readFile(packageJsonPath, "utf8")) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT")
      throw new PackError(packageJsonPath, [`${packageJsonPath}: ${(error as Error).message}`]);
  }
  if (packageJson) {
    const entry = exportEntry(packageJson);
    if (entry) {
      const entryPath = resolve(target, entry);
      return yamlExtensions.has(extname(entryPath))
        ? loadYamlManifest(entryPath)
        : loadModuleManifest(entryPath, target);
    }
  }
  for (const name of ["pack.yaml", "pack.yml"]) {
    const manifestPath = join(target, name);
    if ((await isDirectory(manifestPath)) === false) return loadYamlManifest(manifestPath);
  }
  throw new PackError(target, [
    `${target}: no pack here (expected a package.json with an entry point, or pack.yaml)`,
  ]);
}

function inside(root: string, path: string): string | undefined {
  const full = resolve(root, path);
  const rel = relative(root, full);
  if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
  return full;
}

async function yamlFilesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && yamlExtensions.has(extname(entry.name)))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** A rule entry that is YAML text rather than a path: it spans lines or has a key. */
function isInlineYaml(entry: string): boolean {
  return entry.includes("\n") || (/:\s/.test(entry) && !yamlExtensions.has(extname(entry.trim())));
}

/** Reads the pack's reference documents (baselines, exceptions, priority lists), relative to the root. */
export async function readReferences(
  references: readonly { kind: ReferenceKind; path: string }[],
  root: string,
  problems: string[],
  at: string,
): Promise<PackDocument[]> {
  const documents: PackDocument[] = [];
  for (const [index, reference] of references.entries()) {
    const full = inside(root, reference.path);
    if (!full) {
      problems.push(`${at}[${index}]: ${reference.path} is outside the pack`);
      continue;
    }
    try {
      documents.push({
        kind: reference.kind,
        name: basename(full, extname(full)),
        origin: full,
        content: await readFile(full, "utf8"),
      });
    } catch (error) {
      problems.push(`${full}: cannot read ${reference.kind} document: ${(error as Error).message}`);
    }
  }
  return documents;
}

/** Compiles every rule of a pack and reads its reference documents; throws PackError listing every problem. */
export async function compilePack(manifest: PackManifest, root: string): Promise<CompiledPack> {
  const problems: string[] = [];
  const rules: CompiledRule[] = [];
  const origins = new Map<string, string>();
  const add = (rule: CompiledRule, origin: string) => {
    const previous = origins.get(rule.id);
    if (previous !== undefined) {
      problems.push(`${origin}: rule ${rule.id}: id: duplicate rule id (also in ${previous})`);
      return;
    }
    origins.set(rule.id, origin);
    rules.push(rule);
  };
  const compileText = (text: string, source: string) => {
    try {
      for (const rule of compileRules(text, source)) add(rule, source);
    } catch (error) {
      if (error instanceof RuleCompileError) problems.push(...error.problems.map(formatProblem));
      else throw error;
    }
  };
  for (const [index, entry] of manifest.rules.entries()) {
    if (typeof entry !== "string") {
      add(entry, `rules[${index}] (TypeScript rule)`);
      continue;
    }
    if (isInlineYaml(entry)) {
      compileText(entry, `${manifest.name} rules[${index}]`);
      continue;
    }
    const full = inside(root, entry);
    if (!full) {
      problems.push(`rules[${index}]: ${entry} is outside the pack`);
      continue;
    }
    const directory = await isDirectory(full);
    if (directory === undefined) {
      problems.push(`rules[${index}]: ${full}: no such file or folder`);
      continue;
    }
    const files = directory ? await yamlFilesUnder(full) : [full];
    if (directory && files.length === 0)
      problems.push(`rules[${index}]: ${full}: no .yaml files in the folder`);
    for (const file of files) compileText(await readFile(file, "utf8"), file);
  }
  for (const [index, entry] of manifest.sigma.entries()) {
    const full = inside(root, entry.path);
    if (!full) {
      problems.push(`sigma[${index}].path: ${entry.path} is outside the pack`);
      continue;
    }
    if ((await isDirectory(full)) === undefined) {
      problems.push(`sigma[${index}].path: ${full}: no such file or folder`);
      continue;
    }
    let pipeline: string | undefined;
    if (entry.pipeline !== undefined) {
      pipeline = entry.pipeline === "windows" ? entry.pipeline : inside(root, entry.pipeline);
      if (pipeline === undefined) {
        problems.push(`sigma[${index}].pipeline: ${entry.pipeline} is outside the pack`);
        continue;
      }
    }
    try {
      const sigma = await loadSigmaPackRules({
        rules: full,
        ...(pipeline !== undefined ? { pipeline } : {}),
        ...(entry.on !== undefined ? { on: entry.on } : {}),
      });
      for (const rule of sigma) add(rule, full);
    } catch (error) {
      if (error instanceof SigmaRulesError)
        problems.push(...error.problems.map((p) => `sigma[${index}]: ${p}`));
      else throw error;
    }
  }
  const references = await readReferences(manifest.references, root, problems, "references");
  if (problems.length > 0) throw new PackError(root, problems);
  return { rules, references };
}

export interface LoadedRulePacks {
  packs: { name: string; version: string; source: string; rules: string[] }[];
  rules: CompiledRule[];
  /** The reference documents the packs ship (baseline fragments, exceptions): the engine adds them to its tables. */
  references: PackDocument[];
}

function looksLikePath(specifier: string): boolean {
  return specifier.startsWith(".") || isAbsolute(specifier) || /\.(ya?ml|[cm]?[jt]s)$/.test(specifier);
}

/** Where an npm package lives: its folder (through its package.json), else its entry module. */
function resolvePackage(specifier: string, from: string | URL): string {
  const require = createRequire(from);
  try {
    return dirname(require.resolve(`${specifier}/package.json`));
  } catch {
    return require.resolve(specifier);
  }
}

/**
 * Loads and compiles several packs (npm package names or paths, as `--pack` takes them); rule ids
 * must be unique across them. Package names resolve from `options.from` (default: the working
 * directory), as `node` would from there.
 */
export async function loadPacks(
  specifiers: string | readonly string[],
  options: { from?: string | URL } = {},
): Promise<LoadedRulePacks> {
  const from = options.from ?? pathToFileURL(join(process.cwd(), "noop.js"));
  const result: LoadedRulePacks = { packs: [], rules: [], references: [] };
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const specifier of typeof specifiers === "string" ? [specifiers] : specifiers) {
    let path = specifier;
    if (!looksLikePath(specifier) && (await isDirectory(resolve(specifier))) === undefined) {
      try {
        path = resolvePackage(specifier, from);
      } catch (error) {
        throw new PackError(specifier, [
          `${specifier}: no such pack (not a path, and the package cannot be resolved: ${(error as Error).message.split("\n")[0]})`,
        ]);
      }
    }
    const pack = await loadPack(path);
    const compiled = await compilePack(pack.manifest, pack.root);
    for (const rule of compiled.rules) {
      const owner = owners.get(rule.id);
      if (owner !== undefined) problems.push(`${pack.source}: rule ${rule.id}: id: also in pack ${owner}`);
      owners.set(rule.id, pack.manifest.name);
    }
    result.packs.push({
      name: pack.manifest.name,
      version: pack.manifest.version,
      source: pack.source,
      rules: compiled.rules.map((rule) => rule.id),
    });
    result.rules.push(...compiled.rules);
    result.references.push(...compiled.references);
  }
  if (problems.length > 0) throw new PackError(String(specifiers), problems);
  return result;
}

/** The rules of several packs (see `loadPacks`). */
export async function loadRulePacks(
  specifiers: string | readonly string[],
  options: { from?: string | URL } = {},
): Promise<CompiledRule[]> {
  return (await loadPacks(specifiers, options)).rules;
}
