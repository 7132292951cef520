import { isIP } from "node:net";
import type { FindingV1, Severity } from "@vigil/schema";
import { type CompiledRule, defineRule, findingId, type RuleEvent } from "../contract.ts";
import {
  DAY_MS,
  endpointText,
  evidence,
  label,
  reportOnce,
  stepSeverity,
  tierText,
  windowStart,
} from "../support.ts";

const RULE_ID = "core.inventory.unmanaged-address";
const RULE_VERSION = 1;

interface Sighting {
  ip: string;
  role: "source" | "destination";
}

/** Addresses that are no single machine: multicast, broadcast, link-local, unspecified. */
function isHostAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) {
    const first = Number(ip.split(".")[0]);
    return first !== 0 && first < 224 && !ip.startsWith("169.254.");
  }
  if (family === 6) {
    const lower = ip.toLowerCase();
    return lower !== "::" && !lower.startsWith("ff") && !/^fe[89ab]/.test(lower);
  }
  return false;
}

/**
 * The inside addresses an event proves to exist: the inside source of any traffic, and the inside
 * destination of traffic that was let through or that an IDS saw a payload for. A denied
 * connection to an address proves nothing about it (scans probe empty addresses all the time).
 */
function sightings(event: RuleEvent): Sighting[] {
  const found: Sighting[] = [];
  if (event.kind === "firewall.event") {
    const value = event.value;
    const src = value.src_endpoint.ip;
    const dst = value.dst_endpoint.ip;
    const srcInside = value.direction === "outbound" || value.direction === "internal";
    const dstInside = value.direction === "inbound" || value.direction === "internal";
    if (srcInside && src !== undefined) found.push({ ip: src, role: "source" });
    if (dstInside && dst !== undefined && value.action === "Allowed")
      found.push({ ip: dst, role: "destination" });
  } else if (event.kind === "ids.alert") {
    const value = event.value;
    const direction = value.connection_info.direction;
    const src = value.src_endpoint?.ip;
    const dst = value.dst_endpoint?.ip;
    if ((direction === "Outbound" || direction === "Lateral") && src !== undefined)
      found.push({ ip: src, role: "source" });
    if ((direction === "Inbound" || direction === "Lateral") && dst !== undefined)
      found.push({ ip: dst, role: "destination" });
  }
  return found.filter((sighting) => isHostAddress(sighting.ip));
}

function flowOf(event: RuleEvent): string {
  if (event.kind === "firewall.event") {
    const value = event.value;
    return `${value.format} ${value.device.hostname ?? value.device.ip ?? ""} ${value.action ?? ""} ${value.connection_info.protocol_name ?? ""} ${endpointText(value.src_endpoint)} -> ${endpointText(value.dst_endpoint)}`
      .replace(/\s+/g, " ")
      .trim();
  }
  if (event.kind === "ids.alert") {
    const value = event.value;
    return `${value.metadata.product.name} "${value.finding_info.title}" ${endpointText(value.src_endpoint)} -> ${endpointText(value.dst_endpoint)}`;
  }
  return event.kind;
}

/**
 * MISSION.md 1: unmanaged infrastructure must still be covered, and every difference between what
 * exists and the inventory investigated. An inside address that talks (or is talked to) with no
 * managed inventory behind it is either unknown (no inventory at all: medium) or known but without
 * a working agent (low); a critical or high tier raises it one step. Reported once per address per
 * day while it persists; an exception for the asset and this rule silences a deliberate one (a DMZ
 * appliance that may not carry an agent).
 */
export const inventoryUnmanagedAddress: CompiledRule = defineRule({
  id: RULE_ID,
  name: "Unmanaged address in traffic",
  version: RULE_VERSION,
  description:
    "An internal address seen in firewall or IDS traffic with no managed inventory behind it (unknown, or inventoried without an agent).",
  on: ["firewall.event", "ids.alert"],
  evaluate(event, context) {
    const { tables, state } = context;
    const findings: FindingV1[] = [];
    const seen = new Set<string>();
    for (const sighting of sightings(event)) {
      if (seen.has(sighting.ip)) continue;
      seen.add(sighting.ip);
      const asset = tables.resolveAsset({ ip: sighting.ip });
      const host = asset.host;
      if (host?.is_managed) continue;
      const exception = tables.exception(asset.ref.id, RULE_ID, event.time);
      if (exception !== undefined) continue;
      const day = windowStart(event.time, DAY_MS);
      if (!reportOnce(state, `address/${sighting.ip}`, String(day))) continue;
      const unknown = host === undefined;
      const base: Severity = unknown ? "medium" : "low";
      const raised = asset.tier === "critical" || asset.tier === "high";
      const severity = raised ? stepSeverity(base, 1) : base;
      const flow = flowOf(event);
      const what = unknown
        ? `unknown address ${sighting.ip}: no inventory record`
        : `${label(asset.ref)} (${sighting.ip}) is inventoried from ${host.sources.map((seenBy) => seenBy.source).join(", ")} only, with no working management agent`;
      findings.push(
        context.finding({
          id: findingId(RULE_ID, RULE_VERSION, [sighting.ip, new Date(day).toISOString()]),
          time: event.time,
          severity,
          title: unknown
            ? `Unknown address ${sighting.ip} in traffic: not in the inventory`
            : `Unmanaged host ${label(asset.ref)} (${sighting.ip}) in traffic`,
          description: `${what}; seen as the ${sighting.role} of ${flow}. Identify the machine and bring it under management or record why it is excluded (an exception for rule ${RULE_ID}).`,
          asset: asset.ref,
          group_key: unknown ? "inventory:unknown" : "inventory:unmanaged",
          events: [evidence(event, flow)],
          summary: `${what}. Unmanaged infrastructure must still be covered (MISSION.md 1).`,
          conditions: [
            `${sighting.ip} is the inside ${sighting.role} of the ${event.kind === "firewall.event" ? "firewall event" : "IDS alert"}`,
            unknown ? "no inventory host holds the address" : `host ${host.id}: is_managed false`,
            `asset ${tierText(asset.ref)}${raised ? `: severity raised ${base} -> ${severity}` : ""}`,
            `no exception for ${asset.ref.id} and ${RULE_ID}`,
            `first sighting on ${new Date(day).toISOString().slice(0, 10)}`,
          ],
        }),
      );
    }
    return findings;
  },
});
