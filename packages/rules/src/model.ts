/**
 * The contract between the parts of the rules package: what an event looks like to a rule, what
 * the reference tables answer, and what a compiled rule is. Types (and the list of event kinds); the implementations live
 * in `tables/` (reference tables), `language/` (rule compiler, correlation) and `pack.ts`.
 */
import type {
  AdvisoryV1,
  AssetRef,
  AuditV1,
  FindingV1,
  FirewallEventV1,
  HostV1,
  IdsAlertV1,
  PriorityTier,
  UpdateEventV1,
} from "@vigil/schema";
import { RuleEventKind } from "@vigil/schema";

/** The event streams a rule can listen to, by the name rules use for them. */
export interface EventValues {
  "ids.alert": IdsAlertV1;
  "firewall.event": FirewallEventV1;
  "inventory.host": HostV1;
  "inventory.audit": AuditV1;
  "updates.agent": UpdateEventV1;
  advisory: AdvisoryV1;
}
export type EventKind = keyof EventValues;
/** The schema's list (re-keyed events name their kind with it): one list of kinds for both packages. */
export const eventKinds: readonly EventKind[] = RuleEventKind.options;
// Fails to compile when the schema's kinds and the rules' event streams differ, either way.
const kindsAgree: [EventKind, (typeof RuleEventKind.options)[number]] extends [
  (typeof RuleEventKind.options)[number],
  EventKind,
]
  ? true
  : false = true;
void kindsAgree;

/** One event as the engine hands it to the rules. */
export type RuleEvent<K extends EventKind = EventKind> = {
  [P in K]: {
    kind: P;
    value: EventValues[P];
    /** The topic it was read from (evidence references name it). */
    topic: string;
    /** The record's own id (evidence, finding ids). */
    id: string;
    /** Event time, epoch milliseconds: windows, lateness and absence run on it, never on the wall clock. */
    time: number;
    /** The Kafka key it was read with: correlation state is partitioned the same way. */
    key: string;
  };
}[K];

/** Contacts and maintenance windows of the organisation owning an asset (priority list). */
export interface Ownership {
  organisation: string;
  contacts: { name?: string; email?: string; phone?: string; role?: string }[];
  /** Human-readable windows as the list states them (`Sun 02:00-04:00 UTC`). */
  maintenance_windows: string[];
}

/** An asset as enrichment resolved it: the finding's `asset` plus what rules need to judge it. */
export interface ResolvedAsset {
  ref: AssetRef;
  /** The inventory's full state, when the address or name belongs to an inventoried host. */
  host?: HostV1;
  tier: PriorityTier;
  ownership?: Ownership;
}

export type BaselineDirection = "below" | "above" | "policy";

/**
 * One difference between a host and its class baseline (MISSION.md 2 and 3). `item` is the
 * stable name exceptions refer to: `os.build`, `os.service_pack`, `update:KB4012212`,
 * `software:Java`, `software-forbidden:uTorrent`, `port:tcp/23`, `antivirus.missing`,
 * `antivirus.signature_age`, `admin.default_account`, `admin.decoy_missing`, `password.policy`.
 */
export interface BaselineDelta {
  baseline: { name: string; version: string; class: string };
  item: string;
  direction: BaselineDirection;
  /** What the baseline states (`>= 10.0.17763.1879`, `KB4012212 or a superseding update`). */
  expected: string;
  /** What the host has (`10.0.17763.1`, `missing`, `7.0.2 (not approved)`). */
  actual: string;
  /** The exception that excuses it, when one is active at the time asked. */
  excepted_by?: { id: string; owner: string; reason: string; expires: string };
}

/** How an advisory's CVE meets one host. */
export interface Exposure {
  advisory: AdvisoryV1;
  cve: string;
  /** The fixing updates the host lacks (supersedence applied); empty when a fix is installed. */
  missing_kbs: string[];
  /** Why the host counts as affected (`software Java 8.0.1 in cpe ... < 8.0.2`, `lacks KB...`). */
  reason: string;
  known_exploited: boolean;
}

/**
 * The reference data every rules-engine instance holds whole (MISSION.md 1, 2, 4, 5), restored from
 * compacted topics before any event is judged, updated live.
 */
export interface ReferenceTables {
  /** Always answers: an unknown address resolves to an unknown asset of the default tier. */
  resolveAsset(query: { ip?: string; hostname?: string; id?: string }): ResolvedAsset;
  host(id: string): HostV1 | undefined;
  hosts(): Iterable<HostV1>;
  /** Baseline differences of a host at event time `at` (epoch ms), exceptions applied but kept visible. */
  baselineDeltas(host: HostV1, at: number): BaselineDelta[];
  /** Listening/destination ports the host's baseline allows; undefined when no baseline states any. */
  allowedPorts(host: HostV1): { tcp: number[]; udp: number[] } | undefined;
  /** Whether an update is installed on the host, directly or through a superseding update. */
  hasUpdate(host: HostV1, kb: string): boolean;
  advisoriesForCve(cve: string): AdvisoryV1[];
  /** Exposures of one host to one CVE (or to every advisory, when `cve` is absent). */
  exposures(host: HostV1, cve?: string): Exposure[];
  /** The active exception for an asset and item (rule id or baseline item) at time `at`, if any. */
  exception(assetId: string, item: string, at: number): BaselineDelta["excepted_by"] | undefined;
}

/**
 * Keyed, serializable state (correlation windows, last-seen times, previous audit counts). The
 * engine persists every change to a compacted changelog in the same batch as the findings, and
 * restores it before judging: state survives a restart. Values must be JSON.
 */
export interface StateStore {
  get(key: string): unknown;
  /** `undefined` deletes (a tombstone on the changelog). */
  set(key: string, value: unknown): void;
}

export interface EvaluationContext {
  tables: ReferenceTables;
  state: StateStore;
}

/**
 * A rule after compilation: plain predicates and closures, no rule tree walked per event. Both
 * declarative (YAML) and TypeScript rules end up as this.
 */
export interface CompiledRule {
  id: string;
  name: string;
  version: number;
  description: string;
  /** The event kinds it listens to: the engine only calls it for these. */
  on: readonly EventKind[];
  evaluate(event: RuleEvent, context: EvaluationContext): FindingV1[];
  /**
   * Event time moved on to `watermark` (epoch ms, the highest event time seen minus the allowed
   * lateness): close windows, report absences (a host silent for 7 days). Optional: only rules
   * with time-based state implement it. Must be idempotent for the same watermark.
   */
  advance?(watermark: number, context: EvaluationContext): FindingV1[];
  /**
   * A rule whose state is kept per correlation key (`correlate.by`) says here an event's key, or
   * undefined when the rule would not count the event. Such a rule is judged where every event of
   * a key meets (the engine re-keys them through vigil.rules.repartition), not where each event
   * was read: the topics are keyed by the asset, and a scan's source probes many assets.
   */
  correlationKey?(event: RuleEvent, context: EvaluationContext): string | undefined;
}
