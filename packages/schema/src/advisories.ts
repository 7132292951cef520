// Records and topics of the advisories area; `topics.ts` merges `advisoriesTopics` into the registry.
import { z } from "zod";
import { CveId, Severity, Timestamp } from "./common.ts";
import { topic } from "./topic-spec.ts";

/** A calendar date (KEV's dateAdded / dueDate). */
export const IsoDate = z.iso.date();

/** `cisa-kev`, `nvd`, or `csaf:<publisher namespace host>` (e.g. `csaf:msrc.microsoft.com`). */
export const AdvisorySource = z.string().regex(/^(cisa-kev|nvd|csaf:[a-z0-9][a-z0-9.-]*)$/);

/** NVD's CPE 2.3 match criteria: one `cpeMatch` entry with its version range. */
export const CpeMatch = z.object({
  criteria: z.string().startsWith("cpe:2.3:"),
  vulnerable: z.boolean(),
  match_criteria_id: z.string().optional(),
  version_start_including: z.string().optional(),
  version_start_excluding: z.string().optional(),
  version_end_including: z.string().optional(),
  version_end_excluding: z.string().optional(),
});
export type CpeMatch = z.infer<typeof CpeMatch>;

/** A product as the source names it (CSAF product tree leaf or relationship; KEV vendor/product). */
export const AdvisoryProduct = z.object({
  product_id: z.string().min(1),
  name: z.string(),
  vendor: z.string().optional(),
  product_name: z.string().optional(),
  /** A single version (CSAF `product_version`). */
  version: z.string().optional(),
  /** A version range as the source writes it (CSAF `product_version_range`, e.g. `vers:generic/<4.2`). */
  version_range: z.string().optional(),
  cpe: z.string().optional(),
  purl: z.string().optional(),
});
export type AdvisoryProduct = z.infer<typeof AdvisoryProduct>;

export const ProductStatusName = z.enum([
  "first_affected",
  "first_fixed",
  "fixed",
  "known_affected",
  "known_not_affected",
  "last_affected",
  "recommended",
  "under_investigation",
]);

/** CSAF `product_status`: which products a vulnerability affects, and which are fixed. */
export const ProductStatus = z.object({
  /** The CVE id, or the vulnerability's title when it has none. */
  vulnerability: z.string(),
  status: ProductStatusName,
  product_ids: z.array(z.string()),
});

/** A fixing update or other remediation (CSAF `remediations`). */
export const Remediation = z.object({
  category: z.enum([
    "mitigation",
    "no_fix_planned",
    "none_available",
    "vendor_fix",
    "workaround",
    "fix_planned",
    "optional_patch",
  ]),
  vulnerability: z.string().optional(),
  details: z.string(),
  url: z.string().optional(),
  /** Microsoft update ids (`KB5034441`) named in the details or the URL. */
  kb_ids: z.array(z.string().regex(/^KB\d+$/)),
  /** Updates this one replaces, where the source says so (`Supersedes KB...`, MSRC `supersedence`). */
  supersedes: z.array(z.string()),
  product_ids: z.array(z.string()),
  date: Timestamp.optional(),
});
export type Remediation = z.infer<typeof Remediation>;

export const KnownExploited = z.object({
  /** Who says so: `cisa-kev` (the catalog, or NVD's copy of it) or the vendor's exploit status. */
  source: z.string(),
  date_added: IsoDate.optional(),
  due_date: IsoDate.optional(),
  required_action: z.string().optional(),
  /** KEV `knownRansomwareCampaignUse`: `Known` or `Unknown`. */
  ransomware_use: z.string().optional(),
  vulnerability_name: z.string().optional(),
  notes: z.string().optional(),
});

export const CvssScore = z.object({
  version: z.enum(["2.0", "3.0", "3.1", "4.0"]),
  score: z.number().min(0).max(10),
  vector: z.string(),
  severity: Severity.optional(),
  /** Who scored it (NVD `source`), or the CSAF products it applies to. */
  source: z.string().optional(),
  product_ids: z.array(z.string()).optional(),
});
export type CvssScore = z.infer<typeof CvssScore>;

export const AdvisoryReference = z.object({
  url: z.string(),
  summary: z.string().optional(),
  source: z.string().optional(),
  tags: z.array(z.string()).optional(),
});

/**
 * One advisory: a KEV entry, an NVD CVE, or a CSAF document, normalized to what the rules need to
 * know what is affected, what fixes it, and how urgent it is.
 * Keyed on Kafka by `advisoryKey`: `<source>/<id>`, so KEV, NVD and a vendor can each hold a record
 * of the same CVE on the compacted topic without overwriting each other.
 */
export const AdvisoryV1 = z.object({
  schema: z.literal("vigil.advisory/v1"),
  /** The CVE id (KEV, NVD) or the advisory's tracking id (CSAF). */
  id: z.string().min(1),
  source: AdvisorySource,
  title: z.string().optional(),
  summary: z.string().optional(),
  publisher: z.object({ name: z.string(), namespace: z.string().optional() }).optional(),
  cves: z.array(CveId),
  cwes: z.array(z.string()),
  /** NVD configurations flattened: every CPE match, vulnerable or not (platform conditions). */
  cpe_matches: z.array(CpeMatch),
  products: z.array(AdvisoryProduct),
  product_status: z.array(ProductStatus),
  remediations: z.array(Remediation),
  /** Every KB id of every vendor fix, for quick lookup against installed updates. */
  fixing_kb_ids: z.array(z.string().regex(/^KB\d+$/)),
  known_exploited: KnownExploited.optional(),
  cvss: z.array(CvssScore),
  /** The highest CVSS severity, or the source's own rating. */
  severity: Severity.optional(),
  published: Timestamp.optional(),
  updated: Timestamp.optional(),
  references: z.array(AdvisoryReference),
});
export type AdvisoryV1 = z.infer<typeof AdvisoryV1>;

/** The Kafka key of an advisory record. */
export function advisoryKey(advisory: Pick<AdvisoryV1, "source" | "id">): string {
  return `${advisory.source}/${advisory.id}`;
}

export const advisoriesTopics = {
  advisories: topic({
    name: "vigil.advisories",
    description:
      "Security advisories (CISA KEV, NVD CVEs, vendor CSAF): affected products, fixes, exploitation; compacted table.",
    key: "`<source>/<advisory or CVE id>` (advisoryKey)",
    partitions: 3,
    cleanupPolicy: "compact",
    retentionMs: -1,
    ceType: "dev.vigil.advisory.v1",
    value: AdvisoryV1,
  }),
} as const;
