import { z } from "zod";

/** Severity on OCSF's scale (severity_id 1-5), lower-cased names. */
export const Severity = z.enum(["informational", "low", "medium", "high", "critical"]);
export type Severity = z.infer<typeof Severity>;
export const severityRank: Record<Severity, number> = {
  informational: 1,
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
};

/** Asset priority tiers: the prioritized list of what to protect first (MISSION.md 4). */
export const PriorityTier = z.enum(["critical", "high", "medium", "low"]);
export type PriorityTier = z.infer<typeof PriorityTier>;

/** RFC 3339 timestamp with offset, as JSON carries it. */
export const Timestamp = z.iso.datetime({ offset: true });

export const IpAddress = z.union([z.ipv4(), z.ipv6()]);

export const Endpoint = z.object({
  ip: IpAddress,
  port: z.number().int().min(0).max(65535).optional(),
});
export type Endpoint = z.infer<typeof Endpoint>;

export const CveId = z.string().regex(/^CVE-\d{4}-\d{4,}$/);
