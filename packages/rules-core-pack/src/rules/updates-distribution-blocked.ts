import type { EvidenceRef, HostV1, Severity, UpdateEventV1, UpdateSignatureId } from "@vigil/schema";
import {
  type CompiledRule,
  defineRule,
  findingId,
  type RuleEvent,
  type TypedRuleContext,
} from "../contract.ts";
import { evidence, iso, listSome, stateOf, tierText } from "../support.ts";

const RULE_ID = "core.updates.distribution-blocked";
const RULE_VERSION = 1;

/** The WSUS client web service file whose version says whether the 954960 fix is installed. */
export const WSUS_CLIENT_DLL = "microsoft.updateservices.webservices.client.dll";
export const WSUS_FIXED_VERSION = "3.1.6001.66";

type Advisory = "954960" | "954474";

/** Signatures that mean "no update reaches the clients of this server", and whose server it is. */
const BLOCKING: Partial<Record<UpdateSignatureId, { advisory: Advisory; server: "update_server" | "host" }>> =
  {
    "ms-954960-client-syncupdates-0x8024400e": { advisory: "954960", server: "update_server" },
    "ms-954960-server-duplicate-key": { advisory: "954960", server: "host" },
    "ms-954474-unexpected-deploymentaction": { advisory: "954474", server: "host" },
    "ms-954474-zero-processed-summary": { advisory: "954474", server: "host" },
  };

const TITLES: Record<Advisory, string> = {
  "954960": "WSUS 3.0 SyncUpdates fails for clients (KB954960): no update reaches them",
  "954474": "ConfigMgr 2007 catalog sync processes no updates (KB954474): SMS 2003 clients get none",
};

interface Episode {
  advisory: Advisory;
  server: string;
  started: string;
  /** The event that opened it: part of every finding id of the episode. */
  opened_by: string;
  /** Clients that failed to sync with the server, with their latest failure; true once they synced again. */
  hosts: Record<string, { last_failure: string; recovered: boolean }>;
  failures: number;
  first: EvidenceRef;
  last: EvidenceRef;
}

interface ServerState {
  /** The episode under way, if any. */
  open?: Episode;
  /** When the last episode was cleared: older blocking events (late, or redelivered) do not reopen it. */
  cleared?: string;
  /** The client web service version the server last logged or reported. */
  dll_version?: string;
}

export function compareVersions(a: string, b: string): number {
  const left = a.split(".").map(Number);
  const right = b.split(".").map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function serverKey(advisory: Advisory, server: string): string {
  return `server/${advisory}/${server.toLowerCase()}`;
}

function dllVersionOfEvent(value: UpdateEventV1): string | undefined {
  return value.file_versions.find((file) => file.file.toLowerCase() === WSUS_CLIENT_DLL)?.version;
}

function dllVersionOfHost(host: HostV1): string | undefined {
  const versions = host.files
    .filter(
      (file) =>
        file.path.toLowerCase().endsWith(`\\${WSUS_CLIENT_DLL}`) ||
        file.path.toLowerCase().endsWith(`/${WSUS_CLIENT_DLL}`),
    )
    .map((file) => file.version)
    .filter((version): version is string => version !== undefined && /^\d+(\.\d+)+$/.test(version));
  return versions.sort(compareVersions).at(-1);
}

/** A completed ConfigMgr catalog sync that processed updates again (954474 cleared by its own success). */
function siteSyncRecovered(value: UpdateEventV1): boolean {
  if (value.role !== "site-server" || value.event_kind !== "sync" || value.outcome !== "success")
    return false;
  const summary = /Updates summary:\s*(\d+)\s+processed/i.exec(value.message);
  return summary !== null ? Number(summary[1]) > 0 : /Sync succeeded/i.test(value.message);
}

function affectedSeverity(episode: Episode, context: TypedRuleContext): { severity: Severity; why: string } {
  const critical = Object.keys(episode.hosts).filter(
    (host) => context.tables.resolveAsset({ hostname: host }).tier === "critical",
  );
  return critical.length > 0
    ? { severity: "critical", why: `critical-tier hosts behind it: ${critical.join(", ")}` }
    : { severity: "high", why: "no update reaches the hosts behind the server (MISSION.md 6)" };
}

function report(
  episode: Episode,
  context: TypedRuleContext,
  time: number,
  cleared?: { by: RuleEvent; reason: string },
) {
  const asset = context.tables.resolveAsset({ hostname: episode.server });
  const hosts = Object.keys(episode.hosts).sort();
  const failing = hosts.filter((host) => !episode.hosts[host]!.recovered);
  const { severity, why } = affectedSeverity(episode, context);
  const hostText =
    hosts.length > 0
      ? `${hosts.length} host${hosts.length === 1 ? "" : "s"} behind it failed to sync: ${listSome(hosts)}`
      : "the server fails its clients' synchronisation (the clients' own logs have not been read yet)";
  const events = episode.first.id === episode.last.id ? [episode.first] : [episode.first, episode.last];
  const idParts = [`${episode.advisory}/${episode.server}`, episode.opened_by, ...hosts];
  if (cleared) {
    const finding = context.finding({
      id: findingId(RULE_ID, RULE_VERSION, [...idParts, "cleared", cleared.by.id]),
      time,
      severity: "informational",
      title: `Cleared: update distribution on ${episode.server} works again (KB${episode.advisory})`,
      description: `${cleared.reason}. The blockage started ${episode.started} with ${episode.failures} failures; ${hostText}. Check that the hosts behind it catch up on the updates they missed.`,
      asset: asset.ref,
      group_key: `updates:${episode.advisory}`,
      events: [...events, evidence(cleared.by, cleared.reason)],
      summary: `Update distribution through ${episode.server} is restored: ${cleared.reason}.`,
      conditions: [
        `episode of advisory ${episode.advisory} on ${episode.server} open since ${episode.started}`,
        `cleared: ${cleared.reason}`,
      ],
      references: [`https://support.microsoft.com/kb/${episode.advisory}`],
    });
    // Same rule, asset and group key as the blocking findings: the incident layer resolves their incident.
    return { ...finding, clears: true };
  }
  return context.finding({
    id: findingId(RULE_ID, RULE_VERSION, idParts),
    time,
    severity,
    title: `Update distribution blocked on ${episode.server} (KB${episode.advisory})${hosts.length > 0 ? `: ${hosts.length} ${hosts.length === 1 ? "host gets" : "hosts get"} no updates` : ""}`,
    description: `${TITLES[episode.advisory]}. Since ${episode.started}, ${episode.failures} failure${episode.failures === 1 ? "" : "s"}; ${hostText}. ${episode.advisory === "954960" ? `Install KB954960 on the server (Microsoft.UpdateServices.WebServices.Client.Dll ${WSUS_FIXED_VERSION})` : "Install KB954474 on the site server"}; the finding clears when the server reports the fix or the syncs succeed again.`,
    asset: asset.ref,
    group_key: `updates:${episode.advisory}`,
    events,
    summary: `No update reaches the hosts behind ${episode.server}: a silent stop of patch delivery is a security incident for every one of them (MISSION.md 6).`,
    conditions: [
      `signatures of advisory ${episode.advisory} logged since ${episode.started} (${episode.failures})`,
      `grouped by update server ${episode.server}: ${asset.ref.id} ${tierText(asset.ref)}`,
      hosts.length > 0 ? `hosts still failing: ${listSome(failing)}` : "no client log read yet",
      `severity ${severity}: ${why}`,
    ],
    references: [`https://support.microsoft.com/kb/${episode.advisory}`],
  });
}

function clear(
  context: TypedRuleContext,
  key: string,
  server: ServerState,
  event: RuleEvent,
  reason: string,
  dllVersion?: string,
) {
  const episode = server.open;
  if (episode === undefined || Date.parse(episode.started) > event.time) {
    if (dllVersion !== undefined) context.state.set(key, { ...server, dll_version: dllVersion });
    return [];
  }
  const { open: _closed, ...rest } = server;
  context.state.set(key, {
    ...rest,
    cleared: iso(event.time),
    ...(dllVersion !== undefined ? { dll_version: dllVersion } : {}),
  } satisfies ServerState);
  return [report(episode, context, event.time, { by: event, reason })];
}

function onUpdateEvent(event: RuleEvent<"updates.agent">, context: TypedRuleContext) {
  const value = event.value;
  const signature = value.signature?.id;
  const dllVersion = dllVersionOfEvent(value);
  // The fix, logged by the server itself (a signature, or the file version in any entry).
  if (dllVersion !== undefined && value.role === "server" && value.host !== undefined) {
    const key = serverKey("954960", value.host);
    const server = stateOf<ServerState>(context.state, key) ?? {};
    if (compareVersions(dllVersion, WSUS_FIXED_VERSION) >= 0)
      return clear(
        context,
        key,
        server,
        event,
        `${value.host} logs Microsoft.UpdateServices.WebServices.Client.Dll ${dllVersion} (>= ${WSUS_FIXED_VERSION}: KB954960 installed)`,
        dllVersion,
      );
    context.state.set(key, { ...server, dll_version: dllVersion } satisfies ServerState);
  }
  const blocking = signature !== undefined ? BLOCKING[signature] : undefined;
  if (blocking !== undefined) {
    const serverName =
      blocking.server === "host" ? (value.host ?? value.update_server?.host) : value.update_server?.host;
    if (serverName === undefined) return [];
    const key = serverKey(blocking.advisory, serverName);
    const server = stateOf<ServerState>(context.state, key) ?? {};
    if (server.cleared !== undefined && Date.parse(server.cleared) >= event.time) return [];
    const client = value.role === "client" ? value.host?.toLowerCase() : undefined;
    const here = evidence(event, `${value.host ?? "?"}: ${value.signature!.title}`);
    const episode: Episode = server.open ?? {
      advisory: blocking.advisory,
      server: serverName.toLowerCase(),
      started: iso(event.time),
      opened_by: event.id,
      hosts: {},
      failures: 0,
      first: here,
      last: here,
    };
    const isNew = server.open === undefined;
    const newHost = client !== undefined && episode.hosts[client] === undefined;
    if (client !== undefined) {
      const previous = episode.hosts[client];
      episode.hosts[client] = {
        last_failure:
          previous && Date.parse(previous.last_failure) > event.time
            ? previous.last_failure
            : iso(event.time),
        recovered: false,
      };
    }
    episode.failures += 1;
    if (event.time >= Date.parse(episode.last.time)) episode.last = here;
    context.state.set(key, { ...server, open: episode } satisfies ServerState);
    // A new finding when the episode opens and whenever another host joins it; repeats only count.
    return isNew || newHost ? [report(episode, context, event.time)] : [];
  }
  // 954960 cleared by the clients: every client of the episode synced successfully with the server again.
  if (
    value.role === "client" &&
    value.event_kind === "sync" &&
    value.outcome === "success" &&
    value.update_server?.host !== undefined &&
    value.host !== undefined
  ) {
    const key = serverKey("954960", value.update_server.host);
    const server = stateOf<ServerState>(context.state, key);
    const client = value.host.toLowerCase();
    const entry = server?.open?.hosts[client];
    if (server?.open === undefined || entry === undefined || Date.parse(entry.last_failure) > event.time)
      return [];
    entry.recovered = true;
    const pending = Object.entries(server.open.hosts).filter(([, host]) => !host.recovered);
    if (pending.length === 0)
      return clear(
        context,
        key,
        server,
        event,
        `every client of ${server.open.server} synchronises successfully again`,
      );
    context.state.set(key, server);
    return [];
  }
  if (siteSyncRecovered(value) && value.host !== undefined) {
    const key = serverKey("954474", value.host);
    const server = stateOf<ServerState>(context.state, key);
    if (server === undefined) return [];
    return clear(
      context,
      key,
      server,
      event,
      `${value.host} completes a catalog sync again: "${value.message}"`,
    );
  }
  return [];
}

function onHost(event: RuleEvent<"inventory.host">, context: TypedRuleContext) {
  const host = event.value;
  const version = dllVersionOfHost(host);
  if (version === undefined) return [];
  const findings = [];
  for (const name of host.names) {
    const key = serverKey("954960", name);
    const server = stateOf<ServerState>(context.state, key);
    if (server === undefined) continue;
    if (compareVersions(version, WSUS_FIXED_VERSION) >= 0)
      findings.push(
        ...clear(
          context,
          key,
          server,
          event,
          `the inventory reports Microsoft.UpdateServices.WebServices.Client.Dll ${version} on ${name} (>= ${WSUS_FIXED_VERSION}: KB954960 installed)`,
          version,
        ),
      );
  }
  return findings;
}

/**
 * MISSION.md 6: advisories 954960 and 954474 are update infrastructure failing silently, so that no
 * update reaches the clients. Their log signatures (recognised by the updates ingest) are grouped
 * by the server at fault into one infrastructure finding whose asset is that server, listing the
 * hosts behind it that failed; a new finding when another host joins. The episode clears itself,
 * with an informational finding on the same incident, when the server reports the fixed
 * Microsoft.UpdateServices.WebServices.Client.Dll (3.1.6001.66 or later, in its log or in the
 * inventory's file versions), when every failing client syncs again (954960), or when the site
 * server completes a catalog sync that processes updates again (954474).
 */
export const updatesDistributionBlocked: CompiledRule = defineRule({
  id: RULE_ID,
  name: "Update distribution blocked",
  version: RULE_VERSION,
  description:
    "Update distribution blocked (954960, 954474): one finding per update server listing the hosts behind it; cleared when the server reports the fixed file version 3.1.6001.66 or the syncs succeed again.",
  on: ["updates.agent", "inventory.host"],
  evaluate(event, context) {
    if (event.kind === "updates.agent") return onUpdateEvent(event, context);
    if (event.kind === "inventory.host") return onHost(event, context);
    return [];
  },
});
