import type { IncidentV1 } from "@vigil/schema";

export interface IncidentStoreOptions {
  /**
   * Finding ids remembered per incident for duplicate detection, beyond the bounded
   * `finding_ids` the record carries (default 10 000; oldest forgotten first).
   */
  maxSeenPerIncident?: number;
}

interface Entry {
  incident: IncidentV1;
  /** Insertion-ordered, so the oldest id is evicted first. */
  seen: Set<string>;
}

/**
 * The incident table in memory, keyed by incident id: the state `vigil.incidents` (compacted)
 * holds durably. Rebuilt with `restore` from that topic before any finding is applied.
 */
export class IncidentStore {
  readonly maxSeenPerIncident: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: IncidentStoreOptions = {}) {
    this.maxSeenPerIncident = options.maxSeenPerIncident ?? 10_000;
    if (!Number.isSafeInteger(this.maxSeenPerIncident) || this.maxSeenPerIncident < 1) {
      throw new RangeError(`maxSeenPerIncident must be a positive integer, got ${this.maxSeenPerIncident}`);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): IncidentV1 | undefined {
    return this.#entries.get(id)?.incident;
  }

  *values(): IterableIterator<IncidentV1> {
    for (const entry of this.#entries.values()) yield entry.incident;
  }

  /** Whether this finding (or applied key) was already merged into this incident (as far as the store remembers). */
  hasApplied(incidentId: string, findingId: string): boolean {
    return this.#entries.get(incidentId)?.seen.has(findingId) ?? false;
  }

  /**
   * Loads records of the compacted topic, in any order: per id the highest `version` wins
   * (a tie keeps the later record). After a restart, duplicate detection knows only what the
   * records carry: `finding_ids`, `source_refs` and the commands named in `timeline`.
   */
  restore(values: Iterable<IncidentV1>): void {
    for (const incident of values) {
      const current = this.#entries.get(incident.id);
      if (current && current.incident.version > incident.version) continue;
      this.#put(incident, appliedKeysOf(incident), current?.seen);
    }
  }

  /** A tombstone on the compacted topic: the incident was deleted. */
  delete(id: string): boolean {
    return this.#entries.delete(id);
  }

  /**
   * Records a new state of an incident and what produced it: a finding id, and for the incident
   * domain also `src:<source ref>` and `command:<id>` keys.
   */
  set(incident: IncidentV1, ...appliedKeys: string[]): void {
    this.#put(incident, appliedKeys, this.#entries.get(incident.id)?.seen);
  }

  #put(incident: IncidentV1, findingIds: readonly string[], previous: Set<string> | undefined): void {
    const seen = previous ?? new Set<string>();
    for (const id of findingIds) {
      seen.delete(id);
      seen.add(id);
    }
    for (const id of seen) {
      if (seen.size <= this.maxSeenPerIncident) break;
      seen.delete(id);
    }
    this.#entries.set(incident.id, { incident, seen });
  }
}

/** What a record itself says was applied to it: its finding ids, source refs and the commands in its timeline. */
export function appliedKeysOf(incident: IncidentV1): string[] {
  return [
    ...incident.finding_ids,
    ...(incident.source_refs ?? []).map((ref) => `src:${ref}`),
    ...(incident.timeline ?? [])
      .map((entry) => entry.ref)
      .filter((ref): ref is string => ref?.startsWith("command:") === true),
  ];
}
