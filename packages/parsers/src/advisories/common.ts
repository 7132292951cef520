import type { AdvisoryV1, Severity } from "@vigil/schema";
import type { z } from "zod";

export type AdvisoryFormat = "kev-json" | "kev-csv" | "nvd-json" | "csaf";

export type AdvisoryInvalidKind = "schema" | "csaf-rule" | "json" | "csv" | "encoding";

/** What became of one entry of a document (a KEV vulnerability, an NVD CVE, a CSAF document). */
export type AdvisoryEntryResult =
  | { status: "record"; value: AdvisoryV1 }
  | { status: "invalid"; kind: AdvisoryInvalidKind; reason: string };

export interface AdvisoryEntry {
  /** Where in the document, e.g. `vulnerabilities[12]` or `line 14`. */
  path: string;
  /** The entry's bytes, for the dead-letter topic (a JSON entry re-serialized; a CSV row as written). */
  bytes: Buffer;
  result: AdvisoryEntryResult;
}

export type AdvisoryDocumentResult =
  | {
      status: "document";
      format: AdvisoryFormat;
      entries: AdvisoryEntry[];
      /** Problems with the document around the entries (catalog header, declared count). */
      warnings: string[];
    }
  /** Not this format at all: the run stops with an error naming both. */
  | { status: "wrong-format"; expected: string; found: string };

export const ADVISORY_SCHEMA = "vigil.advisory/v1" as const;

/** Decodes UTF-8 strictly (a BOM is dropped); undefined when the bytes are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    return undefined;
  }
}

/** `{"a":1}` -> JSON value; undefined on a syntax error. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short description of a value for "expected X, found Y" messages. */
export function describeFound(value: unknown): string {
  if (Array.isArray(value)) return `a JSON array of ${value.length} items`;
  if (isRecord(value)) {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 8).join(", ");
    return `a JSON object with keys ${shown}${keys.length > 8 ? ", ..." : ""}${keys.length === 0 ? "(none)" : ""}`;
  }
  return `a JSON ${value === null ? "null" : typeof value}`;
}

/** Describes text that is not JSON: its first characters, printable. */
export function describeText(text: string): string {
  const head = text
    .trimStart()
    .slice(0, 60)
    .replace(/[^\x20-\x7e]/g, "?");
  return head.length === 0 ? "empty input" : `text starting ${JSON.stringify(head)}`;
}

/** Zod issues as `path: message; ...`, each path prefixed with where the entry sits. */
export function describeIssues(error: z.ZodError, prefix: string, limit = 5): string {
  const shown = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.reduce<string>(
      (text, part) => (typeof part === "number" ? `${text}[${part}]` : `${text}.${String(part)}`),
      prefix,
    );
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > limit ? ` (and ${error.issues.length - limit} more)` : "";
  return `${shown.join("; ")}${more}`;
}

export function entryBytes(entry: unknown): Buffer {
  try {
    return Buffer.from(JSON.stringify(entry) ?? "null");
  } catch {
    return Buffer.from(String(entry));
  }
}

const SEVERITY: Record<string, Severity> = {
  NONE: "informational",
  LOW: "low",
  MEDIUM: "medium",
  MODERATE: "medium",
  HIGH: "high",
  IMPORTANT: "high",
  CRITICAL: "critical",
};

/** CVSS / vendor severity words to OCSF's scale. */
export function mapSeverity(text: string | undefined): Severity | undefined {
  return text === undefined ? undefined : SEVERITY[text.trim().toUpperCase()];
}

export function severityOfScore(score: number): Severity {
  if (score === 0) return "informational";
  if (score < 4) return "low";
  if (score < 7) return "medium";
  if (score < 9) return "high";
  return "critical";
}

const RANK: Record<Severity, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };

export function highestSeverity(values: readonly (Severity | undefined)[]): Severity | undefined {
  let best: Severity | undefined;
  for (const value of values) if (value && (!best || RANK[value] > RANK[best])) best = value;
  return best;
}

/** NVD writes UTC times without an offset (`2023-10-12T19:15:11.747`); RFC 3339 wants one. */
export function utcTimestamp(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/[zZ]$|[+-]\d{2}:\d{2}$/.test(value)) return value;
  return `${value}Z`;
}

const KB = /\bKB\s?(\d{6,8})\b/gi;

/** KB ids in free text or URLs (`KB5034441`, `q=KB5034441`); Microsoft's CSAF `details` is a bare number. */
export function extractKbIds(...texts: (string | undefined)[]): string[] {
  const found = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    const firstLine = text.trimStart().split("\n")[0]!.trim();
    if (/^\d{6,8}$/.test(firstLine)) found.add(`KB${firstLine}`);
    for (const match of text.matchAll(KB)) found.add(`KB${match[1]}`);
  }
  return [...found];
}

const SUPERSEDES = /\bsupersede(?:s|d|nce)?\b[^.;\n]*/gi;

/** `Supersedes KB5032196`, `Supersedence: 5032196` in a remediation's text. */
export function extractSupersedence(text: string | undefined): string[] {
  if (!text) return [];
  const found = new Set<string>();
  for (const match of text.matchAll(SUPERSEDES)) {
    for (const id of match[0].matchAll(/\b(?:KB)?(\d{6,8})\b/gi)) found.add(`KB${id[1]}`);
  }
  return [...found];
}

/** Stable order and no duplicates, so republishing the same input gives the same bytes. */
export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}
