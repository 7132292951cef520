import { z } from "zod";
import { Timestamp } from "./common.ts";
import { IncidentEventType } from "./incident.ts";

/**
 * One change of one incident, on `vigil.incident-events` (key: incident id): the changelog SOC
 * tooling and the outputs consume. `id` is derived from the incident, the change type and its
 * cause (finding id, command id, escalation level), so a redelivery or replay re-emits the same id.
 */
export const IncidentEventV1 = z.object({
  schema: z.literal("vigil.incident-event/v1"),
  id: z.string().min(1),
  incident_id: z.string().min(1),
  /** The incident version this change produced (several events may share one version). */
  incident_version: z.number().int().positive(),
  /** Processing time of the change. */
  time: Timestamp,
  type: IncidentEventType,
  actor: z.string().min(1),
  summary: z.string(),
  /** The value before and after, for changes of one field (severity, status, level, assignee, ...). */
  from: z.string().optional(),
  to: z.string().optional(),
  finding_id: z.string().optional(),
  command_id: z.string().optional(),
  /** For `escalated` and `action_requested`. */
  level: z.number().int().min(1).max(3).optional(),
  /** For `action_requested`: the `vigil.response.actions` record id (its idempotency key). */
  action_id: z.string().optional(),
});
export type IncidentEventV1 = z.infer<typeof IncidentEventV1>;
