import {
  type IncidentEventV1,
  type IncidentStatus,
  type IncidentV1,
  Severity,
  severityRank,
  Urgency,
  urgencyRank,
} from "@vigil/schema";
import { z } from "zod";

/** What the console's queue and the CLI filter on. Every given criterion must hold. */
export interface IncidentFilter {
  status?: IncidentStatus | readonly IncidentStatus[];
  urgency?: Urgency | readonly Urgency[];
  severity?: Severity | readonly Severity[];
  /** The asset id, exactly. */
  asset?: string;
  /** The owning organisation, exactly. */
  organisation?: string;
  /**
   * Case-insensitive; every whitespace-separated term must occur in the title, the asset
   * (id, host name, address) or the description.
   */
  text?: string;
}

export interface ListQuery extends IncidentFilter {
  /** Page size, 1..MAX_LIMIT; DEFAULT_LIMIT when absent. */
  limit?: number;
  /** `nextCursor` of the previous page, for the same filter. */
  cursor?: string;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1_000;

export interface IncidentPage {
  /** Sorted by urgency, then severity, then last_seen (newest first), then id. */
  incidents: IncidentV1[];
  /** Absent on the last page. */
  nextCursor?: string;
}

export interface UpsertResult {
  id: string;
  /** False when the store already held this version or a newer one. */
  changed: boolean;
  /** The version the store holds after the call. */
  version: number;
}

/**
 * What the store needs of a `vigil.incident-events` record; the whole record is kept as it came,
 * so that fields added to IncidentEventV1 later need no migration.
 */
const EventIndexFields = z.object({
  id: z.string().min(1),
  incident_id: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  type: z.string().min(1),
});

export interface IncidentCounts {
  total: number;
  byStatus: Partial<Record<IncidentStatus, number>>;
  /** Incidents without an urgency (written before it existed) are counted under `none`. */
  byUrgency: Partial<Record<Urgency | "none", number>>;
  bySeverity: Partial<Record<Severity, number>>;
}

/** The incident store the console and the CLI query; the sink writes it. */
export interface IncidentStoreBackend {
  readonly kind: "embedded" | "postgres";
  /** Idempotent by id + version: an older or equal version never overwrites what is stored. */
  upsert(incident: IncidentV1): Promise<UpsertResult>;
  /** All or nothing; one result per input, in input order. */
  upsertMany(incidents: readonly IncidentV1[]): Promise<UpsertResult[]>;
  get(id: string): Promise<IncidentV1 | undefined>;
  list(query?: ListQuery): Promise<IncidentPage>;
  /** Idempotent by event id; returns how many were new. */
  appendEvents(events: readonly IncidentEventV1[]): Promise<number>;
  /** The incident's timeline, oldest first (by time, then id). */
  events(incidentId: string): Promise<IncidentEventV1[]>;
  counts(filter?: IncidentFilter): Promise<IncidentCounts>;
  close(): Promise<void>;
}

/** The fields the store indexes; everything else is kept as it came, so new fields need no migration. */
const IndexedFields = z.object({
  id: z.string().min(1),
  version: z.number().int().positive(),
  status: z.string().min(1),
  severity: Severity,
  title: z.string(),
  description: z.string(),
  asset: z.object({
    id: z.string().min(1),
    hostname: z.string().optional(),
    ip: z.string().optional(),
    owner: z.string().optional(),
  }),
  last_seen: z.iso.datetime({ offset: true }),
  updated_at: z.iso.datetime({ offset: true }),
  urgency: Urgency.optional(),
  owner: z.object({ organisation: z.string().optional() }).optional(),
});

export interface IndexedIncident {
  id: string;
  version: number;
  status: string;
  urgency: Urgency | null;
  urgencyRank: number;
  severity: Severity;
  severityRank: number;
  assetId: string;
  organisation: string | null;
  lastSeen: string;
  lastSeenMicros: number;
  updatedAt: string;
  /** Lower-cased title, asset id, host name, address and description, for text search. */
  searchText: string;
}

export function indexIncident(incident: IncidentV1): IndexedIncident {
  const parsed = IndexedFields.safeParse(incident);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    const id = typeof incident?.id === "string" ? incident.id : "<no id>";
    throw new TypeError(`incident ${id} cannot be stored: ${where}`);
  }
  const fields = parsed.data;
  const urgency = fields.urgency ?? null;
  return {
    id: fields.id,
    version: fields.version,
    status: fields.status,
    urgency,
    urgencyRank: urgency === null ? 0 : urgencyRank[urgency],
    severity: fields.severity,
    severityRank: severityRank[fields.severity],
    assetId: fields.asset.id,
    organisation: fields.owner?.organisation ?? fields.asset.owner ?? null,
    lastSeen: fields.last_seen,
    lastSeenMicros: isoToMicros(fields.last_seen),
    updatedAt: fields.updated_at,
    searchText: [fields.title, fields.asset.id, fields.asset.hostname, fields.asset.ip, fields.description]
      .filter((part) => part !== undefined && part !== "")
      .join("\n")
      .toLowerCase(),
  };
}

/**
 * Microseconds since the epoch (PostgreSQL's timestamptz precision; further digits are dropped).
 * A double holds them exactly until the year 2255.
 */
export function isoToMicros(iso: string): number {
  const millis = Date.parse(iso);
  if (Number.isNaN(millis)) throw new TypeError(`not a timestamp: ${iso}`);
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? "";
  return millis * 1000 + Number(fraction.slice(3, 6).padEnd(3, "0"));
}

export function searchTerms(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter((term) => term.length > 0);
}

export function asList<T extends string>(value: T | readonly T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? [value as T] : (value as readonly T[]);
}

export function pageLimit(limit: number | undefined): number {
  const value = limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${value}`);
  }
  return value;
}

/** Where a page ends in the sort order; the next page starts strictly after it. */
export interface SortPosition {
  urgencyRank: number;
  severityRank: number;
  /** The record's own `last_seen` text, so that PostgreSQL compares exactly what it stored. */
  lastSeen: string;
  lastSeenMicros: number;
  id: string;
}

export function positionOf(indexed: IndexedIncident): SortPosition {
  return {
    urgencyRank: indexed.urgencyRank,
    severityRank: indexed.severityRank,
    lastSeen: indexed.lastSeen,
    lastSeenMicros: indexed.lastSeenMicros,
    id: indexed.id,
  };
}

/** Sorts queue order: urgency, severity and last_seen descending, then id descending. */
export function compareQueueOrder(a: SortPosition, b: SortPosition): number {
  if (a.urgencyRank !== b.urgencyRank) return b.urgencyRank - a.urgencyRank;
  if (a.severityRank !== b.severityRank) return b.severityRank - a.severityRank;
  if (a.lastSeenMicros !== b.lastSeenMicros) return b.lastSeenMicros - a.lastSeenMicros;
  if (a.id === b.id) return 0;
  return a.id > b.id ? -1 : 1;
}

const CursorShape = z.tuple([z.literal(1), z.number().int(), z.number().int(), z.string(), z.string()]);

export function encodeCursor(position: SortPosition): string {
  const payload = [1, position.urgencyRank, position.severityRank, position.lastSeen, position.id];
  return Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): SortPosition {
  try {
    const [, urgency, severity, lastSeen, id] = CursorShape.parse(
      JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")),
    );
    return {
      urgencyRank: urgency,
      severityRank: severity,
      lastSeen,
      lastSeenMicros: isoToMicros(lastSeen),
      id,
    };
  } catch {
    throw new TypeError("invalid cursor: pass the nextCursor of a previous page unchanged");
  }
}

export function emptyCounts(): IncidentCounts {
  return { total: 0, byStatus: {}, byUrgency: {}, bySeverity: {} };
}

export function validateEvents(events: readonly IncidentEventV1[]): IncidentEventV1[] {
  return events.map((event) => {
    const parsed = EventIndexFields.safeParse(event);
    if (!parsed.success) {
      const where = parsed.error.issues
        .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
        .join("; ");
      throw new TypeError(`incident event cannot be stored: ${where}`);
    }
    return event;
  });
}
