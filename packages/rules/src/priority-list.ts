import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { type AssetRef, FsmoRole, type HostV1, PriorityTier } from "@vigil/schema";
import { z } from "zod";
import { type Cidr, canonicalIp, parseCidr } from "./cidr.ts";
import type { Ownership } from "./model.ts";
import {
  type DocumentProblem,
  type DocumentResult,
  parseYamlDocument,
  type ValueProblem,
} from "./tables/yaml-document.ts";

const tierNames = PriorityTier.options.join("|");
const Tier = z.enum(PriorityTier.options, { error: () => `expected one of ${tierNames}` });
const NonEmpty = (what: string) =>
  z
    .string({ error: () => `expected ${what}` })
    .trim()
    .min(1, `expected ${what}`);
const Tags = z.array(NonEmpty("a non-empty tag"), { error: () => "expected a list of tags" });

const Ip = z
  .string({ error: () => "expected an IPv4 or IPv6 address" })
  .refine((value) => isIP(value) !== 0, "expected an IPv4 or IPv6 address");

const CidrText = z
  .string({ error: () => "expected a CIDR block like 10.20.0.0/16" })
  .superRefine((text, ctx) => {
    const parsed = parseCidr(text);
    if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
  });

const Contact = z.strictObject(
  {
    name: NonEmpty("a name").optional(),
    email: NonEmpty("an email address").optional(),
    phone: NonEmpty("a phone number").optional(),
    role: NonEmpty("a role (on-call, owner, ...)").optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a contact mapping") },
);
const Contacts = z.array(Contact, { error: () => "expected a list of contacts" });
/** Human-readable, as the owners state them (`Sun 02:00-04:00 UTC`). */
const MaintenanceWindows = z.array(NonEmpty("a maintenance window like Sun 02:00-04:00 UTC"), {
  error: () => "expected a list of maintenance windows",
});

/** The organisation owning assets, its contacts and its maintenance windows (MISSION.md 4). */
export const PriorityOrganisation = z.strictObject(
  {
    name: NonEmpty("a non-empty organisation name"),
    contacts: Contacts.default([]),
    maintenance_windows: MaintenanceWindows.default([]),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected an organisation mapping") },
);
export type PriorityOrganisation = z.output<typeof PriorityOrganisation>;

export const PriorityAsset = z.strictObject(
  {
    id: NonEmpty("a non-empty asset id"),
    hostname: NonEmpty("a non-empty hostname").optional(),
    ips: z
      .array(Ip, { error: () => "expected a list of IP addresses" })
      .min(1, "expected at least one IP address"),
    tier: Tier,
    owner: NonEmpty("a non-empty owner").optional(),
    tags: Tags.default([]),
    reason: NonEmpty("a non-empty reason").optional(),
    /** Contacts for this asset, besides its organisation's. */
    contacts: Contacts.optional(),
    /** This asset's own windows (they replace the organisation's). */
    maintenance_windows: MaintenanceWindows.optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected an asset mapping") },
);
export type PriorityAsset = z.output<typeof PriorityAsset>;

const Flag = z.boolean({ error: () => "expected true or false" });

/** Selector fields about what the host is (inventory), as opposed to where it is (cidrs). */
const HOST_CRITERIA = [
  "domain_controller",
  "fsmo",
  "business_critical",
  "classification",
  "os_type",
  "ou",
] as const;

export const PrioritySelector = z
  .strictObject(
    {
      name: NonEmpty("a non-empty selector name"),
      cidrs: z
        .array(CidrText, { error: () => "expected a list of CIDR blocks" })
        .min(1)
        .optional(),
      /** Matches hosts carrying all of these tags, when the caller knows the host's tags (inventory). */
      tags: Tags.min(1).optional(),
      // What the host is, from its inventory record: these match only when a HostV1 is known.
      domain_controller: Flag.optional(),
      /** `true`: holds any FSMO role; a list: holds at least one of them. */
      fsmo: z
        .union([z.boolean(), z.array(FsmoRole).min(1)], {
          error: () => `expected true, false or a list of ${FsmoRole.options.join("|")}`,
        })
        .optional(),
      business_critical: Flag.optional(),
      /** Data classification: the host carries one of these tags, or `classification:<value>`. */
      classification: Tags.min(1).optional(),
      os_type: z
        .enum(["windows", "linux", "macos", "other"], {
          error: () => "expected one of windows|linux|macos|other",
        })
        .optional(),
      /** Directory OU or DN suffix (`OU=Servers,DC=corp,DC=example`); several match any. */
      ou: z.array(NonEmpty("an OU like OU=Servers,DC=corp,DC=example")).min(1).optional(),
      tier: Tier,
      owner: NonEmpty("a non-empty owner").optional(),
      reason: NonEmpty("a non-empty reason (why this tier)"),
      contacts: Contacts.optional(),
      maintenance_windows: MaintenanceWindows.optional(),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a selector mapping") },
  )
  .refine(
    (selector) =>
      selector.cidrs !== undefined ||
      selector.tags !== undefined ||
      HOST_CRITERIA.some((key) => selector[key] !== undefined),
    { message: "expected cidrs, tags or a host attribute (a selector must select something)" },
  );
export type PrioritySelector = z.output<typeof PrioritySelector>;

export const PriorityListFile = z
  .strictObject(
    {
      version: z.literal(1, { error: () => "expected 1 (the only priority-list format version)" }),
      defaultTier: Tier,
      organisations: z
        .array(PriorityOrganisation, { error: () => "expected a list of organisations" })
        .default([]),
      assets: z.array(PriorityAsset, { error: () => "expected a list of assets" }).default([]),
      selectors: z.array(PrioritySelector, { error: () => "expected a list of selectors" }).default([]),
    },
    {
      error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a priority-list mapping"),
    },
  )
  .superRefine((list, ctx) => {
    const organisations = new Map<string, number>();
    list.organisations.forEach((organisation, index) => {
      const previous = organisations.get(organisation.name);
      if (previous !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["organisations", index, "name"],
          message: `duplicate organisation (also organisations[${previous}])`,
        });
      organisations.set(organisation.name, index);
    });
    const needsOwner = (
      entry: { owner?: string | undefined; contacts?: unknown; maintenance_windows?: unknown },
      path: (string | number)[],
    ) => {
      if (
        entry.owner === undefined &&
        (entry.contacts !== undefined || entry.maintenance_windows !== undefined)
      )
        ctx.addIssue({
          code: "custom",
          path,
          message: "expected an owner for these contacts and maintenance windows",
        });
    };
    list.assets.forEach((asset, index) => {
      needsOwner(asset, ["assets", index]);
    });
    list.selectors.forEach((selector, index) => {
      needsOwner(selector, ["selectors", index]);
    });
    // Once a list describes its organisations, an owner it does not describe is a typo.
    if (organisations.size > 0) {
      const check = (owner: string | undefined, path: (string | number)[]) => {
        if (owner !== undefined && !organisations.has(owner))
          ctx.addIssue({
            code: "custom",
            path,
            message: `no organisation named "${owner}" in organisations`,
          });
      };
      list.assets.forEach((asset, index) => {
        check(asset.owner, ["assets", index, "owner"]);
      });
      list.selectors.forEach((selector, index) => {
        check(selector.owner, ["selectors", index, "owner"]);
      });
    }
    const ids = new Map<string, number>();
    const owners = new Map<string, string>();
    list.assets.forEach((asset, index) => {
      const previous = ids.get(asset.id);
      if (previous !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["assets", index, "id"],
          message: `duplicate asset id (also assets[${previous}])`,
        });
      }
      ids.set(asset.id, index);
      asset.ips.forEach((ip, ipIndex) => {
        const key = canonicalIp(ip);
        const other = owners.get(key);
        if (other !== undefined && other !== asset.id) {
          ctx.addIssue({
            code: "custom",
            path: ["assets", index, "ips", ipIndex],
            message: `address already listed for asset ${other}`,
          });
        }
        owners.set(key, asset.id);
      });
    });
  });
export type PriorityListFile = z.output<typeof PriorityListFile>;

export class PriorityListError extends Error {
  override name = "PriorityListError";
  readonly source: string;
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid priority list ${source}:\n  ${problems.join("\n  ")}`);
    this.source = source;
    this.problems = problems;
  }
}

/** `assets[2].tier: expected ... (line 14)`; YAML syntax errors as `line 3, column 7: ...`. */
function describeProblem(problem: DocumentProblem): string {
  if (problem.path === "(document)")
    return problem.line !== undefined
      ? `line ${problem.line}, column ${problem.column}: ${problem.message}`
      : problem.message;
  return `${problem.path}: ${problem.message}${problem.line !== undefined ? ` (line ${problem.line})` : ""}`;
}

/**
 * Validates a priority list without building the table; `check` adds problems a valid list can
 * still have (the reference tables' conflicts with other lists), located like the schema's.
 */
export function validatePriorityList(
  text: string,
  check?: (list: PriorityListFile) => ValueProblem[],
): DocumentResult<PriorityListFile> {
  return parseYamlDocument(text, PriorityListFile, check);
}

/** Parses and validates a priority list; errors name the source, the field path, the line and what was expected. */
export function parsePriorityList(text: string, sourceName: string): AssetTable {
  const result = validatePriorityList(text);
  if (!result.ok) throw new PriorityListError(sourceName, result.problems.map(describeProblem));
  return new AssetTable(result.value, sourceName);
}

/** Reads and validates a priority list file (see `parsePriorityList`). */
export async function loadPriorityList(path: string): Promise<AssetTable> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new PriorityListError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  return parsePriorityList(text, path);
}

/** How specific a matching selector is; compared field by field, larger first, then file order. */
export interface SelectorRank {
  /** Host attributes stated (domain controller, FSMO, business-critical, classification, OS type, OU). */
  hostCriteria: number;
  /** Longest matching CIDR prefix, -1 without cidrs. */
  prefix: number;
  tagCount: number;
  /** Position in its file: the earlier wins a tie. */
  order: number;
}

/** Positive when `a` is more specific than `b`. */
export function compareSelectorRank(a: SelectorRank, b: SelectorRank): number {
  return (
    a.hostCriteria - b.hostCriteria || a.prefix - b.prefix || a.tagCount - b.tagCount || b.order - a.order
  );
}

/** What decided an asset's tier, with the ownership the entry names. */
export type PriorityDecision =
  | { kind: "asset"; tier: PriorityTier; reason: string; asset: PriorityAsset; ownership?: Ownership }
  | {
      kind: "selector";
      tier: PriorityTier;
      reason: string;
      selector: PrioritySelector;
      cidr?: Cidr;
      rank: SelectorRank;
      ownership?: Ownership;
    }
  | { kind: "default"; tier: PriorityTier; reason: string };

export interface ResolveOptions {
  /** Tags the caller knows the host has (from the inventory); tag selectors match on them. */
  tags?: readonly string[];
  /**
   * The host's inventory record, when known: selectors on host attributes (domain controller,
   * FSMO, business-critical, classification, OS type, OU) match on it, its role tags count as tags,
   * and a listed asset is found by any of its addresses or names.
   */
  host?: HostV1;
}

interface CompiledSelector {
  selector: PrioritySelector;
  order: number;
  cidrs: Cidr[];
  hostCriteria: number;
  matchesHost: (host: HostV1) => boolean;
}

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

function compileHostCriteria(selector: PrioritySelector): {
  count: number;
  matches: (host: HostV1) => boolean;
} {
  const checks: ((host: HostV1) => boolean)[] = [];
  if (selector.domain_controller !== undefined) {
    const wanted = selector.domain_controller;
    checks.push((host) => host.roles.domain_controller === wanted);
  }
  if (selector.fsmo !== undefined) {
    const fsmo = selector.fsmo;
    checks.push((host) =>
      typeof fsmo === "boolean"
        ? host.roles.fsmo.length > 0 === fsmo
        : fsmo.some((role) => host.roles.fsmo.includes(role)),
    );
  }
  if (selector.business_critical !== undefined) {
    const wanted = selector.business_critical;
    checks.push((host) => host.roles.business_critical === wanted);
  }
  if (selector.classification !== undefined) {
    const wanted = selector.classification.map((value) => value.toLowerCase());
    checks.push((host) => {
      const tags = new Set(host.roles.tags.map((tag) => tag.toLowerCase()));
      return wanted.some(
        (value) =>
          tags.has(value) || tags.has(`classification:${value}`) || tags.has(`data-classification:${value}`),
      );
    });
  }
  if (selector.os_type !== undefined) {
    const wanted = selector.os_type;
    checks.push((host) => host.os.type === wanted);
  }
  if (selector.ou !== undefined) {
    const suffixes = selector.ou.map(normalizeDn);
    checks.push((host) => {
      const place = host.directory?.ou ?? host.directory?.dn;
      if (!place) return false;
      const dn = normalizeDn(place);
      return suffixes.some((suffix) => dn === suffix || dn.endsWith(`,${suffix}`));
    });
  }
  return { count: checks.length, matches: (host) => checks.every((check) => check(host)) };
}

/** Every name a host is known by, lower-case. */
function hostNames(host: HostV1): Set<string> {
  const names = new Set<string>();
  for (const name of [host.hostname, host.fqdn, host.netbios_name, ...host.names])
    if (name) names.add(name.toLowerCase());
  return names;
}

/**
 * The priority list as an in-memory lookup table. Resolution order: an asset listing the exact
 * address (or, with the host's inventory record, any of its addresses or names); else the most
 * specific matching selector (most host attributes, then longest CIDR prefix, then most tags, then
 * file order); else the default tier. Only a listed asset counts as `known`.
 */
export class AssetTable {
  readonly source: string;
  readonly defaultTier: PriorityTier;
  readonly #byIp = new Map<string, PriorityAsset>();
  readonly #byId = new Map<string, PriorityAsset>();
  readonly #byHostname = new Map<string, PriorityAsset>();
  readonly #assets: PriorityAsset[];
  readonly #selectors: CompiledSelector[];
  readonly #organisations = new Map<string, PriorityOrganisation>();

  constructor(list: PriorityListFile, source: string) {
    this.source = source;
    this.defaultTier = list.defaultTier;
    this.#assets = list.assets;
    for (const organisation of list.organisations) this.#organisations.set(organisation.name, organisation);
    for (const asset of list.assets) {
      this.#byId.set(asset.id, asset);
      for (const ip of asset.ips) this.#byIp.set(canonicalIp(ip), asset);
      if (asset.hostname !== undefined) {
        const hostname = asset.hostname.toLowerCase();
        if (!this.#byHostname.has(hostname)) this.#byHostname.set(hostname, asset);
      }
    }
    this.#selectors = list.selectors.map((selector, order) => {
      const criteria = compileHostCriteria(selector);
      return {
        selector,
        order,
        cidrs: (selector.cidrs ?? []).map((text) => parseCidr(text) as Cidr),
        hostCriteria: criteria.count,
        matchesHost: criteria.matches,
      };
    });
  }

  get assetCount(): number {
    return this.#assets.length;
  }

  get selectorCount(): number {
    return this.#selectors.length;
  }

  get assets(): readonly PriorityAsset[] {
    return this.#assets;
  }

  get organisations(): readonly PriorityOrganisation[] {
    return [...this.#organisations.values()];
  }

  /** The listed asset owning this address, if any. */
  assetFor(ip: string): PriorityAsset | undefined {
    return this.#byIp.get(canonicalIp(ip));
  }

  assetById(id: string): PriorityAsset | undefined {
    return this.#byId.get(id);
  }

  /** The listed asset with this hostname (case-insensitive). */
  assetByHostname(hostname: string): PriorityAsset | undefined {
    return this.#byHostname.get(hostname.toLowerCase());
  }

  /** The listed asset an inventoried host is: by any of its current addresses, else by any of its names. */
  assetForHost(host: HostV1): PriorityAsset | undefined {
    for (const entry of host.ips) {
      const asset = this.assetFor(entry.ip);
      if (asset) return asset;
    }
    for (const name of hostNames(host)) {
      const asset = this.#byHostname.get(name);
      if (asset) return asset;
    }
    return undefined;
  }

  /** The owning organisation with its contacts and maintenance windows (the entry's own windows replace the organisation's). */
  ownershipFor(entry: {
    owner?: string | undefined;
    contacts?: PriorityOrganisation["contacts"] | undefined;
    maintenance_windows?: string[] | undefined;
  }): Ownership | undefined {
    if (entry.owner === undefined) return undefined;
    const organisation = this.#organisations.get(entry.owner);
    return {
      organisation: entry.owner,
      contacts: [...(organisation?.contacts ?? []), ...(entry.contacts ?? [])].map(
        (contact) =>
          Object.fromEntries(
            Object.entries(contact).filter(([, value]) => value !== undefined),
          ) as Ownership["contacts"][number],
      ),
      maintenance_windows: [...(entry.maintenance_windows ?? organisation?.maintenance_windows ?? [])],
    };
  }

  /**
   * The most specific selector matching an address (may be absent) and, when given, the host's
   * tags and inventory record.
   */
  bestSelector(
    ip: string | undefined,
    options: ResolveOptions = {},
  ): { selector: PrioritySelector; cidr?: Cidr; rank: SelectorRank } | undefined {
    const address = ip === undefined ? undefined : canonicalIp(ip);
    const hostTags = tagsOf(options);
    let best: { selector: PrioritySelector; cidr?: Cidr; rank: SelectorRank } | undefined;
    for (const { selector, order, cidrs, hostCriteria, matchesHost } of this.#selectors) {
      let cidr: Cidr | undefined;
      if (cidrs.length > 0) {
        if (address === undefined) continue;
        for (const candidate of cidrs) {
          if (candidate.contains(address) && (!cidr || candidate.prefixLength > cidr.prefixLength))
            cidr = candidate;
        }
        if (!cidr) continue;
      }
      const tags = selector.tags ?? [];
      if (!tags.every((tag) => hostTags.includes(tag))) continue;
      if (hostCriteria > 0 && (options.host === undefined || !matchesHost(options.host))) continue;
      const rank: SelectorRank = {
        hostCriteria,
        prefix: cidr?.prefixLength ?? -1,
        tagCount: tags.length,
        order,
      };
      if (!best || compareSelectorRank(rank, best.rank) > 0)
        best = { selector, rank, ...(cidr ? { cidr } : {}) };
    }
    return best;
  }

  /** The entry or selector that decides the tier of an address and (optionally) inventoried host. */
  decide(ip: string | undefined, options: ResolveOptions = {}): PriorityDecision {
    const asset =
      (ip !== undefined ? this.assetFor(ip) : undefined) ??
      (options.host !== undefined ? this.assetForHost(options.host) : undefined);
    if (asset) {
      const ownership = this.ownershipFor(asset);
      return {
        kind: "asset",
        tier: asset.tier,
        reason: `priority list entry ${asset.id}${asset.reason ? `: ${asset.reason}` : ""}`,
        asset,
        ...(ownership ? { ownership } : {}),
      };
    }
    const match = this.bestSelector(ip, options);
    if (match) {
      const { selector, cidr, rank } = match;
      const via = cidr ? ` (${cidr.text})` : "";
      const ownership = this.ownershipFor(selector);
      return {
        kind: "selector",
        tier: selector.tier,
        reason: `priority list selector "${selector.name}"${via}: ${selector.reason}`,
        selector,
        rank,
        ...(cidr ? { cidr } : {}),
        ...(ownership ? { ownership } : {}),
      };
    }
    return {
      kind: "default",
      tier: this.defaultTier,
      reason: `default tier ${this.defaultTier}: address not in the priority list`,
    };
  }

  resolve(ip: string, options: ResolveOptions = {}): AssetRef {
    const address = canonicalIp(ip);
    const decision = this.decide(address, options);
    const hostTags = tagsOf(options);
    if (decision.kind === "asset") {
      const { asset } = decision;
      return {
        id: asset.id,
        ip: address,
        ...(asset.hostname !== undefined ? { hostname: asset.hostname } : {}),
        known: true,
        priority: asset.tier,
        priority_reason: decision.reason,
        ...(asset.owner !== undefined ? { owner: asset.owner } : {}),
        tags: [...asset.tags],
      };
    }
    const owner = decision.kind === "selector" ? decision.selector.owner : undefined;
    return {
      id: address,
      ip: address,
      known: false,
      priority: decision.tier,
      priority_reason: decision.reason,
      ...(owner !== undefined ? { owner } : {}),
      tags: [...hostTags],
    };
  }
}

function tagsOf(options: ResolveOptions): string[] {
  const tags = [...(options.tags ?? [])];
  for (const tag of options.host?.roles.tags ?? []) if (!tags.includes(tag)) tags.push(tag);
  return tags;
}
