import { z } from "zod";
import { Timestamp } from "./common.ts";
import { IncidentStatus, Verdict } from "./incident.ts";

const CommandBase = {
  schema: z.literal("vigil.incident-command/v1"),
  /** Unique per command (the console or CLI makes it); a redelivered command is applied once. */
  id: z.string().min(1).max(200),
  incident_id: z.string().min(1),
  time: Timestamp,
  /** The analyst. */
  actor: z.string().trim().min(1).max(200),
};

/**
 * What an analyst does to an incident, on `vigil.incident-commands` (key: incident id). The sink is
 * the single writer of `vigil.incidents`: it applies each command or dead-letters it with a reason.
 */
export const IncidentCommandV1 = z.discriminatedUnion("type", [
  z.object({ ...CommandBase, type: z.literal("acknowledge"), note: z.string().max(2000).optional() }),
  z.object({ ...CommandBase, type: z.literal("assign"), assignee: z.string().trim().min(1).max(200) }),
  z.object({
    ...CommandBase,
    type: z.literal("set_status"),
    /** Resolved and closed have their own commands (they carry a summary). */
    status: IncidentStatus.extract(["in_progress", "on_hold"]),
  }),
  z.object({ ...CommandBase, type: z.literal("set_verdict"), verdict: Verdict }),
  z.object({
    ...CommandBase,
    type: z.literal("resolve"),
    summary: z.string().trim().min(1).max(2000),
    verdict: Verdict.optional(),
  }),
  z.object({
    ...CommandBase,
    type: z.literal("close"),
    summary: z.string().max(2000).optional(),
    verdict: Verdict.optional(),
  }),
  z.object({ ...CommandBase, type: z.literal("reopen"), reason: z.string().trim().min(1).max(2000) }),
  z.object({ ...CommandBase, type: z.literal("comment"), text: z.string().trim().min(1).max(10_000) }),
]);
export type IncidentCommandV1 = z.infer<typeof IncidentCommandV1>;
export type IncidentCommandType = IncidentCommandV1["type"];
