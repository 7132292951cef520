import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { type AssetRef, PriorityTier } from "@vigil/schema";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { type Cidr, canonicalIp, parseCidr } from "./cidr.ts";

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
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected an asset mapping") },
);
export type PriorityAsset = z.output<typeof PriorityAsset>;

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
      tier: Tier,
      owner: NonEmpty("a non-empty owner").optional(),
      reason: NonEmpty("a non-empty reason (why this tier)"),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a selector mapping") },
  )
  .refine((selector) => selector.cidrs !== undefined || selector.tags !== undefined, {
    message: "expected cidrs or tags (a selector must select something)",
  });
export type PrioritySelector = z.output<typeof PrioritySelector>;

export const PriorityListFile = z
  .strictObject(
    {
      version: z.literal(1, { error: () => "expected 1 (the only priority-list format version)" }),
      defaultTier: Tier,
      assets: z.array(PriorityAsset, { error: () => "expected a list of assets" }).default([]),
      selectors: z.array(PrioritySelector, { error: () => "expected a list of selectors" }).default([]),
    },
    {
      error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected a priority-list mapping"),
    },
  )
  .superRefine((list, ctx) => {
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

/** `assets[2].tier`: the notation an operator would use to find the field in the file. */
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "(root)" : text;
}

/** Parses and validates a priority list; errors name the source, the field path, the line and what was expected. */
export function parsePriorityList(text: string, sourceName: string): AssetTable {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new PriorityListError(
      sourceName,
      document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return `line ${position.line}, column ${position.col}: ${error.message.split("\n")[0]}`;
      }),
    );
  }
  const result = PriorityListFile.safeParse(document.toJS());
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      let path = [...issue.path];
      let message = issue.message;
      if (issue.code === "unrecognized_keys") {
        message = `unexpected field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
        path = [...path, issue.keys[0]!];
      }
      const node = document.getIn(path, true) as { range?: [number, number, number] } | undefined;
      const offset = node?.range?.[0];
      const line = offset !== undefined ? ` (line ${lineCounter.linePos(offset).line})` : "";
      return `${formatPath(issue.path)}: ${message}${line}`;
    });
    throw new PriorityListError(sourceName, problems);
  }
  return new AssetTable(result.data, sourceName);
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

interface CompiledSelector {
  selector: PrioritySelector;
  order: number;
  cidrs: Cidr[];
}

export interface ResolveOptions {
  /** Tags the caller knows the host has (from the inventory); tag selectors match on them. */
  tags?: readonly string[];
}

/**
 * The priority list as an in-memory lookup table. Resolution order: an asset listing the exact
 * address; else the most specific matching selector (longest CIDR prefix, then most tags, then
 * file order); else the default tier. Only a listed asset counts as `known`.
 */
export class AssetTable {
  readonly source: string;
  readonly defaultTier: PriorityTier;
  readonly #byIp = new Map<string, PriorityAsset>();
  readonly #assets: PriorityAsset[];
  readonly #selectors: CompiledSelector[];

  constructor(list: PriorityListFile, source: string) {
    this.source = source;
    this.defaultTier = list.defaultTier;
    this.#assets = list.assets;
    for (const asset of list.assets) for (const ip of asset.ips) this.#byIp.set(canonicalIp(ip), asset);
    this.#selectors = list.selectors.map((selector, order) => ({
      selector,
      order,
      cidrs: (selector.cidrs ?? []).map((text) => parseCidr(text) as Cidr),
    }));
  }

  get assetCount(): number {
    return this.#assets.length;
  }

  get selectorCount(): number {
    return this.#selectors.length;
  }

  /** The listed asset owning this address, if any. */
  assetFor(ip: string): PriorityAsset | undefined {
    return this.#byIp.get(canonicalIp(ip));
  }

  resolve(ip: string, options: ResolveOptions = {}): AssetRef {
    const address = canonicalIp(ip);
    const asset = this.#byIp.get(address);
    if (asset) {
      return {
        id: asset.id,
        ip: address,
        ...(asset.hostname !== undefined ? { hostname: asset.hostname } : {}),
        known: true,
        priority: asset.tier,
        priority_reason: `priority list entry ${asset.id}${asset.reason ? `: ${asset.reason}` : ""}`,
        ...(asset.owner !== undefined ? { owner: asset.owner } : {}),
        tags: [...asset.tags],
      };
    }
    const hostTags = options.tags ?? [];
    const match = this.#bestSelector(address, hostTags);
    if (match) {
      const { selector, cidr } = match;
      const via = cidr ? ` (${cidr.text})` : "";
      return {
        id: address,
        ip: address,
        known: false,
        priority: selector.tier,
        priority_reason: `priority list selector "${selector.name}"${via}: ${selector.reason}`,
        ...(selector.owner !== undefined ? { owner: selector.owner } : {}),
        tags: [...hostTags],
      };
    }
    return {
      id: address,
      ip: address,
      known: false,
      priority: this.defaultTier,
      priority_reason: `default tier ${this.defaultTier}: address not in the priority list`,
      tags: [...hostTags],
    };
  }

  #bestSelector(
    address: string,
    hostTags: readonly string[],
  ): { selector: PrioritySelector; cidr?: Cidr } | undefined {
    let best:
      | { selector: PrioritySelector; cidr?: Cidr; prefix: number; tagCount: number; order: number }
      | undefined;
    for (const { selector, order, cidrs } of this.#selectors) {
      let cidr: Cidr | undefined;
      if (cidrs.length > 0) {
        for (const candidate of cidrs) {
          if (candidate.contains(address) && (!cidr || candidate.prefixLength > cidr.prefixLength))
            cidr = candidate;
        }
        if (!cidr) continue;
      }
      const tags = selector.tags ?? [];
      if (!tags.every((tag) => hostTags.includes(tag))) continue;
      const candidate = {
        selector,
        prefix: cidr?.prefixLength ?? -1,
        tagCount: tags.length,
        order,
        ...(cidr ? { cidr } : {}),
      };
      if (
        !best ||
        candidate.prefix > best.prefix ||
        (candidate.prefix === best.prefix && candidate.tagCount > best.tagCount)
      ) {
        best = candidate;
      }
    }
    return best;
  }
}
