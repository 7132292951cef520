import type { AdvisoryProduct, AdvisoryV1, CvssScore, Remediation } from "@vigil/schema";
import {
  ADVISORY_SCHEMA,
  type AdvisoryDocumentResult,
  type AdvisoryEntryResult,
  decodeUtf8,
  describeFound,
  describeIssues,
  describeText,
  extractKbIds,
  extractSupersedence,
  highestSeverity,
  isRecord,
  mapSeverity,
  parseJson,
  severityOfScore,
  unique,
} from "./common.ts";
import { checkCsafMandatory } from "./csaf-rules.ts";
import { type CsafBranch, CsafDocument } from "./csaf-schema.ts";

/**
 * CSAF 2.0 advisories (https://docs.oasis-open.org/csaf/csaf/v2.0/) as one advisory per document.
 * A document is accepted when it is valid against the CSAF 2.0 JSON schema (mirrored in zod) and
 * passes the mandatory tests of section 6.1 that `csaf-rules.ts` implements.
 */

export const CSAF_EXPECTED = 'a CSAF 2.0 document (an object with document.csaf_version "2.0")';

/** Where a CSAF document came from: `csaf:<publisher namespace host>`. */
export function csafSource(namespace: string): string {
  try {
    const host = new URL(namespace).hostname.toLowerCase().replace(/^www\./, "");
    if (/^[a-z0-9][a-z0-9.-]*$/.test(host)) return `csaf:${host}`;
  } catch {
    // fall through: the schema has checked it is a URI, so this is a host-less one (urn:...)
  }
  const slug = namespace
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "");
  return `csaf:${slug || "unknown"}`;
}

function products(document: CsafDocument): AdvisoryProduct[] {
  const found: AdvisoryProduct[] = [];
  interface Context {
    vendor?: string;
    product_name?: string;
    version?: string;
    version_range?: string;
  }
  const push = (product: NonNullable<CsafBranch["product"]>, context: Context) => {
    const helper = product.product_identification_helper;
    found.push({
      product_id: product.product_id,
      name: product.name,
      ...context,
      ...(helper?.cpe !== undefined ? { cpe: helper.cpe } : {}),
      ...(helper?.purl !== undefined ? { purl: helper.purl } : {}),
    });
  };
  const walk = (branches: CsafBranch[] | undefined, context: Context) => {
    for (const branch of branches ?? []) {
      const here = { ...context };
      if (branch.category === "vendor") here.vendor = branch.name;
      else if (branch.category === "product_name" || branch.category === "product_family")
        here.product_name = branch.name;
      else if (branch.category === "product_version") here.version = branch.name;
      else if (branch.category === "product_version_range") here.version_range = branch.name;
      if (branch.product) push(branch.product, here);
      walk(branch.branches, here);
    }
  };
  walk(document.product_tree?.branches, {});
  for (const product of document.product_tree?.full_product_names ?? []) push(product, {});
  for (const relationship of document.product_tree?.relationships ?? [])
    push(relationship.full_product_name, {});
  return found;
}

const EXPLOITED = /\bexploited\s*:\s*yes\b|\bactively exploited\b|\bexploitation detected\b/i;

export function csafToAdvisory(document: CsafDocument): AdvisoryV1 {
  const doc = document.document;
  const vulnerabilities = document.vulnerabilities ?? [];
  const groups = new Map(
    (document.product_tree?.product_groups ?? []).map((group) => [group.group_id, group.product_ids]),
  );
  const expand = (productIds: readonly string[] | undefined, groupIds: readonly string[] | undefined) =>
    unique([...(productIds ?? []), ...(groupIds ?? []).flatMap((id) => groups.get(id) ?? [])]);
  const source = csafSource(doc.publisher.namespace);
  const summary =
    doc.notes?.find((note) => note.category === "summary") ??
    doc.notes?.find((note) => note.category === "description");

  const remediations: Remediation[] = [];
  const cvss: CvssScore[] = [];
  let exploitedDetails: string | undefined;
  const productStatus: AdvisoryV1["product_status"] = [];
  for (const vulnerability of vulnerabilities) {
    const name = vulnerability.cve ?? vulnerability.title ?? vulnerability.ids?.[0]?.text ?? "unnamed";
    for (const [status, ids] of Object.entries(vulnerability.product_status ?? {}))
      productStatus.push({
        vulnerability: name,
        status: status as AdvisoryV1["product_status"][number]["status"],
        product_ids: [...(ids ?? [])],
      });
    for (const remediation of vulnerability.remediations ?? []) {
      const supersedes = extractSupersedence(remediation.details);
      const kbIds =
        remediation.category === "vendor_fix"
          ? extractKbIds(remediation.details, remediation.url).filter((id) => !supersedes.includes(id))
          : [];
      remediations.push({
        category: remediation.category,
        vulnerability: name,
        details: remediation.details,
        ...(remediation.url !== undefined ? { url: remediation.url } : {}),
        kb_ids: kbIds,
        supersedes,
        product_ids: expand(remediation.product_ids, remediation.group_ids),
        ...(remediation.date !== undefined ? { date: remediation.date } : {}),
      });
    }
    for (const score of vulnerability.scores ?? []) {
      if (score.cvss_v3)
        cvss.push({
          version: score.cvss_v3.version,
          score: score.cvss_v3.baseScore,
          vector: score.cvss_v3.vectorString,
          severity: mapSeverity(score.cvss_v3.baseSeverity) ?? severityOfScore(score.cvss_v3.baseScore),
          source: name,
          product_ids: [...score.products],
        });
      if (score.cvss_v2)
        cvss.push({
          version: "2.0",
          score: score.cvss_v2.baseScore,
          vector: score.cvss_v2.vectorString,
          severity: severityOfScore(score.cvss_v2.baseScore),
          source: name,
          product_ids: [...score.products],
        });
    }
    for (const threat of vulnerability.threats ?? [])
      if (threat.category === "exploit_status" && EXPLOITED.test(threat.details))
        exploitedDetails ??= threat.details;
  }

  const references = new Map<string, AdvisoryV1["references"][number]>();
  for (const reference of [...(doc.references ?? []), ...vulnerabilities.flatMap((v) => v.references ?? [])])
    if (!references.has(reference.url))
      references.set(reference.url, { url: reference.url, summary: reference.summary });

  const severity =
    highestSeverity(cvss.map((score) => score.severity)) ?? mapSeverity(doc.aggregate_severity?.text);
  return {
    schema: ADVISORY_SCHEMA,
    id: doc.tracking.id,
    source,
    title: doc.title,
    ...(summary !== undefined ? { summary: summary.text } : {}),
    publisher: { name: doc.publisher.name, namespace: doc.publisher.namespace },
    cves: unique(vulnerabilities.flatMap((vulnerability) => (vulnerability.cve ? [vulnerability.cve] : []))),
    cwes: unique(
      vulnerabilities.flatMap((vulnerability) => (vulnerability.cwe ? [vulnerability.cwe.id] : [])),
    ),
    cpe_matches: [],
    products: products(document),
    product_status: productStatus,
    remediations,
    fixing_kb_ids: unique(
      remediations.filter((item) => item.category === "vendor_fix").flatMap((item) => item.kb_ids),
    ),
    ...(exploitedDetails !== undefined ? { known_exploited: { source, notes: exploitedDetails } } : {}),
    cvss,
    ...(severity !== undefined ? { severity } : {}),
    published: doc.tracking.initial_release_date,
    updated: doc.tracking.current_release_date,
    references: [...references.values()],
  };
}

/** Validates one parsed JSON value as a CSAF 2.0 document and normalizes it. */
export function csafEntry(value: unknown): AdvisoryEntryResult {
  const version = isRecord(value) && isRecord(value.document) ? value.document.csaf_version : undefined;
  if (version !== "2.0")
    return {
      status: "invalid",
      kind: "schema",
      reason: `/document/csaf_version: ${JSON.stringify(version)} is not supported, only CSAF 2.0 is`,
    };
  const parsed = CsafDocument.safeParse(value);
  if (!parsed.success)
    return {
      status: "invalid",
      kind: "schema",
      reason: `CSAF 2.0 schema: ${describeIssues(parsed.error, "")}`,
    };
  const failures = checkCsafMandatory(parsed.data);
  if (failures.length > 0) {
    const shown = failures
      .slice(0, 5)
      .map((failure) => `${failure.test} ${failure.path}: ${failure.message}`)
      .join("; ");
    const more = failures.length > 5 ? ` (and ${failures.length - 5} more)` : "";
    return { status: "invalid", kind: "csaf-rule", reason: `CSAF mandatory test ${shown}${more}` };
  }
  return { status: "record", value: csafToAdvisory(parsed.data) };
}

/** Does this JSON value look like a CSAF document at all (whichever version)? */
export function looksLikeCsaf(value: unknown): boolean {
  return isRecord(value) && isRecord(value.document) && "csaf_version" in value.document;
}

/** One CSAF file: a document that is not CSAF at all is a wrong format; an invalid CSAF one is an invalid entry. */
export function parseCsaf(input: Uint8Array | string): AdvisoryDocumentResult {
  const text = typeof input === "string" ? input : decodeUtf8(input);
  const bytes = typeof input === "string" ? Buffer.from(input) : Buffer.from(input);
  if (text === undefined)
    return { status: "wrong-format", expected: CSAF_EXPECTED, found: "bytes that are not UTF-8" };
  const json = parseJson(text);
  if (!json.ok)
    return {
      status: "wrong-format",
      expected: CSAF_EXPECTED,
      found: `not JSON (${json.error}): ${describeText(text)}`,
    };
  if (!looksLikeCsaf(json.value))
    return { status: "wrong-format", expected: CSAF_EXPECTED, found: describeFound(json.value) };
  return {
    status: "document",
    format: "csaf",
    entries: [{ path: "/", bytes, result: csafEntry(json.value) }],
    warnings: [],
  };
}
