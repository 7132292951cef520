/**
 * Exceptions (MISSION.md 2): a system deliberately kept off its baseline, or excused from a rule,
 * explicitly: which asset, which items, who owns the decision, why, and until when. An exception is
 * active strictly before its expiry, at event time (never the wall clock), so a replay judges the
 * same way.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { canonicalIp } from "../cidr.ts";
import type { BaselineDelta } from "../model.ts";
import { compileGlob, type Glob } from "./glob.ts";
import { type DocumentResult, onType, parseYamlDocument } from "./yaml-document.ts";

const text = (what: string) =>
  z
    .string({ error: onType(`expected ${what}`) })
    .trim()
    .min(1, `expected ${what}`)
    .max(1024, `expected ${what} (at most 1024 characters)`);

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * RFC 3339: a date-time with its offset, or a full date meaning the end of that day (UTC): an
 * exception "until 2024-06-30" still holds on June 30.
 */
const Expiry = z
  .string({ error: onType("expected an RFC 3339 date or date-time like 2024-06-30 or 2024-06-30T18:00:00Z") })
  .trim()
  .transform((value, ctx) => {
    let time = Number.NaN;
    if (DATE_ONLY.test(value)) time = Date.parse(`${value}T00:00:00Z`) + 86_400_000;
    else if (DATE_TIME.test(value)) time = Date.parse(value.replace(" ", "T"));
    // Date.parse rolls 2024-02-30 over to March 1st: a date that does not exist is refused.
    const day = value.slice(0, 10);
    if (!Number.isNaN(time) && new Date(Date.parse(`${day}T00:00:00Z`)).toISOString().slice(0, 10) !== day)
      time = Number.NaN;
    if (Number.isNaN(time)) {
      ctx.addIssue({
        code: "custom",
        message: `expected an RFC 3339 date or date-time like 2024-06-30 or 2024-06-30T18:00:00Z, got "${value}"`,
      });
      return z.NEVER;
    }
    return time;
  });

const ItemPattern = text("a rule id or baseline item (globs allowed: update:*)");

export const ExceptionEntry = z
  .strictObject(
    {
      id: text("a non-empty exception id"),
      /** An asset id, a host name (short or FQDN) or an IP address. */
      asset: text("an asset id, host name or IP address"),
      item: ItemPattern.optional(),
      items: z
        .array(ItemPattern, { error: onType("expected a list of items") })
        .min(1, "expected at least one item")
        .max(1000)
        .optional(),
      owner: text("an owner"),
      reason: text("a reason"),
      expires: Expiry,
      approved_by: text("who approved it").optional(),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected an exception mapping") },
  )
  .superRefine((entry, ctx) => {
    if ((entry.item === undefined) === (entry.items === undefined))
      ctx.addIssue({ code: "custom", message: "expected item or items (one of them)" });
  });
export type ExceptionEntry = z.output<typeof ExceptionEntry>;

export const ExceptionsFile = z
  .strictObject(
    {
      version: z.literal(1, { error: () => "expected 1 (the only exceptions format version)" }),
      exceptions: z.array(ExceptionEntry, { error: onType("expected a list of exceptions") }).max(100_000),
    },
    {
      error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "expected an exceptions mapping"),
    },
  )
  .superRefine((file, ctx) => {
    const ids = new Map<string, number>();
    file.exceptions.forEach((entry, index) => {
      const other = ids.get(entry.id);
      if (other !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["exceptions", index, "id"],
          message: `duplicate exception id (also exceptions[${other}])`,
        });
      ids.set(entry.id, index);
    });
  });
export type ExceptionsFile = z.output<typeof ExceptionsFile>;

export function parseExceptions(text: string): DocumentResult<ExceptionsFile> {
  return parseYamlDocument(text, ExceptionsFile);
}

export type ExceptedBy = NonNullable<BaselineDelta["excepted_by"]>;

export interface CompiledException {
  id: string;
  /** Lower-case asset key; an IP in canonical form. */
  asset: string;
  items: Glob[];
  owner: string;
  reason: string;
  expires: number;
  approved_by?: string | undefined;
  /** `exceptions/<document name>`. */
  document: string;
}

/** How an exception names its asset, normalized for lookups. */
export function assetKey(text: string): string {
  const trimmed = text.trim();
  return isIP(trimmed) !== 0 ? canonicalIp(trimmed) : trimmed.toLowerCase();
}

export function compileExceptions(file: ExceptionsFile, document: string): CompiledException[] {
  return file.exceptions.map((entry) => ({
    id: entry.id,
    asset: assetKey(entry.asset),
    items: (entry.items ?? [entry.item!]).map(compileGlob),
    owner: entry.owner,
    reason: entry.reason,
    expires: entry.expires,
    approved_by: entry.approved_by,
    document,
  }));
}

/** The exceptions of every loaded document, by asset key. */
export class ExceptionIndex {
  readonly #byAsset = new Map<string, CompiledException[]>();
  #size = 0;

  constructor(exceptions: Iterable<CompiledException> = []) {
    for (const exception of exceptions) {
      let list = this.#byAsset.get(exception.asset);
      if (!list) {
        list = [];
        this.#byAsset.set(exception.asset, list);
      }
      list.push(exception);
      this.#size += 1;
    }
  }

  get size(): number {
    return this.#size;
  }

  /**
   * The exception excusing `item` on an asset known by any of `keys` at time `at`: active means
   * `at` is before its expiry. Of several, the one lasting longest (then the smallest id) answers.
   */
  find(keys: Iterable<string>, item: string, at: number): CompiledException | undefined {
    let best: CompiledException | undefined;
    for (const key of keys)
      for (const exception of this.#byAsset.get(key) ?? []) {
        if (at >= exception.expires) continue;
        if (!exception.items.some((glob) => glob.matches(item))) continue;
        if (
          !best ||
          exception.expires > best.expires ||
          (exception.expires === best.expires && exception.id < best.id)
        )
          best = exception;
      }
    return best;
  }

  /** Every exception naming one of the keys, active or not (explanations, listings). */
  forAsset(keys: Iterable<string>): CompiledException[] {
    const found = new Set<CompiledException>();
    for (const key of keys) for (const exception of this.#byAsset.get(key) ?? []) found.add(exception);
    return [...found];
  }
}

export function exceptedBy(exception: CompiledException): ExceptedBy {
  return {
    id: exception.id,
    owner: exception.owner,
    reason: exception.reason,
    expires: new Date(exception.expires).toISOString(),
  };
}
