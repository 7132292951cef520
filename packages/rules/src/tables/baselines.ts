/**
 * Baselines (MISSION.md 2 and 3): the documented configuration of a class of system, and the
 * differences of a host from its class. A baselines document holds one or more baselines; each
 * baseline picks, per host, its most specific matching class and states the minimum OS build and
 * service pack, required and approved updates (with supersedence), approved and forbidden software,
 * allowed listening ports, antivirus, administrative accounts and password policy.
 *
 * A difference is only reported from what the host record says. What it does not say is returned
 * as `unknown` with the reason, never as a violation.
 */
import { FsmoRole, HardwareType, type HostV1 } from "@vigil/schema";
import { z } from "zod";
import type { BaselineDelta, BaselineDirection } from "../model.ts";
import { compileGlob, type Glob } from "./glob.ts";
import {
  accountName,
  collectionKnown,
  installedKbs,
  isLoopback,
  osVersionOf,
  parseSourceTime,
  servicePackOf,
} from "./host-facts.ts";
import { findSupersedenceCycle, normalizeKb, type SupersedenceGraph } from "./supersedence.ts";
import { compareKnownPrecision, compareVersions, compareWithUpperBound, isVersion } from "./version.ts";
import { type DocumentResult, onType, parseYamlDocument } from "./yaml-document.ts";

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------- schema

const text = (what: string) =>
  z
    .string({ error: onType(`expected ${what}`) })
    .trim()
    .min(1, `expected ${what}`)
    .max(1024, `expected ${what} (at most 1024 characters)`);

const Name = text("a non-empty name");

const Version = z
  .string({ error: onType('expected a version string (quote numbers: "10.0.17763")') })
  .trim()
  .min(1, "expected a version")
  .max(128, "expected a version of at most 128 characters")
  .refine(isVersion, "expected a version with at least one digit");

const Kb = z.string({ error: onType("expected an update id like KB5034441") }).transform((value, ctx) => {
  const kb = normalizeKb(value);
  if (kb === undefined) {
    ctx.addIssue({ code: "custom", message: `expected an update id like KB5034441, got "${value}"` });
    return z.NEVER;
  }
  return kb;
});

const KbList = z.array(Kb, { error: onType("expected a list of update ids") }).max(10_000);

const Count = (what: string, max: number) =>
  z
    .number({ error: onType(`expected ${what}`) })
    .int(`expected ${what} (a whole number)`)
    .min(0, `expected ${what} (0 or more)`)
    .max(max, `expected ${what} (at most ${max})`);

const PORT_MESSAGE = "expected a port 0-65535 or a range like 49152-65535";
const PortSpec = z.union(
  [
    z.number().int(PORT_MESSAGE).min(0, PORT_MESSAGE).max(65535, PORT_MESSAGE),
    z
      .string()
      .regex(/^\d{1,5}-\d{1,5}$/, PORT_MESSAGE)
      .refine((value) => {
        const [low, high] = value.split("-").map(Number) as [number, number];
        return low <= high && high <= 65535;
      }, PORT_MESSAGE),
  ],
  { error: () => PORT_MESSAGE },
);

const OsVersionRange = z
  .string({ error: onType('expected a version range like ">=10.0.17763 <10.0.20348"') })
  .trim()
  .superRefine((value, ctx) => {
    if (parseRange(value) === undefined)
      ctx.addIssue({
        code: "custom",
        message: `expected a version range like ">=10.0.17763 <10.0.20348", got "${value}"`,
      });
  });

const Selector = z
  .strictObject(
    {
      /** `windows`, `linux`, `macos`, `other` (HostV1 `os.type`). */
      os_type: z.enum(["windows", "linux", "macos", "other"], {
        error: () => "expected one of windows|linux|macos|other",
      }),
      /** Pattern over `os.name` (`*Windows Server 2019*`). */
      os_name: text("an OS name pattern"),
      /** Comparators over the OS version (`>=10.0.17763 <10.0.20348`). */
      os_version: OsVersionRange,
      hardware: z
        .array(HardwareType, { error: onType(`expected a list of ${HardwareType.options.join("|")}`) })
        .min(1),
      domain_controller: z.boolean({ error: () => "expected true or false" }),
      /** `true`: holds any FSMO role; a list: holds at least one of them. */
      fsmo: z.union([z.boolean(), z.array(FsmoRole).min(1)], {
        error: () => `expected true, false or a list of ${FsmoRole.options.join("|")}`,
      }),
      business_critical: z.boolean({ error: () => "expected true or false" }),
      /** Role tags the host must all carry. */
      tags: z.array(text("a non-empty tag"), { error: onType("expected a list of tags") }).min(1),
      /** Directory OU or DN suffix (`OU=Servers,DC=corp,DC=example`); a list matches any. */
      ou: z.union([text("an OU"), z.array(text("an OU")).min(1)], {
        error: () => "expected an OU like OU=Servers,DC=corp,DC=example or a list of them",
      }),
      managed: z.boolean({ error: () => "expected true or false" }),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a selector mapping") },
  )
  .partial();
export type BaselineSelector = z.output<typeof Selector>;

const SoftwareRule = z.strictObject(
  {
    /** Pattern over the installed package name (`Google Chrome`, `7-Zip*`); also the item name. */
    name: text("a software name pattern"),
    min_version: Version.optional(),
    /** An upper bound at the precision written: `122` approves every 122.x. */
    max_version: Version.optional(),
    /** The package must be installed (approved list only). */
    required: z.boolean().optional(),
    reason: text("a reason").optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a software mapping") },
);

const ClassSchema = z.strictObject(
  {
    name: Name,
    description: text("a description").optional(),
    /** Takes every section of another class of the same baseline that this one does not state. */
    extends: Name.optional(),
    /** Breaks a tie between equally specific classes: the higher wins. */
    priority: z
      .number({ error: onType("expected a whole number") })
      .int("expected a whole number")
      .min(-1000)
      .max(1000)
      .optional(),
    /** One selector or a list (any matches). A class without `match` is only a template for `extends`. */
    match: z.union([Selector, z.array(Selector).min(1)]).optional(),
    os: z
      .strictObject({
        min_build: Version.optional(),
        max_build: Version.optional(),
        min_service_pack: Count("a service pack number", 20).optional(),
        max_service_pack: Count("a service pack number", 20).optional(),
      })
      .optional(),
    updates: z
      .strictObject({
        /** Each must be installed, or an update superseding it. */
        required: KbList.optional(),
        /** When present, installed updates outside required + approved (and older ones they supersede) are above baseline. */
        approved: KbList.optional(),
      })
      .optional(),
    software: z
      .strictObject({
        approved: z.array(SoftwareRule).max(10_000).optional(),
        forbidden: z
          .array(SoftwareRule.omit({ required: true }))
          .max(10_000)
          .optional(),
      })
      .optional(),
    /** The complete lists of allowed listening ports: a protocol left out allows none. */
    ports: z
      .strictObject({
        tcp: z.array(PortSpec).max(10_000).default([]),
        udp: z.array(PortSpec).max(10_000).default([]),
      })
      .optional(),
    antivirus: z
      .strictObject({
        required: z.boolean({ error: () => "expected true or false" }),
        max_signature_age_days: Count("a number of days", 3650).optional(),
      })
      .optional(),
    admin: z
      .strictObject({
        /** `rename`: no administrator keeps a default name; `rename_or_disable` / `disable` need the account's state. */
        default_account: z
          .enum(["rename", "rename_or_disable", "disable"], {
            error: () => "expected rename|rename_or_disable|disable",
          })
          .optional(),
        default_names: z.array(text("an account name")).min(1).default(["Administrator"]),
        /** An unprivileged account with a tempting name that must exist (and must not be an administrator). */
        decoy_account: text("an account name").optional(),
        /** Patterns of the accounts allowed in the local administrators group. */
        allowed_admins: z.array(text("an account pattern")).optional(),
      })
      .optional(),
    password: z
      .strictObject({
        min_length: Count("a length", 256).optional(),
        complexity: z.boolean().optional(),
        max_age_days: Count("a number of days", 3650).optional(),
      })
      .optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a class mapping") },
);
export type BaselineClassInput = z.output<typeof ClassSchema>;

const BaselineSchema = z.strictObject(
  {
    name: Name,
    version: z
      .string({ error: onType('expected a version string (quote it: "2024.03")') })
      .trim()
      .min(1)
      .max(64),
    description: text("a description").optional(),
    /** `superseding KB: [the KBs it replaces]`. */
    supersedence: z
      .record(z.string(), KbList, {
        error: onType("expected a mapping of update id to the ids it supersedes"),
      })
      .optional(),
    classes: z
      .array(ClassSchema, { error: onType("expected a list of classes") })
      .min(1)
      .max(10_000),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a baseline mapping") },
);
export type BaselineInput = z.output<typeof BaselineSchema>;

export const BaselinesFile = z
  .strictObject(
    {
      version: z.literal(1, { error: () => "expected 1 (the only baselines format version)" }),
      baselines: z
        .array(BaselineSchema, { error: onType("expected a list of baselines") })
        .min(1)
        .max(1000),
    },
    {
      error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a baselines mapping"),
    },
  )
  .superRefine((file, ctx) => {
    const names = new Map<string, number>();
    file.baselines.forEach((baseline, index) => {
      const other = names.get(baseline.name);
      if (other !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["baselines", index, "name"],
          message: `duplicate baseline name (also baselines[${other}])`,
        });
      names.set(baseline.name, index);
      checkBaseline(baseline, ["baselines", index], ctx);
    });
  });
export type BaselinesFile = z.output<typeof BaselinesFile>;

function checkBaseline(baseline: BaselineInput, at: (string | number)[], ctx: z.RefinementCtx): void {
  const supersedence = new Map<string, string[]>();
  for (const [key, olders] of Object.entries(baseline.supersedence ?? {})) {
    const kb = normalizeKb(key);
    if (kb === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [...at, "supersedence", key],
        message: `expected an update id like KB5034441 as the key, got "${key}"`,
      });
      continue;
    }
    supersedence.set(kb, [...(supersedence.get(kb) ?? []), ...olders]);
  }
  const cycle = findSupersedenceCycle(supersedence);
  if (cycle) {
    const key = Object.keys(baseline.supersedence ?? {}).find(
      (candidate) => normalizeKb(candidate) === cycle[0],
    );
    ctx.addIssue({
      code: "custom",
      path: [...at, "supersedence", key ?? cycle[0]!],
      message: `supersedence cycle: ${cycle.join(" supersedes ")}`,
    });
  }
  const classes = new Map<string, number>();
  baseline.classes.forEach((cls, index) => {
    const other = classes.get(cls.name);
    if (other !== undefined)
      ctx.addIssue({
        code: "custom",
        path: [...at, "classes", index, "name"],
        message: `duplicate class name (also classes[${other}])`,
      });
    else classes.set(cls.name, index);
  });
  baseline.classes.forEach((cls, index) => {
    const path = [...at, "classes", index];
    if (cls.extends !== undefined) {
      if (!classes.has(cls.extends))
        ctx.addIssue({
          code: "custom",
          path: [...path, "extends"],
          message: `no class named "${cls.extends}" in baseline ${baseline.name}`,
        });
      else {
        const chain = [cls.name];
        let current: string | undefined = cls.extends;
        while (current !== undefined) {
          if (chain.includes(current)) {
            ctx.addIssue({
              code: "custom",
              path: [...path, "extends"],
              message: `extends cycle: ${[...chain, current].join(" extends ")}`,
            });
            break;
          }
          chain.push(current);
          const next = classes.get(current);
          current = next === undefined ? undefined : baseline.classes[next]!.extends;
        }
      }
    }
    const os = cls.os;
    if (os?.min_build && os.max_build && compareVersions(os.min_build, os.max_build) > 0)
      ctx.addIssue({
        code: "custom",
        path: [...path, "os", "min_build"],
        message: "min_build is above max_build",
      });
    if (
      os?.min_service_pack !== undefined &&
      os.max_service_pack !== undefined &&
      os.min_service_pack > os.max_service_pack
    )
      ctx.addIssue({
        code: "custom",
        path: [...path, "os", "min_service_pack"],
        message: "min_service_pack is above max_service_pack",
      });
    for (const list of ["approved", "forbidden"] as const)
      cls.software?.[list]?.forEach((rule, ruleIndex) => {
        if (
          rule.min_version &&
          rule.max_version &&
          compareWithUpperBound(rule.min_version, rule.max_version) > 0
        )
          ctx.addIssue({
            code: "custom",
            path: [...path, "software", list, ruleIndex, "min_version"],
            message: "min_version is above max_version",
          });
      });
  });
  // Two classes selecting the same hosts with the same priority can never be told apart.
  const seen = new Map<string, number>();
  baseline.classes.forEach((cls, index) => {
    if (cls.match === undefined) return;
    const selectors = Array.isArray(cls.match) ? cls.match : [cls.match];
    for (const selector of selectors) {
      const key = `${cls.priority ?? 0}|${canonicalSelector(selector)}`;
      const other = seen.get(key);
      if (other !== undefined && other !== index)
        ctx.addIssue({
          code: "custom",
          path: [...at, "classes", index, "match"],
          message: `selects the same hosts as class ${baseline.classes[other]!.name} with the same priority: give one a priority`,
        });
      seen.set(key, index);
    }
  });
}

function canonicalSelector(selector: BaselineSelector): string {
  const entries = Object.entries(selector)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => [key, Array.isArray(value) ? [...value].map(String).sort() : value] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(entries);
}

/** Parses and validates a baselines document (see `BaselinesFile`). */
export function parseBaselines(text: string): DocumentResult<BaselinesFile> {
  return parseYamlDocument(text, BaselinesFile);
}

// ------------------------------------------------------------------------------ version ranges

type Comparator = { op: ">=" | ">" | "<=" | "<" | "="; version: string };

/** `>=10.0.17763 <10.0.20348`; a bare version means `=` at the precision written. */
function parseRange(text: string): Comparator[] | undefined {
  const parts = text.split(/\s+/).filter(Boolean);
  if (parts.length === 0) return undefined;
  const comparators: Comparator[] = [];
  for (const part of parts) {
    const match = /^(>=|<=|>|<|=)?(.+)$/.exec(part);
    if (!match || !isVersion(match[2]!)) return undefined;
    comparators.push({ op: (match[1] ?? "=") as Comparator["op"], version: match[2]! });
  }
  return comparators;
}

function inRange(version: string, comparators: Comparator[]): boolean {
  return comparators.every(({ op, version: bound }) => {
    switch (op) {
      case ">=":
        return compareVersions(version, bound) >= 0;
      case ">":
        return compareVersions(version, bound) > 0;
      case "<":
        return compareVersions(version, bound) < 0;
      case "<=":
        return compareWithUpperBound(version, bound) <= 0;
      default:
        return compareWithUpperBound(version, bound) === 0;
    }
  });
}

// ------------------------------------------------------------------------------- compilation

export interface BaselineRef {
  name: string;
  version: string;
  /** `baselines/<document name>`: where the baseline came from. */
  document: string;
}

interface CompiledSelector {
  specificity: number;
  matches(host: HostV1): boolean;
}

type ClassSections = Pick<
  BaselineClassInput,
  "os" | "updates" | "software" | "ports" | "antivirus" | "admin" | "password"
>;
const SECTIONS = ["os", "updates", "software", "ports", "antivirus", "admin", "password"] as const;

interface CompiledSoftwareRule {
  name: string;
  glob: Glob;
  min_version?: string | undefined;
  max_version?: string | undefined;
  required: boolean;
}

export interface BaselineClass {
  baseline: BaselineRef;
  name: string;
  priority: number;
  selectors: CompiledSelector[];
  sections: ClassSections;
  approvedSoftware: CompiledSoftwareRule[];
  forbiddenSoftware: CompiledSoftwareRule[];
  allowedAdmins: Glob[] | undefined;
  ports: { tcp: PortSet; udp: PortSet } | undefined;
}

export interface CompiledBaseline {
  ref: BaselineRef;
  /** `superseding -> superseded` as the document states it. */
  supersedence: Map<string, string[]>;
  classes: BaselineClass[];
}

/** Allowed ports as sorted, merged ranges. */
export class PortSet {
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  constructor(specs: ReadonlyArray<number | string>) {
    const ranges = specs
      .map((spec): [number, number] => {
        if (typeof spec === "number") return [spec, spec];
        const [low, high] = spec.split("-").map(Number) as [number, number];
        return [low, high];
      })
      .sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const range of ranges) {
      const last = merged[merged.length - 1];
      if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
      else merged.push([...range]);
    }
    this.ranges = merged;
  }
  has(port: number): boolean {
    return this.ranges.some(([low, high]) => port >= low && port <= high);
  }
  #list: number[] | undefined;
  /** Every port, expanded once (ReferenceTables.allowedPorts). */
  list(): number[] {
    if (!this.#list) {
      this.#list = [];
      for (const [low, high] of this.ranges) for (let port = low; port <= high; port++) this.#list.push(port);
    }
    return this.#list;
  }
  describe(): string {
    return this.ranges.length === 0
      ? "none"
      : this.ranges.map(([low, high]) => (low === high ? String(low) : `${low}-${high}`)).join(", ");
  }
}

/** `ou=servers,dc=corp,dc=example`: case and spacing of a DN do not matter. */
function normalizeDn(dn: string): string {
  return dn
    .split(",")
    .map((part) =>
      part
        .split("=")
        .map((piece) => piece.trim())
        .join("="),
    )
    .join(",")
    .toLowerCase();
}

function compileSelector(selector: BaselineSelector): CompiledSelector {
  const checks: ((host: HostV1) => boolean)[] = [];
  let specificity = 0;
  if (selector.os_type !== undefined) {
    const type = selector.os_type;
    checks.push((host) => host.os.type === type);
    specificity += 1;
  }
  if (selector.os_name !== undefined) {
    const glob = compileGlob(selector.os_name);
    checks.push((host) => host.os.name !== undefined && glob.matches(host.os.name));
    specificity += 1;
  }
  if (selector.os_version !== undefined) {
    const range = parseRange(selector.os_version)!;
    checks.push((host) => {
      const version = osVersionOf(host);
      return version !== undefined && inRange(version, range);
    });
    specificity += 1;
  }
  if (selector.hardware !== undefined) {
    const types = new Set(selector.hardware);
    checks.push((host) => types.has(host.type));
    specificity += 1;
  }
  if (selector.domain_controller !== undefined) {
    const wanted = selector.domain_controller;
    checks.push((host) => host.roles.domain_controller === wanted);
    specificity += 1;
  }
  if (selector.fsmo !== undefined) {
    const fsmo = selector.fsmo;
    checks.push((host) =>
      typeof fsmo === "boolean"
        ? host.roles.fsmo.length > 0 === fsmo
        : fsmo.some((role) => host.roles.fsmo.includes(role)),
    );
    specificity += 1;
  }
  if (selector.business_critical !== undefined) {
    const wanted = selector.business_critical;
    checks.push((host) => host.roles.business_critical === wanted);
    specificity += 1;
  }
  if (selector.tags !== undefined) {
    const tags = selector.tags.map((tag) => tag.toLowerCase());
    checks.push((host) => {
      const hostTags = new Set(host.roles.tags.map((tag) => tag.toLowerCase()));
      return tags.every((tag) => hostTags.has(tag));
    });
    specificity += tags.length;
  }
  if (selector.ou !== undefined) {
    const suffixes = (Array.isArray(selector.ou) ? selector.ou : [selector.ou]).map(normalizeDn);
    checks.push((host) => {
      const place = host.directory?.ou ?? host.directory?.dn;
      if (!place) return false;
      const dn = normalizeDn(place);
      return suffixes.some((suffix) => dn === suffix || dn.endsWith(`,${suffix}`));
    });
    specificity += 1;
  }
  if (selector.managed !== undefined) {
    const wanted = selector.managed;
    checks.push((host) => host.is_managed === wanted);
    specificity += 1;
  }
  return { specificity, matches: (host) => checks.every((check) => check(host)) };
}

function compileSoftware(rules: BaselineClassInput["software"], list: "approved" | "forbidden") {
  return (rules?.[list] ?? []).map(
    (rule): CompiledSoftwareRule => ({
      name: rule.name,
      glob: compileGlob(rule.name),
      min_version: rule.min_version,
      max_version: rule.max_version,
      required: "required" in rule && rule.required === true,
    }),
  );
}

/** Compiles a validated document: `extends` resolved (sections replaced whole), selectors and ports built. */
export function compileBaselines(file: BaselinesFile, document: string): CompiledBaseline[] {
  return file.baselines.map((baseline) => {
    const ref: BaselineRef = { name: baseline.name, version: baseline.version, document };
    const byName = new Map(baseline.classes.map((cls) => [cls.name, cls]));
    const resolved = new Map<string, ClassSections>();
    const sectionsOf = (cls: BaselineClassInput): ClassSections => {
      const done = resolved.get(cls.name);
      if (done) return done;
      const parent = cls.extends !== undefined ? sectionsOf(byName.get(cls.extends)!) : {};
      const own: ClassSections = { ...parent };
      for (const section of SECTIONS)
        if (cls[section] !== undefined) Object.assign(own, { [section]: cls[section] });
      resolved.set(cls.name, own);
      return own;
    };
    const classes = baseline.classes
      .filter((cls) => cls.match !== undefined)
      .map((cls): BaselineClass => {
        const sections = sectionsOf(cls);
        const selectors = (Array.isArray(cls.match) ? cls.match : [cls.match!]).map(compileSelector);
        return {
          baseline: ref,
          name: cls.name,
          priority: cls.priority ?? 0,
          selectors,
          sections,
          approvedSoftware: compileSoftware(sections.software, "approved"),
          forbiddenSoftware: compileSoftware(sections.software, "forbidden"),
          allowedAdmins: sections.admin?.allowed_admins?.map(compileGlob),
          ports: sections.ports
            ? { tcp: new PortSet(sections.ports.tcp), udp: new PortSet(sections.ports.udp) }
            : undefined,
        };
      });
    const supersedence = new Map<string, string[]>();
    for (const [key, olders] of Object.entries(baseline.supersedence ?? {}))
      supersedence.set(normalizeKb(key)!, [...(supersedence.get(normalizeKb(key)!) ?? []), ...olders]);
    return { ref, supersedence, classes };
  });
}

// ------------------------------------------------------------------------------- classification

export type ClassChoice =
  | { kind: "none" }
  | { kind: "class"; class: BaselineClass; specificity: number }
  | { kind: "ambiguous"; classes: BaselineClass[]; specificity: number; priority: number };

/**
 * The class of a baseline a host belongs to: the matching class with the most specific matching
 * selector (each stated criterion counts 1, each required tag 1), then the highest `priority`.
 * Classes still tied are ambiguous: reported, never resolved by file order.
 */
export function chooseClass(baseline: CompiledBaseline, host: HostV1): ClassChoice {
  const candidates: { cls: BaselineClass; specificity: number }[] = [];
  for (const cls of baseline.classes) {
    let best = -1;
    for (const selector of cls.selectors)
      if (selector.specificity > best && selector.matches(host)) best = selector.specificity;
    if (best >= 0) candidates.push({ cls, specificity: best });
  }
  if (candidates.length === 0) return { kind: "none" };
  candidates.sort((a, b) => b.specificity - a.specificity || b.cls.priority - a.cls.priority);
  const top = candidates[0]!;
  const tied = candidates.filter(
    (candidate) => candidate.specificity === top.specificity && candidate.cls.priority === top.cls.priority,
  );
  if (tied.length > 1)
    return {
      kind: "ambiguous",
      classes: tied.map((candidate) => candidate.cls),
      specificity: top.specificity,
      priority: top.cls.priority,
    };
  return { kind: "class", class: top.cls, specificity: top.specificity };
}

// ---------------------------------------------------------------------------------- evaluation

/** A baseline item the host record cannot decide (no inventory of it, or HostV1 has no field for it). */
export interface UnknownItem {
  item: string;
  reason: string;
}

export type Difference = Omit<BaselineDelta, "baseline" | "excepted_by">;

export interface ClassAssessment {
  differences: Difference[];
  unknown: UnknownItem[];
}

const AV_OFF = /^(off|disabled|not monitored|expired|snoozed|none|not installed)$/i;

/** The differences of a host from one class (exceptions are applied by the caller). */
export function assessClass(
  cls: BaselineClass,
  host: HostV1,
  at: number,
  supersedence: SupersedenceGraph,
): ClassAssessment {
  const differences: Difference[] = [];
  const unknown: UnknownItem[] = [];
  const differ = (item: string, direction: BaselineDirection, expected: string, actual: string) =>
    differences.push({ item, direction, expected, actual });
  const { os, updates, antivirus, admin, password } = cls.sections;

  if (os?.min_build !== undefined || os?.max_build !== undefined) {
    const version = osVersionOf(host);
    if (version === undefined) unknown.push({ item: "os.build", reason: "the OS version is not known" });
    else {
      if (os.min_build !== undefined) {
        const order = compareKnownPrecision(version, os.min_build);
        if (order === undefined)
          unknown.push({
            item: "os.build",
            reason: `the host reports ${version}, less precise than the minimum ${os.min_build}`,
          });
        else if (order < 0) differ("os.build", "below", `>= ${os.min_build}`, version);
      }
      if (os.max_build !== undefined) {
        const order = compareOsWithUpperBound(version, os.max_build);
        if (order === undefined)
          unknown.push({
            item: "os.build",
            reason: `the host reports ${version}, less precise than the approved maximum ${os.max_build}`,
          });
        else if (order > 0) differ("os.build", "above", `<= ${os.max_build}`, `${version} (not approved)`);
      }
    }
  }
  if (os?.min_service_pack !== undefined || os?.max_service_pack !== undefined) {
    const level = servicePackOf(host);
    const describe = (sp: number) => (sp === 0 ? "no service pack" : `Service Pack ${sp}`);
    if (level === undefined) unknown.push({ item: "os.service_pack", reason: "the OS is not known" });
    else if (os.min_service_pack !== undefined && level < os.min_service_pack)
      differ("os.service_pack", "below", `>= Service Pack ${os.min_service_pack}`, describe(level));
    else if (os.max_service_pack !== undefined && level > os.max_service_pack)
      differ(
        "os.service_pack",
        "above",
        `<= Service Pack ${os.max_service_pack}`,
        `${describe(level)} (not approved)`,
      );
  }

  if (updates) assessUpdates(updates, host, supersedence, differ, unknown);
  assessSoftware(cls, host, differ, unknown);

  if (cls.ports) {
    if (!collectionKnown(host, "listening_ports"))
      unknown.push({ item: "port:*", reason: "no listening-port inventory for this host" });
    else {
      const reported = new Set<string>();
      for (const listener of host.listening_ports) {
        if (listener.protocol === "other" || isLoopback(listener.address)) continue;
        const allowed = cls.ports[listener.protocol];
        const item = `port:${listener.protocol}/${listener.port}`;
        if (allowed.has(listener.port) || reported.has(item)) continue;
        reported.add(item);
        differ(
          item,
          "policy",
          `${listener.protocol} ports ${allowed.describe()}`,
          `listening on ${listener.address ?? "*"}:${listener.port}${listener.process ? ` (${listener.process})` : ""}`,
        );
      }
    }
  }

  if (antivirus?.required) assessAntivirus(antivirus, host, at, differ, unknown);

  if (admin) assessAdmin(cls, admin, host, differ, unknown);

  if (password && Object.values(password).some((value) => value !== undefined))
    unknown.push({ item: "password.policy", reason: "the host record (HostV1) carries no password policy" });

  return { differences, unknown };
}

function compareOsWithUpperBound(version: string, bound: string): -1 | 0 | 1 | undefined {
  const hostParts =
    version
      .match(/^[\d.]+/)?.[0]
      .split(".")
      .filter(Boolean) ?? [];
  const boundParts =
    bound
      .match(/^[\d.]+/)?.[0]
      .split(".")
      .filter(Boolean) ?? [];
  if (hostParts.length < boundParts.length) return compareKnownPrecision(version, bound);
  return compareWithUpperBound(hostParts.join("."), boundParts.join("."));
}

type Differ = (item: string, direction: BaselineDirection, expected: string, actual: string) => void;

function assessUpdates(
  updates: NonNullable<ClassSections["updates"]>,
  host: HostV1,
  graph: SupersedenceGraph,
  differ: Differ,
  unknown: UnknownItem[],
): void {
  const installed = installedKbs(host);
  const known = collectionKnown(host, "updates");
  const reportedMissing = new Map<string, string>();
  for (const missing of host.missing_updates) {
    const kb = normalizeKb(missing.id);
    if (kb) reportedMissing.set(kb, missing.origin);
  }
  for (const kb of updates.required ?? []) {
    if (graph.satisfiedBy(installed, kb)) continue;
    const origin = reportedMissing.get(kb);
    if (origin !== undefined) {
      differ(
        `update:${kb}`,
        "below",
        `${kb} or a superseding update`,
        `missing (reported missing by ${origin})`,
      );
      continue;
    }
    if (!known) {
      unknown.push({ item: `update:${kb}`, reason: "no installed-update inventory for this host" });
      continue;
    }
    // The update server often reports the newest update missing rather than the one the baseline names.
    const newer = [...graph.superseders(kb)].sort().find((candidate) => reportedMissing.has(candidate));
    differ(
      `update:${kb}`,
      "below",
      `${kb} or a superseding update`,
      newer !== undefined
        ? `missing (${newer}, which supersedes it, is reported missing by ${reportedMissing.get(newer)})`
        : "missing",
    );
  }
  if (updates.approved === undefined) return;
  if (!known) {
    unknown.push({ item: "update:*", reason: "no installed-update inventory for this host" });
    return;
  }
  // Above baseline means newer than the approved set: an installed update that replaces an approved
  // (or required) one without being approved itself. Updates the supersedence data does not relate
  // to the approved set are not judged.
  const approved = [...new Set([...(updates.required ?? []), ...updates.approved])];
  for (const kb of [...installed].sort()) {
    if (approved.includes(kb)) continue;
    const replaced = approved.filter((old) => graph.supersedes(kb, old));
    if (replaced.length === 0) continue;
    differ(
      `update:${kb}`,
      "above",
      `no update newer than ${updates.approved.length > 0 ? updates.approved.join(", ") : approved.join(", ")} (approved)`,
      `${kb} installed (not approved; supersedes ${replaced.join(", ")})`,
    );
  }
}

function assessSoftware(cls: BaselineClass, host: HostV1, differ: Differ, unknown: UnknownItem[]): void {
  if (cls.approvedSoftware.length === 0 && cls.forbiddenSoftware.length === 0) return;
  if (!collectionKnown(host, "software")) {
    unknown.push({ item: "software:*", reason: "no software inventory for this host" });
    return;
  }
  for (const rule of cls.approvedSoftware) {
    const bounds = describeBounds(rule);
    const packages = host.software.filter((pkg) => rule.glob.matches(pkg.name));
    if (packages.length === 0 && rule.required)
      differ(`software:${rule.name}`, "below", `installed${bounds ? ` (${bounds})` : ""}`, "missing");
    for (const pkg of packages) {
      if (rule.min_version === undefined && rule.max_version === undefined) continue;
      if (pkg.version === undefined) {
        unknown.push({ item: `software:${rule.name}`, reason: `${pkg.name} is installed without a version` });
        continue;
      }
      if (rule.min_version !== undefined && compareVersions(pkg.version, rule.min_version) < 0)
        differ(`software:${rule.name}`, "below", bounds, `${pkg.name} ${pkg.version}`);
      else if (rule.max_version !== undefined && compareWithUpperBound(pkg.version, rule.max_version) > 0)
        differ(`software:${rule.name}`, "above", bounds, `${pkg.name} ${pkg.version} (not approved)`);
    }
  }
  for (const rule of cls.forbiddenSoftware) {
    const bounds = describeBounds(rule);
    for (const pkg of host.software.filter((candidate) => rule.glob.matches(candidate.name))) {
      if (rule.min_version !== undefined || rule.max_version !== undefined) {
        if (pkg.version === undefined) {
          unknown.push({
            item: `software-forbidden:${rule.name}`,
            reason: `${pkg.name} is installed without a version`,
          });
          continue;
        }
        if (rule.min_version !== undefined && compareVersions(pkg.version, rule.min_version) < 0) continue;
        if (rule.max_version !== undefined && compareWithUpperBound(pkg.version, rule.max_version) > 0)
          continue;
      }
      differ(
        `software-forbidden:${rule.name}`,
        "policy",
        `not installed${bounds ? ` (${bounds})` : ""}`,
        `${pkg.name}${pkg.version ? ` ${pkg.version}` : ""}`,
      );
    }
  }
}

function describeBounds(rule: CompiledSoftwareRule): string {
  const parts: string[] = [];
  if (rule.min_version !== undefined) parts.push(`>= ${rule.min_version}`);
  if (rule.max_version !== undefined) parts.push(`<= ${rule.max_version}`);
  return parts.join(", ");
}

function assessAntivirus(
  antivirus: NonNullable<ClassSections["antivirus"]>,
  host: HostV1,
  at: number,
  differ: Differ,
  unknown: UnknownItem[],
): void {
  const av = host.antivirus;
  if (!av) {
    unknown.push({ item: "antivirus.missing", reason: "no antivirus state reported for this host" });
    return;
  }
  const state = av.state?.trim();
  const off = av.enabled === false || (state !== undefined && AV_OFF.test(state));
  if (off) {
    const what = [
      av.product,
      state ? `state "${state}"` : undefined,
      av.enabled === false ? "disabled" : undefined,
    ]
      .filter(Boolean)
      .join(", ");
    differ("antivirus.missing", "policy", "an enabled antivirus", what || "none");
    return;
  }
  if (av.product === undefined && av.enabled === undefined) {
    unknown.push({ item: "antivirus.missing", reason: "the antivirus state names no product" });
    return;
  }
  const maxAge = antivirus.max_signature_age_days;
  if (maxAge === undefined) return;
  const signatures = parseSourceTime(av.signature_date);
  const expected = `signatures at most ${maxAge} day${maxAge === 1 ? "" : "s"} old`;
  if (signatures !== undefined) {
    const age = (at - signatures) / DAY_MS;
    if (age > maxAge)
      differ(
        "antivirus.signature_age",
        "policy",
        expected,
        `signatures from ${new Date(signatures).toISOString()} (${Math.floor(age)} days old)`,
      );
    else if (av.up_to_date === false)
      differ(
        "antivirus.signature_age",
        "policy",
        expected,
        "the antivirus reports its signatures out of date",
      );
  } else if (av.up_to_date === false)
    differ("antivirus.signature_age", "policy", expected, "the antivirus reports its signatures out of date");
  else unknown.push({ item: "antivirus.signature_age", reason: "no signature date reported" });
}

function assessAdmin(
  cls: BaselineClass,
  admin: NonNullable<ClassSections["admin"]>,
  host: HostV1,
  differ: Differ,
  unknown: UnknownItem[],
): void {
  if (!collectionKnown(host, "local_admins")) {
    unknown.push({ item: "admin.*", reason: "no local administrators inventory for this host" });
    return;
  }
  const defaults = new Set(admin.default_names.map((name) => name.toLowerCase()));
  const admins = host.local_admins.map((account) => ({ name: account.name, key: accountName(account.name) }));
  const defaultAdmins = admins.filter((account) => defaults.has(account.key));
  const flagged = new Set<string>();
  if (admin.default_account !== undefined) {
    const names = admin.default_names.join(" / ");
    if (defaultAdmins.length > 0) {
      if (admin.default_account === "rename") {
        for (const account of defaultAdmins) flagged.add(account.key);
        differ(
          "admin.default_account",
          "policy",
          `default administrator (${names}) renamed`,
          `${defaultAdmins.map((account) => account.name).join(", ")} is a local administrator (not renamed)`,
        );
      } else
        unknown.push({
          item: "admin.default_account",
          reason: `${defaultAdmins[0]!.name} keeps its default name; the host record does not say whether it is disabled`,
        });
    } else if (admin.default_account === "disable")
      unknown.push({
        item: "admin.default_account",
        reason: "the host record does not say whether the default administrator is disabled",
      });
  }
  if (admin.decoy_account !== undefined) {
    const decoy = accountName(admin.decoy_account);
    const privileged = admins.find((account) => account.key === decoy);
    // An account already reported as the default administrator kept under its name is not reported twice.
    if (privileged && !flagged.has(privileged.key))
      differ(
        "admin.decoy_privileged",
        "policy",
        `decoy account ${admin.decoy_account} without privileges`,
        `${privileged.name} is a local administrator`,
      );
    else if (!privileged)
      unknown.push({
        item: "admin.decoy_missing",
        reason:
          "the host record lists local administrators only: whether the decoy account exists is not known",
      });
  }
  if (cls.allowedAdmins) {
    for (const account of admins) {
      if (defaults.has(account.key) && admin.default_account !== undefined) continue;
      if (cls.allowedAdmins.some((glob) => glob.matches(account.name) || glob.matches(account.key))) continue;
      differ(
        `admin.unapproved:${account.name}`,
        "policy",
        `local administrators ${cls.allowedAdmins.map((glob) => glob.pattern).join(", ")}`,
        `${account.name} is a local administrator`,
      );
    }
  }
}
