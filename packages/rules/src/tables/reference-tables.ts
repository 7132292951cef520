/**
 * The reference tables every rules-engine instance holds whole (MISSION.md 1, 2, 4, 5): inventory
 * hosts, advisories, baselines, priority lists and exceptions, restored from their compacted
 * topics before any event is judged and updated live. One mutable object implementing
 * `ReferenceTables`; every update is atomic (a refused document leaves the previous version in place).
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { basename } from "node:path";
import type { AdvisoryV1, HostV1, PriorityTier, ReferenceKind } from "@vigil/schema";
import { canonicalIp } from "../cidr.ts";
import type { BaselineDelta, Exposure, Ownership, ReferenceTables, ResolvedAsset } from "../model.ts";
import {
  AssetTable,
  compareSelectorRank,
  type PriorityAsset,
  type PriorityDecision,
  type PriorityListFile,
  type SelectorRank,
  validatePriorityList,
} from "../priority-list.ts";
import { AdvisoryIndex, advisorySupersedence, exposureOf } from "./advisories.ts";
import {
  assessClass,
  type BaselinesFile,
  BaselinesFile as BaselinesSchema,
  type ClassChoice,
  type CompiledBaseline,
  chooseClass,
  compileBaselines,
  type UnknownItem,
} from "./baselines.ts";
import {
  assetKey,
  type CompiledException,
  compileExceptions,
  ExceptionIndex,
  type ExceptionsFile,
  ExceptionsFile as ExceptionsSchema,
  exceptedBy,
} from "./exceptions.ts";
import { displayName, installedKbs, namesOf } from "./host-facts.ts";
import { HostIndex } from "./hosts.ts";
import { findSupersedenceCycle, SupersedenceGraph } from "./supersedence.ts";
import {
  type DocumentProblem,
  formatProblem,
  parseYamlDocument,
  type ValueProblem,
} from "./yaml-document.ts";

/** A reference document as published on `vigil.reference` (ReferenceDocumentV1 fits). */
export interface ReferenceDocumentInput {
  kind: ReferenceKind;
  name: string;
  /** Where it came from (a path, a ConfigMap): named in every error. */
  origin: string;
  content: string;
  /** When given, republishing identical content is a no-op. */
  sha256?: string;
}

/** An invalid reference document: where, which field (path, line:column) and what was expected. */
export class ReferenceDocumentError extends Error {
  override name = "ReferenceDocumentError";
  readonly kind: ReferenceKind;
  readonly document: string;
  readonly origin: string;
  readonly problems: DocumentProblem[];
  constructor(kind: ReferenceKind, document: string, origin: string, problems: DocumentProblem[]) {
    super(
      `invalid ${kind} document "${document}" (${origin}):\n  ${problems.map((problem) => formatProblem(origin, problem)).join("\n  ")}`,
    );
    this.kind = kind;
    this.document = document;
    this.origin = origin;
    this.problems = problems;
  }
}

/** The baseline differences of a host for one baseline, with what the host record could not decide. */
export interface BaselineAssessment {
  baseline: { name: string; version: string; document: string };
  /** The class chosen, or why none was. */
  choice: { kind: "class"; class: string; specificity: number } | { kind: "ambiguous"; classes: string[] };
  deltas: BaselineDelta[];
  unknown: UnknownItem[];
}

export interface ReferenceTableSetOptions {
  /** The tier of unknown assets while no priority list is loaded (default `medium`). */
  defaultTier?: PriorityTier;
}

export interface ReferenceFiles {
  baselines?: string | readonly string[] | undefined;
  priorityLists?: string | readonly string[] | undefined;
  exceptions?: string | readonly string[] | undefined;
}

interface StoredDocument<T> {
  origin: string;
  sha256?: string | undefined;
  value: T;
}

export type HostTombstone = { id: string; deleted: true };
export type AdvisoryTombstone = { key: string; deleted: true };

const DEFAULT_TIER: PriorityTier = "medium";

export class ReferenceTableSet implements ReferenceTables {
  readonly #options: ReferenceTableSetOptions;
  readonly #hosts = new HostIndex();
  readonly #advisories = new AdvisoryIndex();
  readonly #supersedence = new SupersedenceGraph();
  readonly #baselineDocs = new Map<string, StoredDocument<CompiledBaseline[]>>();
  readonly #exceptionDocs = new Map<string, StoredDocument<CompiledException[]>>();
  readonly #priorityDocs = new Map<string, StoredDocument<AssetTable>>();
  #baselines: CompiledBaseline[] = [];
  #exceptions = new ExceptionIndex();
  #priorityTables: AssetTable[] = [];
  #installed = new WeakMap<HostV1, Set<string>>();

  constructor(options: ReferenceTableSetOptions = {}) {
    this.#options = options;
  }

  // ------------------------------------------------------------------------------- documents

  /**
   * Adds or replaces a document (by kind and name). Throws `ReferenceDocumentError` on invalid
   * content or a conflict with another loaded document; the previous version then stays.
   */
  setDocument(document: ReferenceDocumentInput): void {
    const { kind, name, origin, content } = document;
    const stores = {
      baselines: this.#baselineDocs,
      exceptions: this.#exceptionDocs,
      "priority-list": this.#priorityDocs,
    } as const;
    const previous = stores[kind]?.get(name);
    if (previous && document.sha256 !== undefined && previous.sha256 === document.sha256) return;
    const fail = (problems: DocumentProblem[]) => new ReferenceDocumentError(kind, name, origin, problems);
    switch (kind) {
      case "baselines": {
        const result = parseYamlDocument(content, BaselinesSchema, (file) =>
          this.#baselineConflicts(name, file),
        );
        if (!result.ok) throw fail(result.problems);
        this.#baselineDocs.set(name, {
          origin,
          sha256: document.sha256,
          value: compileBaselines(result.value, `baselines/${name}`),
        });
        this.#rebuildBaselines();
        return;
      }
      case "exceptions": {
        const result = parseYamlDocument(content, ExceptionsSchema, (file) =>
          this.#exceptionConflicts(name, file),
        );
        if (!result.ok) throw fail(result.problems);
        this.#exceptionDocs.set(name, {
          origin,
          sha256: document.sha256,
          value: compileExceptions(result.value, `exceptions/${name}`),
        });
        this.#rebuildExceptions();
        return;
      }
      case "priority-list": {
        const result = validatePriorityList(content, (list) => this.#priorityConflicts(name, list));
        if (!result.ok) throw fail(result.problems);
        this.#priorityDocs.set(name, {
          origin,
          sha256: document.sha256,
          value: new AssetTable(result.value, origin),
        });
        this.#rebuildPriority();
        return;
      }
      default:
        throw fail([{ path: "(document)", message: `unknown reference kind ${String(kind)}` }]);
    }
  }

  /** Withdraws a document (a tombstone on `vigil.reference`); false when it was not loaded. */
  removeDocument(kind: ReferenceKind, name: string): boolean {
    switch (kind) {
      case "baselines":
        if (!this.#baselineDocs.delete(name)) return false;
        this.#rebuildBaselines();
        return true;
      case "exceptions":
        if (!this.#exceptionDocs.delete(name)) return false;
        this.#rebuildExceptions();
        return true;
      case "priority-list":
        if (!this.#priorityDocs.delete(name)) return false;
        this.#rebuildPriority();
        return true;
      default:
        return false;
    }
  }

  /** The loaded documents, by kind and name. */
  documents(): { kind: ReferenceKind; name: string; origin: string }[] {
    const list: { kind: ReferenceKind; name: string; origin: string }[] = [];
    for (const [name, doc] of this.#baselineDocs) list.push({ kind: "baselines", name, origin: doc.origin });
    for (const [name, doc] of this.#priorityDocs)
      list.push({ kind: "priority-list", name, origin: doc.origin });
    for (const [name, doc] of this.#exceptionDocs)
      list.push({ kind: "exceptions", name, origin: doc.origin });
    return list.sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1));
  }

  /**
   * Reads YAML files as documents named after the file (`windows.yaml` is `windows`). Two files of
   * one kind with the same name are refused: the second would silently replace the first.
   */
  async loadReferenceFiles(files: ReferenceFiles): Promise<void> {
    const kinds: [ReferenceKind, ReferenceFiles[keyof ReferenceFiles]][] = [
      ["baselines", files.baselines],
      ["priority-list", files.priorityLists],
      ["exceptions", files.exceptions],
    ];
    for (const [kind, paths] of kinds) {
      const list = paths === undefined ? [] : typeof paths === "string" ? [paths] : paths;
      const seen = new Map<string, string>();
      for (const path of list) {
        const name = basename(path).replace(/\.(ya?ml|json)$/i, "");
        const other = seen.get(name);
        if (other !== undefined)
          throw new ReferenceDocumentError(kind, name, path, [
            { path: "(document)", message: `another ${kind} file has the same name: ${other}` },
          ]);
        seen.set(name, path);
        let content: string;
        try {
          content = await readFile(path, "utf8");
        } catch (error) {
          throw new ReferenceDocumentError(kind, name, path, [
            { path: "(document)", message: `cannot read the file: ${(error as Error).message}` },
          ]);
        }
        this.setDocument({ kind, name, origin: path, content });
      }
    }
  }

  /** Same as `loadReferenceFiles`. */
  loadFiles(files: ReferenceFiles): Promise<void> {
    return this.loadReferenceFiles(files);
  }

  #baselineConflicts(name: string, file: BaselinesFile): ValueProblem[] {
    const problems: ValueProblem[] = [];
    const others = new Map<string, string>();
    const edges = new Map<string, string[]>();
    for (const [docName, doc] of this.#baselineDocs) {
      if (docName === name) continue;
      for (const baseline of doc.value) {
        others.set(baseline.ref.name, doc.origin);
        for (const [kb, olders] of baseline.supersedence)
          edges.set(kb, [...(edges.get(kb) ?? []), ...olders]);
      }
    }
    const compiled = compileBaselines(file, `baselines/${name}`);
    file.baselines.forEach((baseline, index) => {
      const other = others.get(baseline.name);
      if (other !== undefined)
        problems.push({
          path: ["baselines", index, "name"],
          message: `baseline ${baseline.name} is already defined by ${other}`,
        });
      for (const [kb, olders] of compiled[index]!.supersedence)
        edges.set(kb, [...(edges.get(kb) ?? []), ...olders]);
    });
    const cycle = findSupersedenceCycle(edges);
    if (cycle)
      problems.push({
        path: [],
        message: `with the other baselines documents, supersedence forms a cycle: ${cycle.join(" supersedes ")}`,
      });
    return problems;
  }

  #exceptionConflicts(name: string, file: ExceptionsFile): ValueProblem[] {
    const others = new Map<string, string>();
    for (const [docName, doc] of this.#exceptionDocs)
      if (docName !== name) for (const exception of doc.value) others.set(exception.id, doc.origin);
    const problems: ValueProblem[] = [];
    file.exceptions.forEach((entry, index) => {
      const other = others.get(entry.id);
      if (other !== undefined)
        problems.push({
          path: ["exceptions", index, "id"],
          message: `exception ${entry.id} is already defined by ${other}`,
        });
    });
    return problems;
  }

  #priorityConflicts(name: string, list: PriorityListFile): ValueProblem[] {
    const problems: ValueProblem[] = [];
    const differing = [...this.#priorityDocs].find(
      ([docName, doc]) => docName !== name && doc.value.defaultTier !== list.defaultTier,
    );
    if (differing)
      problems.push({
        path: ["defaultTier"],
        message: `${list.defaultTier} differs from ${differing[1].value.defaultTier} in ${differing[1].origin}: priority lists must agree on the default tier`,
      });
    for (const [docName, doc] of this.#priorityDocs) {
      if (docName === name) continue;
      const other = doc.value;
      const organisations = new Set(other.organisations.map((organisation) => organisation.name));
      list.organisations.forEach((organisation, index) => {
        if (organisations.has(organisation.name))
          problems.push({
            path: ["organisations", index, "name"],
            message: `organisation ${organisation.name} is already described by ${doc.origin}`,
          });
      });
      list.assets.forEach((asset, index) => {
        if (other.assetById(asset.id))
          problems.push({
            path: ["assets", index, "id"],
            message: `asset ${asset.id} is already listed by ${doc.origin}`,
          });
        if (asset.hostname !== undefined) {
          const holder = other.assetByHostname(asset.hostname);
          if (holder)
            problems.push({
              path: ["assets", index, "hostname"],
              message: `hostname ${asset.hostname} is already listed for asset ${holder.id} by ${doc.origin}`,
            });
        }
        asset.ips.forEach((ip, ipIndex) => {
          const holder = other.assetFor(ip);
          if (holder)
            problems.push({
              path: ["assets", index, "ips", ipIndex],
              message: `address already listed for asset ${holder.id} by ${doc.origin}`,
            });
        });
      });
    }
    return problems;
  }

  #rebuildBaselines(): void {
    const names = [...this.#baselineDocs.keys()].sort();
    this.#baselines = names
      .flatMap((name) => this.#baselineDocs.get(name)!.value)
      .sort((a, b) => (a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0));
    for (const source of this.#baselineSources) this.#supersedence.removeSource(source);
    this.#baselineSources = [];
    for (const name of names) {
      const source = `baselines/${name}`;
      this.#supersedence.setSource(
        source,
        this.#baselineDocs.get(name)!.value.flatMap((baseline) => [...baseline.supersedence]),
      );
      this.#baselineSources.push(source);
    }
    this.#installed = new WeakMap();
  }
  #baselineSources: string[] = [];

  #rebuildExceptions(): void {
    const names = [...this.#exceptionDocs.keys()].sort();
    this.#exceptions = new ExceptionIndex(names.flatMap((name) => this.#exceptionDocs.get(name)!.value));
  }

  #rebuildPriority(): void {
    this.#priorityTables = [...this.#priorityDocs.keys()]
      .sort()
      .map((name) => this.#priorityDocs.get(name)!.value);
  }

  // ------------------------------------------------------------------------ hosts, advisories

  /** Adds or replaces a host's state; `{ id, deleted: true }` (a tombstone) forgets it. */
  applyHost(host: HostV1 | HostTombstone): void {
    if ("deleted" in host && host.deleted === true) {
      this.#hosts.remove(host.id);
      return;
    }
    this.#hosts.upsert(host as HostV1);
  }

  removeHost(id: string): boolean {
    return this.#hosts.remove(id);
  }

  /** Adds or replaces an advisory (keyed by `advisoryKey`); `{ key, deleted: true }` withdraws one. */
  applyAdvisory(advisory: AdvisoryV1 | AdvisoryTombstone): void {
    if ("deleted" in advisory && advisory.deleted === true) {
      this.removeAdvisory(advisory.key);
      return;
    }
    const record = advisory as AdvisoryV1;
    const key = this.#advisories.apply(record);
    this.#supersedence.setSource(`advisory:${key}`, advisorySupersedence(record));
  }

  removeAdvisory(key: string): boolean {
    this.#supersedence.removeSource(`advisory:${key}`);
    return this.#advisories.remove(key) !== undefined;
  }

  /** Entry counts for metrics and the readiness log. */
  sizes(): Record<string, number> {
    let classes = 0;
    for (const baseline of this.#baselines) classes += baseline.classes.length;
    let assets = 0;
    let selectors = 0;
    for (const table of this.#priorityTables) {
      assets += table.assetCount;
      selectors += table.selectorCount;
    }
    return {
      hosts: this.#hosts.size,
      host_addresses: this.#hosts.addressCount,
      host_names: this.#hosts.nameCount,
      advisories: this.#advisories.size,
      advisory_cves: this.#advisories.cveCount,
      baseline_documents: this.#baselineDocs.size,
      baselines: this.#baselines.length,
      baseline_classes: classes,
      supersedence_edges: this.#supersedence.edgeCount,
      priority_lists: this.#priorityDocs.size,
      priority_assets: assets,
      priority_selectors: selectors,
      exception_documents: this.#exceptionDocs.size,
      exceptions: this.#exceptions.size,
    };
  }

  // ---------------------------------------------------------------------------- ReferenceTables

  host(id: string): HostV1 | undefined {
    return this.#hosts.get(id);
  }

  hosts(): Iterable<HostV1> {
    return this.#hosts.all();
  }

  /** The host a query designates: by id, else by current address, else by an unambiguous name. */
  findHost(query: {
    ip?: string | undefined;
    hostname?: string | undefined;
    id?: string | undefined;
  }): HostV1 | undefined {
    return (
      (query.id !== undefined ? this.#hosts.get(query.id) : undefined) ??
      (query.ip !== undefined ? this.#hosts.byIp(query.ip) : undefined) ??
      (query.hostname !== undefined ? this.#hosts.resolveName(query.hostname) : undefined)
    );
  }

  /**
   * The asset behind an address, name or id. Its id is the inventory's host id when the host is
   * known (stable whatever the priority list says), else the listed asset's id, else what was asked.
   * The tier comes from the priority lists: a listed asset (by the address, or by any address or
   * name of the host), else the most specific selector over all lists, else the default tier.
   */
  resolveAsset(query: { ip?: string; hostname?: string; id?: string }): ResolvedAsset {
    const ip = query.ip !== undefined && isIP(query.ip) !== 0 ? canonicalIp(query.ip) : undefined;
    // An id may also be a priority-list asset's id or a host name (`dc01`).
    const listedById = query.id !== undefined ? this.priorityAsset(query.id) : undefined;
    const host =
      this.findHost({ ...query, ip }) ??
      (query.id !== undefined ? this.#hosts.resolveName(query.id) : undefined) ??
      (listedById ? this.#hostOfListed(listedById) : undefined);
    const decision = this.priorityDecision({ ip, host, id: query.id, hostname: query.hostname });
    const listed = decision.kind === "asset" ? decision.asset : undefined;
    const ownership = decision.kind === "default" ? undefined : decision.ownership;
    const owner =
      ownership?.organisation ??
      (decision.kind === "asset"
        ? decision.asset.owner
        : decision.kind === "selector"
          ? decision.selector.owner
          : undefined);
    const tags = [...(listed?.tags ?? [])];
    for (const tag of host?.roles.tags ?? []) if (!tags.includes(tag)) tags.push(tag);
    const address = ip ?? (host?.ips[0] ? canonicalIp(host.ips[0].ip) : undefined) ?? listed?.ips[0];
    const hostname = host ? displayName(host) : (listed?.hostname ?? query.hostname);
    const id = host?.id ?? listed?.id ?? query.id ?? ip ?? query.hostname?.toLowerCase() ?? "unknown";
    return {
      ref: {
        id,
        ...(address !== undefined ? { ip: address } : {}),
        ...(hostname !== undefined ? { hostname } : {}),
        known: host !== undefined || listed !== undefined,
        priority: decision.tier,
        priority_reason: decision.reason,
        ...(owner !== undefined ? { owner } : {}),
        tags,
      },
      ...(host ? { host } : {}),
      tier: decision.tier,
      ...(ownership ? { ownership } : {}),
    };
  }

  /** What decides the tier across every loaded priority list (see `resolveAsset`). */
  priorityDecision(query: {
    ip?: string | undefined;
    host?: HostV1 | undefined;
    id?: string | undefined;
    hostname?: string | undefined;
  }): PriorityDecision {
    const tables = this.#priorityTables;
    for (const table of tables) {
      const asset =
        (query.ip !== undefined ? table.assetFor(query.ip) : undefined) ??
        (query.host ? table.assetForHost(query.host) : undefined) ??
        (query.id !== undefined ? table.assetById(query.id) : undefined) ??
        (query.hostname !== undefined ? table.assetByHostname(query.hostname) : undefined);
      if (asset) return table.decide(asset.ips[0], query.host ? { host: query.host } : {});
    }
    const ip = query.ip ?? (query.host?.ips[0] ? canonicalIp(query.host.ips[0].ip) : undefined);
    let best: { table: AssetTable; decision: Extract<PriorityDecision, { kind: "selector" }> } | undefined;
    for (const table of tables) {
      const decision = table.decide(ip, query.host ? { host: query.host } : {});
      if (decision.kind !== "selector") continue;
      // File order only breaks ties within one list; between lists, the first by document name.
      const across = (rank: SelectorRank) => ({ ...rank, order: 0 });
      if (!best || compareSelectorRank(across(decision.rank), across(best.decision.rank)) > 0)
        best = { table, decision };
    }
    if (best) return best.decision;
    const tier = tables[0]?.defaultTier ?? this.#options.defaultTier ?? DEFAULT_TIER;
    return {
      kind: "default",
      tier,
      reason:
        tables.length === 0
          ? `default tier ${tier}: no priority list loaded`
          : `default tier ${tier}: address not in the priority list`,
    };
  }

  /** The listed priority-list asset with this id, in any loaded list. */
  priorityAsset(id: string): PriorityAsset | undefined {
    for (const table of this.#priorityTables) {
      const asset = table.assetById(id);
      if (asset) return asset;
    }
    return undefined;
  }

  /** Ownership (organisation, contacts, maintenance windows) of an asset, if the lists name one. */
  ownership(query: { ip?: string; hostname?: string; id?: string }): Ownership | undefined {
    return this.resolveAsset(query).ownership;
  }

  /** The class each baseline chooses for a host (`none` when no class matches). */
  classify(host: HostV1): { baseline: CompiledBaseline["ref"]; choice: ClassChoice }[] {
    return this.#baselines.map((baseline) => ({
      baseline: baseline.ref,
      choice: chooseClass(baseline, host),
    }));
  }

  /**
   * Per baseline: the class chosen, the differences (exceptions applied but kept visible) and what
   * the host record could not decide. Ambiguous classes give one `baseline.class` policy delta.
   */
  assessBaselines(host: HostV1, at: number): BaselineAssessment[] {
    const assessments: BaselineAssessment[] = [];
    for (const baseline of this.#baselines) {
      const choice = chooseClass(baseline, host);
      const ref = { name: baseline.ref.name, version: baseline.ref.version, document: baseline.ref.document };
      if (choice.kind === "none") continue;
      if (choice.kind === "ambiguous") {
        const names = choice.classes.map((cls) => cls.name);
        const delta: BaselineDelta = {
          baseline: { name: baseline.ref.name, version: baseline.ref.version, class: names.join(" | ") },
          item: "baseline.class",
          direction: "policy",
          expected: "one most specific class",
          actual: `classes ${names.join(", ")} match equally (specificity ${choice.specificity}, priority ${choice.priority})`,
        };
        const excepted = this.exception(host.id, delta.item, at);
        assessments.push({
          baseline: ref,
          choice: { kind: "ambiguous", classes: names },
          deltas: [excepted ? { ...delta, excepted_by: excepted } : delta],
          unknown: [],
        });
        continue;
      }
      const { differences, unknown } = assessClass(choice.class, host, at, this.#supersedence);
      const deltas = differences.map((difference): BaselineDelta => {
        const delta: BaselineDelta = {
          baseline: { name: baseline.ref.name, version: baseline.ref.version, class: choice.class.name },
          ...difference,
        };
        const excepted = this.exception(host.id, difference.item, at);
        return excepted ? { ...delta, excepted_by: excepted } : delta;
      });
      assessments.push({
        baseline: ref,
        choice: { kind: "class", class: choice.class.name, specificity: choice.specificity },
        deltas,
        unknown,
      });
    }
    return assessments;
  }

  baselineDeltas(host: HostV1, at: number): BaselineDelta[] {
    return this.assessBaselines(host, at).flatMap((assessment) => assessment.deltas);
  }

  /**
   * The ports the host's baselines allow: the intersection over every baseline whose chosen class
   * states ports (a port must pass each of them); undefined when none does.
   */
  allowedPorts(host: HostV1): { tcp: number[]; udp: number[] } | undefined {
    let allowed: { tcp: number[]; udp: number[] } | undefined;
    for (const baseline of this.#baselines) {
      const choice = chooseClass(baseline, host);
      if (choice.kind !== "class" || !choice.class.ports) continue;
      const ports = choice.class.ports;
      allowed = allowed
        ? {
            tcp: allowed.tcp.filter((port) => ports.tcp.has(port)),
            udp: allowed.udp.filter((port) => ports.udp.has(port)),
          }
        : { tcp: [...ports.tcp.list()], udp: [...ports.udp.list()] };
    }
    return allowed;
  }

  hasUpdate(host: HostV1, kb: string): boolean {
    let installed = this.#installed.get(host);
    if (!installed) {
      installed = installedKbs(host);
      this.#installed.set(host, installed);
    }
    return this.#supersedence.satisfiedBy(installed, kb) !== undefined;
  }

  /** The update that satisfies `kb` on the host (itself or a superseding one), for explanations. */
  satisfyingUpdate(host: HostV1, kb: string): string | undefined {
    return this.#supersedence.satisfiedBy(installedKbs(host), kb);
  }

  /** Every update that supersedes `kb`, directly or through a chain. */
  superseders(kb: string): string[] {
    return [...this.#supersedence.superseders(kb)].sort();
  }

  advisoriesForCve(cve: string): AdvisoryV1[] {
    return this.#advisories.forCve(cve);
  }

  advisory(key: string): AdvisoryV1 | undefined {
    return this.#advisories.get(key);
  }

  exposures(host: HostV1, cve?: string): Exposure[] {
    const cves = cve !== undefined ? [cve.trim().toUpperCase()] : this.#advisories.candidateCves(host);
    const exposures: Exposure[] = [];
    for (const id of cves) {
      const exposure = exposureOf(host, id, this.#advisories.forCve(id), this);
      if (exposure) exposures.push(exposure);
    }
    return exposures;
  }

  /**
   * The active exception for an asset and an item at `at`. The asset may be named by the inventory
   * id, a name or an address; exceptions naming the host by any of its ids, names or addresses apply.
   */
  exception(assetId: string, item: string, at: number): BaselineDelta["excepted_by"] | undefined {
    const found = this.#exceptions.find(this.#assetKeys(assetId), item, at);
    return found ? exceptedBy(found) : undefined;
  }

  /** Every exception naming the asset, active or expired (listings, explanations). */
  exceptionsFor(assetId: string): CompiledException[] {
    return this.#exceptions.forAsset(this.#assetKeys(assetId));
  }

  #assetKeys(assetId: string): Set<string> {
    const keys = new Set<string>([assetKey(assetId)]);
    const ip = isIP(assetId.trim()) !== 0 ? canonicalIp(assetId.trim()) : undefined;
    const listed = this.priorityAsset(assetId);
    const host =
      this.#hosts.get(assetId) ??
      (ip !== undefined ? this.#hosts.byIp(ip) : this.#hosts.resolveName(assetId)) ??
      (listed ? this.#hostOfListed(listed) : undefined);
    if (host) {
      keys.add(assetKey(host.id));
      for (const name of namesOf(host)) keys.add(name);
      for (const entry of host.ips) keys.add(canonicalIp(entry.ip));
    }
    for (const asset of [listed, host ? this.#listedFor(host) : undefined]) {
      if (!asset) continue;
      keys.add(assetKey(asset.id));
      if (asset.hostname) keys.add(asset.hostname.toLowerCase());
      for (const address of asset.ips) keys.add(canonicalIp(address));
    }
    return keys;
  }

  #hostOfListed(asset: PriorityAsset): HostV1 | undefined {
    for (const ip of asset.ips) {
      const host = this.#hosts.byIp(ip);
      if (host) return host;
    }
    return asset.hostname !== undefined ? this.#hosts.resolveName(asset.hostname) : undefined;
  }

  #listedFor(host: HostV1): PriorityAsset | undefined {
    for (const table of this.#priorityTables) {
      const asset = table.assetForHost(host);
      if (asset) return asset;
    }
    return undefined;
  }
}
