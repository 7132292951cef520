import { z } from "zod";
import { IpAddress, PriorityTier, Severity, Timestamp } from "./common.ts";
import { Urgency } from "./incident.ts";

export const ResponseActionType = z.enum(["disable_default_accounts", "remove_from_network"]);
export type ResponseActionType = z.infer<typeof ResponseActionType>;

/**
 * A command for a SOAR or network-access-control system, on `vigil.response.actions`, keyed by
 * `id`: the idempotency key, derived from incident id + level + action, so a redelivered or replayed
 * request carries the same key and the executor does it at most once. `dry_run` is true unless the
 * escalation policy says otherwise: the executor then only reports what it would do.
 */
export const ResponseActionV1 = z.object({
  schema: z.literal("vigil.response-action/v1"),
  id: z.string().min(1),
  action: ResponseActionType,
  level: z.number().int().min(2).max(3),
  dry_run: z.boolean(),
  incident_id: z.string().min(1),
  requested_at: Timestamp,
  target: z.object({
    asset_id: z.string().min(1),
    ip: IpAddress.optional(),
    hostname: z.string().optional(),
    priority: PriorityTier,
    organisation: z.string(),
  }),
  /** Why, for whoever reviews what the response process did. */
  audit: z.object({
    requested_by: z.string().min(1),
    reason: z.string(),
    incident_version: z.number().int().positive(),
    urgency: Urgency,
    severity: Severity,
    finding_ids: z.array(z.string()),
    policy: z.string(),
  }),
});
export type ResponseActionV1 = z.infer<typeof ResponseActionV1>;
