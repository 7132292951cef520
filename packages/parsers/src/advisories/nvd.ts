import { type AdvisoryV1, type CpeMatch, CveId, type CvssScore } from "@vigil/schema";
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
  highestSeverity,
  isRecord,
  mapSeverity,
  parseJson,
  severityOfScore,
  unique,
  utcTimestamp,
} from "./common.ts";

/**
 * NVD CVE API 2.0 response pages (https://nvd.nist.gov/developers/vulnerabilities): one advisory per
 * `vulnerabilities[].cve`. Only the fields Vigil uses are checked; NVD adds fields over time.
 */

const NvdTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/, "not an NVD timestamp");

const LangString = z.object({ lang: z.string(), value: z.string() });

const CvssData = z.object({
  version: z.string(),
  vectorString: z.string(),
  baseScore: z.number().min(0).max(10),
  baseSeverity: z.string().optional(),
});
const CvssMetric = z.object({
  source: z.string().optional(),
  type: z.string().optional(),
  cvssData: CvssData,
  /** v2 carries the severity beside cvssData. */
  baseSeverity: z.string().optional(),
});

const NvdCpeMatch = z.object({
  vulnerable: z.boolean(),
  criteria: z.string().startsWith("cpe:2.3:", "not a CPE 2.3 name"),
  matchCriteriaId: z.string().optional(),
  versionStartIncluding: z.string().optional(),
  versionStartExcluding: z.string().optional(),
  versionEndIncluding: z.string().optional(),
  versionEndExcluding: z.string().optional(),
});

const NvdNode = z.object({
  operator: z.string().optional(),
  negate: z.boolean().optional(),
  cpeMatch: z.array(NvdCpeMatch).default([]),
});

export const NvdCve = z.object({
  id: CveId,
  sourceIdentifier: z.string().optional(),
  published: NvdTime,
  lastModified: NvdTime,
  vulnStatus: z.string().optional(),
  cisaExploitAdd: z.iso.date().optional(),
  cisaActionDue: z.iso.date().optional(),
  cisaRequiredAction: z.string().optional(),
  cisaVulnerabilityName: z.string().optional(),
  descriptions: z.array(LangString),
  metrics: z
    .object({
      cvssMetricV40: z.array(CvssMetric).optional(),
      cvssMetricV31: z.array(CvssMetric).optional(),
      cvssMetricV30: z.array(CvssMetric).optional(),
      cvssMetricV2: z.array(CvssMetric).optional(),
    })
    .optional(),
  weaknesses: z
    .array(z.object({ source: z.string().optional(), description: z.array(LangString) }))
    .optional(),
  configurations: z.array(z.object({ operator: z.string().optional(), nodes: z.array(NvdNode) })).optional(),
  references: z
    .array(z.object({ url: z.string(), source: z.string().optional(), tags: z.array(z.string()).optional() }))
    .default([]),
});
export type NvdCve = z.infer<typeof NvdCve>;

const CVSS_VERSIONS = { "2.0": "2.0", "3.0": "3.0", "3.1": "3.1", "4.0": "4.0" } as const;

function cvssScores(metrics: NvdCve["metrics"]): CvssScore[] {
  const scores: CvssScore[] = [];
  const lists = [
    metrics?.cvssMetricV40,
    metrics?.cvssMetricV31,
    metrics?.cvssMetricV30,
    metrics?.cvssMetricV2,
  ];
  for (const list of lists) {
    for (const metric of list ?? []) {
      const version = CVSS_VERSIONS[metric.cvssData.version as keyof typeof CVSS_VERSIONS];
      if (!version) continue;
      const severity =
        mapSeverity(metric.cvssData.baseSeverity ?? metric.baseSeverity) ??
        severityOfScore(metric.cvssData.baseScore);
      scores.push({
        version,
        score: metric.cvssData.baseScore,
        vector: metric.cvssData.vectorString,
        severity,
        ...(metric.source !== undefined ? { source: metric.source } : {}),
      });
    }
  }
  return scores;
}

function cpeMatches(configurations: NvdCve["configurations"]): CpeMatch[] {
  const matches: CpeMatch[] = [];
  for (const configuration of configurations ?? [])
    for (const node of configuration.nodes)
      for (const match of node.cpeMatch)
        matches.push({
          criteria: match.criteria,
          vulnerable: match.vulnerable,
          ...(match.matchCriteriaId !== undefined ? { match_criteria_id: match.matchCriteriaId } : {}),
          ...(match.versionStartIncluding !== undefined
            ? { version_start_including: match.versionStartIncluding }
            : {}),
          ...(match.versionStartExcluding !== undefined
            ? { version_start_excluding: match.versionStartExcluding }
            : {}),
          ...(match.versionEndIncluding !== undefined
            ? { version_end_including: match.versionEndIncluding }
            : {}),
          ...(match.versionEndExcluding !== undefined
            ? { version_end_excluding: match.versionEndExcluding }
            : {}),
        });
  return matches;
}

export function nvdToAdvisory(cve: NvdCve): AdvisoryV1 {
  const english = cve.descriptions.find((description) => description.lang === "en") ?? cve.descriptions[0];
  const cvss = cvssScores(cve.metrics);
  const cwes = unique(
    (cve.weaknesses ?? []).flatMap((weakness) =>
      weakness.description.map((description) => description.value).filter((value) => /^CWE-\d+$/.test(value)),
    ),
  );
  const published = utcTimestamp(cve.published);
  const updated = utcTimestamp(cve.lastModified);
  const severity = highestSeverity(cvss.map((score) => score.severity));
  const known = cve.cisaExploitAdd !== undefined || cve.cisaActionDue !== undefined;
  return {
    schema: ADVISORY_SCHEMA,
    id: cve.id,
    source: "nvd",
    ...(cve.cisaVulnerabilityName !== undefined ? { title: cve.cisaVulnerabilityName } : {}),
    ...(english !== undefined ? { summary: english.value } : {}),
    cves: [cve.id],
    cwes,
    cpe_matches: cpeMatches(cve.configurations),
    products: [],
    product_status: [],
    remediations: [],
    fixing_kb_ids: [],
    ...(known
      ? {
          known_exploited: {
            source: "cisa-kev",
            ...(cve.cisaExploitAdd !== undefined ? { date_added: cve.cisaExploitAdd } : {}),
            ...(cve.cisaActionDue !== undefined ? { due_date: cve.cisaActionDue } : {}),
            ...(cve.cisaRequiredAction !== undefined ? { required_action: cve.cisaRequiredAction } : {}),
            ...(cve.cisaVulnerabilityName !== undefined
              ? { vulnerability_name: cve.cisaVulnerabilityName }
              : {}),
          },
        }
      : {}),
    cvss,
    ...(severity !== undefined ? { severity } : {}),
    ...(published !== undefined ? { published } : {}),
    ...(updated !== undefined ? { updated } : {}),
    references: cve.references.map((reference) => ({
      url: reference.url,
      ...(reference.source !== undefined ? { source: reference.source } : {}),
      ...(reference.tags !== undefined ? { tags: reference.tags } : {}),
    })),
  };
}

/** An NVD CVE API 2.0 page: `{resultsPerPage, ..., format: "NVD_CVE", vulnerabilities: [{cve}]}`. */
export function parseNvdPage(input: Uint8Array | string): AdvisoryDocumentResult {
  const expected =
    'an NVD CVE API 2.0 page (an object with format "NVD_CVE" and a vulnerabilities array of {cve})';
  const text = typeof input === "string" ? input : decodeUtf8(input);
  if (text === undefined) return { status: "wrong-format", expected, found: "bytes that are not UTF-8" };
  const json = parseJson(text);
  if (!json.ok)
    return { status: "wrong-format", expected, found: `not JSON (${json.error}): ${describeText(text)}` };
  const page = json.value;
  if (
    !isRecord(page) ||
    !Array.isArray(page.vulnerabilities) ||
    (page.format !== "NVD_CVE" && !("resultsPerPage" in page))
  )
    return { status: "wrong-format", expected, found: describeFound(page) };
  const warnings: string[] = [];
  if (page.format !== undefined && page.format !== "NVD_CVE")
    warnings.push(`format is ${String(page.format)}`);
  const vulnerabilities: unknown[] = page.vulnerabilities;
  const entries = vulnerabilities.map((raw, index): AdvisoryEntry => {
    const path = `vulnerabilities[${index}].cve`;
    const cve = isRecord(raw) ? raw.cve : undefined;
    const parsed = NvdCve.safeParse(cve);
    return {
      path,
      bytes: entryBytes(raw),
      result: parsed.success
        ? { status: "record", value: nvdToAdvisory(parsed.data) }
        : { status: "invalid", kind: "schema", reason: describeIssues(parsed.error, path) },
    };
  });
  return { status: "document", format: "nvd-json", entries, warnings };
}
