import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import type { IncidentEventV1, IncidentV1 } from "@vigil/schema";
import {
  asList,
  compareQueueOrder,
  decodeCursor,
  emptyCounts,
  encodeCursor,
  type IncidentCounts,
  type IncidentFilter,
  type IncidentPage,
  type IncidentStoreBackend,
  type IndexedIncident,
  indexIncident,
  type ListQuery,
  pageLimit,
  positionOf,
  type SortPosition,
  searchTerms,
  type UpsertResult,
  validateEvents,
} from "./backend.ts";

export interface EmbeddedStoreOptions {
  /**
   * A JSON-lines file the store appends every change to and reloads on open (compacted then:
   * one line per incident and per event). Without it the store lives in memory only.
   */
  file?: string;
  /** fsync after every write: survives a power cut, not only a crash of the process. Default false. */
  fsync?: boolean;
}

interface Row {
  incident: IncidentV1;
  indexed: IndexedIncident;
  position: SortPosition;
}

function row(incident: IncidentV1, indexed: IndexedIncident): Row {
  return { incident, indexed, position: positionOf(indexed) };
}

type Line = { kind: "incident"; incident: IncidentV1 } | { kind: "event"; event: IncidentEventV1 };

/**
 * The tables of an embedded store. Several `EmbeddedIncidentStore` handles may share one (like two
 * processes on one database); the file is closed when the last handle closes.
 */
export class EmbeddedIncidentDatabase {
  readonly file: string | undefined;
  readonly #fsync: boolean;
  readonly #incidents = new Map<string, Row>();
  /** Every row in queue order: a page is a binary search and a short walk, not a sort. */
  readonly #queue: Row[] = [];
  readonly #events = new Map<string, IncidentEventV1>();
  readonly #eventsByIncident = new Map<string, IncidentEventV1[]>();
  #fd: number | undefined;
  #handles = 0;
  /** Lines skipped on open: a torn last line after a crash, or lines this version cannot read. */
  readonly skippedLines: number = 0;

  constructor(options: EmbeddedStoreOptions = {}) {
    this.file = options.file;
    this.#fsync = options.fsync ?? false;
    if (this.file !== undefined) this.skippedLines = this.#load(this.file);
  }

  /** A new handle on these tables. */
  connect(): EmbeddedIncidentStore {
    this.#handles++;
    return new EmbeddedIncidentStore(this, () => this.#release());
  }

  upsertAll(incidents: readonly IncidentV1[]): UpsertResult[] {
    // Index everything first: a bad record rejects the whole batch before anything changes.
    const indexed = incidents.map((incident) => indexIncident(incident));
    const newest = new Map<string, Row>();
    for (const [i, incident] of incidents.entries()) {
      const candidate = row(incident, indexed[i] as IndexedIncident);
      const seen = newest.get(candidate.indexed.id);
      if (seen === undefined || seen.indexed.version < candidate.indexed.version) {
        newest.set(candidate.indexed.id, candidate);
      }
    }
    const written = new Map<string, Row>();
    for (const [id, row] of newest) {
      const current = this.#incidents.get(id);
      if (current === undefined || current.indexed.version < row.indexed.version) written.set(id, row);
    }
    // The file first: what is in memory is never ahead of what a restart would see.
    this.#append([...written.values()].map((row) => ({ kind: "incident", incident: row.incident })));
    for (const row of written.values()) this.#put(row);
    return indexed.map((fields, i) => {
      const stored = this.#incidents.get(fields.id) as Row;
      // Only the record that was written counts as the change, not its older twins in the batch.
      const changed = written.get(fields.id)?.incident === incidents[i];
      if (changed) written.delete(fields.id);
      return { id: fields.id, changed, version: stored.indexed.version };
    });
  }

  get(id: string): IncidentV1 | undefined {
    return this.#incidents.get(id)?.incident;
  }

  list(query: ListQuery): IncidentPage {
    const limit = pageLimit(query.limit);
    const matches = matcher(query);
    let start = 0;
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor);
      start = this.#lowerBound(after);
      const first = this.#queue[start];
      if (first !== undefined && compareQueueOrder(first.position, after) === 0) start++;
    }
    const page: Row[] = [];
    let more = false;
    for (let i = start; i < this.#queue.length; i++) {
      const candidate = this.#queue[i] as Row;
      if (!matches(candidate.indexed)) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(candidate);
    }
    const last = page.at(-1);
    return {
      incidents: page.map((found) => found.incident),
      ...(more && last !== undefined ? { nextCursor: encodeCursor(last.position) } : {}),
    };
  }

  counts(filter: IncidentFilter): IncidentCounts {
    const counts = emptyCounts();
    const matches = matcher(filter);
    for (const { indexed } of this.#incidents.values()) {
      if (!matches(indexed)) continue;
      counts.total++;
      const status = indexed.status as keyof IncidentCounts["byStatus"];
      counts.byStatus[status] = (counts.byStatus[status] ?? 0) + 1;
      const urgency = indexed.urgency ?? "none";
      counts.byUrgency[urgency] = (counts.byUrgency[urgency] ?? 0) + 1;
      counts.bySeverity[indexed.severity] = (counts.bySeverity[indexed.severity] ?? 0) + 1;
    }
    return counts;
  }

  appendEvents(events: readonly IncidentEventV1[]): number {
    const fresh = new Map<string, IncidentEventV1>();
    for (const event of validateEvents(events)) {
      if (!this.#events.has(event.id) && !fresh.has(event.id)) fresh.set(event.id, event);
    }
    this.#append([...fresh.values()].map((event) => ({ kind: "event", event })));
    for (const event of fresh.values()) this.#putEvent(event);
    return fresh.size;
  }

  events(incidentId: string): IncidentEventV1[] {
    return [...(this.#eventsByIncident.get(incidentId) ?? [])];
  }

  #put(next: Row): void {
    const current = this.#incidents.get(next.indexed.id);
    if (current !== undefined) this.#queue.splice(this.#lowerBound(current.position), 1);
    this.#queue.splice(this.#lowerBound(next.position), 0, next);
    this.#incidents.set(next.indexed.id, next);
  }

  /** The first index whose row does not sort before `position`. */
  #lowerBound(position: SortPosition): number {
    let low = 0;
    let high = this.#queue.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareQueueOrder((this.#queue[middle] as Row).position, position) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #putEvent(event: IncidentEventV1): void {
    this.#events.set(event.id, event);
    const timeline = this.#eventsByIncident.get(event.incident_id) ?? [];
    timeline.push(event);
    // Events arrive nearly in order: an insertion sort from the end is linear in practice.
    let i = timeline.length - 1;
    while (i > 0 && compareEvents(timeline[i - 1] as IncidentEventV1, event) > 0) {
      timeline[i] = timeline[i - 1] as IncidentEventV1;
      i--;
    }
    timeline[i] = event;
    this.#eventsByIncident.set(event.incident_id, timeline);
  }

  #append(lines: readonly Line[]): void {
    if (this.#fd === undefined || lines.length === 0) return;
    // One write per batch: a crash leaves at most one torn last line, which the next open drops.
    writeSync(this.#fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(""));
    if (this.#fsync) fsyncSync(this.#fd);
  }

  #load(file: string): number {
    let skipped = 0;
    if (existsSync(file)) {
      for (const text of readFileSync(file, "utf8").split("\n")) {
        if (text.trim() === "") continue;
        try {
          const line = JSON.parse(text) as Line;
          if (line.kind === "incident") {
            const indexed = indexIncident(line.incident);
            const current = this.#incidents.get(indexed.id);
            if (current === undefined || current.indexed.version < indexed.version) {
              this.#put(row(line.incident, indexed));
            }
          } else if (line.kind === "event") {
            const [event] = validateEvents([line.event]);
            if (event !== undefined && !this.#events.has(event.id)) this.#putEvent(event);
          } else {
            skipped++;
          }
        } catch {
          skipped++;
        }
      }
    }
    // Compaction: rewrite what survived, then swap the file in atomically.
    const compacted = `${file}.compacting`;
    const fd = openSync(compacted, "w");
    try {
      const lines: string[] = [];
      for (const { incident } of this.#incidents.values())
        lines.push(JSON.stringify({ kind: "incident", incident }));
      for (const event of this.#events.values()) lines.push(JSON.stringify({ kind: "event", event }));
      if (lines.length > 0) writeSync(fd, `${lines.join("\n")}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(compacted, file);
    this.#fd = openSync(file, "a");
    return skipped;
  }

  #release(): void {
    this.#handles--;
    if (this.#handles === 0 && this.#fd !== undefined) {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
  }
}

function matcher(filter: IncidentFilter): (indexed: IndexedIncident) => boolean {
  const statuses = asList(filter.status);
  const urgencies = asList(filter.urgency);
  const severities = asList(filter.severity);
  const terms = searchTerms(filter.text);
  return (indexed) =>
    (statuses === undefined || statuses.includes(indexed.status as never)) &&
    (urgencies === undefined || (indexed.urgency !== null && urgencies.includes(indexed.urgency))) &&
    (severities === undefined || severities.includes(indexed.severity)) &&
    (filter.asset === undefined || indexed.assetId === filter.asset) &&
    (filter.organisation === undefined || indexed.organisation === filter.organisation) &&
    terms.every((term) => indexed.searchText.includes(term));
}

function compareEvents(a: IncidentEventV1, b: IncidentEventV1): number {
  const byTime = Date.parse(a.time) - Date.parse(b.time);
  if (byTime !== 0) return byTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A handle on an embedded database: the demo's default store. */
export class EmbeddedIncidentStore implements IncidentStoreBackend {
  readonly kind = "embedded";
  readonly database: EmbeddedIncidentDatabase;
  readonly #release: () => void;
  #closed = false;

  constructor(database: EmbeddedIncidentDatabase, release: () => void) {
    this.database = database;
    this.#release = release;
  }

  async upsert(incident: IncidentV1): Promise<UpsertResult> {
    const [result] = this.#db().upsertAll([incident]);
    return result as UpsertResult;
  }

  async upsertMany(incidents: readonly IncidentV1[]): Promise<UpsertResult[]> {
    return this.#db().upsertAll(incidents);
  }

  async get(id: string): Promise<IncidentV1 | undefined> {
    return this.#db().get(id);
  }

  async list(query: ListQuery = {}): Promise<IncidentPage> {
    return this.#db().list(query);
  }

  async appendEvents(events: readonly IncidentEventV1[]): Promise<number> {
    return this.#db().appendEvents(events);
  }

  async events(incidentId: string): Promise<IncidentEventV1[]> {
    return this.#db().events(incidentId);
  }

  async counts(filter: IncidentFilter = {}): Promise<IncidentCounts> {
    return this.#db().counts(filter);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }

  #db(): EmbeddedIncidentDatabase {
    if (this.#closed) throw new Error("the incident store is closed");
    return this.database;
  }
}

/** An embedded store on its own database (in memory, or on `file`). */
export function openEmbeddedStore(options: EmbeddedStoreOptions = {}): EmbeddedIncidentStore {
  return new EmbeddedIncidentDatabase(options).connect();
}
