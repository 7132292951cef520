import { readFile } from "node:fs/promises";
import { formatDuration, parseDuration } from "@vigil/config";
import { PriorityTier, Severity, Urgency } from "@vigil/schema";
import { z } from "zod";
import { parseYamlDocument } from "./yaml-document.ts";

const oneOf = (values: readonly string[]) => () => `expected one of ${values.join("|")}`;
const UrgencyValue = z.enum(Urgency.options, { error: oneOf(Urgency.options) });
const TierValue = z.enum(PriorityTier.options, { error: oneOf(PriorityTier.options) });
const SeverityValue = z.enum(Severity.options, { error: oneOf(Severity.options) });

const strict = <T extends z.ZodRawShape>(shape: T, what: string) =>
  z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? undefined : `expected ${what}`),
  });

const MAX_DURATION_MS = 90 * 24 * 3_600_000;
/** `0m`, `30m`, `4h`, `1d`, `1h30m`: milliseconds. */
const Duration = z
  .string({ error: () => "expected a duration like 30m, 4h, 1d or 1h30m" })
  .transform((text, ctx) => {
    const ms = /^0+$/.test(text.trim()) ? 0 : parseDuration(text);
    if (ms === undefined || ms > MAX_DURATION_MS) {
      ctx.addIssue({
        code: "custom",
        message: `expected a duration like 30m, 4h, 1d or 1h30m, at most ${formatDuration(MAX_DURATION_MS)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

const SeverityRow = strict(
  Object.fromEntries(Severity.options.map((severity) => [severity, UrgencyValue])) as Record<
    Severity,
    typeof UrgencyValue
  >,
  `a mapping of every severity (${Severity.options.join(", ")}) to an urgency`,
);

/** Asset priority tier (rows) x finding severity (columns) -> urgency. */
export const UrgencyMatrixFile = strict(
  {
    version: z.literal(1, { error: () => "expected 1 (the only urgency-matrix format version)" }),
    matrix: strict(
      Object.fromEntries(PriorityTier.options.map((tier) => [tier, SeverityRow])) as Record<
        PriorityTier,
        typeof SeverityRow
      >,
      `a mapping of every priority tier (${PriorityTier.options.join(", ")}) to a row`,
    ),
  },
  "an urgency-matrix mapping (version, matrix)",
);
export type UrgencyMatrix = z.output<typeof UrgencyMatrixFile>;

const LadderRow = strict(
  { "1": Duration.optional(), "2": Duration.optional(), "3": Duration.optional() },
  "a mapping of levels (1, 2, 3) to the time after the clock starts",
).superRefine((row, ctx) => {
  let previous = -1;
  let gap = false;
  for (const level of ["1", "2", "3"] as const) {
    const at = row[level];
    if (at === undefined) {
      gap = true;
      continue;
    }
    if (gap)
      ctx.addIssue({ code: "custom", path: [level], message: `level ${level} without the levels below it` });
    if (at < previous)
      ctx.addIssue({ code: "custom", path: [level], message: `level ${level} before the level below it` });
    previous = at;
  }
});

const StartCondition = strict(
  {
    tier: z.array(TierValue).min(1).optional(),
    severity: z.array(SeverityValue).min(1).optional(),
    urgency: z.array(UrgencyValue).min(1).optional(),
    rules: z.array(z.string().min(1)).min(1).optional(),
    attack: z.array(z.string().min(1)).min(1).optional(),
    /** A CVE of the finding is known exploited (the sink's `isKnownExploited`, e.g. CISA KEV). */
    known_exploited: z.literal(true, { error: () => "expected true" }).optional(),
  },
  "a condition mapping (tier, severity, urgency, rules, attack, known_exploited)",
).refine((when) => Object.values(when).some((value) => value !== undefined), {
  message: "expected at least one condition",
});

const StartRule = strict(
  {
    when: StartCondition,
    level: z
      .number({ error: () => "expected a level 1, 2 or 3" })
      .int()
      .min(1)
      .max(3),
    reason: z
      .string({ error: () => "expected a reason" })
      .trim()
      .min(1),
  },
  "a start rule mapping (when, level, reason)",
);
export type StartRule = z.output<typeof StartRule>;

const byUrgency = <T extends z.ZodType>(value: T, what: string) =>
  strict(
    Object.fromEntries(Urgency.options.map((urgency) => [urgency, value])) as Record<Urgency, T>,
    `a mapping of every urgency (${Urgency.options.join(", ")}) to ${what}`,
  );

/** The escalation ladder's timers, the SLA, who starts higher, and whether response actions are real. */
export const EscalationPolicyFile = strict(
  {
    version: z.literal(1, { error: () => "expected 1 (the only escalation-policy format version)" }),
    /** Response actions are requests to report what would be done, unless this is false. */
    dry_run: z.boolean({ error: () => "expected true or false" }).default(true),
    /** Who owns an incident whose asset names no owner. */
    unowned_organisation: z
      .string({ error: () => "expected an organisation name" })
      .trim()
      .min(1),
    /** Time to resolve, from when the clock starts. */
    sla: byUrgency(Duration, "a duration"),
    /** When each level is due after the clock starts; a level left out is never reached by the clock. */
    ladder: byUrgency(LadderRow, "a ladder row"),
    /** Incidents matching a rule start at its level (the highest matching); all lower levels happen too. */
    start: z.array(StartRule, { error: () => "expected a list of start rules" }).default([]),
  },
  "an escalation-policy mapping (version, dry_run, unowned_organisation, sla, ladder, start)",
);
export type EscalationPolicy = z.output<typeof EscalationPolicyFile>;

export const DEFAULT_URGENCY_MATRIX: UrgencyMatrix = {
  version: 1,
  matrix: {
    critical: { critical: "critical", high: "critical", medium: "high", low: "medium", informational: "low" },
    high: { critical: "critical", high: "high", medium: "high", low: "medium", informational: "low" },
    medium: { critical: "high", high: "high", medium: "medium", low: "low", informational: "low" },
    low: { critical: "high", high: "medium", medium: "low", low: "low", informational: "low" },
  },
};

const HOUR = 3_600_000;
export const DEFAULT_ESCALATION_POLICY: EscalationPolicy = {
  version: 1,
  dry_run: true,
  unowned_organisation: "SOC",
  sla: { critical: 24 * HOUR, high: 72 * HOUR, medium: 14 * 24 * HOUR, low: 30 * 24 * HOUR },
  ladder: {
    critical: { "1": 0, "2": 1 * HOUR, "3": 4 * HOUR },
    high: { "1": HOUR / 2, "2": 8 * HOUR, "3": 24 * HOUR },
    medium: { "1": 4 * HOUR, "2": 72 * HOUR },
    low: { "1": 24 * HOUR },
  },
  start: [
    {
      when: { tier: ["critical"] },
      level: 1,
      reason: "critical-priority asset: its owner is notified at once",
    },
    {
      when: { known_exploited: true },
      level: 2,
      reason: "known-exploited vulnerability (MISSION.md 4: emergency response)",
    },
    {
      when: { rules: ["core.ids.exploit-vulnerable-asset"] },
      level: 2,
      reason: "exploit attempt on a vulnerable asset (MISSION.md 4: emergency response)",
    },
  ],
};

export function parseUrgencyMatrix(text: string, origin = "urgency.yaml"): UrgencyMatrix {
  return parseYamlDocument(text, UrgencyMatrixFile, origin);
}

export function parseEscalationPolicy(text: string, origin = "escalation.yaml"): EscalationPolicy {
  return parseYamlDocument(text, EscalationPolicyFile, origin);
}

/** Reads and validates a matrix file; throws `PolicyFileError` naming file:line, key and problem. */
export async function loadUrgencyMatrix(path: string): Promise<UrgencyMatrix> {
  return parseUrgencyMatrix(await readFile(path, "utf8"), path);
}

export async function loadEscalationPolicy(path: string): Promise<EscalationPolicy> {
  return parseEscalationPolicy(await readFile(path, "utf8"), path);
}

export function urgencyOf(matrix: UrgencyMatrix, tier: PriorityTier, severity: Severity): Urgency {
  return matrix.matrix[tier][severity];
}
