/**
 * Test helpers for the rule language: a small in-memory ReferenceTables and event builders. Not
 * part of the public API.
 */
import type { AdvisoryV1, FirewallEventV1, HostV1, PriorityTier } from "@vigil/schema";
import { ruleEvent } from "../events.ts";
import type { BaselineDelta, Exposure, ReferenceTables, ResolvedAsset, RuleEvent } from "../model.ts";

export interface FakeAsset {
  id: string;
  ip?: string;
  hostname?: string;
  tier: PriorityTier;
  host?: HostV1;
}

export class FakeTables implements ReferenceTables {
  assets: FakeAsset[] = [];
  deltas = new Map<string, BaselineDelta[]>();
  ports = new Map<string, { tcp: number[]; udp: number[] }>();
  exposureList = new Map<string, Exposure[]>();
  advisories: AdvisoryV1[] = [];
  resolveCalls = 0;

  resolveAsset(query: { ip?: string; hostname?: string; id?: string }): ResolvedAsset {
    this.resolveCalls++;
    const asset = this.assets.find(
      (candidate) =>
        (query.id !== undefined && candidate.id === query.id) ||
        (query.ip !== undefined && candidate.ip === query.ip) ||
        (query.hostname !== undefined && candidate.hostname === query.hostname),
    );
    if (!asset) {
      const id = query.id ?? query.ip ?? query.hostname ?? "unknown";
      return {
        ref: {
          id,
          ...(query.ip !== undefined ? { ip: query.ip } : {}),
          known: false,
          priority: "medium",
          priority_reason: "default tier medium",
          tags: [],
        },
        tier: "medium",
      };
    }
    return {
      ref: {
        id: asset.id,
        ...(asset.ip !== undefined ? { ip: asset.ip } : {}),
        ...(asset.hostname !== undefined ? { hostname: asset.hostname } : {}),
        known: true,
        priority: asset.tier,
        priority_reason: `listed ${asset.id}`,
        tags: [],
      },
      tier: asset.tier,
      ...(asset.host ? { host: asset.host } : {}),
    };
  }
  host(id: string): HostV1 | undefined {
    return this.assets.find((asset) => asset.host?.id === id)?.host;
  }
  *hosts(): Iterable<HostV1> {
    for (const asset of this.assets) if (asset.host) yield asset.host;
  }
  baselineDeltas(host: HostV1): BaselineDelta[] {
    return this.deltas.get(host.id) ?? [];
  }
  allowedPorts(host: HostV1): { tcp: number[]; udp: number[] } | undefined {
    return this.ports.get(host.id);
  }
  hasUpdate(host: HostV1, kb: string): boolean {
    return host.updates.some((update) => update.id === kb);
  }
  advisoriesForCve(cve: string): AdvisoryV1[] {
    return this.advisories.filter((advisory) => advisory.cves.includes(cve));
  }
  exposures(host: HostV1, cve?: string): Exposure[] {
    return (this.exposureList.get(host.id) ?? []).filter(
      (exposure) => cve === undefined || exposure.cve === cve,
    );
  }
  exception(): BaselineDelta["excepted_by"] | undefined {
    return undefined;
  }
}

export function host(overrides: Partial<HostV1> & { id: string }): HostV1 {
  return {
    schema: "vigil.inventory.host/v1",
    time: "2026-03-01T00:00:00Z",
    names: [],
    ips: [],
    macs: [],
    type: "server",
    hw_info: {},
    os: {},
    software: [],
    updates: [],
    missing_updates: [],
    listening_ports: [],
    local_admins: [],
    services: [],
    files: [],
    roles: { domain_controller: false, fsmo: [], business_critical: false, tags: [] },
    connectivity: { link: "lan", remote: false },
    is_managed: true,
    sources: [],
    first_seen: "2026-01-01T00:00:00Z",
    last_seen: "2026-03-01T00:00:00Z",
    field_sources: {},
    ...overrides,
  };
}

let firewallSequence = 0;

export function firewall(overrides: Partial<FirewallEventV1> & { time: number }): FirewallEventV1 {
  firewallSequence++;
  return {
    schema: "vigil.firewall.event/v1",
    id: `fw-${firewallSequence}`,
    class_uid: 4001,
    category_uid: 4,
    activity_id: 5,
    observed_time: overrides.time,
    format: "iptables",
    metadata: { product: { name: "iptables", vendor_name: "netfilter" } },
    device: { hostname: "fw01" },
    src_endpoint: { ip: "203.0.113.7", port: 40000 },
    dst_endpoint: { ip: "10.0.0.5", port: 22 },
    connection_info: { protocol_name: "tcp" },
    asset_ip: "10.0.0.5",
    action: "Denied",
    severity_id: 1,
    raw_data: "raw",
    ...overrides,
  };
}

export function firewallEvent(
  overrides: Partial<FirewallEventV1> & { time: number },
): RuleEvent<"firewall.event"> {
  const value = firewall(overrides);
  return ruleEvent("firewall.event", value, "vigil.firewall.events", value.asset_ip ?? "none");
}

export function hostEvent(value: HostV1): RuleEvent<"inventory.host"> {
  return ruleEvent("inventory.host", value, "vigil.inventory.hosts", value.id);
}
