/**
 * The shape of Sigma documents (rules, correlation rules, filters), validated with zod. Only
 * what the evaluator relies on is strict; other metadata passes through untouched.
 */
import { z } from "zod";

const stringList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]));
// YAML reads `date: 2024-01-01` as a string under the core schema, but a number or a date slips in elsewhere.
const looseText = z
  .union([z.string(), z.number(), z.date()])
  .transform((value) => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value)));

export const logsourceSchema = z.looseObject({
  category: z.string().optional(),
  product: z.string().optional(),
  service: z.string().optional(),
  definition: z.string().optional(),
});

const metadata = {
  title: z.string().min(1),
  id: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  status: z.string().optional(),
  description: z.string().optional(),
  author: z.string().optional(),
  date: looseText.optional(),
  modified: looseText.optional(),
  references: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  level: z.enum(["informational", "low", "medium", "high", "critical"]).optional(),
  falsepositives: stringList.optional(),
};

const metadataSchema = z.object(metadata);
export type RuleMetadataDocument = z.infer<typeof metadataSchema>;

export const detectionSchema = z.looseObject({
  condition: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
});

export const detectionRuleSchema = z.looseObject({
  ...metadata,
  logsource: logsourceSchema,
  detection: detectionSchema,
});
export type DetectionRuleDocument = z.infer<typeof detectionRuleSchema>;

const correlationConditionSchema = z
  .strictObject({
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    eq: z.number().optional(),
    neq: z.number().optional(),
    field: z.string().min(1).optional(),
  })
  .refine((c) => ["gt", "gte", "lt", "lte", "eq", "neq"].some((key) => key in c), {
    message: "needs at least one of gt, gte, lt, lte, eq, neq",
  });

export const correlationTypes = ["event_count", "value_count", "temporal", "temporal_ordered"] as const;
export type CorrelationType = (typeof correlationTypes)[number];

export const correlationRuleSchema = z.looseObject({
  ...metadata,
  correlation: z.strictObject({
    type: z.enum(correlationTypes),
    rules: stringList.pipe(z.array(z.string().min(1)).min(1)),
    "group-by": stringList.optional(),
    timespan: z.string().min(1).optional(),
    // An early draft of the correlation spec called it timeframe.
    timeframe: z.string().min(1).optional(),
    condition: correlationConditionSchema.optional(),
    aliases: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    generate: z.boolean().optional(),
  }),
  generate: z.boolean().optional(),
});
export type CorrelationRuleDocument = z.infer<typeof correlationRuleSchema>;
export type CorrelationConditionDocument = z.infer<typeof correlationConditionSchema>;

export const filterRuleSchema = z.looseObject({
  ...metadata,
  logsource: logsourceSchema.optional(),
  filter: z.looseObject({
    rules: stringList.optional(),
    condition: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  }),
});
export type FilterRuleDocument = z.infer<typeof filterRuleSchema>;

export function formatZodIssues(error: z.ZodError): { key: string; detail: string } {
  const [first] = error.issues;
  const key = first && first.path.length > 0 ? first.path.map(String).join(".") : "";
  const detail = error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "";
      return `${path && path !== key ? `${path}: ` : ""}${issue.message}`;
    })
    .join("; ");
  return { key, detail };
}
