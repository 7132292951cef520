/**
 * Per-event lookups. The virtual fields (`asset.*`, `baseline.deltas`, `exposure.*`, `port.*`,
 * `affected.*`) are answered by the reference tables lazily, at most once per event however many
 * rules ask: the evaluator hands every rule of an event the same `EventScope`.
 */
import type { AdvisoryV1, HostV1, PriorityTier } from "@vigil/schema";
import { eventAssetQuery } from "../events.ts";
import type { BaselineDelta, Exposure, ReferenceTables, ResolvedAsset, RuleEvent } from "../model.ts";
import { fieldSlotCount } from "./accessor.ts";

export interface AssetQuery {
  ip?: string;
  hostname?: string;
  id?: string;
}

export interface AssetViewValue {
  id: string;
  ip?: string;
  hostname?: string;
  known: boolean;
  tier: PriorityTier;
  priority_reason: string;
  owner?: string;
  organisation?: string;
  tags: string[];
  roles: string[];
  inventoried: boolean;
  managed: boolean;
  host?: HostV1;
}

export type DeltaViewValue = BaselineDelta & { excepted: boolean };

export interface ExposureItemValue {
  cve: string;
  advisory: AdvisoryV1;
  missing_kbs: string[];
  reason: string;
  known_exploited: boolean;
}

export interface ExposureViewValue {
  vulnerable: boolean;
  known_exploited: boolean;
  missing_kbs: string[];
  cves: string[];
  advisories: string[];
  list: ExposureItemValue[];
}

export interface PortViewValue {
  allowed: boolean;
  number: number;
  protocol: string;
  destination: string;
  allowed_ports: number[];
}

export interface AffectedAssetValue {
  id: string;
  hostname?: string;
  ip?: string;
  tier: PriorityTier;
  known: boolean;
  managed: boolean;
  cves: string[];
  missing_kbs: string[];
  reason: string;
  known_exploited: boolean;
}

export interface AffectedViewValue {
  count: number;
  score: number;
  by_tier: Record<PriorityTier, number>;
  hostnames: string[];
  assets: AffectedAssetValue[];
}

/** What `correlation.*` says when a correlated finding is raised. */
export interface CorrelationValue {
  key: string;
  count: number;
  distinct: number;
  values: string[];
  window: string;
  first: string;
  last: string;
  silence: string;
  steps: string[];
}

export const tierWeight: Record<PriorityTier, number> = { critical: 8, high: 4, medium: 2, low: 1 };
const tierOrder: Record<PriorityTier, number> = { critical: 0, high: 1, medium: 2, low: 3 };

function queryKey(query: AssetQuery): string {
  return `${query.ip ?? ""}\u0000${query.hostname ?? ""}\u0000${query.id ?? ""}`;
}

function rolesOf(host: HostV1 | undefined): string[] {
  if (!host) return [];
  const roles: string[] = [];
  if (host.roles.domain_controller) roles.push("domain-controller");
  for (const fsmo of host.roles.fsmo) roles.push(`fsmo:${fsmo}`);
  if (host.roles.business_critical) roles.push("business-critical");
  roles.push(...host.roles.tags);
  return roles;
}

export function assetView(resolved: ResolvedAsset): AssetViewValue {
  const { ref, host } = resolved;
  return {
    id: ref.id,
    ...(ref.ip !== undefined ? { ip: ref.ip } : {}),
    ...((ref.hostname ?? host?.hostname) !== undefined
      ? { hostname: (ref.hostname ?? host?.hostname)! }
      : {}),
    known: ref.known,
    tier: resolved.tier,
    priority_reason: ref.priority_reason,
    ...(ref.owner !== undefined ? { owner: ref.owner } : {}),
    ...(resolved.ownership !== undefined ? { organisation: resolved.ownership.organisation } : {}),
    tags: ref.tags,
    roles: rolesOf(host),
    inventoried: host !== undefined,
    managed: host?.is_managed ?? false,
    ...(host !== undefined ? { host } : {}),
  };
}

/**
 * The tables only report an exposure while it is open (the host is affected and lacks the fix,
 * supersedence applied), so every exposure counts.
 */
function exposureView(exposures: Exposure[]): ExposureViewValue {
  const list = exposures.map((exposure) => ({
    cve: exposure.cve,
    advisory: exposure.advisory,
    missing_kbs: exposure.missing_kbs,
    reason: exposure.reason,
    known_exploited: exposure.known_exploited,
  }));
  const open = list;
  return {
    vulnerable: open.length > 0,
    known_exploited: open.some((item) => item.known_exploited),
    missing_kbs: [...new Set(open.flatMap((item) => item.missing_kbs))].sort(),
    cves: [...new Set(open.map((item) => item.cve))].sort(),
    advisories: [...new Set(open.map((item) => `${item.advisory.source}/${item.advisory.id}`))].sort(),
    list,
  };
}

/** The CVEs an event names, when its kind names any. */
function eventCves(event: RuleEvent): string[] | undefined {
  if (event.kind === "ids.alert" || event.kind === "advisory") return event.value.cves;
  return undefined;
}

function isoTime(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15
    ? new Date(ms).toISOString()
    : "1970-01-01T00:00:00.000Z";
}

export { isoTime };

export class EventScope {
  readonly event: RuleEvent;
  readonly tables: ReferenceTables;
  // Created on first use: most events never need a lookup.
  #assets: Map<string, { resolved: ResolvedAsset; view: AssetViewValue }> | undefined;
  #deltas: Map<string, { deltas: DeltaViewValue[] } | undefined> | undefined;
  #exposures: Map<string, ExposureViewValue | undefined> | undefined;
  #defaultQuery: AssetQuery | undefined;
  #port: PortViewValue | undefined | null = null;
  #affected: AffectedViewValue | undefined | null = null;
  #meta: Record<string, unknown> | undefined;
  #frame: Frame | undefined;

  /** Event field values by accessor slot, read once per event for all rules (accessor.ts). */
  readonly fields: unknown[];

  constructor(event: RuleEvent, tables: ReferenceTables) {
    this.event = event;
    this.tables = tables;
    this.fields = new Array(fieldSlotCount());
  }

  /** The asset the event is about (`eventAssetQuery`, else its key). */
  get defaultQuery(): AssetQuery {
    this.#defaultQuery ??= eventAssetQuery(this.event) ?? { id: this.event.key };
    return this.#defaultQuery;
  }

  #entry(query: AssetQuery): { resolved: ResolvedAsset; view: AssetViewValue } {
    const key = queryKey(query);
    this.#assets ??= new Map();
    let entry = this.#assets.get(key);
    if (!entry) {
      const resolved = this.tables.resolveAsset(query);
      entry = { resolved, view: assetView(resolved) };
      this.#assets.set(key, entry);
    }
    return entry;
  }

  asset(query: AssetQuery): ResolvedAsset {
    return this.#entry(query).resolved;
  }

  assetView(query: AssetQuery): AssetViewValue {
    return this.#entry(query).view;
  }

  baselineView(query: AssetQuery): { deltas: DeltaViewValue[] } | undefined {
    const key = queryKey(query);
    this.#deltas ??= new Map();
    if (this.#deltas.has(key)) return this.#deltas.get(key);
    const host = this.asset(query).host;
    const view = host
      ? {
          deltas: this.tables
            .baselineDeltas(host, this.event.time)
            .map((delta) => ({ ...delta, excepted: delta.excepted_by !== undefined })),
        }
      : undefined;
    this.#deltas.set(key, view);
    return view;
  }

  exposureView(query: AssetQuery): ExposureViewValue | undefined {
    const key = queryKey(query);
    this.#exposures ??= new Map();
    if (this.#exposures.has(key)) return this.#exposures.get(key);
    const host = this.asset(query).host;
    let view: ExposureViewValue | undefined;
    if (host) {
      const cves = eventCves(this.event);
      const exposures = cves
        ? [...new Set(cves)].flatMap((cve) => this.tables.exposures(host, cve))
        : this.tables.exposures(host);
      view = exposureView(exposures);
    }
    this.#exposures.set(key, view);
    return view;
  }

  portView(): PortViewValue | undefined {
    if (this.#port !== null) return this.#port;
    this.#port = undefined;
    const event = this.event;
    if (event.kind !== "firewall.event" && event.kind !== "ids.alert") return undefined;
    const destination = event.value.dst_endpoint;
    const protocol = event.value.connection_info.protocol_name;
    if (destination?.ip === undefined || destination.port === undefined) return undefined;
    if (protocol !== "tcp" && protocol !== "udp") return undefined;
    const resolved = this.asset({ ip: destination.ip });
    if (!resolved.host) return undefined;
    const allowed = this.tables.allowedPorts(resolved.host);
    if (!allowed) return undefined;
    const ports = allowed[protocol];
    this.#port = {
      allowed: ports.includes(destination.port),
      number: destination.port,
      protocol,
      destination: resolved.ref.id,
      allowed_ports: ports,
    };
    return this.#port;
  }

  affectedView(): AffectedViewValue | undefined {
    if (this.#affected !== null) return this.#affected;
    this.#affected = undefined;
    const event = this.event;
    if (event.kind !== "advisory") return undefined;
    const cves = [...new Set(event.value.cves.length > 0 ? event.value.cves : [event.value.id])];
    const assets: AffectedAssetValue[] = [];
    for (const host of this.tables.hosts()) {
      const open = cves.flatMap((cve) => this.tables.exposures(host, cve));
      if (open.length === 0) continue;
      const resolved = this.tables.resolveAsset({ id: host.id });
      const hostname = resolved.ref.hostname ?? host.hostname;
      const ip = resolved.ref.ip ?? host.ips[0]?.ip;
      assets.push({
        id: resolved.ref.id,
        ...(hostname !== undefined ? { hostname } : {}),
        ...(ip !== undefined ? { ip } : {}),
        tier: resolved.tier,
        known: resolved.ref.known,
        managed: host.is_managed,
        cves: [...new Set(open.map((exposure) => exposure.cve))].sort(),
        missing_kbs: [...new Set(open.flatMap((exposure) => exposure.missing_kbs))].sort(),
        reason: open.map((exposure) => exposure.reason).join("; "),
        known_exploited: open.some((exposure) => exposure.known_exploited),
      });
    }
    assets.sort((a, b) => tierOrder[a.tier] - tierOrder[b.tier] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const byTier: Record<PriorityTier, number> = { critical: 0, high: 0, medium: 0, low: 0 };
    for (const asset of assets) byTier[asset.tier]++;
    this.#affected = {
      count: assets.length,
      score: assets.reduce((sum, asset) => sum + tierWeight[asset.tier], 0),
      by_tier: byTier,
      hostnames: assets.map((asset) => asset.hostname ?? asset.id),
      assets,
    };
    return this.#affected;
  }

  /** The frame of the event itself (the event's own asset), shared by the rules that need no other. */
  frame(): Frame {
    this.#frame ??= eventFrame(this);
    return this.#frame;
  }

  eventMeta(): Record<string, unknown> {
    this.#meta ??= {
      id: this.event.id,
      kind: this.event.kind,
      time: this.event.time,
      timestamp: isoTime(this.event.time),
      key: this.event.key,
      topic: this.event.topic,
    };
    return this.#meta;
  }
}

/**
 * What accessors read: the event's scope, the value paths start from, and what a rule layers on
 * top (the for_each element, the asset the rule is about, the correlation that fired).
 */
export interface Frame {
  scope: EventScope;
  value: unknown;
  each: unknown;
  /** The element a `some` condition is looking at. */
  element: unknown;
  assetQuery: AssetQuery;
  correlation: CorrelationValue | undefined;
}

export function eventFrame(scope: EventScope, assetQuery: AssetQuery = scope.defaultQuery): Frame {
  return {
    scope,
    value: scope.event.value,
    each: undefined,
    element: undefined,
    assetQuery,
    correlation: undefined,
  };
}
