import {
  type EscalationAction,
  type EscalationStep,
  type FindingV1,
  type IncidentCommandV1,
  type IncidentContact,
  type IncidentEventType,
  type IncidentEventV1,
  type IncidentOwner,
  type IncidentV1,
  type ResponseActionV1,
  type Urgency,
  urgencyRank,
  type Verdict,
} from "@vigil/schema";
import { findingSourceRef, incidentEventId, responseActionId } from "./ids.ts";
import { DEFAULT_MERGE_WINDOW_MS, incidentIdFor, windowStart } from "./incident-id.ts";
import {
  DEFAULT_MAX_EVIDENCE,
  DEFAULT_MAX_FINDING_IDS,
  earlier,
  later,
  maxSeverity,
  mergeEvidence,
  union,
} from "./merge.ts";
import { mergeObservables, observablesOf } from "./observables.ts";
import {
  DEFAULT_ESCALATION_POLICY,
  DEFAULT_URGENCY_MATRIX,
  type EscalationPolicy,
  type StartRule,
  type UrgencyMatrix,
  urgencyOf,
} from "./policy.ts";
import { IncidentStore } from "./store.ts";

type ResponseFields =
  | "urgency"
  | "verdict"
  | "owner"
  | "observables"
  | "timeline"
  | "sla"
  | "escalation"
  | "source_refs";
/** An incident as this package writes it: every response field present. */
export type Incident = Omit<IncidentV1, ResponseFields> & {
  [K in ResponseFields]-?: NonNullable<IncidentV1[K]>;
};

/** Who owns what and whom to reach: the priority list's `organisations` and `assets` fit as they are. */
export interface OwnerDirectory {
  organisations: readonly { name: string; contacts?: readonly IncidentContact[] }[];
  /** Contacts of one asset, besides its organisation's. */
  assets?: readonly { id: string; contacts?: readonly IncidentContact[] | undefined }[];
}

export interface IncidentDomainOptions {
  mergeWindowMs?: number;
  urgencyMatrix?: UrgencyMatrix;
  escalationPolicy?: EscalationPolicy;
  directory?: OwnerDirectory;
  /** Whether a CVE is known to be exploited (CISA KEV, vendor status): start rules `known_exploited`. */
  isKnownExploited?: (cve: string) => boolean;
  /** The actor of the pipeline's own changes (timers, start levels). */
  actor?: string;
  maxEvidence?: number;
  maxFindingIds?: number;
  maxTimeline?: number;
  maxObservables?: number;
  maxSeenPerIncident?: number;
}

/** What one input changed: each changed incident's new full state once, and what to publish besides. */
export interface DomainOutput {
  incidents: IncidentV1[];
  events: IncidentEventV1[];
  actions: ResponseActionV1[];
}

export type CommandOutput = ({ ok: true } & DomainOutput) | { ok: false; reason: string };

export const DEFAULT_MAX_TIMELINE = 100;
export const DEFAULT_MAX_OBSERVABLES = 100;
const ACTIVE = new Set(["new", "in_progress", "on_hold"]);
/** Verdicts saying the pattern is harmless: a closed incident with one stays closed when findings return. */
const DISMISSED = new Set<Verdict>([
  "false_positive",
  "benign",
  "disregard",
  "test",
  "duplicate",
  "managed_externally",
]);
const ACTIONS: Record<1 | 2 | 3, EscalationAction> = {
  1: "notify_owner",
  2: "disable_default_accounts",
  3: "remove_from_network",
};

const empty = (): DomainOutput => ({ incidents: [], events: [], actions: [] });
const iso = (ms: number) => new Date(ms).toISOString();

interface EventDraft {
  type: IncidentEventType;
  actor: string;
  summary: string;
  cause: string;
  from?: string;
  to?: string;
  finding_id?: string;
  command_id?: string;
  level?: number;
  action_id?: string;
}

/** The changes one input makes to one incident, published as one new version. */
class Change {
  readonly drafts: EventDraft[] = [];
  readonly actions: Omit<ResponseActionV1, "audit">[] = [];
  readonly audits: { reason: string; policy: string }[] = [];

  readonly before: Incident | undefined;
  next: Incident;
  readonly now: number;

  constructor(before: Incident | undefined, next: Incident, now: number) {
    this.before = before;
    this.next = next;
    this.now = now;
  }

  record(draft: EventDraft): void {
    this.drafts.push(draft);
  }
}

/**
 * The incident domain, pure and clock-free: it holds the incident table and turns each input
 * (a finding, an analyst's command, a timer tick) into the incidents' new states, the incident
 * events and the response actions to publish. No I/O: the sink publishes what it returns, and
 * restores the table from `vigil.incidents` with `restore` before the first input. The escalation
 * timers live in the records (`escalation.next_at`), so restoring the table restores them.
 */
export class IncidentDomain {
  readonly store: IncidentStore;
  readonly mergeWindowMs: number;
  readonly matrix: UrgencyMatrix;
  readonly policy: EscalationPolicy;
  readonly #options: IncidentDomainOptions;
  readonly #actor: string;
  readonly #organisations = new Map<string, readonly IncidentContact[]>();
  readonly #assetContacts = new Map<string, readonly IncidentContact[]>();
  /** rule + asset + group key -> incident ids, across windows: what a clearing finding resolves. */
  readonly #byGroup = new Map<string, Set<string>>();

  constructor(options: IncidentDomainOptions = {}) {
    this.#options = options;
    this.store = new IncidentStore(
      options.maxSeenPerIncident !== undefined ? { maxSeenPerIncident: options.maxSeenPerIncident } : {},
    );
    this.mergeWindowMs = options.mergeWindowMs ?? DEFAULT_MERGE_WINDOW_MS;
    windowStart(new Date(0).toISOString(), this.mergeWindowMs);
    this.matrix = options.urgencyMatrix ?? DEFAULT_URGENCY_MATRIX;
    this.policy = options.escalationPolicy ?? DEFAULT_ESCALATION_POLICY;
    this.#actor = options.actor ?? "vigil";
    for (const organisation of options.directory?.organisations ?? [])
      this.#organisations.set(organisation.name, organisation.contacts ?? []);
    for (const asset of options.directory?.assets ?? [])
      if (asset.contacts) this.#assetContacts.set(asset.id, asset.contacts);
  }

  get size(): number {
    return this.store.size;
  }

  get(id: string): Incident | undefined {
    return this.store.get(id) as Incident | undefined;
  }

  *values(): IterableIterator<Incident> {
    for (const incident of this.store.values()) yield incident as Incident;
  }

  /**
   * Loads the records of `vigil.incidents` (any order; the highest version per id wins). Records
   * written before the response fields existed get them filled in: urgency from the matrix, the
   * owner, the observables, and a ladder whose clock started at the record's `updated_at`.
   */
  restore(incidents: Iterable<IncidentV1>): void {
    const latest = new Map<string, IncidentV1>();
    for (const incident of incidents) {
      const current = latest.get(incident.id);
      if (!current || current.version <= incident.version) latest.set(incident.id, incident);
    }
    const normalised = [...latest.values()].map((incident) => this.#normalise(incident));
    this.store.restore(normalised);
    for (const incident of normalised) this.#index(incident);
  }

  /** When `onTick` next has something to do (an escalation or an SLA due), if ever. */
  nextDueAt(): string | undefined {
    let next: number | undefined;
    for (const incident of this.values()) {
      for (const due of this.#dueTimes(incident)) if (next === undefined || due < next) next = due;
    }
    return next === undefined ? undefined : iso(next);
  }

  /**
   * Merges a finding into its incident, raising it on first sight (with the start level of the
   * escalation policy), re-opening a resolved one, or resolving the incident a clearing finding
   * clears. A finding already applied (same id, or same source + source_ref) yields nothing.
   */
  onFinding(finding: FindingV1, now: Date): DomainOutput {
    const nowMs = now.getTime();
    if (finding.clears === true) return this.#onClearing(finding, nowMs);
    const id = incidentIdFor(finding, this.mergeWindowMs);
    const sourceRef = findingSourceRef(finding);
    if (this.#applied(id, finding.id, sourceRef)) return empty();
    const current = this.get(id);
    const change = current
      ? this.#merge(current, finding, sourceRef, nowMs)
      : this.#create(id, finding, sourceRef, nowMs);
    this.#startHigher(change, finding);
    this.#advance(change);
    return this.#commit([change], [finding.id, `src:${sourceRef}`]);
  }

  /**
   * Applies an analyst's command. A command already applied (same id) yields nothing; one that
   * cannot apply (no such incident, a transition the status forbids, no change) is rejected with
   * the reason, for the sink to dead-letter.
   */
  onCommand(command: IncidentCommandV1, now: Date): CommandOutput {
    const current = this.get(command.incident_id);
    if (!current) return { ok: false, reason: `no incident ${command.incident_id}` };
    if (this.store.hasApplied(current.id, `command:${command.id}`)) return { ok: true, ...empty() };
    const nowMs = now.getTime();
    const change = new Change(current, structuredClone(current), nowMs);
    const base = { actor: command.actor, cause: `command:${command.id}`, command_id: command.id };
    const next = change.next;
    const active = ACTIVE.has(current.status);
    switch (command.type) {
      case "acknowledge": {
        if (!active) return { ok: false, reason: `incident is ${current.status}: reopen it first` };
        if (current.escalation.acknowledged_by !== undefined)
          return { ok: false, reason: `already acknowledged by ${current.escalation.acknowledged_by}` };
        next.escalation.acknowledged_by = command.actor;
        next.escalation.acknowledged_at = iso(nowMs);
        change.record({
          ...base,
          type: "acknowledged",
          summary: `acknowledged by ${command.actor}${command.note ? `: ${command.note}` : ""}; the escalation clock stops at level ${current.escalation.level}`,
        });
        if (current.status === "new") this.#setStatus(change, "in_progress", base);
        break;
      }
      case "assign": {
        if (current.status === "closed") return { ok: false, reason: "incident is closed: reopen it first" };
        if (current.assignee === command.assignee)
          return { ok: false, reason: `already assigned to ${command.assignee}` };
        next.assignee = command.assignee;
        change.record({
          ...base,
          type: "assigned",
          summary: `assigned to ${command.assignee} by ${command.actor}`,
          ...(current.assignee !== undefined ? { from: current.assignee } : {}),
          to: command.assignee,
        });
        break;
      }
      case "set_status": {
        if (!active) return { ok: false, reason: `incident is ${current.status}: reopen it first` };
        if (current.status === command.status)
          return { ok: false, reason: `status is already ${command.status}` };
        this.#setStatus(change, command.status, base);
        break;
      }
      case "set_verdict": {
        if (current.verdict === command.verdict)
          return { ok: false, reason: `verdict is already ${command.verdict}` };
        this.#setVerdict(change, command.verdict, base);
        break;
      }
      case "resolve": {
        if (!active) return { ok: false, reason: `incident is already ${current.status}` };
        this.#checkSla(change);
        if (command.verdict !== undefined && command.verdict !== current.verdict)
          this.#setVerdict(change, command.verdict, base);
        next.status = "resolved";
        next.resolution = {
          time: iso(nowMs),
          reason: "analyst",
          actor: command.actor,
          summary: command.summary,
        };
        change.record({
          ...base,
          type: "resolved",
          summary: `resolved by ${command.actor}: ${command.summary}`,
          from: current.status,
          to: "resolved",
        });
        break;
      }
      case "close": {
        if (current.status === "closed") return { ok: false, reason: "incident is already closed" };
        if (active) this.#checkSla(change);
        if (command.verdict !== undefined && command.verdict !== current.verdict)
          this.#setVerdict(change, command.verdict, base);
        next.resolution ??= {
          time: iso(nowMs),
          reason: "analyst",
          actor: command.actor,
          summary: command.summary ?? "closed",
        };
        this.#setStatus(change, "closed", base, command.summary);
        break;
      }
      case "reopen": {
        if (active) return { ok: false, reason: `incident is ${current.status}, not resolved or closed` };
        this.#reopen(change, "in_progress", {
          ...base,
          summary: `re-opened by ${command.actor}: ${command.reason}`,
        });
        // The analyst who re-opens it is on it: the clock stays stopped.
        next.escalation.acknowledged_by = command.actor;
        next.escalation.acknowledged_at = iso(nowMs);
        break;
      }
      case "comment": {
        change.record({ ...base, type: "commented", summary: command.text });
        break;
      }
    }
    this.#advance(change);
    return { ok: true, ...this.#commit([change], [`command:${command.id}`]) };
  }

  /**
   * Fires what is due by `now`: escalation levels of incidents whose clock runs, and SLA breaches.
   * Idempotent: the due times move forward in the records, so a second tick at the same time, or a
   * tick after a restart from the published records, fires nothing twice.
   */
  onTick(now: Date): DomainOutput {
    const nowMs = now.getTime();
    const changes: Change[] = [];
    for (const incident of this.values()) {
      if (!this.#dueTimes(incident).some((due) => due <= nowMs)) continue;
      const change = new Change(incident, structuredClone(incident), nowMs);
      this.#advance(change);
      if (change.drafts.length > 0) changes.push(change);
    }
    return this.#commit(changes, []);
  }

  #dueTimes(incident: Incident): number[] {
    if (!ACTIVE.has(incident.status)) return [];
    const due: number[] = [];
    if (incident.escalation.next_at !== undefined && incident.escalation.acknowledged_by === undefined)
      due.push(Date.parse(incident.escalation.next_at));
    if (!incident.sla.breached) due.push(Date.parse(incident.sla.due));
    return due;
  }

  #applied(incidentId: string, findingId: string, sourceRef: string): boolean {
    return (
      this.store.hasApplied(incidentId, findingId) || this.store.hasApplied(incidentId, `src:${sourceRef}`)
    );
  }

  #onClearing(finding: FindingV1, nowMs: number): DomainOutput {
    const sourceRef = findingSourceRef(finding);
    const candidates = [
      ...(this.#byGroup.get(groupKeyOf(finding.rule.id, finding.asset.id, finding.group_key)) ?? []),
    ]
      .map((id) => this.get(id))
      .filter((incident): incident is Incident => incident !== undefined);
    if (candidates.some((incident) => this.#applied(incident.id, finding.id, sourceRef))) return empty();
    // The latest open incident that began before the problem cleared; a late clearing finding never resolves a newer one.
    const target = candidates
      .filter(
        (incident) =>
          ACTIVE.has(incident.status) && Date.parse(incident.first_seen) <= Date.parse(finding.time),
      )
      .sort((a, b) => Date.parse(b.window_start) - Date.parse(a.window_start))[0];
    if (!target) return empty();
    const change = this.#merge(target, finding, sourceRef, nowMs, { quiet: true });
    const next = change.next;
    this.#checkSla(change);
    next.status = "resolved";
    next.resolution = {
      time: iso(nowMs),
      reason: "cleared",
      actor: `rule:${finding.rule.id}`,
      summary: finding.title,
      finding_id: finding.id,
      cleared_at: finding.time,
    };
    change.record({
      type: "resolved",
      actor: `rule:${finding.rule.id}`,
      summary: `resolved automatically: ${finding.title}`,
      cause: `finding:${finding.id}`,
      finding_id: finding.id,
      from: target.status,
      to: "resolved",
    });
    this.#advance(change);
    return this.#commit([change], [finding.id, `src:${sourceRef}`]);
  }

  #create(id: string, finding: FindingV1, sourceRef: string, nowMs: number): Change {
    const now = iso(nowMs);
    const urgency = urgencyOf(this.matrix, finding.asset.priority, finding.severity);
    const maxEvidence = this.#options.maxEvidence ?? DEFAULT_MAX_EVIDENCE;
    const incident: Incident = {
      schema: "vigil.incident/v1",
      id,
      title: finding.title,
      description: finding.description,
      severity: finding.severity,
      status: "new",
      rule_id: finding.rule.id,
      asset: finding.asset,
      group_key: finding.group_key,
      window_start: iso(windowStart(finding.time, this.mergeWindowMs)),
      first_seen: finding.time,
      last_seen: finding.time,
      created_at: now,
      updated_at: now,
      finding_count: 1,
      finding_ids: [finding.id],
      evidence: mergeEvidence([], finding.events, maxEvidence),
      explanation: `${finding.explanation.summary} ${finding.explanation.conditions.join("; ")}.`,
      cves: union([], finding.cves),
      attack: union([], finding.attack),
      version: 1,
      urgency,
      verdict: "unknown",
      owner: this.#ownerOf(finding.asset),
      observables: mergeObservables([], observablesOf(finding), this.#maxObservables),
      timeline: [],
      sla: { due: iso(nowMs + this.policy.sla[urgency]), breached: false },
      escalation: { level: 0, started_at: now, plan: this.#plan(urgency, nowMs, 0, []) },
      source_refs: [sourceRef],
    };
    this.#rearm(incident);
    const change = new Change(undefined, incident, nowMs);
    change.record({
      type: "created",
      actor: `rule:${finding.rule.id}`,
      summary: `raised: ${finding.title} (severity ${finding.severity}, urgency ${urgency}, owner ${incident.owner.organisation})`,
      cause: `finding:${finding.id}`,
      finding_id: finding.id,
    });
    return change;
  }

  #merge(
    current: Incident,
    finding: FindingV1,
    sourceRef: string,
    nowMs: number,
    options: { quiet?: boolean } = {},
  ): Change {
    const change = new Change(current, structuredClone(current), nowMs);
    const next = change.next;
    const cause = {
      actor: `rule:${finding.rule.id}`,
      cause: `finding:${finding.id}`,
      finding_id: finding.id,
    };
    const maxFindingIds = this.#options.maxFindingIds ?? DEFAULT_MAX_FINDING_IDS;
    const count = current.finding_count + 1;
    Object.assign(next, {
      severity: maxSeverity(current.severity, finding.severity),
      asset: finding.asset,
      first_seen: earlier(current.first_seen, finding.time),
      last_seen: later(current.last_seen, finding.time),
      finding_count: count,
      finding_ids: [...current.finding_ids.filter((fid) => fid !== finding.id), finding.id].slice(
        -maxFindingIds,
      ),
      source_refs: [...current.source_refs.filter((ref) => ref !== sourceRef), sourceRef].slice(
        -maxFindingIds,
      ),
      evidence: mergeEvidence(
        current.evidence,
        finding.events,
        this.#options.maxEvidence ?? DEFAULT_MAX_EVIDENCE,
      ),
      explanation: `${count} findings of rule ${finding.rule.id} on ${finding.asset.id} (${finding.group_key}). Latest: ${finding.explanation.summary}`,
      cves: union(current.cves, finding.cves),
      attack: union(current.attack, finding.attack),
      owner: this.#ownerOf(finding.asset),
      observables: mergeObservables(current.observables, observablesOf(finding), this.#maxObservables),
    });
    if (!options.quiet) {
      const returned =
        current.status === "resolved"
          ? current.resolution?.cleared_at === undefined ||
            Date.parse(finding.time) > Date.parse(current.resolution.cleared_at)
          : current.status === "closed" && !DISMISSED.has(current.verdict);
      if (returned)
        this.#reopen(change, "new", {
          ...cause,
          summary: `re-opened: the finding returned (${finding.title})`,
        });
      change.record({
        ...cause,
        type: "merged",
        summary: `finding ${count} merged: ${finding.title}`,
      });
    }
    if (next.severity !== current.severity)
      change.record({
        ...cause,
        type: "severity_changed",
        summary: `severity ${current.severity} -> ${next.severity}`,
        from: current.severity,
        to: next.severity,
      });
    const urgency = urgencyOf(this.matrix, next.asset.priority, next.severity);
    if (urgencyRank[urgency] > urgencyRank[next.urgency]) {
      const from = next.urgency;
      next.urgency = urgency;
      // Faster timers and SLA from when the clock started; what is now overdue fires at once.
      const started = Date.parse(next.escalation.started_at);
      next.sla.due = iso(Math.min(Date.parse(next.sla.due), started + this.policy.sla[urgency]));
      next.escalation.plan = this.#plan(urgency, started, next.escalation.level, next.escalation.plan);
      this.#rearm(next);
      change.record({
        ...cause,
        type: "urgency_changed",
        summary: `urgency ${from} -> ${urgency}`,
        from,
        to: urgency,
      });
    }
    return change;
  }

  /** Back to an open status with the clock restarted from now at the current level; the SLA counts anew. */
  #reopen(change: Change, status: "new" | "in_progress", draft: Omit<EventDraft, "type">): void {
    const next = change.next;
    const from = next.status;
    next.status = status;
    delete next.resolution;
    delete next.escalation.acknowledged_by;
    delete next.escalation.acknowledged_at;
    next.escalation.started_at = iso(change.now);
    next.escalation.plan = this.#plan(next.urgency, change.now, next.escalation.level, next.escalation.plan);
    next.sla = { due: iso(change.now + this.policy.sla[next.urgency]), breached: false };
    this.#rearm(next);
    change.record({ ...draft, type: "reopened", from, to: status });
  }

  #setStatus(
    change: Change,
    status: Incident["status"],
    base: { actor: string; cause: string; command_id?: string },
    note?: string,
  ): void {
    const from = change.next.status;
    change.next.status = status;
    change.record({
      ...base,
      type: "status_changed",
      summary: `status ${from} -> ${status}${note ? `: ${note}` : ""}`,
      from,
      to: status,
    });
  }

  #setVerdict(
    change: Change,
    verdict: Verdict,
    base: { actor: string; cause: string; command_id?: string },
  ): void {
    const from = change.next.verdict;
    change.next.verdict = verdict;
    change.record({
      ...base,
      type: "verdict_changed",
      summary: `verdict ${from} -> ${verdict}`,
      from,
      to: verdict,
    });
  }

  /** Levels the policy's start rules put this incident at straight away (a running clock only). */
  #startHigher(change: Change, finding: FindingV1): void {
    const next = change.next;
    if (!ACTIVE.has(next.status) || next.escalation.acknowledged_by !== undefined) return;
    const matched = this.policy.start.filter((rule) => this.#matches(rule, finding, next.urgency));
    const top = matched.reduce<StartRule | undefined>(
      (best, rule) => (best && best.level >= rule.level ? best : rule),
      undefined,
    );
    if (!top || top.level <= next.escalation.level) return;
    this.#escalate(change, top.level, {
      reason: top.reason,
      policy: `start: ${describeCondition(top)} -> level ${top.level}`,
    });
  }

  #matches(rule: StartRule, finding: FindingV1, urgency: Urgency): boolean {
    const when = rule.when;
    if (when.tier && !when.tier.includes(finding.asset.priority)) return false;
    if (when.severity && !when.severity.includes(finding.severity)) return false;
    if (when.urgency && !when.urgency.includes(urgency)) return false;
    if (when.rules && !when.rules.includes(finding.rule.id)) return false;
    if (
      when.attack &&
      !finding.attack.some((id) =>
        when.attack!.some((prefix) => id === prefix || id.startsWith(`${prefix}.`)),
      )
    )
      return false;
    if (when.known_exploited) {
      const known = this.#options.isKnownExploited;
      if (!known || !finding.cves.some((cve) => known(cve))) return false;
    }
    return true;
  }

  /** Fires the timers due by the change's `now` and flags a breached SLA. */
  #advance(change: Change): void {
    const next = change.next;
    if (!ACTIVE.has(next.status)) return;
    const escalation = next.escalation;
    if (escalation.acknowledged_by === undefined) {
      const due = escalation.plan.filter(
        (step) => step.level > escalation.level && Date.parse(step.at) <= change.now,
      );
      const top = due.at(-1);
      if (top)
        this.#escalate(change, top.level, {
          reason: `not acknowledged ${formatMs(Date.parse(top.at) - Date.parse(escalation.started_at))} after the clock started (urgency ${next.urgency})`,
          policy: `ladder ${next.urgency}: level ${top.level} at ${formatMs(Date.parse(top.at) - Date.parse(escalation.started_at))}`,
        });
    }
    this.#checkSla(change);
  }

  #checkSla(change: Change): void {
    const next = change.next;
    if (next.sla.breached || !ACTIVE.has(next.status) || Date.parse(next.sla.due) > change.now) return;
    next.sla = { ...next.sla, breached: true };
    change.record({
      type: "sla_breached",
      actor: this.#actor,
      summary: `SLA breached: not resolved by ${next.sla.due} (urgency ${next.urgency})`,
      cause: `sla:${next.sla.due}`,
    });
  }

  /** Reaches `level`, doing every level passed on the way: notify (an event), then the response actions. */
  #escalate(change: Change, level: number, why: { reason: string; policy: string }): void {
    const next = change.next;
    const from = next.escalation.level;
    const now = iso(change.now);
    for (let reached = from + 1; reached <= level; reached++) {
      const action = ACTIONS[reached as 1 | 2 | 3];
      const step: EscalationStep = { level: reached, at: now, action };
      next.escalation.plan = [
        ...next.escalation.plan.filter((planned) => planned.level !== reached),
        step,
      ].sort((a, b) => a.level - b.level);
      change.record({
        type: "escalated",
        actor: this.#actor,
        summary: `level ${reached}: ${this.#describeAction(next, action)} (${why.reason})`,
        cause: `level:${reached}`,
        from: String(reached - 1),
        to: String(reached),
        level: reached,
      });
      if (action === "notify_owner") continue;
      const actionId = responseActionId(next.id, reached, action);
      change.actions.push({
        schema: "vigil.response-action/v1",
        id: actionId,
        action,
        level: reached,
        dry_run: this.policy.dry_run,
        incident_id: next.id,
        requested_at: now,
        target: {
          asset_id: next.asset.id,
          ...(next.asset.ip !== undefined ? { ip: next.asset.ip } : {}),
          ...(next.asset.hostname !== undefined ? { hostname: next.asset.hostname } : {}),
          priority: next.asset.priority,
          organisation: next.owner.organisation,
        },
      });
      change.audits.push({ reason: why.reason, policy: why.policy });
      change.record({
        type: "action_requested",
        actor: this.#actor,
        summary: `requested${this.policy.dry_run ? " (dry run)" : ""}: ${this.#describeAction(next, action)}`,
        cause: `level:${reached}`,
        level: reached,
        action_id: actionId,
      });
    }
    next.escalation.level = Math.max(from, level);
    this.#rearm(next);
  }

  #describeAction(incident: Incident, action: EscalationAction): string {
    const asset = incident.asset.hostname ?? incident.asset.ip ?? incident.asset.id;
    if (action === "notify_owner") {
      const contacts = incident.owner.contacts
        .map((contact) => contact.email ?? contact.phone ?? contact.name)
        .filter((text): text is string => text !== undefined);
      return `notify ${incident.owner.organisation}${contacts.length > 0 ? ` (${contacts.join(", ")})` : ""}`;
    }
    return action === "disable_default_accounts"
      ? `disable the default accounts used to access ${asset}`
      : `remove ${asset} from the network`;
  }

  /** Steps of the ladder: the levels reached keep their time; those above are due `started + offset`. */
  #plan(
    urgency: Urgency,
    started: number,
    level: number,
    current: readonly EscalationStep[],
  ): EscalationStep[] {
    const ladder = this.policy.ladder[urgency];
    const steps: EscalationStep[] = [];
    for (const reached of [1, 2, 3] as const) {
      const action = ACTIONS[reached];
      if (reached <= level) {
        const previous = current.find((step) => step.level === reached);
        steps.push(previous ?? { level: reached, at: iso(started), action });
        continue;
      }
      const offset = ladder[String(reached) as "1" | "2" | "3"];
      if (offset !== undefined) steps.push({ level: reached, at: iso(started + offset), action });
    }
    return steps;
  }

  /** `next_level` / `next_at` from the plan, or none when the clock is stopped or the ladder done. */
  #rearm(incident: Incident): void {
    const escalation = incident.escalation;
    delete escalation.next_level;
    delete escalation.next_at;
    if (!ACTIVE.has(incident.status) || escalation.acknowledged_by !== undefined) return;
    const upcoming = escalation.plan.find((step) => step.level > escalation.level);
    if (upcoming) {
      escalation.next_level = upcoming.level;
      escalation.next_at = upcoming.at;
    }
  }

  #ownerOf(asset: IncidentV1["asset"]): IncidentOwner {
    const organisation = asset.owner ?? this.policy.unowned_organisation;
    const contacts: IncidentContact[] = [];
    const seen = new Set<string>();
    for (const contact of [
      ...(this.#assetContacts.get(asset.id) ?? []),
      ...(this.#organisations.get(organisation) ?? []),
    ]) {
      const key = JSON.stringify([contact.name, contact.email, contact.phone, contact.role]);
      if (seen.has(key)) continue;
      seen.add(key);
      contacts.push({ ...contact });
    }
    return { organisation, contacts };
  }

  get #maxObservables(): number {
    return this.#options.maxObservables ?? DEFAULT_MAX_OBSERVABLES;
  }

  #normalise(incident: IncidentV1): Incident {
    if (
      incident.urgency !== undefined &&
      incident.verdict !== undefined &&
      incident.owner !== undefined &&
      incident.observables !== undefined &&
      incident.timeline !== undefined &&
      incident.sla !== undefined &&
      incident.escalation !== undefined &&
      incident.source_refs !== undefined
    )
      return incident as Incident;
    const urgency = incident.urgency ?? urgencyOf(this.matrix, incident.asset.priority, incident.severity);
    const started = Date.parse(incident.updated_at);
    const filled: Incident = {
      ...incident,
      urgency,
      verdict: incident.verdict ?? "unknown",
      owner: incident.owner ?? this.#ownerOf(incident.asset),
      observables:
        incident.observables ??
        mergeObservables(
          [],
          [
            { type: "asset", value: incident.asset.id },
            ...(incident.asset.ip !== undefined ? [{ type: "ip" as const, value: incident.asset.ip }] : []),
            ...incident.cves.map((cve) => ({ type: "cve" as const, value: cve })),
          ],
          this.#maxObservables,
        ),
      timeline: incident.timeline ?? [],
      sla: incident.sla ?? { due: iso(started + this.policy.sla[urgency]), breached: false },
      escalation: incident.escalation ?? {
        level: 0,
        started_at: iso(started),
        plan: this.#plan(urgency, started, 0, []),
      },
      source_refs: incident.source_refs ?? [],
    };
    if (incident.escalation === undefined) this.#rearm(filled);
    return filled;
  }

  #index(incident: Incident): void {
    const key = groupKeyOf(incident.rule_id, incident.asset.id, incident.group_key);
    let ids = this.#byGroup.get(key);
    if (!ids) {
      ids = new Set();
      this.#byGroup.set(key, ids);
    }
    ids.add(incident.id);
  }

  /** Stamps versions, events and the timeline, stores the new states, and returns what to publish. */
  #commit(changes: readonly Change[], appliedKeys: readonly string[]): DomainOutput {
    const output = empty();
    const maxTimeline = this.#options.maxTimeline ?? DEFAULT_MAX_TIMELINE;
    for (const change of changes) {
      const next = change.next;
      const now = iso(change.now);
      this.#rearm(next);
      if (change.before) {
        next.version = change.before.version + 1;
        next.updated_at = now;
      }
      const events = change.drafts.map(
        (draft): IncidentEventV1 => ({
          schema: "vigil.incident-event/v1",
          id: incidentEventId(next.id, draft.type, draft.cause),
          incident_id: next.id,
          incident_version: next.version,
          time: now,
          type: draft.type,
          actor: draft.actor,
          summary: draft.summary,
          ...(draft.from !== undefined ? { from: draft.from } : {}),
          ...(draft.to !== undefined ? { to: draft.to } : {}),
          ...(draft.finding_id !== undefined ? { finding_id: draft.finding_id } : {}),
          ...(draft.command_id !== undefined ? { command_id: draft.command_id } : {}),
          ...(draft.level !== undefined ? { level: draft.level } : {}),
          ...(draft.action_id !== undefined ? { action_id: draft.action_id } : {}),
        }),
      );
      next.timeline = [
        ...next.timeline,
        ...change.drafts.map((draft) => ({
          time: now,
          type: draft.type,
          actor: draft.actor,
          summary: draft.summary.length > 500 ? `${draft.summary.slice(0, 499)}…` : draft.summary,
          ...(draft.action_id !== undefined
            ? { ref: `action:${draft.action_id}` }
            : draft.cause.startsWith("finding:") || draft.cause.startsWith("command:")
              ? { ref: draft.cause }
              : {}),
        })),
      ].slice(-maxTimeline);
      const actions = change.actions.map(
        (action, index): ResponseActionV1 => ({
          ...action,
          audit: {
            requested_by: this.#actor,
            reason: change.audits[index]!.reason,
            incident_version: next.version,
            urgency: next.urgency,
            severity: next.severity,
            finding_ids: [...next.finding_ids].slice(-10),
            policy: change.audits[index]!.policy,
          },
        }),
      );
      this.store.set(next, ...appliedKeys);
      this.#index(next);
      output.incidents.push(next);
      output.events.push(...events);
      output.actions.push(...actions);
    }
    return output;
  }
}

function groupKeyOf(ruleId: string, assetId: string, groupKey: string): string {
  return [ruleId, assetId, groupKey].join("\u0000");
}

function describeCondition(rule: StartRule): string {
  return Object.entries(rule.when)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} ${Array.isArray(value) ? value.join("|") : String(value)}`)
    .join(", ");
}

function formatMs(ms: number): string {
  if (ms <= 0) return "0m";
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.round((ms % 3_600_000) / 60_000);
  return `${hours > 0 ? `${hours}h` : ""}${minutes > 0 || hours === 0 ? `${minutes}m` : ""}`;
}
