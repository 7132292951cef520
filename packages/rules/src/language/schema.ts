/**
 * The shape of a declarative rule, validated by zod (strict: an unknown key is an error naming the
 * key). Conditions and templates are checked further by the compiler, which knows the fields of
 * the event kinds.
 */
import { Severity } from "@vigil/schema";
import { z } from "zod";
import { eventKinds } from "../model.ts";
import { parseDuration } from "./duration.ts";

export const ruleIdPattern = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$/;

export const RuleId = z
  .string({ error: () => "expected a rule id" })
  .max(128, "expected at most 128 characters")
  .regex(
    ruleIdPattern,
    "expected a dotted lower-case id like fw.port-scan (letters, digits, - and _; two parts or more)",
  );

const kindList = eventKinds.join(", ");
export const EventKindName = z.enum(eventKinds, { error: () => `expected an event kind: ${kindList}` });

export const Duration = z
  .string({ error: () => "expected a duration like 30s, 5m, 1h, 7d" })
  .transform((text, context) => {
    const parsed = parseDuration(text);
    if (typeof parsed === "string") {
      context.addIssue({ code: "custom", message: parsed });
      return z.NEVER;
    }
    return parsed;
  });

const text = (what: string, max: number) =>
  z
    .string({ error: () => `expected ${what}` })
    .min(1, `expected ${what}`)
    .max(max, `expected at most ${max} characters`);

const FieldPath = text("a dotted field path", 256);

/** A condition tree; its structure is checked by the compiler (it needs the event kinds to check fields). */
const Condition = z.unknown();

const SeverityName = z.enum(Severity.options, {
  error: () => `expected a severity: ${Severity.options.join(", ")}`,
});

export const SeveritySpec = z.union([
  SeverityName,
  z.strictObject({
    /** A field whose value is the severity, or is looked up in `map` (e.g. `asset.tier`). */
    from: FieldPath.optional(),
    map: z.record(z.string(), SeverityName).optional(),
    /** When `from` is absent, or its value is not a severity and not in `map`. */
    default: SeverityName,
    /** Each condition that holds raises the severity one step (capped at critical). */
    raise: z
      .array(z.strictObject({ when: Condition, reason: text("a reason", 200).optional() }))
      .max(16)
      .optional(),
  }),
]);

const AssetOverride = z
  .strictObject({
    ip: text("a template", 512).optional(),
    hostname: text("a template", 512).optional(),
    id: text("a template", 512).optional(),
  })
  .refine((value) => value.ip !== undefined || value.hostname !== undefined || value.id !== undefined, {
    message: "expected ip, hostname or id",
  });

const Bound = z.number({ error: () => "expected a number" }).nonnegative("expected a number >= 0");
export const Threshold = z
  .strictObject({ gt: Bound.optional(), gte: Bound.optional(), lt: Bound.optional(), lte: Bound.optional() })
  .refine((value) => Object.values(value).some((bound) => bound !== undefined), {
    message: "expected a bound: gt, gte, lt or lte",
  });

export const CorrelateSpec = z
  .strictObject({
    /** The key events are correlated by (one or more field paths, joined). */
    by: z.array(FieldPath).min(1, "expected at least one field").max(8),
    window: Duration.optional(),
    /** `sliding` (default): any `window`-long span; `tumbling`: fixed windows aligned to the epoch. */
    mode: z.enum(["sliding", "tumbling"], { error: () => "expected sliding or tumbling" }).default("sliding"),
    /** How late (in event time) an event may arrive and still count. */
    allowed_lateness: Duration.default(0),
    /** Events (or distinct values) kept per key; beyond it the oldest go and `state_capped` counts them. */
    max_events: z.number().int().min(1).max(100_000).default(1000),
    count: Threshold.optional(),
    distinct: z
      .strictObject({
        field: FieldPath,
        gt: Bound.optional(),
        gte: Bound.optional(),
        lt: Bound.optional(),
        lte: Bound.optional(),
      })
      .optional(),
    sequence: z
      .array(
        z.strictObject({
          name: text("a step name", 100),
          on: z.union([EventKindName, z.array(EventKindName).min(1)]).optional(),
          where: Condition,
        }),
      )
      .min(2, "expected at least two steps")
      .max(16)
      .optional(),
    absence: z
      .strictObject({
        /** No event for the key within this long after the last one (or after `since`). */
        for: Duration,
        /** A time field of the event to measure from instead of the event time (e.g. agent.last_seen). */
        since: FieldPath.optional(),
        /** Events matching this stop watching the key (e.g. the host is no longer managed). */
        stop_when: Condition.optional(),
      })
      .optional(),
  })
  .superRefine((value, context) => {
    const kinds = (["count", "distinct", "sequence", "absence"] as const).filter(
      (key) => value[key] !== undefined,
    );
    if (kinds.length !== 1) {
      context.addIssue({
        code: "custom",
        message:
          kinds.length === 0
            ? "expected one of count, distinct, sequence, absence"
            : `expected only one of count, distinct, sequence, absence (got ${kinds.join(", ")})`,
      });
      return;
    }
    if (kinds[0] !== "absence" && value.window === undefined)
      context.addIssue({ code: "custom", path: ["window"], message: `expected a window for ${kinds[0]}` });
    if (kinds[0] === "absence" && value.window !== undefined)
      context.addIssue({
        code: "custom",
        path: ["window"],
        message: "absence takes its duration from absence.for, not window",
      });
  });

export const RuleSpec = z.strictObject({
  id: RuleId,
  name: text("a name", 200),
  version: z
    .number({ error: () => "expected a version number" })
    .int("expected a whole number")
    .min(1, "expected 1 or more"),
  description: text("a description", 10_000),
  on: z.union([EventKindName, z.array(EventKindName).min(1, "expected at least one event kind")]),
  where: Condition.optional(),
  /** Whose asset the finding is about, when not the event's own (templates). */
  asset: AssetOverride.optional(),
  for_each: z
    .strictObject({
      in: FieldPath,
      where: Condition.optional(),
      asset: AssetOverride.optional(),
    })
    .optional(),
  correlate: CorrelateSpec.optional(),
  severity: SeveritySpec,
  title: text("a title template", 8192),
  /** The finding's description (template). */
  details: text("a details template", 8192).optional(),
  group_key: text("a group key template", 8192).optional(),
  attack: z
    .array(
      z
        .string({ error: () => "expected an ATT&CK id" })
        .regex(
          /^(T\d{4}(\.\d{3})?|TA\d{4}|S\d{4}|G\d{4}|M\d{4}|DS\d{4}|C\d{4})$/,
          "expected an ATT&CK id like T1190, T1059.001 or TA0001",
        ),
    )
    .max(32)
    .default([]),
  references: z.array(text("a reference", 2048)).max(32).default([]),
  suppress: z
    .strictObject({
      window: Duration,
      /** Default: the asset and the group key. */
      by: z.array(FieldPath).min(1).max(8).optional(),
    })
    .optional(),
  tags: z.array(text("a tag", 100)).max(32).default([]),
});
export type RuleSpecInput = z.input<typeof RuleSpec>;
export type RuleSpec = z.output<typeof RuleSpec>;
