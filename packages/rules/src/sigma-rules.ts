/**
 * Sigma rules as Vigil rules: each Sigma detection rule (and each correlation rule) of a rule set
 * becomes a CompiledRule that the evaluator calls for the event kinds its log source stands for,
 * reading Vigil's normalized (OCSF) fields through a processing pipeline that maps Sigma's field
 * names onto them. Correlation state lives in the evaluator's StateStore, so it survives a restart.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import type { AssetRef, EvidenceRef, FindingV1, Severity } from "@vigil/schema";
import {
  type CorrelationMatch,
  type CorrelatorState,
  type JsonValue,
  loadPipeline,
  loadSigmaRules,
  type ProcessingPipeline,
  parseSigmaRules,
  type SigmaCorrelationRule,
  SigmaCorrelator,
  type SigmaEvent,
  type SigmaRule,
  type SigmaRuleSet,
} from "@vigil/sigma";
import { eventAssetQuery } from "./events.ts";
import { attackIdPattern, buildFinding, evidenceOf } from "./language/findings.ts";
import type { RunContext } from "./language/runtime.ts";
import { ruleIdPattern } from "./language/schema.ts";
import type { AssetQuery } from "./language/scope.ts";
import { clip } from "./language/text.ts";
import {
  type CompiledRule,
  type EvaluationContext,
  type EventKind,
  eventKinds,
  type ResolvedAsset,
  type RuleEvent,
  type StateStore,
} from "./model.ts";

/** Where the Vigil pipeline puts values Sigma compares in its own vocabulary (see `sigmaView`). */
const derivedRoot = "_sigma";

/** Firewall verdicts as Sigma rules spell them: an array field matches when any element does. */
const allowedWords = ["allowed", "allow", "accept", "accepted", "permit", "permitted", "pass", "forward"];
const deniedWords = ["denied", "deny", "block", "blocked", "drop", "dropped", "reject", "rejected"];

/**
 * Sigma taxonomy names (firewall category, Suricata/Snort/Zeek alert fields) and the paths of
 * Vigil's FirewallEventV1 / IdsAlertV1 that hold them. Several candidates: the first present wins.
 */
export const vigilSigmaFieldMapping: Readonly<Record<string, readonly string[]>> = {
  src_ip: ["src_endpoint.ip"],
  source_ip: ["src_endpoint.ip"],
  src_addr: ["src_endpoint.ip"],
  "id.orig_h": ["src_endpoint.ip"],
  dst_ip: ["dst_endpoint.ip"],
  dest_ip: ["dst_endpoint.ip"],
  destination_ip: ["dst_endpoint.ip"],
  dst_addr: ["dst_endpoint.ip"],
  "id.resp_h": ["dst_endpoint.ip"],
  src_port: ["src_endpoint.port"],
  source_port: ["src_endpoint.port"],
  "id.orig_p": ["src_endpoint.port"],
  dst_port: ["dst_endpoint.port"],
  dest_port: ["dst_endpoint.port"],
  destination_port: ["dst_endpoint.port"],
  "id.resp_p": ["dst_endpoint.port"],
  src_hostname: ["src_endpoint.hostname"],
  dst_hostname: ["dst_endpoint.hostname"],
  src_interface: ["src_endpoint.interface_name"],
  dst_interface: ["dst_endpoint.interface_name"],
  protocol: ["connection_info.protocol_name"],
  proto: ["connection_info.protocol_name"],
  transport: ["connection_info.protocol_name"],
  app_proto: ["app_protocol", "app_name"],
  application: ["app_name", "app_protocol"],
  action: [`${derivedRoot}.action`],
  blocked: [`${derivedRoot}.blocked`],
  disposition: ["disposition"],
  rule: ["firewall_rule.name", "firewall_rule.uid"],
  rule_name: ["firewall_rule.name"],
  rule_id: ["firewall_rule.uid"],
  dvc_host: ["device.hostname"],
  sensor: ["device.hostname"],
  device: ["device.hostname"],
  bytes_in: ["traffic.bytes_in"],
  bytes_out: ["traffic.bytes_out"],
  signature: ["finding_info.title", "threat.name"],
  "alert.signature": ["finding_info.title"],
  msg: ["finding_info.title", "message"],
  note: ["finding_info.analytic.uid"],
  signature_id: ["finding_info.analytic.uid", "threat.uid"],
  "alert.signature_id": ["finding_info.analytic.uid"],
  sid: ["finding_info.analytic.uid"],
  rev: ["finding_info.analytic.version"],
  category: ["finding_info.analytic.category", "threat.category"],
  "alert.category": ["finding_info.analytic.category"],
  classtype: ["finding_info.analytic.category"],
  severity: ["severity", "threat.severity"],
  cve: ["cves"],
  url: ["http_request.url.url_string"],
  "http.url": ["http_request.url.url_string"],
  "http.hostname": ["http_request.url.hostname"],
  "http.http_user_agent": ["http_request.user_agent"],
  "http.http_method": ["http_request.http_method"],
  c_useragent: ["http_request.user_agent"],
  payload_printable: ["payload_printable"],
};

/**
 * The built-in pipeline: Sigma field names onto Vigil's OCSF paths. It applies to every rule it
 * is loaded with (rules of other log sources are not used unless `on` says so, and then the
 * caller means them to read Vigil events). Priority 1000: a platform team's own pipeline
 * (default priority 0) runs first and may map its names onto the taxonomy names above.
 */
export function vigilSigmaPipeline(): ProcessingPipeline {
  return {
    name: "vigil",
    priority: 1000,
    transformations: [
      { id: "vigil-ocsf-fields", type: "field_name_mapping", mapping: vigilSigmaFieldMapping },
    ],
    vars: {},
    timeField: `${derivedRoot}.time`,
  };
}

/** The pipelines to load a SigmaRuleSet with before handing it to `sigmaRules`. */
export function vigilSigmaPipelines(pipeline?: ProcessingPipeline): ProcessingPipeline[] {
  return pipeline ? [pipeline, vigilSigmaPipeline()] : [vigilSigmaPipeline()];
}

// One view per event, shared by every Sigma rule: rules then share their field reads too.
const views = new WeakMap<RuleEvent, SigmaEvent>();

/**
 * What a Sigma rule reads: the event's record (a shallow copy, never changed afterwards, so the
 * evaluator's per-event field memo is safe) plus the values Sigma compares in its own words:
 * `action` as every verdict word Sigma rules use, `blocked` as "true"/"false", and the event time.
 */
export function sigmaView(event: RuleEvent): SigmaEvent {
  let view = views.get(event);
  if (!view) {
    const record = event.value as unknown as Record<string, unknown>;
    const verdict = record.action;
    const derived: Record<string, unknown> = { time: event.time };
    if (verdict === "Allowed") {
      derived.action = allowedWords;
      derived.blocked = "false";
    } else if (verdict === "Denied") {
      derived.action = deniedWords;
      derived.blocked = "true";
    }
    view = { ...record, [derivedRoot]: derived };
    views.set(event, view);
  }
  return view;
}

const levels: Readonly<Record<string, Severity>> = {
  informational: "informational",
  low: "low",
  medium: "medium",
  high: "high",
  critical: "critical",
};

/** The event kinds a log source stands for, or undefined when the caller must say (`on`). */
export function eventKindsForLogsource(logsource: {
  category?: string | undefined;
  product?: string | undefined;
}): EventKind[] | undefined {
  const category = logsource.category?.toLowerCase();
  const product = logsource.product?.toLowerCase();
  if (category === "firewall") return ["firewall.event"];
  if (category === "ids" || product === "suricata" || product === "zeek" || product === "snort")
    return ["ids.alert"];
  return undefined;
}

/** A Vigil rule id for a Sigma id: `sigma.` + the id lower-cased, anything else than [a-z0-9_-] as `-`. */
export function sigmaRuleId(sigmaId: string): string {
  let body = sigmaId
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .replace(/-+$/, "");
  if (body === "") body = createHash("sha256").update(sigmaId).digest("hex").slice(0, 16);
  return `sigma.${body}`.slice(0, 128);
}

/**
 * A version that changes whenever the rule text (or what it depends on) changes, so a changed
 * rule gives new finding ids: the first 28 bits of a sha256, plus one (versions are >= 1).
 */
function versionOf(...parts: unknown[]): number {
  const hash = createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  return Number.parseInt(hash.slice(0, 7), 16) + 1;
}

function attackIds(tags: readonly string[]): string[] {
  const ids: string[] = [];
  for (const tag of tags) {
    const match = /^attack\.(.+)$/i.exec(tag);
    const id = match?.[1]?.toUpperCase();
    if (id && attackIdPattern.test(id)) ids.push(id);
  }
  return ids;
}

function cveIds(tags: readonly string[]): string[] {
  return tags.flatMap((tag) => {
    const match = /^cve\.(\d{4}-\d{4,})$/i.exec(tag);
    return match ? [`CVE-${match[1]}`] : [];
  });
}

function where(rule: { file: string | undefined; line: number | undefined }): string {
  return rule.file ? ` (${basename(rule.file)}${rule.line !== undefined ? `:${rule.line}` : ""})` : "";
}

function conditionText(document: Readonly<Record<string, unknown>>): string {
  const detection = document.detection as Record<string, unknown> | undefined;
  const condition = detection?.condition;
  if (typeof condition === "string") return condition;
  if (Array.isArray(condition)) return condition.map(String).join(" | ");
  return "?";
}

/** The field names a detection section tests (`Image|endswith` -> `Image`), keyword maps left out. */
function detectionFields(document: Readonly<Record<string, unknown>>): string[] {
  const detection = document.detection;
  if (typeof detection !== "object" || detection === null) return [];
  const names = new Set<string>();
  const collect = (value: unknown) => {
    if (Array.isArray(value)) for (const item of value) collect(item);
    else if (typeof value === "object" && value !== null)
      for (const key of Object.keys(value)) {
        const name = key.split("|")[0] ?? "";
        if (name !== "") names.add(name);
      }
  };
  for (const [identifier, value] of Object.entries(detection))
    if (identifier !== "condition" && identifier !== "timeframe") collect(value);
  return [...names];
}

function show(value: unknown): string {
  // A verdict reads as the words Sigma rules use for it; the explanation names Vigil's own value.
  if (value === allowedWords) return `"Allowed" (read as ${allowedWords.join(", ")})`;
  if (value === deniedWords) return `"Denied" (read as ${deniedWords.join(", ")})`;
  return clip(JSON.stringify(value) ?? String(value), 200);
}

function assetOf(event: RuleEvent, context: RunContext): ResolvedAsset {
  if (context.scope && context.scope.event === event) return context.scope.asset(context.scope.defaultQuery);
  return context.tables.resolveAsset(eventAssetQuery(event) ?? { id: event.key });
}

function assetLabel(asset: AssetRef): string {
  return asset.hostname ?? asset.id;
}

export class SigmaRulesError extends Error {
  override name = "SigmaRulesError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid Sigma rules:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

export interface SigmaRulesOptions {
  /**
   * A rule set loaded with `vigilSigmaPipelines(yourPipeline)`, or YAML text (one file's worth).
   * For paths use `loadSigmaPackRules`.
   */
  rules: SigmaRuleSet | string;
  /** Applied when `rules` is YAML text (before the built-in Vigil pipeline). */
  pipeline?: ProcessingPipeline;
  /** The event kinds every rule of the set applies to, instead of the mapping from their log source. */
  on?: readonly EventKind[];
  /** Named in problems (default: the rule's file). */
  source?: string;
}

function detectionRule(rule: SigmaRule, on: readonly EventKind[], pipelineHash: unknown): CompiledRule {
  const id = sigmaRuleId(rule.id);
  const meta = Object.freeze({ id, name: rule.title, version: versionOf(rule.document, pipelineHash) });
  const severity = levels[rule.level?.toLowerCase() ?? ""] ?? "medium";
  const attack = attackIds(rule.tags);
  const cves = cveIds(rule.tags);
  const references = rule.references.filter((reference) => typeof reference === "string");
  const condition = conditionText(rule.document);
  const fields = detectionFields(rule.document).map((name) => ({ name, read: rule.field(name) }));
  const description = rule.description ?? rule.title;
  return Object.freeze({
    id,
    name: rule.title,
    version: meta.version,
    description: `Sigma rule ${rule.id}: ${description}`,
    on: Object.freeze([...on]),
    evaluate(event: RuleEvent, context: EvaluationContext): FindingV1[] {
      const view = sigmaView(event);
      if (!rule.test(view)) return [];
      const asset = assetOf(event, context);
      const conditions = [
        `Sigma rule ${rule.id} "${rule.title}"${where(rule)} matched ${event.kind}: condition "${condition}"`,
      ];
      for (const field of fields) {
        const value = field.read(view);
        if (value !== undefined) conditions.push(`${field.name} is ${show(value)}`);
      }
      return [
        buildFinding({
          rule: meta,
          events: [event],
          asset,
          severity,
          title: `${rule.title} on ${assetLabel(asset.ref)}`,
          description,
          conditions,
          attack,
          cves,
          references,
        }),
      ];
    },
  });
}

/** What a correlation keeps per event: its evidence and the asset it was about. */
interface CorrelationRef {
  e: EvidenceRef;
  q: AssetQuery;
}

interface CorrelatorHolder {
  correlator: SigmaCorrelator;
  /** The value last read from or written to the store: anything else there means a restore. */
  seen: unknown;
}

function correlationRule(
  correlation: SigmaCorrelationRule,
  on: readonly EventKind[],
  pipelineHash: unknown,
): CompiledRule {
  const id = sigmaRuleId(correlation.id);
  const stateKey = `${id}/correlator`;
  const version = versionOf(
    correlation.document,
    correlation.rules.map((rule) => rule.document),
    pipelineHash,
  );
  const meta = Object.freeze({ id, name: correlation.title, version });
  const severity = levels[correlation.level?.toLowerCase() ?? ""] ?? "medium";
  const tags = [...correlation.tags, ...correlation.rules.flatMap((rule) => rule.tags)];
  const attack = attackIds(tags);
  const cves = cveIds(tags);
  const references = correlation.references.filter((reference) => typeof reference === "string");
  const base = correlation.rules;
  const description = correlation.description ?? correlation.title;
  const holders = new WeakMap<StateStore, CorrelatorHolder>();
  const timeOf = (view: SigmaEvent) => (view[derivedRoot] as { time: number }).time;

  // The correlator of a store, restored whenever the store holds something it did not write
  // (a restart restored the changelog): identity is enough, the store keeps what it is given.
  const holderFor = (state: StateStore): CorrelatorHolder => {
    let holder = holders.get(state);
    const stored = state.get(stateKey);
    if (!holder) {
      holder = { correlator: new SigmaCorrelator([correlation], { timeField: timeOf }), seen: undefined };
      holders.set(state, holder);
    }
    if (stored !== holder.seen) {
      holder.correlator =
        stored === undefined
          ? new SigmaCorrelator([correlation], { timeField: timeOf })
          : new SigmaCorrelator([correlation], { timeField: timeOf, state: stored });
      holder.seen = stored;
    }
    return holder;
  };
  const persist = (state: StateStore, holder: CorrelatorHolder) => {
    const snapshot: CorrelatorState = holder.correlator.snapshot();
    state.set(stateKey, snapshot);
    holder.seen = snapshot;
  };
  const stats = (holder: CorrelatorHolder) => {
    const { watermark, lateEvents, eventsWithoutTime } = holder.correlator.stats;
    return `${watermark}/${lateEvents}/${eventsWithoutTime}`;
  };

  const findingsOf = (matches: CorrelationMatch[], context: EvaluationContext): FindingV1[] =>
    matches.map((match) => {
      const refs = match.events as unknown as CorrelationRef[];
      const last = refs[refs.length - 1]!;
      const asset = context.tables.resolveAsset(last.q);
      const group = Object.entries(match.group)
        .map(([name, value]) => `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`)
        .join(", ");
      const span = `${new Date(match.start).toISOString()} .. ${new Date(match.end).toISOString()}`;
      return buildFinding({
        rule: meta,
        events: refs.map((ref) => ref.e),
        asset,
        severity,
        title: `${correlation.title}${group ? ` (${group})` : ""} on ${assetLabel(asset.ref)}`,
        description,
        group_key: clip(`${id}${group ? `:${group}` : ""}`, 256),
        conditions: [
          `Sigma correlation ${correlation.id} "${correlation.title}"${where(correlation)}: ${match.correlationType} of ${base
            .map((rule) => `"${rule.title}"`)
            .join(
              ", ",
            )}${correlation.groupBy.length > 0 ? ` by ${correlation.groupBy.join(", ")}` : ""} within ${
            correlation.timespanMs / 1000
          }s`,
          `${group ? `${group}: ` : ""}value ${match.value} meets ${JSON.stringify(correlation.condition)} over ${span}`,
        ],
        time: match.end,
        attack,
        cves,
        references,
      });
    });

  return Object.freeze({
    id,
    name: correlation.title,
    version,
    description: `Sigma correlation rule ${correlation.id}: ${description}`,
    on: Object.freeze([...on]),
    evaluate(event: RuleEvent, context: EvaluationContext): FindingV1[] {
      const view = sigmaView(event);
      const matched = base.filter((rule) => rule.test(view)).map((rule) => rule.id);
      const holder = holderFor(context.state);
      const before = holder.correlator.stats;
      const statsBefore = stats(holder);
      const ref: CorrelationRef = {
        e: evidenceOf(event),
        q: eventAssetQuery(event) ?? { id: event.key },
      };
      const matches = holder.correlator.process(view, matched, ref as unknown as JsonValue);
      const late = holder.correlator.stats.lateEvents - before.lateEvents;
      if (late > 0) (context as RunContext).count?.(id, "late_dropped", late);
      // Only what changed the correlator is written: an event it ignored leaves its state as it was.
      if (matched.length > 0 || matches.length > 0 || stats(holder) !== statsBefore)
        persist(context.state, holder);
      return findingsOf(matches, context);
    },
    advance(watermark: number, context: EvaluationContext): FindingV1[] {
      const holder = holderFor(context.state);
      const statsBefore = stats(holder);
      const matches = holder.correlator.advance(watermark);
      if (matches.length > 0 || stats(holder) !== statsBefore) persist(context.state, holder);
      return findingsOf(matches, context);
    },
  });
}

/**
 * Compiles a Sigma rule set into Vigil rules: one per detection rule that reports on its own
 * (`generate`), one per correlation rule. Throws SigmaRulesError listing every rule that failed
 * to load, that maps to no event kind (give `on`), or whose id collides.
 */
export function sigmaRules(options: SigmaRulesOptions): CompiledRule[] {
  const ruleSet =
    typeof options.rules === "string"
      ? parseSigmaRules(options.rules, {
          pipelines: vigilSigmaPipelines(options.pipeline),
          ...(options.source !== undefined ? { file: options.source } : {}),
        })
      : options.rules;
  const problems = ruleSet.failures.map((failure) => failure.message);
  if (options.on !== undefined) {
    if (options.on.length === 0) problems.push("on: expected at least one event kind");
    for (const kind of options.on)
      if (!(eventKinds as readonly string[]).includes(kind))
        problems.push(`on: ${kind} is not an event kind (${eventKinds.join(", ")})`);
  }
  const pipelineHash = options.pipeline ?? null;
  const kindsOf = (rule: SigmaRule): readonly EventKind[] | undefined =>
    options.on ?? eventKindsForLogsource(rule.logsource);
  const compiled: CompiledRule[] = [];
  const owners = new Map<string, string>();
  const add = (rule: CompiledRule, sigmaId: string) => {
    const owner = owners.get(rule.id);
    if (owner !== undefined) {
      problems.push(`Sigma rules ${owner} and ${sigmaId} both become rule id ${rule.id}`);
      return;
    }
    if (!ruleIdPattern.test(rule.id)) problems.push(`Sigma rule ${sigmaId}: cannot make a rule id of it`);
    owners.set(rule.id, sigmaId);
    compiled.push(rule);
  };
  for (const rule of ruleSet.rules) {
    const on = kindsOf(rule);
    if (!on) {
      problems.push(
        `Sigma rule ${rule.id}${where(rule)}: logsource ${JSON.stringify(rule.logsource)} maps to no Vigil event kind (firewall, ids, suricata, zeek, snort); give "on"`,
      );
      continue;
    }
    if (rule.generate) add(detectionRule(rule, on, pipelineHash), rule.id);
  }
  for (const correlation of ruleSet.correlations) {
    const on = [...new Set(correlation.rules.flatMap((rule) => kindsOf(rule) ?? []))];
    if (on.length === 0) continue; // its rules were reported above
    add(correlationRule(correlation, on, pipelineHash), correlation.id);
  }
  if (problems.length > 0) throw new SigmaRulesError(problems);
  return compiled;
}

export interface SigmaPackRulesOptions {
  /** A Sigma rule file or folder (read recursively), or several. */
  rules: string | readonly string[] | SigmaRuleSet;
  /** A pipeline, or the path of a pipeline YAML file (or `windows`), applied before Vigil's. */
  pipeline?: ProcessingPipeline | string;
  on?: readonly EventKind[];
}

/** `sigmaRules` from files: loads the rules with the pipelines, then compiles them. */
export async function loadSigmaPackRules(options: SigmaPackRulesOptions): Promise<CompiledRule[]> {
  let pipeline: ProcessingPipeline | undefined;
  try {
    pipeline = typeof options.pipeline === "string" ? await loadPipeline(options.pipeline) : options.pipeline;
  } catch (error) {
    throw new SigmaRulesError([(error as Error).message]);
  }
  let ruleSet: SigmaRuleSet;
  if (typeof options.rules === "string" || Array.isArray(options.rules)) {
    try {
      ruleSet = await loadSigmaRules(options.rules as string | readonly string[], {
        pipelines: vigilSigmaPipelines(pipeline),
      });
    } catch (error) {
      throw new SigmaRulesError([(error as Error).message]);
    }
  } else ruleSet = options.rules as SigmaRuleSet;
  return sigmaRules({
    rules: ruleSet,
    ...(pipeline ? { pipeline } : {}),
    ...(options.on ? { on: options.on } : {}),
  });
}
