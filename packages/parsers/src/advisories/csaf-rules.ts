import type { CsafBranch, CsafDocument, CvssV2, CvssV3, FullProductName } from "./csaf-schema.ts";
import { scoreCvss2, scoreCvss3 } from "./cvss.ts";

/**
 * CSAF 2.0 mandatory tests (section 6.1 of the standard) on a schema-valid document.
 * Each failure names the test and the JSON path. Not implemented (see the README): 6.1.11 (CWE
 * id/name against the CWE catalogue).
 */

export interface CsafRuleFailure {
  test: string;
  path: string;
  message: string;
}

export const IMPLEMENTED_MANDATORY_TESTS = [
  "6.1.1",
  "6.1.2",
  "6.1.3",
  "6.1.4",
  "6.1.5",
  "6.1.6",
  "6.1.7",
  "6.1.8",
  "6.1.9",
  "6.1.10",
  "6.1.12",
  "6.1.13",
  "6.1.14",
  "6.1.15",
  "6.1.16",
  "6.1.17",
  "6.1.18",
  "6.1.19",
  "6.1.20",
  "6.1.21",
  "6.1.22",
  "6.1.23",
  "6.1.24",
  "6.1.25",
  "6.1.26",
  "6.1.27.1",
  "6.1.27.2",
  "6.1.27.3",
  "6.1.27.4",
  "6.1.27.5",
  "6.1.27.6",
  "6.1.27.7",
  "6.1.27.8",
  "6.1.27.9",
  "6.1.27.10",
  "6.1.27.11",
  "6.1.28",
  "6.1.29",
  "6.1.30",
  "6.1.31",
  "6.1.32",
  "6.1.33",
] as const;

export const NOT_IMPLEMENTED_MANDATORY_TESTS = {
  "6.1.11": "CWE: the id/name pair must match the CWE catalogue, which Vigil does not ship",
} as const;

interface Definition {
  product: FullProductName;
  path: string;
}

/** Every product definition in the tree, with its path. */
export function productDefinitions(document: CsafDocument): Definition[] {
  const found: Definition[] = [];
  const tree = document.product_tree;
  if (!tree) return found;
  const walk = (branches: CsafBranch[] | undefined, path: string) => {
    for (const [index, branch] of (branches ?? []).entries()) {
      const here = `${path}[${index}]`;
      if (branch.product) found.push({ product: branch.product, path: `${here}.product` });
      walk(branch.branches, `${here}.branches`);
    }
  };
  walk(tree.branches, "/product_tree/branches");
  for (const [index, product] of (tree.full_product_names ?? []).entries())
    found.push({ product, path: `/product_tree/full_product_names[${index}]` });
  for (const [index, relationship] of (tree.relationships ?? []).entries())
    found.push({
      product: relationship.full_product_name,
      path: `/product_tree/relationships[${index}].full_product_name`,
    });
  return found;
}

/** Every place a product id is used, with its path. */
function productReferences(document: CsafDocument): { id: string; path: string }[] {
  const found: { id: string; path: string }[] = [];
  const add = (ids: readonly string[] | undefined, path: string) => {
    for (const [index, id] of (ids ?? []).entries()) found.push({ id, path: `${path}[${index}]` });
  };
  const tree = document.product_tree;
  for (const [index, group] of (tree?.product_groups ?? []).entries())
    add(group.product_ids, `/product_tree/product_groups[${index}].product_ids`);
  for (const [index, relationship] of (tree?.relationships ?? []).entries()) {
    found.push({
      id: relationship.product_reference,
      path: `/product_tree/relationships[${index}].product_reference`,
    });
    found.push({
      id: relationship.relates_to_product_reference,
      path: `/product_tree/relationships[${index}].relates_to_product_reference`,
    });
  }
  for (const [v, vulnerability] of (document.vulnerabilities ?? []).entries()) {
    const base = `/vulnerabilities[${v}]`;
    for (const [status, ids] of Object.entries(vulnerability.product_status ?? {}))
      add(ids, `${base}/product_status/${status}`);
    for (const [index, item] of (vulnerability.remediations ?? []).entries())
      add(item.product_ids, `${base}/remediations[${index}]/product_ids`);
    for (const [index, item] of (vulnerability.scores ?? []).entries())
      add(item.products, `${base}/scores[${index}]/products`);
    for (const [index, item] of (vulnerability.threats ?? []).entries())
      add(item.product_ids, `${base}/threats[${index}]/product_ids`);
    for (const [index, item] of (vulnerability.flags ?? []).entries())
      add(item.product_ids, `${base}/flags[${index}]/product_ids`);
  }
  return found;
}

interface ParsedVersion {
  integer: boolean;
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
}

function parseVersion(text: string): ParsedVersion {
  if (/^\d+$/.test(text)) return { integer: true, major: Number(text), minor: 0, patch: 0, prerelease: [] };
  const [core = "", ...rest] = text.split("+")[0]!.split("-");
  const [major = 0, minor = 0, patch = 0] = core.split(".").map(Number);
  const prerelease = rest.length > 0 ? rest.join("-").split(".") : [];
  return { integer: false, major, minor, patch, prerelease };
}

/** Semantic-versioning precedence (build metadata ignored). */
function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (const key of ["major", "minor", "patch"] as const) if (x[key] !== y[key]) return x[key] - y[key];
  if (x.prerelease.length === 0 || y.prerelease.length === 0)
    return (x.prerelease.length === 0 ? 1 : 0) - (y.prerelease.length === 0 ? 1 : 0);
  for (let index = 0; index < Math.max(x.prerelease.length, y.prerelease.length); index++) {
    const p = x.prerelease[index];
    const q = y.prerelease[index];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

const withoutBuild = (text: string) => text.split("+")[0]!;

const displayNames = new Intl.DisplayNames(["en"], { type: "language", fallback: "none" });

/** A language tag whose primary language subtag exists (`EZ` passes the schema's pattern, but is no language). */
function knownLanguage(tag: string): boolean {
  if (/^[Xx]-|^[Ii]-/.test(tag)) return true;
  const primary = tag.split("-")[0]!.toLowerCase();
  // ISO 639's private-use range qaa-qtz is valid by definition.
  if (/^q[a-t][a-z]$/.test(primary)) return true;
  if (primary.length > 3) return true;
  try {
    return displayNames.of(primary.toLowerCase()) !== undefined;
  } catch {
    return false;
  }
}

/** Package URL syntax beyond the schema's pattern: a type, a name, and well-formed parts. */
function validPurl(purl: string): boolean {
  const match = /^pkg:([A-Za-z.+-][A-Za-z0-9.+-]*)\/([^?#]*)(\?[^#]*)?(#.*)?$/.exec(purl);
  if (!match) return false;
  const path = match[2]!.replace(/^\/+|\/+$/g, "");
  const atVersion = path.lastIndexOf("@");
  const nameAndNamespace = atVersion >= 0 ? path.slice(0, atVersion) : path;
  if (atVersion >= 0 && path.slice(atVersion + 1) === "") return false;
  const segments = nameAndNamespace.split("/");
  const name = segments.at(-1) ?? "";
  if (name === "" || segments.some((segment) => segment === "")) return false;
  if (match[3]) {
    for (const pair of match[3].slice(1).split("&")) {
      const [key, value] = pair.split("=");
      if (!key || value === undefined || value === "" || !/^[A-Za-z.\-_][A-Za-z0-9.\-_]*$/.test(key))
        return false;
    }
  }
  return true;
}

const V3_NAMES: Record<string, { metric: string; values: Record<string, string> }> = {
  attackVector: { metric: "AV", values: { NETWORK: "N", ADJACENT_NETWORK: "A", LOCAL: "L", PHYSICAL: "P" } },
  attackComplexity: { metric: "AC", values: { LOW: "L", HIGH: "H" } },
  privilegesRequired: { metric: "PR", values: { NONE: "N", LOW: "L", HIGH: "H" } },
  userInteraction: { metric: "UI", values: { NONE: "N", REQUIRED: "R" } },
  scope: { metric: "S", values: { UNCHANGED: "U", CHANGED: "C" } },
  confidentialityImpact: { metric: "C", values: { NONE: "N", LOW: "L", HIGH: "H" } },
  integrityImpact: { metric: "I", values: { NONE: "N", LOW: "L", HIGH: "H" } },
  availabilityImpact: { metric: "A", values: { NONE: "N", LOW: "L", HIGH: "H" } },
  exploitCodeMaturity: {
    metric: "E",
    values: { UNPROVEN: "U", PROOF_OF_CONCEPT: "P", FUNCTIONAL: "F", HIGH: "H", NOT_DEFINED: "X" },
  },
  remediationLevel: {
    metric: "RL",
    values: { OFFICIAL_FIX: "O", TEMPORARY_FIX: "T", WORKAROUND: "W", UNAVAILABLE: "U", NOT_DEFINED: "X" },
  },
  reportConfidence: {
    metric: "RC",
    values: { UNKNOWN: "U", REASONABLE: "R", CONFIRMED: "C", NOT_DEFINED: "X" },
  },
  confidentialityRequirement: {
    metric: "CR",
    values: { LOW: "L", MEDIUM: "M", HIGH: "H", NOT_DEFINED: "X" },
  },
  integrityRequirement: { metric: "IR", values: { LOW: "L", MEDIUM: "M", HIGH: "H", NOT_DEFINED: "X" } },
  availabilityRequirement: { metric: "AR", values: { LOW: "L", MEDIUM: "M", HIGH: "H", NOT_DEFINED: "X" } },
  modifiedAttackVector: {
    metric: "MAV",
    values: { NETWORK: "N", ADJACENT_NETWORK: "A", LOCAL: "L", PHYSICAL: "P", NOT_DEFINED: "X" },
  },
  modifiedAttackComplexity: { metric: "MAC", values: { LOW: "L", HIGH: "H", NOT_DEFINED: "X" } },
  modifiedPrivilegesRequired: { metric: "MPR", values: { NONE: "N", LOW: "L", HIGH: "H", NOT_DEFINED: "X" } },
  modifiedUserInteraction: { metric: "MUI", values: { NONE: "N", REQUIRED: "R", NOT_DEFINED: "X" } },
  modifiedScope: { metric: "MS", values: { UNCHANGED: "U", CHANGED: "C", NOT_DEFINED: "X" } },
  modifiedConfidentialityImpact: {
    metric: "MC",
    values: { NONE: "N", LOW: "L", HIGH: "H", NOT_DEFINED: "X" },
  },
  modifiedIntegrityImpact: { metric: "MI", values: { NONE: "N", LOW: "L", HIGH: "H", NOT_DEFINED: "X" } },
  modifiedAvailabilityImpact: { metric: "MA", values: { NONE: "N", LOW: "L", HIGH: "H", NOT_DEFINED: "X" } },
};

const V2_NAMES: Record<string, { metric: string; values: Record<string, string> }> = {
  accessVector: { metric: "AV", values: { NETWORK: "N", ADJACENT_NETWORK: "A", LOCAL: "L" } },
  accessComplexity: { metric: "AC", values: { HIGH: "H", MEDIUM: "M", LOW: "L" } },
  authentication: { metric: "Au", values: { MULTIPLE: "M", SINGLE: "S", NONE: "N" } },
  confidentialityImpact: { metric: "C", values: { NONE: "N", PARTIAL: "P", COMPLETE: "C" } },
  integrityImpact: { metric: "I", values: { NONE: "N", PARTIAL: "P", COMPLETE: "C" } },
  availabilityImpact: { metric: "A", values: { NONE: "N", PARTIAL: "P", COMPLETE: "C" } },
  exploitability: {
    metric: "E",
    values: { UNPROVEN: "U", PROOF_OF_CONCEPT: "POC", FUNCTIONAL: "F", HIGH: "H", NOT_DEFINED: "ND" },
  },
  remediationLevel: {
    metric: "RL",
    values: { OFFICIAL_FIX: "OF", TEMPORARY_FIX: "TF", WORKAROUND: "W", UNAVAILABLE: "U", NOT_DEFINED: "ND" },
  },
  reportConfidence: {
    metric: "RC",
    values: { UNCONFIRMED: "UC", UNCORROBORATED: "UR", CONFIRMED: "C", NOT_DEFINED: "ND" },
  },
  collateralDamagePotential: {
    metric: "CDP",
    values: { NONE: "N", LOW: "L", LOW_MEDIUM: "LM", MEDIUM_HIGH: "MH", HIGH: "H", NOT_DEFINED: "ND" },
  },
  targetDistribution: {
    metric: "TD",
    values: { NONE: "N", LOW: "L", MEDIUM: "M", HIGH: "H", NOT_DEFINED: "ND" },
  },
  confidentialityRequirement: {
    metric: "CR",
    values: { LOW: "L", MEDIUM: "M", HIGH: "H", NOT_DEFINED: "ND" },
  },
  integrityRequirement: { metric: "IR", values: { LOW: "L", MEDIUM: "M", HIGH: "H", NOT_DEFINED: "ND" } },
  availabilityRequirement: { metric: "AR", values: { LOW: "L", MEDIUM: "M", HIGH: "H", NOT_DEFINED: "ND" } },
};

function checkCvss3(cvss: CvssV3, path: string, fail: (test: string, path: string, message: string) => void) {
  const scored = scoreCvss3(cvss.vectorString);
  if (typeof scored === "string") {
    fail("6.1.8", `${path}/vectorString`, scored);
    return;
  }
  if (!cvss.vectorString.startsWith(`CVSS:${cvss.version}/`))
    fail(
      "6.1.10",
      `${path}/version`,
      `version ${cvss.version} does not match the vector ${cvss.vectorString}`,
    );
  const checks: [keyof CvssV3, number | undefined, keyof CvssV3, string | undefined][] = [
    ["baseScore", scored.baseScore, "baseSeverity", scored.baseSeverity],
    ["temporalScore", scored.temporalScore, "temporalSeverity", scored.temporalSeverity],
    ["environmentalScore", scored.environmentalScore, "environmentalSeverity", scored.environmentalSeverity],
  ];
  for (const [scoreKey, expected, severityKey, expectedSeverity] of checks) {
    const stated = cvss[scoreKey];
    if (stated !== undefined && expected !== undefined && stated !== expected)
      fail("6.1.9", `${path}/${scoreKey}`, `is ${stated}, the vector computes ${expected}`);
    const statedSeverity = cvss[severityKey];
    const severityFor = stated === undefined ? expectedSeverity : severityOfV3(stated as number);
    if (statedSeverity !== undefined && severityFor !== undefined && statedSeverity !== severityFor)
      fail("6.1.9", `${path}/${severityKey}`, `is ${String(statedSeverity)}, the score means ${severityFor}`);
  }
  for (const [property, { metric, values }] of Object.entries(V3_NAMES)) {
    const stated = cvss[property as keyof CvssV3];
    if (stated === undefined) continue;
    // Properties whose metric the vector leaves out are not compared (the reference validator does the same).
    const inVector = scored.metrics[metric];
    if (inVector !== undefined && values[stated as string] !== inVector)
      fail("6.1.10", `${path}/${property}`, `is ${String(stated)}, the vector says ${metric}:${inVector}`);
  }
}

function severityOfV3(score: number): string {
  if (score === 0) return "NONE";
  if (score < 4) return "LOW";
  if (score < 7) return "MEDIUM";
  if (score < 9) return "HIGH";
  return "CRITICAL";
}

function checkCvss2(cvss: CvssV2, path: string, fail: (test: string, path: string, message: string) => void) {
  const scored = scoreCvss2(cvss.vectorString);
  if (typeof scored === "string") {
    fail("6.1.8", `${path}/vectorString`, scored);
    return;
  }
  const checks: [keyof CvssV2, number | undefined][] = [
    ["baseScore", scored.baseScore],
    ["temporalScore", scored.temporalScore],
    ["environmentalScore", scored.environmentalScore],
  ];
  for (const [key, expected] of checks) {
    const stated = cvss[key];
    if (stated !== undefined && expected !== undefined && stated !== expected)
      fail("6.1.9", `${path}/${key}`, `is ${String(stated)}, the vector computes ${expected}`);
  }
  for (const [property, { metric, values }] of Object.entries(V2_NAMES)) {
    const stated = cvss[property as keyof CvssV2];
    if (stated === undefined) continue;
    const inVector = scored.metrics[metric];
    if (inVector !== undefined && values[stated as string] !== inVector)
      fail("6.1.10", `${path}/${property}`, `is ${String(stated)}, the vector says ${metric}:${inVector}`);
  }
}

const PROFILES = new Set([
  "csaf_base",
  "csaf_security_incident_response",
  "csaf_informational_advisory",
  "csaf_security_advisory",
  "csaf_vex",
]);
const PROHIBITED_CATEGORY_NAMES = new Set([
  "securityincidentresponse",
  "informationaladvisory",
  "securityadvisory",
  "vex",
]);

/** Range operators anywhere, range words as whole words (`after-eight` is a name, not a range). */
const VERSION_RANGE_WORDS = /(<|<=|>|>=)|(^|\s)(after|all|before|earlier|later|prior|versions)(\s|$)/i;

/** RFC 3339 instants compared beyond milliseconds (`.00010Z` is after `.000Z`). */
function compareDateTimes(a: string, b: string): number {
  const difference = Date.parse(a) - Date.parse(b);
  if (difference !== 0 || Number.isNaN(difference)) return difference || 0;
  const fraction = (text: string) => (/\.(\d+)/.exec(text)?.[1] ?? "").padEnd(12, "0").slice(3);
  const x = fraction(a);
  const y = fraction(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

/** Runs every implemented mandatory test; an empty list means the document passes them. */
export function checkCsafMandatory(document: CsafDocument): CsafRuleFailure[] {
  const failures: CsafRuleFailure[] = [];
  const fail = (test: string, path: string, message: string) => failures.push({ test, path, message });
  const doc = document.document;
  const tracking = doc.tracking;
  const vulnerabilities = document.vulnerabilities ?? [];
  const tree = document.product_tree;

  // 6.1.1 / 6.1.2: every referenced product id is defined, exactly once.
  const definitions = productDefinitions(document);
  const defined = new Map<string, string>();
  for (const { product, path } of definitions) {
    const earlier = defined.get(product.product_id);
    if (earlier !== undefined)
      fail(
        "6.1.2",
        `${path}/product_id`,
        `product id ${product.product_id} is already defined at ${earlier}`,
      );
    else defined.set(product.product_id, path);
  }
  for (const { id, path } of productReferences(document))
    if (!defined.has(id)) fail("6.1.1", path, `product id ${id} is not defined in the product tree`);

  // 6.1.3: relationships must not define a product in terms of itself.
  const dependsOn = new Map<string, string[]>();
  for (const relationship of tree?.relationships ?? []) {
    const list = dependsOn.get(relationship.full_product_name.product_id) ?? [];
    list.push(relationship.product_reference, relationship.relates_to_product_reference);
    dependsOn.set(relationship.full_product_name.product_id, list);
  }
  for (const [index, relationship] of (tree?.relationships ?? []).entries()) {
    const start = relationship.full_product_name.product_id;
    const seen = new Set<string>();
    const stack = [...(dependsOn.get(start) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (next === start) {
        fail(
          "6.1.3",
          `/product_tree/relationships[${index}]`,
          `product id ${start} is defined in terms of itself`,
        );
        break;
      }
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(dependsOn.get(next) ?? []));
    }
  }

  // 6.1.4 / 6.1.5: group ids.
  const groups = new Map<string, string[]>();
  for (const [index, group] of (tree?.product_groups ?? []).entries()) {
    if (groups.has(group.group_id))
      fail(
        "6.1.5",
        `/product_tree/product_groups[${index}]/group_id`,
        `group id ${group.group_id} defined twice`,
      );
    groups.set(group.group_id, group.product_ids);
  }
  const productsOf = (productIds: readonly string[] | undefined, groupIds: readonly string[] | undefined) => {
    const ids = new Set(productIds ?? []);
    for (const group of groupIds ?? []) for (const id of groups.get(group) ?? []) ids.add(id);
    return ids;
  };

  // 6.1.12 / 6.1.15 / 6.1.28: languages.
  if (doc.lang !== undefined && !knownLanguage(doc.lang))
    fail("6.1.12", "/document/lang", `${doc.lang} is not a known language`);
  if (doc.source_lang !== undefined && !knownLanguage(doc.source_lang))
    fail("6.1.12", "/document/source_lang", `${doc.source_lang} is not a known language`);
  if (doc.publisher.category === "translator" && doc.source_lang === undefined)
    fail("6.1.15", "/document/source_lang", "a translator's document must name its source language");
  if (
    doc.lang !== undefined &&
    doc.source_lang !== undefined &&
    doc.lang.toLowerCase() === doc.source_lang.toLowerCase()
  )
    fail("6.1.28", "/document/lang", "a translation must differ in language from its source");

  // 6.1.13 / 6.1.25 / 6.1.31: product tree details.
  for (const { product, path } of definitions) {
    const helper = product.product_identification_helper;
    if (helper?.purl !== undefined && !validPurl(helper.purl))
      fail(
        "6.1.13",
        `${path}/product_identification_helper/purl`,
        `${helper.purl} is not a valid package URL`,
      );
    for (const [h, hash] of (helper?.hashes ?? []).entries()) {
      const algorithms = hash.file_hashes.map((item) => item.algorithm.toLowerCase());
      if (new Set(algorithms).size !== algorithms.length)
        fail(
          "6.1.25",
          `${path}/product_identification_helper/hashes[${h}]/file_hashes`,
          "the same hash algorithm is used twice",
        );
    }
  }
  const walkVersions = (branches: CsafBranch[] | undefined, path: string) => {
    for (const [index, branch] of (branches ?? []).entries()) {
      if (branch.category === "product_version" && VERSION_RANGE_WORDS.test(branch.name))
        fail("6.1.31", `${path}[${index}]/name`, `product_version "${branch.name}" is a version range`);
      walkVersions(branch.branches, `${path}[${index}]/branches`);
    }
  };
  walkVersions(tree?.branches, "/product_tree/branches");

  // 6.1.14 - 6.1.22, 6.1.30: versions and the revision history.
  const history = tracking.revision_history;
  const byDate = history
    .map((item, index) => ({ item, index }))
    // Items of the same instant may come in any order: ties sort by number.
    .sort(
      (a, b) => compareDateTimes(a.item.date, b.item.date) || compareVersions(a.item.number, b.item.number),
    );
  for (let index = 1; index < byDate.length; index++)
    if (compareVersions(byDate[index - 1]!.item.number, byDate[index]!.item.number) > 0) {
      fail(
        "6.1.14",
        "/document/tracking/revision_history",
        "revision numbers are not ascending in date order",
      );
      break;
    }
  const byNumber = [...history].sort((a, b) => compareVersions(a.number, b.number));
  const latest = byNumber.at(-1);
  const draft = tracking.status === "draft";
  if (latest !== undefined) {
    const stated = withoutBuild(tracking.version);
    const last = withoutBuild(latest.number);
    const strip = (text: string) => (draft ? text.split("-")[0]! : text);
    if (stated !== last && !(draft && strip(stated) === strip(last)))
      fail(
        "6.1.16",
        "/document/tracking/version",
        `is ${tracking.version}, the latest revision is ${latest.number}`,
      );
  }
  const version = parseVersion(tracking.version);
  const isZero = (parsed: ParsedVersion) => parsed.major === 0;
  if (!draft && (isZero(version) || version.prerelease.length > 0)) {
    if (version.prerelease.length > 0)
      fail(
        "6.1.20",
        "/document/tracking/version",
        `a ${tracking.status} document must not have a pre-release version`,
      );
    if (isZero(version))
      fail("6.1.17", "/document/tracking/status", `version ${tracking.version} requires status draft`);
  }
  for (const [index, item] of history.entries()) {
    const parsed = parseVersion(item.number);
    if (!draft && isZero(parsed))
      fail(
        "6.1.18",
        `/document/tracking/revision_history[${index}]/number`,
        `a ${tracking.status} document must not list version ${item.number}`,
      );
    if (parsed.prerelease.length > 0)
      fail(
        "6.1.19",
        `/document/tracking/revision_history[${index}]/number`,
        `revision ${item.number} is a pre-release version`,
      );
  }
  const numbers = byNumber.map((item) => parseVersion(item.number));
  const first = numbers[0];
  if (first !== undefined && first.major > 1)
    fail(
      "6.1.21",
      "/document/tracking/revision_history",
      `the first revision is ${byNumber[0]!.number}, not 0 or 1`,
    );
  for (let index = 1; index < numbers.length; index++)
    if (numbers[index]!.major - numbers[index - 1]!.major > 1) {
      fail(
        "6.1.21",
        "/document/tracking/revision_history",
        `revisions jump from ${byNumber[index - 1]!.number} to ${byNumber[index]!.number}`,
      );
      break;
    }
  const seenNumbers = new Set<string>();
  for (const [index, item] of history.entries()) {
    if (seenNumbers.has(item.number))
      fail(
        "6.1.22",
        `/document/tracking/revision_history[${index}]/number`,
        `revision ${item.number} listed twice`,
      );
    seenNumbers.add(item.number);
  }
  const schemes = new Set([version.integer, ...numbers.map((parsed) => parsed.integer)]);
  if (schemes.size > 1) fail("6.1.30", "/document/tracking", "integer and semantic versioning are mixed");

  // 6.1.26: prohibited document category names.
  if (!PROFILES.has(doc.category)) {
    const normalized = doc.category.toLowerCase().replace(/[-_\s]/g, "");
    // `csaf_BASE` and `Csaf_VeX` imitate a profile value; `csafsecurityadvisory` one without separators.
    const unprefixed = normalized.startsWith("csaf") ? normalized.slice(4) : normalized;
    if (PROHIBITED_CATEGORY_NAMES.has(unprefixed) || unprefixed === "base")
      fail("6.1.26", "/document/category", `${doc.category} is reserved for a CSAF profile`);
  }

  // 6.1.27.x: profiles.
  const category = doc.category;
  if (category === "csaf_informational_advisory" || category === "csaf_security_incident_response") {
    if (
      !(doc.notes ?? []).some((item) =>
        ["description", "details", "general", "summary"].includes(item.category),
      )
    )
      fail(
        "6.1.27.1",
        "/document/notes",
        `a ${category} needs a description, details, general or summary note`,
      );
    if (!(doc.references ?? []).some((item) => item.category === "external"))
      fail("6.1.27.2", "/document/references", `a ${category} needs an external reference`);
  }
  if (category === "csaf_informational_advisory" && document.vulnerabilities !== undefined)
    fail("6.1.27.3", "/vulnerabilities", "an informational advisory must not list vulnerabilities");
  if (category === "csaf_security_advisory" || category === "csaf_vex") {
    if (tree === undefined) fail("6.1.27.4", "/product_tree", `a ${category} needs a product tree`);
    if (document.vulnerabilities === undefined)
      fail("6.1.27.11", "/vulnerabilities", `a ${category} needs vulnerabilities`);
    for (const [index, vulnerability] of vulnerabilities.entries())
      if (vulnerability.notes === undefined)
        fail(
          "6.1.27.5",
          `/vulnerabilities[${index}]/notes`,
          `a ${category} needs notes on each vulnerability`,
        );
  }
  if (category === "csaf_security_advisory")
    for (const [index, vulnerability] of vulnerabilities.entries())
      if (vulnerability.product_status === undefined)
        fail(
          "6.1.27.6",
          `/vulnerabilities[${index}]/product_status`,
          "a security advisory needs a product status",
        );
  if (category === "csaf_vex")
    for (const [index, vulnerability] of vulnerabilities.entries()) {
      const base = `/vulnerabilities[${index}]`;
      const status = vulnerability.product_status ?? {};
      if (
        status.fixed === undefined &&
        status.known_affected === undefined &&
        status.known_not_affected === undefined &&
        status.under_investigation === undefined
      )
        fail(
          "6.1.27.7",
          `${base}/product_status`,
          "a VEX needs fixed, known_affected, known_not_affected or under_investigation",
        );
      if (vulnerability.cve === undefined && vulnerability.ids === undefined)
        fail("6.1.27.8", base, "a VEX vulnerability needs a cve or ids");
      const explained = new Set<string>();
      for (const flag of vulnerability.flags ?? [])
        for (const id of productsOf(flag.product_ids, flag.group_ids)) explained.add(id);
      for (const threat of vulnerability.threats ?? [])
        if (threat.category === "impact")
          for (const id of productsOf(threat.product_ids, threat.group_ids)) explained.add(id);
      for (const [p, id] of (status.known_not_affected ?? []).entries())
        if (!explained.has(id))
          fail(
            "6.1.27.9",
            `${base}/product_status/known_not_affected[${p}]`,
            `${id} has no impact statement`,
          );
      const remediated = new Set<string>();
      for (const remediation of vulnerability.remediations ?? [])
        for (const id of productsOf(remediation.product_ids, remediation.group_ids)) remediated.add(id);
      for (const [p, id] of (status.known_affected ?? []).entries())
        if (!remediated.has(id))
          fail("6.1.27.10", `${base}/product_status/known_affected[${p}]`, `${id} has no action statement`);
    }

  // Per vulnerability: 6.1.4, 6.1.6 - 6.1.10, 6.1.23, 6.1.24, 6.1.29, 6.1.32, 6.1.33.
  const cves = new Map<string, number>();
  for (const [v, vulnerability] of vulnerabilities.entries()) {
    const base = `/vulnerabilities[${v}]`;
    const groupRefs: [readonly string[] | undefined, string][] = [
      ...(vulnerability.remediations ?? []).map((item, index): [readonly string[] | undefined, string] => [
        item.group_ids,
        `${base}/remediations[${index}]/group_ids`,
      ]),
      ...(vulnerability.threats ?? []).map((item, index): [readonly string[] | undefined, string] => [
        item.group_ids,
        `${base}/threats[${index}]/group_ids`,
      ]),
      ...(vulnerability.flags ?? []).map((item, index): [readonly string[] | undefined, string] => [
        item.group_ids,
        `${base}/flags[${index}]/group_ids`,
      ]),
    ];
    for (const [ids, path] of groupRefs)
      for (const [index, id] of (ids ?? []).entries())
        if (!groups.has(id)) fail("6.1.4", `${path}[${index}]`, `group id ${id} is not defined`);

    const status = vulnerability.product_status ?? {};
    const classes: Record<string, readonly (readonly string[] | undefined)[]> = {
      affected: [status.first_affected, status.known_affected, status.last_affected],
      "not affected": [status.known_not_affected],
      fixed: [status.first_fixed, status.fixed],
      "under investigation": [status.under_investigation],
    };
    const classOf = new Map<string, string>();
    for (const [name, lists] of Object.entries(classes))
      for (const list of lists)
        for (const id of list ?? []) {
          const other = classOf.get(id);
          if (other !== undefined && other !== name)
            fail("6.1.6", `${base}/product_status`, `${id} is both ${other} and ${name}`);
          classOf.set(id, name);
        }

    const scoreVersions = new Map<string, string>();
    for (const [s, item] of (vulnerability.scores ?? []).entries()) {
      const path = `${base}/scores[${s}]`;
      for (const id of item.products) {
        for (const scored of [item.cvss_v2?.version, item.cvss_v3?.version]) {
          if (scored === undefined) continue;
          const key = `${id}\u0000${scored}`;
          if (scoreVersions.has(key))
            fail("6.1.7", `${path}/products`, `${id} has two CVSS ${scored} scores`);
          scoreVersions.set(key, path);
        }
      }
      if (item.cvss_v3) checkCvss3(item.cvss_v3, `${path}/cvss_v3`, fail);
      if (item.cvss_v2) checkCvss2(item.cvss_v2, `${path}/cvss_v2`, fail);
    }

    if (vulnerability.cve !== undefined) {
      const earlier = cves.get(vulnerability.cve);
      if (earlier !== undefined)
        fail("6.1.23", `${base}/cve`, `${vulnerability.cve} is also /vulnerabilities[${earlier}]`);
      else cves.set(vulnerability.cve, v);
    }
    const involvements = new Set<string>();
    for (const [index, involvement] of (vulnerability.involvements ?? []).entries()) {
      const key = `${involvement.party}\u0000${involvement.date ?? ""}`;
      if (involvements.has(key))
        fail(
          "6.1.24",
          `${base}/involvements[${index}]`,
          `party ${involvement.party} has two involvements at the same date`,
        );
      involvements.add(key);
    }
    for (const [index, remediation] of (vulnerability.remediations ?? []).entries())
      if (remediation.product_ids === undefined && remediation.group_ids === undefined)
        fail("6.1.29", `${base}/remediations[${index}]`, "a remediation must name products or groups");
    const flagged = new Set<string>();
    for (const [index, flag] of (vulnerability.flags ?? []).entries()) {
      if (flag.product_ids === undefined && flag.group_ids === undefined)
        fail("6.1.32", `${base}/flags[${index}]`, "a flag must name products or groups");
      for (const id of productsOf(flag.product_ids, flag.group_ids)) {
        if (flagged.has(id)) fail("6.1.33", `${base}/flags[${index}]`, `${id} has more than one flag`);
        flagged.add(id);
      }
    }
  }
  return failures;
}
