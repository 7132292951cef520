import type { AdvisoryDocumentResult, AdvisoryFormat } from "./common.ts";
import { decodeUtf8, describeFound, describeText, isRecord, parseJson } from "./common.ts";
import { looksLikeCsaf, parseCsaf } from "./csaf.ts";
import { KEV_CSV_COLUMNS, parseKevCsv, parseKevJson } from "./kev.ts";
import { parseNvdPage } from "./nvd.ts";

export const ADVISORY_FORMATS = [
  "kev-json",
  "kev-csv",
  "nvd-json",
  "csaf",
] as const satisfies readonly AdvisoryFormat[];

/** Guesses the format from the content: KEV CSV by its header, JSON by its top-level keys. */
export function detectAdvisoryFormat(input: Uint8Array | string): AdvisoryFormat | undefined {
  const text = typeof input === "string" ? input : decodeUtf8(input);
  if (text === undefined) return undefined;
  const head = text.trimStart();
  if (head.startsWith(`${KEV_CSV_COLUMNS[0]},`)) return "kev-csv";
  if (!head.startsWith("{")) return undefined;
  const json = parseJson(text);
  if (!json.ok || !isRecord(json.value)) return undefined;
  const value = json.value;
  if (looksLikeCsaf(value)) return "csaf";
  if (Array.isArray(value.vulnerabilities)) {
    if ("catalogVersion" in value) return "kev-json";
    if (value.format === "NVD_CVE" || "resultsPerPage" in value) return "nvd-json";
  }
  return undefined;
}

/** Parses a whole document in the given format (`auto` detects it first). */
export function parseAdvisoryDocument(
  input: Uint8Array | string,
  format: AdvisoryFormat | "auto",
): AdvisoryDocumentResult {
  const chosen = format === "auto" ? detectAdvisoryFormat(input) : format;
  if (chosen === undefined) {
    const text = typeof input === "string" ? input : decodeUtf8(input);
    const json = text === undefined ? undefined : parseJson(text);
    return {
      status: "wrong-format",
      expected: "a KEV JSON catalog, a KEV CSV, an NVD CVE API 2.0 page or a CSAF 2.0 document",
      found:
        text === undefined
          ? "bytes that are not UTF-8"
          : json?.ok
            ? describeFound(json.value)
            : describeText(text),
    };
  }
  switch (chosen) {
    case "kev-json":
      return parseKevJson(input);
    case "kev-csv":
      return parseKevCsv(input);
    case "nvd-json":
      return parseNvdPage(input);
    case "csaf":
      return parseCsaf(input);
  }
}
