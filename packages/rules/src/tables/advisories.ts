/**
 * Advisories by CVE (MISSION.md 4 and 5), merged across sources (CISA KEV, NVD, vendor CSAF), and
 * how a CVE meets a host. The matching is conservative: a host counts as exposed only on evidence
 * (see `exposureOf`), never because something about it is unknown.
 */
import {
  type AdvisoryProduct,
  type AdvisoryV1,
  advisoryKey,
  type CpeMatch,
  type HostV1,
} from "@vigil/schema";
import type { Exposure } from "../model.ts";
import { collectionKnown, osVersionOf, servicePackOf } from "./host-facts.ts";
import { normalizeKb } from "./supersedence.ts";
import { compareKnownPrecision, compareVersions, compareWithUpperBound, isVersion } from "./version.ts";

// ------------------------------------------------------------------------------------ CPE names

export interface Cpe {
  part: string;
  vendor: string;
  product: string;
  version: string;
  update: string;
}

/** `cpe:2.3:o:microsoft:windows_server_2019:-:*:...` (escaped colons kept); undefined when malformed. */
export function parseCpe(text: string): Cpe | undefined {
  const fields = text.split(/(?<!\\):/);
  if (fields.length < 7 || fields[0] !== "cpe" || fields[1] !== "2.3") return undefined;
  const clean = (value: string) => value.replace(/\\(.)/g, "$1").toLowerCase();
  return {
    part: clean(fields[2]!),
    vendor: clean(fields[3]!),
    product: clean(fields[4]!),
    version: clean(fields[5]!),
    update: clean(fields[6]!),
  };
}

/** Lower-case words joined by `_`: `7-Zip 23.01 (x64)` -> `7_zip_23_01_x64`. */
export function normalizeProductName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** Trailing words of an installed package's name that do not change which product it is. */
const NOISE = new Set(["x64", "x86", "amd64", "arm64", "i386", "i686", "64", "32", "bit"]);

/**
 * Whether an installed package is the CPE's product: its normalized name, with the vendor's words in
 * front optionally, is the product followed only by version or architecture words.
 * `Google Chrome` is google:chrome, `7-Zip 23.01 (x64)` is 7-zip:7-zip, `Microsoft Edge` is not
 * microsoft:edge_chromium, and `Chrome Remote Desktop Host` is not google:chrome.
 */
export function packageIsProduct(packageName: string, vendor: string, product: string): boolean {
  const words = normalizeProductName(packageName).split("_").filter(Boolean);
  const productWords = normalizeProductName(product).split("_").filter(Boolean);
  const vendorWords = normalizeProductName(vendor).split("_").filter(Boolean);
  const startsWith = (list: string[], prefix: string[]) =>
    prefix.length > 0 && prefix.length <= list.length && prefix.every((word, index) => list[index] === word);
  const restIsNoise = (rest: string[]) => rest.every((word) => /^\d/.test(word) || NOISE.has(word));
  if (startsWith(words, productWords) && restIsNoise(words.slice(productWords.length))) return true;
  if (startsWith(words, vendorWords)) {
    const rest = words.slice(vendorWords.length);
    if (startsWith(rest, productWords) && restIsNoise(rest.slice(productWords.length))) return true;
  }
  return false;
}

/** Candidate product keys of a package name (every prefix, with and without up to two leading vendor words). */
function packageProductKeys(name: string): string[] {
  const words = normalizeProductName(name).split("_").filter(Boolean);
  const keys = new Set<string>();
  for (let skip = 0; skip <= Math.min(2, words.length - 1); skip++)
    for (let end = skip + 1; end <= words.length; end++) keys.add(words.slice(skip, end).join("_"));
  return [...keys];
}

// ------------------------------------------------------------------------------- host identity

/** Windows builds to the release names NVD's newer CPE products carry (`windows_10_22h2`). */
const WINDOWS_RELEASES: Record<string, string> = {
  "10240": "1507",
  "10586": "1511",
  "14393": "1607",
  "15063": "1703",
  "16299": "1709",
  "17134": "1803",
  "17763": "1809",
  "18362": "1903",
  "18363": "1909",
  "19041": "2004",
  "19042": "20h2",
  "19043": "21h1",
  "19044": "21h2",
  "19045": "22h2",
  "22000": "21h2",
  "22621": "22h2",
  "22631": "23h2",
  "26100": "24h2",
};

const WINDOWS_EDITIONS =
  /\b(standard|datacenter|enterprise|professional|pro|home|education|essentials|foundation|web|evaluation|ltsc|ltsb|ultimate|business|starter|for\s+x64[- ]based\s+systems|for\s+32[- ]bit\s+systems|x64|x86|64-bit|32-bit)\b/g;

/** Linux distributions as NVD names them. */
const LINUX_CPE: { pattern: RegExp; vendor: string; product: string }[] = [
  { pattern: /^ubuntu\b/i, vendor: "canonical", product: "ubuntu_linux" },
  { pattern: /^debian\b/i, vendor: "debian", product: "debian_linux" },
  { pattern: /^red hat enterprise linux\b/i, vendor: "redhat", product: "enterprise_linux" },
  { pattern: /^centos\b/i, vendor: "centos", product: "centos" },
  { pattern: /^rocky linux\b/i, vendor: "rockylinux", product: "rocky_linux" },
  { pattern: /^fedora\b/i, vendor: "fedoraproject", product: "fedora" },
];

export interface OsIdentity {
  /** `windows server 2019`: the OS name without vendor, edition and service pack. */
  name: string;
  vendor: string;
  /** CPE products the OS is (`windows_server_2019`; `windows_10` and `windows_10_22h2`). */
  products: string[];
  /** CPE version field for Windows (`r2` or `-`); the OS version elsewhere. */
  cpeVersion: string;
  /** CPE update field (`sp1`, or `-` without a service pack). */
  cpeUpdate: string;
  /** The OS version for ranges (`10.0.17763`). */
  version: string | undefined;
}

/** Words a product name carries that are not the product (`Microsoft`, `(R)`, editions). */
function windowsName(name: string): { name: string; r2: boolean } {
  let text = name
    .toLowerCase()
    .replace(/[®™]|\(r\)|\(tm\)/g, " ")
    .replace(/\bmicrosoft\b/g, " ")
    .replace(/\bservice pack\s*\d+\b|\bsp\d+\b/g, " ");
  const r2 = /\br2\b/.test(text);
  text = text.replace(/\br2\b/g, " ").replace(WINDOWS_EDITIONS, " ");
  return { name: text.replace(/[^a-z0-9]+/g, " ").trim(), r2 };
}

export function osIdentity(host: HostV1): OsIdentity | undefined {
  const osName = host.os.name;
  if (!osName) return undefined;
  const version = osVersionOf(host);
  if (host.os.type === "windows" || /windows/i.test(osName)) {
    const { name, r2 } = windowsName(osName);
    if (!name.startsWith("windows")) return undefined;
    const product = name.replace(/ /g, "_");
    const products = [product];
    const build = version?.split(".")[2];
    const release = build ? WINDOWS_RELEASES[build] : undefined;
    if (release && (product === "windows_10" || product === "windows_11"))
      products.push(`${product}_${release}`);
    const sp = servicePackOf(host);
    return {
      name: r2 ? `${name} r2` : name,
      vendor: "microsoft",
      products,
      cpeVersion: r2 ? "r2" : "-",
      cpeUpdate: sp ? `sp${sp}` : "-",
      version,
    };
  }
  const linux = LINUX_CPE.find((entry) => entry.pattern.test(osName));
  if (!linux) return undefined;
  return {
    name: normalizeProductName(osName).replace(/_/g, " "),
    vendor: linux.vendor,
    products: [linux.product],
    cpeVersion: version ?? "*",
    cpeUpdate: "*",
    version,
  };
}

/** A CSAF product name reduced like an OS name (`Windows Server 2008 R2 for x64-based Systems Service Pack 1`). */
function productOsName(product: AdvisoryProduct): string | undefined {
  const name = product.product_name ?? product.name;
  if (!/windows/i.test(name)) return undefined;
  const reduced = windowsName(name);
  return reduced.r2 ? `${reduced.name} r2` : reduced.name;
}

// ----------------------------------------------------------------------------- version ranges

interface Bounds {
  start_including?: string | undefined;
  start_excluding?: string | undefined;
  end_including?: string | undefined;
  end_excluding?: string | undefined;
}

function hasBounds(bounds: Bounds): boolean {
  return Object.values(bounds).some((value) => value !== undefined);
}

/**
 * Whether a version lies within NVD-style bounds: true, false, or undefined when the version is
 * less precise than a bound it sits on (`10.0.19045` against `< 10.0.19045.4170`).
 */
function withinBounds(version: string, bounds: Bounds, precise: boolean): boolean | undefined {
  const compare = (bound: string) =>
    precise ? compareKnownPrecision(version, bound) : compareVersions(version, bound);
  const checks: [string | undefined, (order: number) => boolean][] = [
    [bounds.start_including, (order) => order >= 0],
    [bounds.start_excluding, (order) => order > 0],
    [bounds.end_including, (order) => order <= 0],
    [bounds.end_excluding, (order) => order < 0],
  ];
  let unknown = false;
  for (const [bound, accepts] of checks) {
    if (bound === undefined) continue;
    const order = compare(bound);
    if (order === undefined) unknown = true;
    else if (!accepts(order)) return false;
  }
  return unknown ? undefined : true;
}

function describeBounds(bounds: Bounds): string {
  const parts: string[] = [];
  if (bounds.start_including) parts.push(`>= ${bounds.start_including}`);
  if (bounds.start_excluding) parts.push(`> ${bounds.start_excluding}`);
  if (bounds.end_including) parts.push(`<= ${bounds.end_including}`);
  if (bounds.end_excluding) parts.push(`< ${bounds.end_excluding}`);
  return parts.join(", ");
}

/**
 * A CSAF `product_version_range` in `vers:` notation (`vers:generic/>=2.0.0|<2.15.0`): consecutive
 * lower and upper bounds form intervals, `=` a single version. Undefined when not understood.
 */
export function parseVers(text: string): ((version: string) => boolean) | undefined {
  const match = /^vers:[a-z0-9.+-]+\/(.+)$/i.exec(text.trim());
  if (!match) return undefined;
  const constraints = match[1]!.split("|").map((part) => part.trim());
  if (constraints.includes("*")) return () => true;
  const parsed: { op: string; version: string }[] = [];
  for (const constraint of constraints) {
    const parts = /^(>=|<=|>|<|!=|=)?(.+)$/.exec(constraint);
    if (!parts || !isVersion(parts[2]!)) return undefined;
    parsed.push({ op: parts[1] ?? "=", version: parts[2]! });
  }
  return (version) => {
    if (parsed.some((c) => c.op === "!=" && compareVersions(version, c.version) === 0)) return false;
    if (parsed.some((c) => c.op === "=" && compareVersions(version, c.version) === 0)) return true;
    const ranges = parsed.filter((c) => c.op !== "=" && c.op !== "!=");
    for (let index = 0; index < ranges.length; index++) {
      const current = ranges[index]!;
      const lower = current.op === ">" || current.op === ">=" ? current : undefined;
      const upper = lower ? ranges[index + 1] : current;
      const upperOk = upper && (upper.op === "<" || upper.op === "<=") ? upper : undefined;
      if (lower && upperOk) index += 1;
      const aboveLower =
        !lower ||
        (lower.op === ">"
          ? compareVersions(version, lower.version) > 0
          : compareVersions(version, lower.version) >= 0);
      const belowUpper =
        !upperOk ||
        (upperOk.op === "<"
          ? compareVersions(version, upperOk.version) < 0
          : compareWithUpperBound(version, upperOk.version) <= 0);
      if ((lower || upperOk) && aboveLower && belowUpper) return true;
    }
    return false;
  };
}

// ------------------------------------------------------------------------------------ matching

/** One piece of evidence that an advisory's product is on the host. */
interface ProductMatch {
  advisory: AdvisoryV1;
  kind: "os" | "software";
  /** CSAF product ids that matched (to find the remediations for them). */
  productIds: string[];
  /** The version was checked against the advisory's bounds (the match alone says "affected"). */
  versioned: boolean;
  /** Human description: `Windows Server 2019 (cpe:2.3:o:microsoft:windows_server_2019:-:...)`. */
  what: string;
}

function matchOsCpe(os: OsIdentity, cpe: Cpe, bounds: Bounds): { versioned: boolean } | undefined {
  if (cpe.part !== "o" || cpe.vendor !== os.vendor || !os.products.includes(cpe.product)) return undefined;
  if (cpe.update !== "*" && cpe.update !== os.cpeUpdate) return undefined;
  if (cpe.version !== "*") {
    if (os.vendor === "microsoft") return cpe.version === os.cpeVersion ? { versioned: false } : undefined;
    if (!os.version || compareWithUpperBound(os.version, cpe.version) !== 0) return undefined;
    return { versioned: false };
  }
  if (!hasBounds(bounds)) return { versioned: false };
  if (!os.version) return undefined;
  const within = withinBounds(os.version, bounds, true);
  if (within === false) return undefined;
  return { versioned: within === true };
}

function matchSoftwareCpe(
  host: HostV1,
  cpe: Cpe,
  bounds: Bounds,
): { versioned: boolean; what: string } | undefined {
  if (cpe.part !== "a") return undefined;
  for (const pkg of host.software) {
    if (!packageIsProduct(pkg.name, cpe.vendor, cpe.product)) continue;
    if (pkg.version === undefined) continue;
    if (cpe.version !== "*" && cpe.version !== "-") {
      const wanted = cpe.update !== "*" && cpe.update !== "-" ? `${cpe.version}-${cpe.update}` : cpe.version;
      if (compareVersions(pkg.version, wanted) === 0)
        return { versioned: true, what: `${pkg.name} ${pkg.version}` };
      continue;
    }
    if (!hasBounds(bounds))
      return { versioned: true, what: `${pkg.name} ${pkg.version} (every version affected)` };
    if (withinBounds(pkg.version, bounds, false) === true)
      return { versioned: true, what: `${pkg.name} ${pkg.version} (affected ${describeBounds(bounds)})` };
  }
  return undefined;
}

const AFFECTED = new Set(["known_affected", "first_affected", "last_affected"]);
const FIXED = new Set(["fixed", "first_fixed"]);

function vulnerabilityIs(cve: string, name: string | undefined): boolean {
  return name === undefined || name.toUpperCase() === cve;
}

/** Products of a CSAF advisory the CVE affects (every product when no status is given for it). */
function affectedProducts(
  advisory: AdvisoryV1,
  cve: string,
): { affected: AdvisoryProduct[]; fixed: Set<string> } {
  const statuses = advisory.product_status.filter((status) => vulnerabilityIs(cve, status.vulnerability));
  const fixed = new Set(
    statuses.filter((status) => FIXED.has(status.status)).flatMap((status) => status.product_ids),
  );
  const affectedIds = new Set(
    statuses.filter((status) => AFFECTED.has(status.status)).flatMap((status) => status.product_ids),
  );
  if (statuses.length === 0) return { affected: advisory.products, fixed };
  return { affected: advisory.products.filter((product) => affectedIds.has(product.product_id)), fixed };
}

function matchProduct(
  host: HostV1,
  os: OsIdentity | undefined,
  product: AdvisoryProduct,
): { kind: "os" | "software"; versioned: boolean; what: string } | undefined {
  const cpe = product.cpe ? parseCpe(product.cpe) : undefined;
  const versionCheck = (version: string | undefined): boolean | undefined => {
    if (product.version !== undefined)
      return version === undefined ? undefined : compareVersions(version, product.version) === 0;
    if (product.version_range !== undefined) {
      const matches = parseVers(product.version_range);
      if (!matches || version === undefined) return undefined;
      return matches(version);
    }
    return undefined;
  };
  if (cpe) {
    if (os && cpe.part === "o") {
      const matched = matchOsCpe(os, cpe, {});
      if (matched) return { kind: "os", versioned: false, what: `${product.name} (${product.cpe})` };
      return undefined;
    }
    if (cpe.part === "a") {
      const versioned = product.version !== undefined || product.version_range !== undefined;
      for (const pkg of host.software) {
        if (!packageIsProduct(pkg.name, cpe.vendor, cpe.product)) continue;
        const ok = versioned ? versionCheck(pkg.version) : undefined;
        if (ok === false) continue;
        return {
          kind: "software",
          versioned: ok === true,
          what: `${pkg.name}${pkg.version ? ` ${pkg.version}` : ""} (${product.name})`,
        };
      }
    }
    return undefined;
  }
  const osName = productOsName(product);
  if (os && osName !== undefined && osName === os.name)
    return { kind: "os", versioned: false, what: product.name };
  const name = normalizeProductName(product.product_name ?? product.name);
  const vendor = product.vendor ? normalizeProductName(product.vendor) : "";
  for (const pkg of host.software) {
    if (!packageIsProduct(pkg.name, vendor, name)) continue;
    const ok = versionCheck(pkg.version);
    if (ok === false) continue;
    return {
      kind: "software",
      versioned: ok === true,
      what: `${pkg.name}${pkg.version ? ` ${pkg.version}` : ""} (${product.name})`,
    };
  }
  return undefined;
}

/** Every piece of evidence that one advisory's affected products are on the host. */
function productMatches(
  host: HostV1,
  os: OsIdentity | undefined,
  advisory: AdvisoryV1,
  cve: string,
): ProductMatch[] {
  const matches: ProductMatch[] = [];
  const { affected, fixed } = affectedProducts(advisory, cve);
  for (const product of affected) {
    if (fixed.has(product.product_id)) continue;
    const matched = matchProduct(host, os, product);
    if (matched) matches.push({ advisory, productIds: [product.product_id], ...matched });
  }
  for (const entry of advisory.cpe_matches) {
    if (!entry.vulnerable) continue;
    const cpe = parseCpe(entry.criteria);
    if (!cpe) continue;
    const bounds = boundsOf(entry);
    if (os) {
      const matched = matchOsCpe(os, cpe, bounds);
      if (matched) {
        const range = describeBounds(bounds);
        matches.push({
          advisory,
          kind: "os",
          productIds: [],
          versioned: matched.versioned,
          what: `${host.os.name} (${entry.criteria}${range ? `, ${range}` : ""})`,
        });
        continue;
      }
    }
    const software = matchSoftwareCpe(host, cpe, bounds);
    if (software)
      matches.push({
        advisory,
        kind: "software",
        productIds: [],
        versioned: true,
        what: `${software.what} (${entry.criteria})`,
      });
  }
  return matches;
}

function boundsOf(entry: CpeMatch): Bounds {
  return {
    start_including: entry.version_start_including,
    start_excluding: entry.version_start_excluding,
    end_including: entry.version_end_including,
    end_excluding: entry.version_end_excluding,
  };
}

/** The fixing updates an advisory names for the matched products (all its fixes when it does not map them). */
function fixingKbs(advisory: AdvisoryV1, cve: string, productIds: string[]): string[] {
  const kbs = new Set<string>();
  const fixes = advisory.remediations.filter(
    (remediation) =>
      remediation.category === "vendor_fix" &&
      vulnerabilityIs(cve, remediation.vulnerability) &&
      remediation.kb_ids.length > 0,
  );
  const mapped = fixes.filter((remediation) => remediation.product_ids.length > 0);
  for (const remediation of fixes) {
    const applies =
      remediation.product_ids.length === 0 ||
      productIds.length === 0 ||
      remediation.product_ids.some((id) => productIds.includes(id));
    if (applies) for (const kb of remediation.kb_ids) kbs.add(kb);
  }
  if (kbs.size === 0 && mapped.length === 0) for (const kb of advisory.fixing_kb_ids) kbs.add(kb);
  return [...kbs].map((kb) => normalizeKb(kb) ?? kb);
}

export interface ExposureContext {
  /** Whether the host has the update, directly or through a superseding one. */
  hasUpdate(host: HostV1, kb: string): boolean;
}

const SOURCE_ORDER = (advisory: AdvisoryV1) =>
  advisory.source.startsWith("csaf:")
    ? 0
    : advisory.source === "nvd"
      ? 1
      : advisory.source === "cisa-kev"
        ? 2
        : 3;

/**
 * How one CVE meets one host, merging every source's advisory for it:
 *
 * - **fix by update**: a matched operating-system product whose advisory names fixing KBs (the
 *   ones for that product when the advisory maps them): exposed when the host's update inventory is
 *   known and none of them is installed, directly or through a superseding update; an installed
 *   fix also clears a version-less match of the same OS from another source (NVD `windows_server_2019:-`).
 * - **version range**: installed software, or an OS version, inside an advisory's bounds
 *   (`version_end_excluding` ...), exact versions, or CSAF `vers:` ranges.
 * - anything else (a product without version or fix information, an OS version less precise than
 *   the bound, KEV's vendor/product names) is not evidence, and is not reported.
 *
 * `known_exploited` is true when any source for the CVE says so.
 */
export function exposureOf(
  host: HostV1,
  cve: string,
  advisories: readonly AdvisoryV1[],
  context: ExposureContext,
): Exposure | undefined {
  if (advisories.length === 0) return undefined;
  const os = osIdentity(host);
  const ordered = [...advisories].sort(
    (a, b) => SOURCE_ORDER(a) - SOURCE_ORDER(b) || advisoryKey(a).localeCompare(advisoryKey(b)),
  );
  const knownExploited = ordered.some((advisory) => advisory.known_exploited !== undefined);
  const updatesKnown = collectionKnown(host, "updates");
  const matches = ordered.flatMap((advisory) => productMatches(host, os, advisory, cve));
  if (matches.length === 0) return undefined;

  const osMatches = matches.filter((match) => match.kind === "os");
  // Fix evidence for the OS: the union of the KBs every matched source names for it.
  const osFixes = osMatches.map((match) => ({
    match,
    kbs: fixingKbs(match.advisory, cve, match.productIds),
  }));
  const allOsKbs = [...new Set(osFixes.flatMap((fix) => fix.kbs))];
  const osFixed = allOsKbs.find((kb) => context.hasUpdate(host, kb));
  if (osMatches.length > 0 && allOsKbs.length > 0 && osFixed === undefined && updatesKnown) {
    const decisive = osFixes.find((fix) => fix.kbs.length > 0)!;
    return {
      advisory: decisive.match.advisory,
      cve,
      missing_kbs: allOsKbs,
      reason: `${decisive.match.what} is affected (${advisoryKey(decisive.match.advisory)}) and lacks ${allOsKbs.join(", ")} or a superseding update`,
      known_exploited: knownExploited,
    };
  }
  if (osFixed === undefined) {
    const versionedOs = osMatches.find((match) => match.versioned);
    if (versionedOs)
      return {
        advisory: versionedOs.advisory,
        cve,
        missing_kbs: [],
        reason: `${versionedOs.what}: the OS version is in the affected range (${advisoryKey(versionedOs.advisory)})`,
        known_exploited: knownExploited,
      };
  }
  const software = matches.find((match) => match.kind === "software" && match.versioned);
  if (software)
    return {
      advisory: software.advisory,
      cve,
      missing_kbs: [],
      reason: `${software.what}: installed version affected (${advisoryKey(software.advisory)})`,
      known_exploited: knownExploited,
    };
  return undefined;
}

// --------------------------------------------------------------------------------------- index

/** Advisories by key and by CVE, with a product index so a host only meets the CVEs of its products. */
export class AdvisoryIndex {
  readonly #byKey = new Map<string, AdvisoryV1>();
  readonly #byCve = new Map<string, Set<string>>();
  /** product key -> advisory keys. */
  readonly #byProduct = new Map<string, Set<string>>();

  get size(): number {
    return this.#byKey.size;
  }
  get cveCount(): number {
    return this.#byCve.size;
  }

  get(key: string): AdvisoryV1 | undefined {
    return this.#byKey.get(key);
  }

  all(): IterableIterator<AdvisoryV1> {
    return this.#byKey.values();
  }

  /** Adds or replaces an advisory (keyed by `advisoryKey`). */
  apply(advisory: AdvisoryV1): string {
    const key = advisoryKey(advisory);
    this.remove(key);
    this.#byKey.set(key, advisory);
    for (const cve of advisory.cves) add(this.#byCve, cve.toUpperCase(), key);
    for (const productKey of advisoryProductKeys(advisory)) add(this.#byProduct, productKey, key);
    return key;
  }

  remove(key: string): AdvisoryV1 | undefined {
    const previous = this.#byKey.get(key);
    if (!previous) return undefined;
    this.#byKey.delete(key);
    for (const cve of previous.cves) drop(this.#byCve, cve.toUpperCase(), key);
    for (const productKey of advisoryProductKeys(previous)) drop(this.#byProduct, productKey, key);
    return previous;
  }

  /** Every source's advisory for a CVE: CSAF first, then NVD, then KEV. */
  forCve(cve: string): AdvisoryV1[] {
    const keys = this.#byCve.get(cve.trim().toUpperCase());
    if (!keys) return [];
    return [...keys]
      .map((key) => this.#byKey.get(key)!)
      .sort((a, b) => SOURCE_ORDER(a) - SOURCE_ORDER(b) || advisoryKey(a).localeCompare(advisoryKey(b)));
  }

  /** The CVEs whose advisories name a product the host has (its OS or an installed package). */
  candidateCves(host: HostV1): string[] {
    const keys = new Set<string>();
    const os = osIdentity(host);
    if (os) {
      for (const product of os.products) keys.add(`cpe:${product}`);
      keys.add(`name:${os.name}`);
    }
    for (const pkg of host.software) for (const key of packageProductKeys(pkg.name)) keys.add(`cpe:${key}`);
    const cves = new Set<string>();
    for (const key of keys)
      for (const advisoryKeyText of this.#byProduct.get(key) ?? [])
        for (const cve of this.#byKey.get(advisoryKeyText)?.cves ?? []) cves.add(cve.toUpperCase());
    return [...cves].sort();
  }
}

function advisoryProductKeys(advisory: AdvisoryV1): Set<string> {
  const keys = new Set<string>();
  for (const entry of advisory.cpe_matches) {
    const cpe = entry.vulnerable ? parseCpe(entry.criteria) : undefined;
    if (cpe) keys.add(`cpe:${normalizeProductName(cpe.product)}`);
  }
  for (const product of advisory.products) {
    const cpe = product.cpe ? parseCpe(product.cpe) : undefined;
    if (cpe) keys.add(`cpe:${normalizeProductName(cpe.product)}`);
    else {
      const osName = productOsName(product);
      if (osName !== undefined) keys.add(`name:${osName}`);
      keys.add(`cpe:${normalizeProductName(product.product_name ?? product.name)}`);
    }
  }
  return keys;
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function drop(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  set?.delete(value);
  if (set?.size === 0) map.delete(key);
}

/** `superseding -> superseded` edges an advisory's remediations state. */
export function advisorySupersedence(advisory: AdvisoryV1): [string, string[]][] {
  const edges: [string, string[]][] = [];
  for (const remediation of advisory.remediations)
    if (remediation.supersedes.length > 0)
      for (const kb of remediation.kb_ids) edges.push([kb, remediation.supersedes]);
  return edges;
}
