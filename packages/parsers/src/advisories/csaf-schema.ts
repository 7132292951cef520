import { z } from "zod";

/**
 * The CSAF 2.0 JSON schema (csaf_json_schema.json, with the CVSS 2.0 / 3.0 / 3.1 schemas it
 * references) mirrored in zod: required properties, enums, patterns, minItems, uniqueItems. Like the
 * schema, it allows additional properties (CSAF's optional test 6.2.20 is what flags them).
 * CSAF 2.1 documents are not accepted here.
 */

const text = z.string().min(1, "must not be empty");
const uri = z.url({ error: "not a URI" });
const dateTime = z.iso.datetime({ offset: true, error: "not an RFC 3339 date-time" });
const VERSION =
  /^(0|[1-9][0-9]*)$|^((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?)$/;
const version = z.string().regex(VERSION, "not an integer or semantic version");
const LANG =
  /^(([A-Za-z]{2,3}(-[A-Za-z]{3}(-[A-Za-z]{3}){0,2})?|[A-Za-z]{4,8})(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*(-[A-WY-Za-wy-z0-9](-[A-Za-z0-9]{2,8})+)*(-[Xx](-[A-Za-z0-9]{1,8})+)?|[Xx](-[A-Za-z0-9]{1,8})+|[Ii]-[Dd][Ee][Ff][Aa][Uu][Ll][Tt]|[Ii]-[Mm][Ii][Nn][Gg][Oo])$/;
const lang = z.string().regex(LANG, "not a BCP 47 language tag");
const CPE =
  /^(cpe:2\.3:[aho*-](:(((\?*|\*?)([a-zA-Z0-9\-._]|(\\[\\*?!"#$%&'()+,/:;<=>@[\]^`{|}~]))+(\?*|\*?))|[*-])){5}(:(([a-zA-Z]{2,3}(-([a-zA-Z]{2}|[0-9]{3}))?)|[*-]))(:(((\?*|\*?)([a-zA-Z0-9\-._]|(\\[\\*?!"#$%&'()+,/:;<=>@[\]^`{|}~]))+(\?*|\*?))|[*-])){4})|([c][pP][eE]:\/[AHOaho]?(:[A-Za-z0-9._\-~%]*){0,6})$/;

function uniqueList<T extends z.ZodType>(item: T, min = 1) {
  return z
    .array(item)
    .min(min, `needs at least ${min} item${min === 1 ? "" : "s"}`)
    .refine((items) => new Set(items.map((value) => JSON.stringify(value))).size === items.length, {
      error: "items must be unique",
    });
}

const productId = text;
const products = uniqueList(productId);
const productGroups = uniqueList(text);

const note = z.object({
  audience: text.optional(),
  category: z.enum(["description", "details", "faq", "general", "legal_disclaimer", "other", "summary"]),
  text,
  title: text.optional(),
});
const notes = z.array(note).min(1);

const reference = z.object({
  category: z.enum(["external", "self"]).optional(),
  summary: text,
  url: uri,
});
const references = z.array(reference).min(1);

const acknowledgment = z
  .strictObject({
    names: z.array(text).min(1).optional(),
    organization: text.optional(),
    summary: text.optional(),
    urls: z.array(uri).min(1).optional(),
  })
  .refine((value) => Object.keys(value).length > 0, { error: "needs at least one property" });
const acknowledgments = z.array(acknowledgment).min(1);

const hash = z.object({
  file_hashes: z
    .array(z.object({ algorithm: text, value: z.string().regex(/^[0-9a-fA-F]{32,}$/, "not a hex digest") }))
    .min(1),
  filename: text,
});

const productIdentificationHelper = z
  .strictObject({
    cpe: z.string().regex(CPE, "not a CPE 2.3 or 2.2 name"),
    hashes: z.array(hash).min(1),
    model_numbers: uniqueList(text),
    purl: z.string().regex(/^pkg:[A-Za-z.\-+][A-Za-z0-9.\-+]*\/.+/, "not a package URL"),
    sbom_urls: z.array(uri).min(1),
    serial_numbers: uniqueList(text),
    skus: z.array(text).min(1),
    x_generic_uris: z.array(z.object({ namespace: uri, uri })).min(1),
  })
  .partial()
  .refine((value) => Object.keys(value).length > 0, { error: "needs at least one property" });

export const FullProductName = z.object({
  name: text,
  product_id: productId,
  product_identification_helper: productIdentificationHelper.optional(),
});
export type FullProductName = z.infer<typeof FullProductName>;

export interface CsafBranch {
  branches?: CsafBranch[] | undefined;
  category: string;
  name: string;
  product?: FullProductName | undefined;
}

const BRANCH_CATEGORIES = [
  "architecture",
  "host_name",
  "language",
  "legacy",
  "patch_level",
  "product_family",
  "product_name",
  "product_version",
  "product_version_range",
  "service_pack",
  "specification",
  "vendor",
] as const;

export const Branch: z.ZodType<CsafBranch> = z.lazy(() =>
  z.object({
    branches: z.array(Branch).min(1).optional(),
    category: z.enum(BRANCH_CATEGORIES),
    name: text,
    product: FullProductName.optional(),
  }),
);

const relationship = z.object({
  category: z.enum([
    "default_component_of",
    "external_component_of",
    "installed_on",
    "installed_with",
    "optional_component_of",
  ]),
  full_product_name: FullProductName,
  product_reference: productId,
  relates_to_product_reference: productId,
});

const productTree = z.object({
  branches: z.array(Branch).min(1).optional(),
  full_product_names: z.array(FullProductName).min(1).optional(),
  product_groups: z
    .array(z.object({ group_id: text, product_ids: uniqueList(productId, 2), summary: text.optional() }))
    .min(1)
    .optional(),
  relationships: z.array(relationship).min(1).optional(),
});

const CVSS3_VECTOR =
  /^CVSS:3[.][01]\/((AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])\/)*(AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])$/;
const CVSS2_VECTOR =
  /^((AV:[LAN]|AC:[HML]|Au:[MSN]|[CIA]:[NPC]|E:(U|POC|F|H|ND)|RL:(OF|TF|W|U|ND)|RC:(UC|UR|C|ND)|CDP:(N|L|LM|MH|H|ND)|TD:(N|L|M|H|ND)|[CIA]R:(L|M|H|ND))\/)*(AV:[LAN]|AC:[HML]|Au:[MSN]|[CIA]:[NPC]|E:(U|POC|F|H|ND)|RL:(OF|TF|W|U|ND)|RC:(UC|UR|C|ND)|CDP:(N|L|LM|MH|H|ND)|TD:(N|L|M|H|ND)|[CIA]R:(L|M|H|ND))$/;

const score = z.number().min(0).max(10);
const severity3 = z.enum(["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"]);

/** FIRST's cvss-v3.x JSON schema: version, vector, base score and severity required. */
export const CvssV3 = z.object({
  version: z.enum(["3.0", "3.1"]),
  vectorString: z.string().regex(CVSS3_VECTOR, "not a CVSS 3.x vector"),
  attackVector: z.enum(["NETWORK", "ADJACENT_NETWORK", "LOCAL", "PHYSICAL"]).optional(),
  attackComplexity: z.enum(["HIGH", "LOW"]).optional(),
  privilegesRequired: z.enum(["HIGH", "LOW", "NONE"]).optional(),
  userInteraction: z.enum(["NONE", "REQUIRED"]).optional(),
  scope: z.enum(["UNCHANGED", "CHANGED"]).optional(),
  confidentialityImpact: z.enum(["NONE", "LOW", "HIGH"]).optional(),
  integrityImpact: z.enum(["NONE", "LOW", "HIGH"]).optional(),
  availabilityImpact: z.enum(["NONE", "LOW", "HIGH"]).optional(),
  baseScore: score,
  baseSeverity: severity3,
  exploitCodeMaturity: z
    .enum(["UNPROVEN", "PROOF_OF_CONCEPT", "FUNCTIONAL", "HIGH", "NOT_DEFINED"])
    .optional(),
  remediationLevel: z
    .enum(["OFFICIAL_FIX", "TEMPORARY_FIX", "WORKAROUND", "UNAVAILABLE", "NOT_DEFINED"])
    .optional(),
  reportConfidence: z.enum(["UNKNOWN", "REASONABLE", "CONFIRMED", "NOT_DEFINED"]).optional(),
  temporalScore: score.optional(),
  temporalSeverity: severity3.optional(),
  confidentialityRequirement: z.enum(["LOW", "MEDIUM", "HIGH", "NOT_DEFINED"]).optional(),
  integrityRequirement: z.enum(["LOW", "MEDIUM", "HIGH", "NOT_DEFINED"]).optional(),
  availabilityRequirement: z.enum(["LOW", "MEDIUM", "HIGH", "NOT_DEFINED"]).optional(),
  modifiedAttackVector: z
    .enum(["NETWORK", "ADJACENT_NETWORK", "LOCAL", "PHYSICAL", "NOT_DEFINED"])
    .optional(),
  modifiedAttackComplexity: z.enum(["HIGH", "LOW", "NOT_DEFINED"]).optional(),
  modifiedPrivilegesRequired: z.enum(["HIGH", "LOW", "NONE", "NOT_DEFINED"]).optional(),
  modifiedUserInteraction: z.enum(["NONE", "REQUIRED", "NOT_DEFINED"]).optional(),
  modifiedScope: z.enum(["UNCHANGED", "CHANGED", "NOT_DEFINED"]).optional(),
  modifiedConfidentialityImpact: z.enum(["NONE", "LOW", "HIGH", "NOT_DEFINED"]).optional(),
  modifiedIntegrityImpact: z.enum(["NONE", "LOW", "HIGH", "NOT_DEFINED"]).optional(),
  modifiedAvailabilityImpact: z.enum(["NONE", "LOW", "HIGH", "NOT_DEFINED"]).optional(),
  environmentalScore: score.optional(),
  environmentalSeverity: severity3.optional(),
});
export type CvssV3 = z.infer<typeof CvssV3>;

/** FIRST's cvss-v2.0 JSON schema. */
export const CvssV2 = z.object({
  version: z.literal("2.0"),
  vectorString: z.string().regex(CVSS2_VECTOR, "not a CVSS 2.0 vector"),
  accessVector: z.enum(["NETWORK", "ADJACENT_NETWORK", "LOCAL"]).optional(),
  accessComplexity: z.enum(["HIGH", "MEDIUM", "LOW"]).optional(),
  authentication: z.enum(["MULTIPLE", "SINGLE", "NONE"]).optional(),
  confidentialityImpact: z.enum(["NONE", "PARTIAL", "COMPLETE"]).optional(),
  integrityImpact: z.enum(["NONE", "PARTIAL", "COMPLETE"]).optional(),
  availabilityImpact: z.enum(["NONE", "PARTIAL", "COMPLETE"]).optional(),
  baseScore: score,
  exploitability: z.enum(["UNPROVEN", "PROOF_OF_CONCEPT", "FUNCTIONAL", "HIGH", "NOT_DEFINED"]).optional(),
  remediationLevel: z
    .enum(["OFFICIAL_FIX", "TEMPORARY_FIX", "WORKAROUND", "UNAVAILABLE", "NOT_DEFINED"])
    .optional(),
  reportConfidence: z.enum(["UNCONFIRMED", "UNCORROBORATED", "CONFIRMED", "NOT_DEFINED"]).optional(),
  temporalScore: score.optional(),
  collateralDamagePotential: z
    .enum(["NONE", "LOW", "LOW_MEDIUM", "MEDIUM_HIGH", "HIGH", "NOT_DEFINED"])
    .optional(),
  targetDistribution: z.enum(["NONE", "LOW", "MEDIUM", "HIGH", "NOT_DEFINED"]).optional(),
  confidentialityRequirement: z.enum(["LOW", "MEDIUM", "HIGH", "NOT_DEFINED"]).optional(),
  integrityRequirement: z.enum(["LOW", "MEDIUM", "HIGH", "NOT_DEFINED"]).optional(),
  availabilityRequirement: z.enum(["LOW", "MEDIUM", "HIGH", "NOT_DEFINED"]).optional(),
  environmentalScore: score.optional(),
});
export type CvssV2 = z.infer<typeof CvssV2>;

const productStatus = z
  .strictObject({
    first_affected: products.optional(),
    first_fixed: products.optional(),
    fixed: products.optional(),
    known_affected: products.optional(),
    known_not_affected: products.optional(),
    last_affected: products.optional(),
    recommended: products.optional(),
    under_investigation: products.optional(),
  })
  .refine((value) => Object.keys(value).length > 0, { error: "needs at least one property" });

const vulnerability = z.object({
  acknowledgments: acknowledgments.optional(),
  cve: z
    .string()
    .regex(/^CVE-[0-9]{4}-[0-9]{4,}$/, "not a CVE id")
    .optional(),
  cwe: z.strictObject({ id: z.string().regex(/^CWE-[1-9]\d{0,5}$/, "not a CWE id"), name: text }).optional(),
  discovery_date: dateTime.optional(),
  flags: uniqueList(
    z.object({
      date: dateTime.optional(),
      group_ids: productGroups.optional(),
      label: z.enum([
        "component_not_present",
        "inline_mitigations_already_exist",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_not_present",
      ]),
      product_ids: products.optional(),
    }),
  ).optional(),
  ids: uniqueList(z.object({ system_name: text, text })).optional(),
  involvements: uniqueList(
    z.object({
      date: dateTime.optional(),
      party: z.enum(["coordinator", "discoverer", "other", "user", "vendor"]),
      status: z.enum(["completed", "contact_attempted", "disputed", "in_progress", "not_contacted", "open"]),
      summary: text.optional(),
    }),
  ).optional(),
  notes: notes.optional(),
  product_status: productStatus.optional(),
  references: references.optional(),
  release_date: dateTime.optional(),
  remediations: z
    .array(
      z.object({
        category: z.enum(["mitigation", "no_fix_planned", "none_available", "vendor_fix", "workaround"]),
        date: dateTime.optional(),
        details: text,
        entitlements: z.array(text).min(1).optional(),
        group_ids: productGroups.optional(),
        product_ids: products.optional(),
        restart_required: z
          .strictObject({
            category: z.enum([
              "none",
              "vulnerable_component",
              "service",
              "parent",
              "dependencies",
              "connected",
              "machine",
              "zone",
              "system",
            ]),
            details: text.optional(),
          })
          .optional(),
        url: uri.optional(),
      }),
    )
    .min(1)
    .optional(),
  scores: z
    .array(z.object({ cvss_v2: CvssV2.optional(), cvss_v3: CvssV3.optional(), products }))
    .min(1)
    .optional(),
  threats: z
    .array(
      z.object({
        category: z.enum(["exploit_status", "impact", "target_set"]),
        date: dateTime.optional(),
        details: text,
        group_ids: productGroups.optional(),
        product_ids: products.optional(),
      }),
    )
    .min(1)
    .optional(),
  title: text.optional(),
});
export type CsafVulnerability = z.infer<typeof vulnerability>;

export const CsafDocument = z.object({
  document: z.object({
    acknowledgments: acknowledgments.optional(),
    aggregate_severity: z.object({ namespace: uri.optional(), text }).optional(),
    category: z.string().regex(/^[^\s\-_.](.*[^\s\-_.])?$/, "not a document category"),
    csaf_version: z.literal("2.0"),
    distribution: z
      .strictObject({
        text: text.optional(),
        tlp: z.object({ label: z.enum(["AMBER", "GREEN", "RED", "WHITE"]), url: uri.optional() }).optional(),
      })
      .refine((value) => Object.keys(value).length > 0, { error: "needs at least one property" })
      .optional(),
    lang: lang.optional(),
    notes: notes.optional(),
    publisher: z.object({
      category: z.enum(["coordinator", "discoverer", "other", "translator", "user", "vendor"]),
      contact_details: text.optional(),
      issuing_authority: text.optional(),
      name: text,
      namespace: uri,
    }),
    references: references.optional(),
    source_lang: lang.optional(),
    title: text,
    tracking: z.object({
      aliases: uniqueList(text).optional(),
      current_release_date: dateTime,
      generator: z
        .strictObject({
          date: dateTime.optional(),
          engine: z.object({ name: text, version: text.optional() }),
        })
        .optional(),
      id: z.string().regex(/^[\S](.*[\S])?$/, "not a tracking id"),
      initial_release_date: dateTime,
      revision_history: z
        .array(
          z.object({
            date: dateTime,
            legacy_version: text.optional(),
            number: version,
            summary: text,
          }),
        )
        .min(1),
      status: z.enum(["draft", "final", "interim"]),
      version,
    }),
  }),
  product_tree: productTree.optional(),
  vulnerabilities: z.array(vulnerability).min(1).optional(),
});
export type CsafDocument = z.infer<typeof CsafDocument>;
