import type { AdvisoryV1 } from "@vigil/schema";
import { parse as parseCsvSync } from "csv-parse/sync";
import { z } from "zod";
import {
  ADVISORY_SCHEMA,
  type AdvisoryDocumentResult,
  type AdvisoryEntry,
  decodeUtf8,
  describeFound,
  describeIssues,
  describeText,
  entryBytes,
  isRecord,
  parseJson,
  unique,
} from "./common.ts";

/**
 * CISA Known Exploited Vulnerabilities catalog, JSON and CSV.
 * The zod schemas mirror `known_exploited_vulnerabilities_schema.json` (draft-07) one to one:
 * same required fields, same patterns and formats; extra properties are allowed as there.
 */

export const KevVulnerability = z.object({
  cveID: z.string().regex(/^CVE-[0-9]{4}-[0-9]{4,19}$/, "not a CVE id (CVE-YYYY-NNNN)"),
  vendorProject: z.string(),
  product: z.string(),
  vulnerabilityName: z.string(),
  dateAdded: z.iso.date("not a date (YYYY-MM-DD)"),
  shortDescription: z.string(),
  requiredAction: z.string(),
  dueDate: z.iso.date("not a date (YYYY-MM-DD)"),
  knownRansomwareCampaignUse: z.string().optional(),
  notes: z.string().optional(),
  cwes: z.array(z.string().regex(/^CWE-([0-9])+$/, "not a CWE id (CWE-N)")).optional(),
});
export type KevVulnerability = z.infer<typeof KevVulnerability>;

export const KevCatalog = z.object({
  title: z.string().optional(),
  catalogVersion: z.string(),
  dateReleased: z.iso.datetime({ offset: true }),
  count: z.number().int(),
  vulnerabilities: z.array(KevVulnerability),
});
export type KevCatalog = z.infer<typeof KevCatalog>;

/** The columns of CISA's CSV, in its order. */
export const KEV_CSV_COLUMNS = [
  "cveID",
  "vendorProject",
  "product",
  "vulnerabilityName",
  "dateAdded",
  "shortDescription",
  "requiredAction",
  "dueDate",
  "knownRansomwareCampaignUse",
  "notes",
  "cwes",
] as const;

const URL_IN_NOTES = /https?:\/\/[^\s;]+/g;

const nonEmpty = (value: string | undefined) =>
  value === undefined || value.trim() === "" ? undefined : value;

/** One KEV entry as an advisory: known exploited, with CISA's due date and required action. */
export function kevToAdvisory(entry: KevVulnerability): AdvisoryV1 {
  const productId = `${entry.vendorProject}:${entry.product}`;
  const notes = nonEmpty(entry.notes);
  const ransomware = nonEmpty(entry.knownRansomwareCampaignUse);
  return {
    schema: ADVISORY_SCHEMA,
    id: entry.cveID,
    source: "cisa-kev",
    title: entry.vulnerabilityName,
    summary: entry.shortDescription,
    cves: [entry.cveID],
    cwes: unique(entry.cwes ?? []),
    cpe_matches: [],
    products: [
      {
        product_id: productId,
        name: `${entry.vendorProject} ${entry.product}`,
        vendor: entry.vendorProject,
        product_name: entry.product,
      },
    ],
    product_status: [{ vulnerability: entry.cveID, status: "known_affected", product_ids: [productId] }],
    remediations: [],
    fixing_kb_ids: [],
    known_exploited: {
      source: "cisa-kev",
      date_added: entry.dateAdded,
      due_date: entry.dueDate,
      required_action: entry.requiredAction,
      ...(ransomware !== undefined ? { ransomware_use: ransomware } : {}),
      vulnerability_name: entry.vulnerabilityName,
      ...(notes !== undefined ? { notes } : {}),
    },
    cvss: [],
    references: unique(notes?.match(URL_IN_NOTES) ?? []).map((url) => ({ url })),
  };
}

/** The KEV JSON catalog: one entry per vulnerability; a bad entry is invalid on its own. */
export function parseKevJson(input: Uint8Array | string): AdvisoryDocumentResult {
  const expected = "a CISA KEV JSON catalog (an object with catalogVersion and a vulnerabilities array)";
  const text = typeof input === "string" ? input : decodeUtf8(input);
  if (text === undefined) return { status: "wrong-format", expected, found: "bytes that are not UTF-8" };
  const json = parseJson(text);
  if (!json.ok)
    return { status: "wrong-format", expected, found: `not JSON (${json.error}): ${describeText(text)}` };
  const document = json.value;
  if (!isRecord(document) || !Array.isArray(document.vulnerabilities) || !("catalogVersion" in document))
    return { status: "wrong-format", expected, found: describeFound(document) };

  const warnings: string[] = [];
  const header = KevCatalog.omit({ vulnerabilities: true }).safeParse(document);
  if (!header.success) warnings.push(`catalog header: ${describeIssues(header.error, "")}`);
  const vulnerabilities: unknown[] = document.vulnerabilities;
  if (typeof document.count === "number" && document.count !== vulnerabilities.length)
    warnings.push(`catalog count says ${document.count}, vulnerabilities holds ${vulnerabilities.length}`);

  const entries = vulnerabilities.map((raw, index): AdvisoryEntry => {
    const path = `vulnerabilities[${index}]`;
    const parsed = KevVulnerability.safeParse(raw);
    return {
      path,
      bytes: entryBytes(raw),
      result: parsed.success
        ? { status: "record", value: kevToAdvisory(parsed.data) }
        : { status: "invalid", kind: "schema", reason: describeIssues(parsed.error, path) },
    };
  });
  return { status: "document", format: "kev-json", entries, warnings };
}

/** CISA's CSV: same fields; `cwes` is a comma-separated list, empty cells are absent values. */
export function parseKevCsv(input: Uint8Array | string): AdvisoryDocumentResult {
  const expected = `a CISA KEV CSV (header ${KEV_CSV_COLUMNS.slice(0, 4).join(",")},...)`;
  const text = typeof input === "string" ? input : decodeUtf8(input);
  if (text === undefined) return { status: "wrong-format", expected, found: "bytes that are not UTF-8" };
  let rows: { record: string[]; raw: string; info: { lines: number } }[];
  try {
    rows = parseCsvSync(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      raw: true,
      info: true,
    }) as unknown as typeof rows;
  } catch (error) {
    return { status: "wrong-format", expected, found: `text that is not CSV (${(error as Error).message})` };
  }
  const header = rows.shift();
  const columns = header?.record.map((name) => name.trim()) ?? [];
  const missing = KEV_CSV_COLUMNS.filter(
    (name) => !columns.includes(name) && KevVulnerability.shape[name].safeParse(undefined).success === false,
  );
  if (header === undefined || missing.length > 0)
    return {
      status: "wrong-format",
      expected,
      found:
        header === undefined
          ? describeText(text)
          : `a header without ${missing.join(", ")}: ${describeText(text)}`,
    };

  const entries = rows.map(({ record, raw, info }): AdvisoryEntry => {
    const path = `line ${info.lines}`;
    const bytes = Buffer.from(raw.replace(/\r?\n$/, ""));
    if (record.length !== columns.length)
      return {
        path,
        bytes,
        result: {
          status: "invalid",
          kind: "csv",
          reason: `${path}: ${record.length} fields, the header has ${columns.length}`,
        },
      };
    const object: Record<string, unknown> = {};
    for (const [index, name] of columns.entries()) {
      const cell = record[index] ?? "";
      if (name === "cwes")
        object.cwes = cell
          .split(",")
          .map((value) => value.trim())
          .filter(Boolean);
      else if (cell !== "" || !["knownRansomwareCampaignUse", "notes"].includes(name)) object[name] = cell;
    }
    const parsed = KevVulnerability.safeParse(object);
    return {
      path,
      bytes,
      result: parsed.success
        ? { status: "record", value: kevToAdvisory(parsed.data) }
        : { status: "invalid", kind: "schema", reason: describeIssues(parsed.error, path) },
    };
  });
  return { status: "document", format: "kev-csv", entries, warnings: [] };
}
