import { createHash } from "node:crypto";
import type { AuditV1, HostV1, InventorySource } from "@vigil/schema";

/**
 * Audit snapshots and the data completeness checks need (MISSION.md 1: compare an audit with the
 * previous one, with the directory's computer accounts and with name registration). The rules
 * that judge the differences live in the rules packs; these functions only compute them.
 */

export interface AuditInput {
  source: InventorySource;
  format: string;
  inputs: string[];
  started: string;
  finished: string;
  /** What the audit describes, when that is not the run's end (a replayed export dated by `--as-of`). */
  time?: string | undefined;
  hostIds: Iterable<string>;
  recordsRead: number;
  recordsInvalid: number;
}

export function auditRecord(input: AuditInput): AuditV1 {
  const hostIds = [...new Set(input.hostIds)].sort();
  const id = `audit-${createHash("sha256")
    .update(JSON.stringify([input.source, input.format, input.inputs, input.started]))
    .digest("hex")
    .slice(0, 16)}`;
  return {
    schema: "vigil.inventory.audit/v1",
    id,
    time: input.time ?? input.finished,
    source: input.source,
    format: input.format,
    inputs: input.inputs,
    started: input.started,
    finished: input.finished,
    host_count: hostIds.length,
    host_ids: hostIds,
    records_read: input.recordsRead,
    records_invalid: input.recordsInvalid,
  };
}

export interface AuditComparison {
  previousCount: number;
  currentCount: number;
  /** current - previous. */
  countChange: number;
  /** countChange / previous count (0 when there was none). */
  relativeChange: number;
  /** In this audit, not in the previous one. */
  added: string[];
  /** In the previous audit, missing from this one: the completeness defects to investigate. */
  missing: string[];
}

export function compareAudits(previous: AuditV1, current: AuditV1): AuditComparison {
  const before = new Set(previous.host_ids);
  const now = new Set(current.host_ids);
  const countChange = current.host_count - previous.host_count;
  return {
    previousCount: previous.host_count,
    currentCount: current.host_count,
    countChange,
    relativeChange: previous.host_count === 0 ? 0 : countChange / previous.host_count,
    added: current.host_ids.filter((id) => !before.has(id)),
    missing: previous.host_ids.filter((id) => !now.has(id)),
  };
}

/** The latest audit of each source, from a stream of audits in any order. */
export function latestAudits(audits: Iterable<AuditV1>): Map<InventorySource, AuditV1> {
  const latest = new Map<InventorySource, AuditV1>();
  for (const audit of audits) {
    const current = latest.get(audit.source);
    if (current === undefined || audit.finished > current.finished) latest.set(audit.source, audit);
  }
  return latest;
}

export interface CoverageOptions {
  /** Reference time for agent silence (default now). */
  now?: Date;
  /** An agent not heard from for this long is silent (default 7 days). */
  silentAfterMs?: number;
}

/** Which source knows which asset: the cross-reference of MISSION.md 1. */
export interface Coverage {
  total: number;
  managed: string[];
  /** No agent and no management system reports it (directory, DNS or DHCP only). */
  unmanaged: string[];
  /** Computer accounts with no managed asset behind them. */
  inDirectoryNotManaged: string[];
  /** Registered in DNS or seen by DHCP, but unknown to the directory and to management. */
  inNameRegistrationOnly: string[];
  /** Managed assets without a computer account (outside the domain, or an account missing). */
  managedNotInDirectory: string[];
  /** Managed assets DNS does not know (no registration). */
  managedNotInDns: string[];
  /** Agents not heard from within `silentAfterMs`, with their last report. */
  silentAgents: { id: string; last_seen: string }[];
  /** Directory accounts that are disabled but still seen by an agent or on the network. */
  disabledButActive: string[];
}

export function coverage(assets: Iterable<HostV1>, options: CoverageOptions = {}): Coverage {
  const now = (options.now ?? new Date()).getTime();
  const silentAfter = options.silentAfterMs ?? 7 * 24 * 60 * 60 * 1000;
  const result: Coverage = {
    total: 0,
    managed: [],
    unmanaged: [],
    inDirectoryNotManaged: [],
    inNameRegistrationOnly: [],
    managedNotInDirectory: [],
    managedNotInDns: [],
    silentAgents: [],
    disabledButActive: [],
  };
  for (const host of [...assets].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    result.total += 1;
    const has = (source: InventorySource) => host.sources.some((item) => item.source === source);
    if (host.is_managed) result.managed.push(host.id);
    else result.unmanaged.push(host.id);
    if (has("directory") && !host.is_managed) result.inDirectoryNotManaged.push(host.id);
    if (!has("directory") && !host.is_managed && (has("dns") || has("dhcp")))
      result.inNameRegistrationOnly.push(host.id);
    if (host.is_managed && !has("directory")) result.managedNotInDirectory.push(host.id);
    if (host.is_managed && !has("dns")) result.managedNotInDns.push(host.id);
    if (host.agent && now - Date.parse(host.agent.last_seen) > silentAfter)
      result.silentAgents.push({ id: host.id, last_seen: host.agent.last_seen });
    if (host.directory?.enabled === false && (has("osquery") || has("dhcp")))
      result.disabledButActive.push(host.id);
  }
  return result;
}
