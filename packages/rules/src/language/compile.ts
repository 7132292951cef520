/**
 * A declarative rule compiled into closures: conditions into predicates over pre-resolved field
 * accessors, regexes (re2js), CIDR blocks and sets built once, templates into renderers. At run
 * time nothing walks the rule definition: it is not referenced by the compiled rule at all.
 */
import type { FindingV1, Severity } from "@vigil/schema";
import type { z } from "zod";
import type { CompiledRule, EventKind, RuleEvent } from "../model.ts";
import { findingId, raiseSeverity } from "../rules.ts";
import { type Accessor, compileAccessor } from "./accessor.ts";
import {
  alwaysTrue,
  type CompiledCondition,
  type ConditionContext,
  compileCondition,
  type Guard,
  type Path,
  resolvePath,
} from "./conditions.ts";
import { type CorrelationPlan, compileCorrelation, judgedAtClose } from "./correlation.ts";
import { type Locate, ProblemSink, type RuleProblem } from "./errors.ts";
import { elementSchema, isObjectSchema, isVirtualRoot, rootSchema } from "./fields.ts";
import { buildFinding } from "./findings.ts";
import { compileProjection } from "./projection.ts";
import type { Emit, RunContext } from "./runtime.ts";
import { RuleSpec } from "./schema.ts";
import { type AssetQuery, EventScope, type Frame } from "./scope.ts";
import { viewCache } from "./state.ts";
import { type CompiledTemplate, compileTemplate } from "./template.ts";
import { describeElement, renderValue, show } from "./text.ts";

export interface CompileOptions {
  /** The file the rule came from, for error messages (default `inline`). */
  source?: string;
  /** Maps a path inside the rule to a line and column (YAML sources). */
  locate?: Locate;
}

/** A compiled declarative rule: the contract's CompiledRule plus what the rule was declared with. */
export interface DeclarativeRule extends CompiledRule {
  readonly severity: Severity | "mapped";
  readonly tags: readonly string[];
  readonly attack: readonly string[];
  readonly correlation: "count" | "distinct" | "sequence" | "absence" | undefined;
  /**
   * Equalities on event fields without which the rule does nothing with an event (from the
   * top-level conjuncts of `where`): the evaluator indexes rules on them.
   */
  readonly guards: readonly Guard[];
}

const maxForEachFindings = 1000;

function kindsOf(on: EventKind | EventKind[]): EventKind[] {
  return [...new Set(Array.isArray(on) ? on : [on])];
}

/** Reports zod's issues with the path of the key (an unknown key points at the key itself). */
export function reportIssues(sink: ProblemSink, issues: readonly z.core.$ZodIssue[], base: Path = []): void {
  for (const issue of issues) {
    const path = [...base, ...(issue.path as (string | number)[])];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) sink.report([...path, key], `unknown key "${key}"`, "key");
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the variant that got furthest (its first issue has the longest path); on a tie, the
      // first variant, which is the simple spelling (`severity: high`, `on: ids.alert`).
      let best = issue.errors[0]!;
      for (const variant of issue.errors)
        if ((variant[0]?.path.length ?? 0) > (best[0]?.path.length ?? 0)) best = variant;
      reportIssues(sink, best, path);
    } else sink.report(path, issue.message);
  }
}

function elementIdentity(item: unknown): string {
  if (item !== null && typeof item === "object") {
    const record = item as Record<string, unknown>;
    if (typeof record.id === "string") return record.id;
    if (typeof record.item === "string") return record.item;
    if (typeof record.cve === "string") {
      const advisory = record.advisory as { source?: string; id?: string } | undefined;
      return `${record.cve}@${advisory?.source ?? ""}/${advisory?.id ?? ""}`;
    }
    return JSON.stringify(item);
  }
  return String(item);
}

/** Validates and compiles one rule definition (a plain object, e.g. parsed YAML). Throws RuleCompileError. */
export function compileRuleSpec(definition: unknown, options: CompileOptions = {}): DeclarativeRule {
  const sink = new ProblemSink(options.source ?? "inline", options.locate);
  if (
    definition !== null &&
    typeof definition === "object" &&
    typeof (definition as { id?: unknown }).id === "string"
  )
    sink.rule = (definition as { id: string }).id;
  const parsed = RuleSpec.safeParse(definition);
  if (!parsed.success) {
    reportIssues(sink, parsed.error.issues);
    // Still check the conditions when the kinds are known: every mistake of the rule at once.
    const raw = definition as { on?: unknown; where?: unknown; id?: unknown } | null;
    const on = RuleSpec.shape.on.safeParse(raw?.on);
    if (on.success && raw?.where !== undefined) {
      const kinds = kindsOf(on.data);
      compileCondition(raw.where, ["where"], {
        sink,
        schemas: kinds.map((kind) => rootSchema(kind)),
        kinds,
        mode: "event",
        rule: { id: String(raw.id), name: "", version: 1 },
        budget: { leaves: 0 },
      });
    }
    sink.throwIfAny();
  }
  const spec = parsed.data!;
  sink.rule = spec.id;
  const meta = { id: spec.id, name: spec.name, version: spec.version };
  const kinds = kindsOf(spec.on);
  const correlated = spec.correlate !== undefined;
  const budget = { leaves: 0 };
  const baseSchemas = kinds.map((kind) => rootSchema(kind, { correlation: false }));
  const context = (schemas: readonly z.ZodType[]): ConditionContext => ({
    sink,
    schemas,
    kinds,
    mode: "event",
    rule: meta,
    budget,
  });

  // Conditions see the event (and lookups); correlation.* only exists once a correlation fired.
  const where =
    spec.where === undefined ? alwaysTrue : compileCondition(spec.where, ["where"], context(baseSchemas));

  const eventPaths: string[][] = [];
  const compileAsset = (
    override: { ip?: string | undefined; hostname?: string | undefined; id?: string | undefined } | undefined,
    at: Path,
    schemas: readonly z.ZodType[],
  ): ((frame: Frame) => AssetQuery) | undefined => {
    if (!override) return undefined;
    const parts: [keyof AssetQuery, CompiledTemplate][] = [];
    for (const field of ["ip", "hostname", "id"] as const) {
      const source = override[field];
      if (source === undefined) continue;
      const template = compileTemplate(source, [...at, field], context(schemas), 512);
      if (template) {
        parts.push([field, template]);
        eventPaths.push(...template.eventPaths);
      }
    }
    return (frame) => {
      const query: AssetQuery = {};
      for (const [field, template] of parts) {
        const text = template.render(frame);
        if (text !== "") query[field] = text;
      }
      return Object.keys(query).length > 0 ? query : frame.scope.defaultQuery;
    };
  };
  const assetOverride = compileAsset(spec.asset, ["asset"], baseSchemas);

  // for_each: one finding per matching element of a list (each.* in templates).
  let forEach:
    | {
        path: string;
        get: Accessor;
        where: CompiledCondition;
        asset: ((frame: Frame) => AssetQuery) | undefined;
      }
    | undefined;
  let outputSchemas = kinds.map((kind) => rootSchema(kind, { correlation: correlated }));
  if (spec.for_each) {
    if (correlated) sink.report(["for_each"], "for_each cannot be combined with correlate");
    const resolved = resolvePath(spec.for_each.in, ["for_each", "in"], context(baseSchemas));
    if (resolved) {
      const elements = resolved.schemas.map((schema) =>
        elementSchema({ ok: true, schema, collection: true }),
      );
      if (!resolved.collection) sink.report(["for_each", "in"], `${spec.for_each.in} is not a list`);
      const element = elements[0]!;
      outputSchemas = kinds.map((kind) => rootSchema(kind, { correlation: correlated, each: element }));
      const elementWhere =
        spec.for_each.where === undefined
          ? alwaysTrue
          : isObjectSchema(element)
            ? compileCondition(spec.for_each.where, ["for_each", "where"], {
                ...context(elements),
                kinds: [`${spec.for_each.in}[]`],
                mode: "element",
              })
            : compileCondition(spec.for_each.where, ["for_each", "where"], context(outputSchemas));
      forEach = {
        path: spec.for_each.in,
        get: compileAccessor(resolved.segments, "event", meta),
        where: elementWhere,
        asset: compileAsset(spec.for_each.asset, ["for_each", "asset"], outputSchemas),
      };
    }
  }

  // Severity: fixed, or from a field (mapped), raised one step by each `raise` condition that holds.
  const severityOf = compileSeverity(spec.severity, sink, context(outputSchemas), eventPaths);

  const title = compileTemplate(spec.title, ["title"], context(outputSchemas), 300);
  const details =
    spec.details !== undefined
      ? compileTemplate(spec.details, ["details"], context(outputSchemas), 4000, { multiline: true })
      : undefined;
  const groupKey =
    spec.group_key !== undefined
      ? compileTemplate(spec.group_key, ["group_key"], context(outputSchemas), 256)
      : undefined;
  for (const template of [title, details, groupKey]) if (template) eventPaths.push(...template.eventPaths);

  const fieldList = (paths: readonly string[], at: Path, schemas: readonly z.ZodType[]) =>
    paths.flatMap((path, index) => {
      const resolved = resolvePath(path, [...at, index], context(schemas));
      if (!resolved) return [];
      if (!isVirtualRoot(resolved.segments[0]!)) eventPaths.push(resolved.segments);
      return [{ path, get: compileAccessor(resolved.segments, "event", meta) }];
    });

  // Suppression: one finding per key per window.
  let suppressor:
    | {
        suppressed: (finding: FindingV1, frame: Frame, context: RunContext) => boolean;
        advance: (watermark: number, context: RunContext) => void;
      }
    | undefined;
  if (spec.suppress) {
    const window = spec.suppress.window;
    const by = spec.suppress.by ? fieldList(spec.suppress.by, ["suppress", "by"], outputSchemas) : undefined;
    const views = viewCache<{ start: number; due: number }>(`${spec.id}/s/`);
    suppressor = {
      suppressed(finding, frame, runContext) {
        const key = by
          ? by.map((field) => renderValue(field.get(frame), 256)).join("|")
          : `${finding.asset.id}|${finding.group_key}`;
        const time = Date.parse(finding.time);
        const view = views(runContext.state);
        const open = view.get(key);
        if (open && Math.abs(time - open.start) < window) {
          runContext.count?.(meta.id, "suppressed");
          return true;
        }
        view.put(key, { start: time, due: time + window });
        return false;
      },
      advance(watermark, runContext) {
        const view = views(runContext.state);
        for (const [key] of view.due(watermark)) view.delete(key);
      },
    };
  }

  const attack = spec.attack;
  const references = spec.references;
  const emit: Emit = (request, runContext) => {
    const { frame } = request;
    const asset = frame.scope.asset(frame.assetQuery);
    const conditions = request.conditions.slice();
    const severity = severityOf(frame, conditions);
    const event = frame.scope.event;
    const cves: string[] = [];
    if ((event.kind === "ids.alert" || event.kind === "advisory") && Array.isArray(event.value.cves))
      cves.push(...event.value.cves);
    const each = frame.each as { cve?: unknown; cves?: unknown } | undefined;
    if (each && typeof each === "object") {
      if (typeof each.cve === "string") cves.push(each.cve);
      if (Array.isArray(each.cves)) for (const cve of each.cves) if (typeof cve === "string") cves.push(cve);
    }
    const finding = buildFinding({
      rule: meta,
      events: request.evidence,
      asset,
      severity,
      title: title?.render(frame) ?? meta.name,
      ...(details ? { description: details.render(frame) } : {}),
      group_key: groupKey ? groupKey.render(frame) || meta.id : meta.id,
      conditions,
      ...(request.time !== undefined ? { time: request.time } : {}),
      ...(request.id !== undefined ? { id: request.id } : {}),
      cves,
      attack,
      references,
    });
    if (suppressor?.suppressed(finding, frame, runContext)) return undefined;
    return finding;
  };

  let correlation: ReturnType<typeof compileCorrelation> | undefined;
  let isAbsence = false;
  if (spec.correlate) {
    const correlate = spec.correlate;
    const correlationSchemas = kinds.map((kind) => rootSchema(kind, { correlation: false }));
    const by = fieldList(correlate.by, ["correlate", "by"], correlationSchemas);
    let kind: CorrelationPlan["kind"] | undefined;
    if (correlate.count) {
      kind = { type: "count", bounds: correlate.count };
    } else if (correlate.distinct) {
      const { field, ...bounds } = correlate.distinct;
      const [resolved] = fieldList([field], ["correlate", "distinct", "field"], correlationSchemas);
      if (resolved) kind = { type: "distinct", bounds, field: resolved };
    } else if (correlate.sequence) {
      const steps = correlate.sequence.map((step, index) => {
        const stepKinds = step.on === undefined ? undefined : kindsOf(step.on);
        for (const stepKind of stepKinds ?? [])
          if (!kinds.includes(stepKind))
            sink.report(
              ["correlate", "sequence", index, "on"],
              `${stepKind} is not one of the rule's kinds (on: ${kinds.join(", ")})`,
            );
        const schemas = stepKinds ? stepKinds.map((stepKind) => rootSchema(stepKind)) : correlationSchemas;
        return {
          name: step.name,
          kinds: stepKinds ? new Set<string>(stepKinds) : undefined,
          where: compileCondition(step.where, ["correlate", "sequence", index, "where"], context(schemas)),
        };
      });
      kind = { type: "sequence", steps };
    } else if (correlate.absence) {
      const absence = correlate.absence;
      const [since] = absence.since
        ? fieldList([absence.since], ["correlate", "absence", "since"], correlationSchemas)
        : [];
      kind = {
        type: "absence",
        after: absence.for,
        since,
        stopWhen:
          absence.stop_when === undefined
            ? undefined
            : compileCondition(
                absence.stop_when,
                ["correlate", "absence", "stop_when"],
                context(correlationSchemas),
              ),
      };
      isAbsence = true;
    }
    if (
      kind &&
      (kind.type === "count" || kind.type === "distinct") &&
      judgedAtClose(kind.bounds) &&
      correlate.mode !== "tumbling"
    )
      sink.report(
        ["correlate", kind.type],
        "lt / lte need mode: tumbling (a sliding window is never complete, so an upper bound cannot be judged)",
      );
    if (kind && sink.problems.length === 0) {
      const project = compileProjection(eventPaths);
      correlation = compileCorrelation({
        rule: meta,
        by,
        window: correlate.window ?? 0,
        mode: correlate.mode,
        lateness: correlate.allowed_lateness,
        maxEvents: correlate.max_events,
        kind,
        where,
        emit,
        project: (frame) => project(frame.scope.event),
        assetQuery: (frame) => (assetOverride ? assetOverride(frame) : frame.scope.defaultQuery),
      });
    }
  }

  sink.throwIfAny();

  const scopeOf = (event: RuleEvent, runContext: RunContext): EventScope =>
    runContext.scope !== undefined && runContext.scope.event === event
      ? runContext.scope
      : new EventScope(event, runContext.tables);

  const whereTest = where.test;
  // Most events match no rule: one shared empty result instead of an allocation per rule and event.
  // The evaluator only reads it.
  const none: FindingV1[] = [];
  const frameOf = (event: RuleEvent, evaluationContext: RunContext): Frame => {
    const base = scopeOf(event, evaluationContext).frame();
    return assetOverride ? { ...base, assetQuery: assetOverride(base) } : base;
  };
  const evaluate = (event: RuleEvent, evaluationContext: RunContext): FindingV1[] => {
    const frame = frameOf(event, evaluationContext);
    if (correlation) {
      if (isAbsence) return correlation.onEvent(frame, evaluationContext);
      return whereTest(frame) ? correlation.onEvent(frame, evaluationContext) : none;
    }
    if (!whereTest(frame)) return none;
    const conditions: string[] = [];
    where.explain(frame, conditions);
    if (!forEach) {
      const finding = emit({ frame, evidence: [event], conditions }, evaluationContext);
      return finding ? [finding] : none;
    }
    const items = forEach.get(frame);
    const list = Array.isArray(items) ? items : items === undefined || items === null ? [] : [items];
    const findings: FindingV1[] = [];
    for (const item of list) {
      const elementFrame: Frame = { ...frame, element: item, each: item };
      if (!forEach.where.test(elementFrame)) continue;
      const findingFrame = forEach.asset
        ? { ...elementFrame, assetQuery: forEach.asset(elementFrame) }
        : elementFrame;
      const inner: string[] = [];
      forEach.where.explain(elementFrame, inner);
      const finding = emit(
        {
          frame: findingFrame,
          evidence: [event],
          conditions: [
            ...conditions,
            `${forEach.path} has ${describeElement(item)}${inner.length > 0 ? ` (${inner.join("; ")})` : ""}`,
          ],
          id: findingId(meta.id, meta.version, [event.id, `${forEach.path}#${elementIdentity(item)}`]),
        },
        evaluationContext,
      );
      if (finding) findings.push(finding);
      if (findings.length >= maxForEachFindings) break;
    }
    return findings;
  };

  const timed = correlation !== undefined || suppressor !== undefined;
  // Absences stay where their events are read: they fire on silence, per asset, by the watermark.
  const keyed = isAbsence ? undefined : correlation;
  const rule: DeclarativeRule = {
    id: spec.id,
    name: spec.name,
    version: spec.version,
    description: spec.description,
    on: Object.freeze(kinds),
    severity: typeof spec.severity === "string" ? spec.severity : "mapped",
    tags: Object.freeze([...spec.tags]),
    attack: Object.freeze([...spec.attack]),
    correlation: spec.correlate
      ? spec.correlate.count
        ? "count"
        : spec.correlate.distinct
          ? "distinct"
          : spec.correlate.sequence
            ? "sequence"
            : "absence"
      : undefined,
    // An absence rule must also see the events that stop it, whatever `where` says.
    guards: Object.freeze(isAbsence ? [] : (where.guards ?? []).map((guard) => Object.freeze({ ...guard }))),
    evaluate,
    ...(keyed
      ? {
          correlationKey(event: RuleEvent, evaluationContext: RunContext): string | undefined {
            const frame = frameOf(event, evaluationContext);
            return whereTest(frame) ? keyed.keyOf(frame) : undefined;
          },
        }
      : {}),
    ...(timed
      ? {
          advance(watermark: number, evaluationContext: RunContext): FindingV1[] {
            const findings = correlation ? correlation.advance(watermark, evaluationContext) : [];
            suppressor?.advance(watermark, evaluationContext);
            return findings;
          },
        }
      : {}),
  };
  return Object.freeze(rule);
}

function compileSeverity(
  spec: RuleSpec["severity"],
  sink: ProblemSink,
  context: ConditionContext,
  eventPaths: string[][],
): (frame: Frame, reasons: string[]) => Severity {
  if (typeof spec === "string") return () => spec;
  const fallback = spec.default;
  let from: { path: string; get: Accessor } | undefined;
  if (spec.from !== undefined) {
    const resolved = resolvePath(spec.from, ["severity", "from"], context);
    if (resolved) {
      from = { path: spec.from, get: compileAccessor(resolved.segments, "event", context.rule) };
      if (!isVirtualRoot(resolved.segments[0]!)) eventPaths.push(resolved.segments);
    }
  } else if (spec.map !== undefined)
    sink.report(["severity", "map"], "map needs from: the field whose value is mapped");
  const map = new Map(Object.entries(spec.map ?? {}));
  const severities = new Set<string>(["informational", "low", "medium", "high", "critical"]);
  const raises = (spec.raise ?? []).map((raise, index) => ({
    reason: raise.reason,
    when: compileCondition(raise.when, ["severity", "raise", index, "when"], context),
  }));
  return (frame, reasons) => {
    let severity: Severity = fallback;
    if (from) {
      const value = from.get(frame);
      const text = renderValue(value, 64);
      const mapped =
        map.get(text) ?? (map.size === 0 && severities.has(text) ? (text as Severity) : undefined);
      if (mapped) {
        severity = mapped;
        reasons.push(`severity ${severity} from ${from.path} ${show(value)}`);
      } else reasons.push(`severity ${severity} (default: ${from.path} is ${show(value)})`);
    }
    for (const raise of raises) {
      if (!raise.when.test(frame)) continue;
      const before = severity;
      severity = raiseSeverity(severity);
      const why: string[] = [];
      raise.when.explain(frame, why);
      reasons.push(
        `severity raised ${before} -> ${severity}${raise.reason ? ` (${raise.reason})` : ""}: ${why.join("; ")}`,
      );
    }
    return severity;
  };
}

export type { RuleProblem };
