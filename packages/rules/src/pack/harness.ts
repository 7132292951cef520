/**
 * `runPackTests`: every test case of a pack run through the same evaluator the engine uses. Host
 * and advisory events feed the reference tables before the rules see them (as the engine's global
 * tables would have them), then every event is judged in order, then event time advances to
 * `advance_to`. A case passes when the findings of the rules under test match `expect` exactly:
 * nothing missing, nothing extra, no rule error.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import type { AdvisoryV1, FindingV1, HostV1 } from "@vigil/schema";
import { createEvaluator } from "../language/evaluator.ts";
import { eventSchemas } from "../language/fields.ts";
import type { CompiledRule, EventKind, ReferenceTables, RuleEvent } from "../model.ts";
import { ReferenceTableSet } from "../tables/index.ts";
import { recordEvent } from "./events.ts";
import {
  type CompiledPack,
  compilePack,
  type LoadedPack,
  loadPack,
  type PackDocument,
  PackError,
  readReferences,
} from "./load.ts";
import { PackEventRecord, type PackExpectation, type PackTest } from "./manifest.ts";

/** The tables a test runs on: read-only for rules, fed by the harness. */
export interface TestTables extends ReferenceTables {
  setDocument(document: PackDocument): void;
  applyHost(host: HostV1): void;
  applyAdvisory(advisory: AdvisoryV1): void;
}

export interface MissingFinding extends Omit<PackExpectation, "count"> {
  expected: number;
  found: number;
}

export interface ExtraFinding {
  rule: string;
  id: string;
  asset: string;
  severity: string;
  title: string;
}

export interface PackTestCase {
  name: string;
  ok: boolean;
  missing: MissingFinding[];
  extra: ExtraFinding[];
  /** Rule errors, invalid events, unreadable files: the case fails. */
  errors: string[];
  /** What the reader should know but does not fail the case (events dropped as too late). */
  notes: string[];
  /** Every finding of the rules under test, for --json and debugging. */
  findings: FindingV1[];
}

export interface PackTestReport {
  pack: { name: string; version: string; root: string; source: string };
  rules: number;
  passed: number;
  failed: number;
  cases: PackTestCase[];
}

export interface PackTestOptions {
  /** Only this rule: tests that do not cover it are skipped, expectations for other rules ignored. */
  rule?: string;
  /** The tables of each test (default: a fresh ReferenceTableSet). */
  createTables?: () => TestTables | Promise<TestTables>;
}

function defaultTables(): TestTables {
  return new ReferenceTableSet();
}

interface LoadedEvent {
  event: RuleEvent;
  where: string;
}

async function loadEvents(test: PackTest, root: string, errors: string[]): Promise<LoadedEvent[]> {
  let records: { record: unknown; where: string }[];
  if (typeof test.events === "string") {
    const full = resolve(root, test.events);
    const rel = relative(root, full);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      errors.push(`events: ${test.events} is outside the pack`);
      return [];
    }
    let text: string;
    try {
      text = await readFile(full, "utf8");
    } catch (error) {
      errors.push(`${full}: cannot read events: ${(error as Error).message}`);
      return [];
    }
    if (text.trimStart().startsWith("[")) {
      try {
        records = (JSON.parse(text) as unknown[]).map((record, index) => ({
          record,
          where: `${full}[${index}]`,
        }));
      } catch (error) {
        errors.push(`${full}: invalid JSON: ${(error as Error).message}`);
        return [];
      }
    } else {
      records = [];
      for (const [index, line] of text.split("\n").entries()) {
        if (line.trim() === "") continue;
        try {
          records.push({ record: JSON.parse(line), where: `${full}:${index + 1}` });
        } catch (error) {
          errors.push(`${full}:${index + 1}: invalid JSON: ${(error as Error).message}`);
        }
      }
    }
  } else records = test.events.map((record, index) => ({ record, where: `events[${index}]` }));

  const events: LoadedEvent[] = [];
  for (const { record, where } of records) {
    const shape = PackEventRecord.safeParse(record);
    if (!shape.success) {
      errors.push(
        `${where}: ${shape.error.issues.map((issue) => `${issue.path.join(".") || "record"}: ${issue.message}`).join("; ")}`,
      );
      continue;
    }
    const kind = shape.data.kind as EventKind;
    const value = eventSchemas[kind].safeParse(shape.data.value);
    if (!value.success) {
      errors.push(
        `${where}: invalid ${kind}: ${value.error.issues
          .slice(0, 5)
          .map((issue) => `${issue.path.join(".") || "value"}: ${issue.message}`)
          .join("; ")}`,
      );
      continue;
    }
    events.push({ event: recordEvent(kind, value.data as never, shape.data.key), where });
  }
  return events;
}

function assetNames(finding: FindingV1): string[] {
  return [finding.asset.id, finding.asset.hostname, finding.asset.ip].filter(
    (name): name is string => name !== undefined,
  );
}

function matches(finding: FindingV1, expectation: PackExpectation): boolean {
  return (
    finding.rule.id === expectation.rule &&
    (expectation.asset === undefined || assetNames(finding).includes(expectation.asset)) &&
    (expectation.severity === undefined || finding.severity === expectation.severity) &&
    (expectation.title_contains === undefined || finding.title.includes(expectation.title_contains))
  );
}

function specificity(expectation: PackExpectation): number {
  return [expectation.asset, expectation.severity, expectation.title_contains].filter(
    (part) => part !== undefined,
  ).length;
}

/** Pairs findings with expectations, the most specific expectations first; what is left over is extra. */
export function compareFindings(
  findings: readonly FindingV1[],
  expectations: readonly PackExpectation[],
): { missing: MissingFinding[]; extra: ExtraFinding[] } {
  const claimed = new Set<number>();
  const missing: MissingFinding[] = [];
  const ordered = expectations
    .map((expectation, index) => ({ expectation, index }))
    .sort((a, b) => specificity(b.expectation) - specificity(a.expectation) || a.index - b.index);
  const results = new Map<number, MissingFinding | undefined>();
  for (const { expectation, index } of ordered) {
    let found = 0;
    findings.forEach((finding, position) => {
      if (found >= expectation.count || claimed.has(position) || !matches(finding, expectation)) return;
      claimed.add(position);
      found++;
    });
    const { count, ...rest } = expectation;
    results.set(index, found < count ? { ...rest, expected: count, found } : undefined);
  }
  for (let index = 0; index < expectations.length; index++) {
    const result = results.get(index);
    if (result) missing.push(result);
  }
  const extra = findings
    .filter((_, position) => !claimed.has(position))
    .map((finding) => ({
      rule: finding.rule.id,
      id: finding.id,
      asset: finding.asset.hostname ?? finding.asset.id,
      severity: finding.severity,
      title: finding.title,
    }));
  return { missing, extra };
}

async function runCase(
  test: PackTest,
  pack: LoadedPack,
  compiled: CompiledPack,
  rules: CompiledRule[],
  ruleFilter: string | undefined,
  createTables: () => TestTables | Promise<TestTables>,
): Promise<PackTestCase> {
  const errors: string[] = [];
  const tables = await createTables();
  const extraReferences = await readReferences(
    test.references ?? [],
    pack.root,
    errors,
    `tests "${test.name}" references`,
  );
  for (const document of [...compiled.references, ...extraReferences]) {
    try {
      tables.setDocument(document);
    } catch (error) {
      errors.push(`${document.origin}: ${(error as Error).message}`);
    }
  }
  const events = await loadEvents(test, pack.root, errors);
  const evaluator = createEvaluator({ rules, tables });
  const findings: FindingV1[] = [];
  const record = (result: { findings: FindingV1[]; errors: { message: string }[] }, where: string) => {
    findings.push(...result.findings);
    for (const failure of result.errors) errors.push(`${where}: ${failure.message}`);
  };
  for (const { event, where } of events) {
    if (event.kind === "inventory.host") tables.applyHost(event.value);
    else if (event.kind === "advisory") tables.applyAdvisory(event.value);
    record(evaluator.evaluate(event), where);
  }
  if (test.advance_to !== undefined)
    record(evaluator.advance(Date.parse(test.advance_to)), `advance_to ${test.advance_to}`);
  const notes: string[] = [];
  for (const [rule, counters] of Object.entries(evaluator.counters().rules))
    if (counters.late_dropped > 0)
      notes.push(
        `${rule}: ${counters.late_dropped} event(s) later than its allowed_lateness were not counted`,
      );
  const expectations =
    ruleFilter === undefined
      ? test.expect
      : test.expect.filter((expectation) => expectation.rule === ruleFilter);
  const { missing, extra } = compareFindings(findings, expectations);
  return {
    name: test.name,
    ok: missing.length === 0 && extra.length === 0 && errors.length === 0,
    missing,
    extra,
    errors,
    notes,
    findings,
  };
}

/**
 * Loads, compiles and runs every test of a pack. Throws PackError when the pack cannot be loaded
 * or compiled (or names an unknown rule); a failing case is a result, not an exception.
 */
export async function runPackTests(path: string, options: PackTestOptions = {}): Promise<PackTestReport> {
  const pack = await loadPack(path);
  const compiled = await compilePack(pack.manifest, pack.root);
  const ids = new Set(compiled.rules.map((rule) => rule.id));
  const problems: string[] = [];
  if (options.rule !== undefined && !ids.has(options.rule))
    problems.push(`${pack.source}: no rule ${options.rule} in the pack`);
  pack.manifest.tests.forEach((test, index) => {
    for (const id of test.rules ?? [])
      if (!ids.has(id))
        problems.push(`${pack.source}: tests[${index}] "${test.name}": rules: no rule ${id} in the pack`);
    test.expect.forEach((expectation, position) => {
      if (!ids.has(expectation.rule))
        problems.push(
          `${pack.source}: tests[${index}] "${test.name}": expect[${position}].rule: no rule ${expectation.rule} in the pack`,
        );
    });
  });
  if (problems.length > 0) throw new PackError(pack.source, problems);

  const createTables = options.createTables ?? defaultTables;
  const cases: PackTestCase[] = [];
  for (const test of pack.manifest.tests) {
    const underTest = test.rules ?? [...ids];
    if (options.rule !== undefined && !underTest.includes(options.rule)) continue;
    const selected = new Set(options.rule !== undefined ? [options.rule] : underTest);
    const rules = compiled.rules.filter((rule) => selected.has(rule.id));
    cases.push(await runCase(test, pack, compiled, rules, options.rule, createTables));
  }
  const passed = cases.filter((testCase) => testCase.ok).length;
  return {
    pack: { name: pack.manifest.name, version: pack.manifest.version, root: pack.root, source: pack.source },
    rules: compiled.rules.length,
    passed,
    failed: cases.length - passed,
    cases,
  };
}
