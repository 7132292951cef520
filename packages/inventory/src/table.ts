import { createHash } from "node:crypto";
import type {
  CollectionChange,
  HostCollection,
  HostObservation,
  HostV1,
  InventorySource,
} from "@vigil/schema";

/**
 * The asset table: merges observations from every inventory source into one record per machine.
 *
 * Identity (which asset an observation is about), strongest key first:
 * 1. hardware serial number, 2. SMBIOS UUID, 3. osquery host identifier, 4. MAC address:
 *    the first of these that is already known decides, whatever the names say (a machine keeps
 *    its serial through a rename; a reused name does not make two machines one).
 * 5. FQDN, exact and case-insensitive; 6. short host name or NetBIOS name, domain-aware: `ws-041`
 *    matches `WS-041.corp.example`, but `ws-041.corp.example` never matches `ws-041.lab.example`;
 *    among several candidates the one with the same domain, else the most recently seen.
 *    A name match is refused when both sides carry a different serial number or UUID: that is
 *    another machine that took over the name, and it becomes its own asset.
 * 7. IP address, only for an observation with nothing else to go by, and only to the asset that
 *    holds the address now. Addresses move (DHCP): an address is never a reason to merge two
 *    machines that carry names or hardware ids.
 *
 * Addresses are current state: each address belongs to at most one asset, the one that was seen
 * with it most recently. A later observation moves it (the previous holder loses it); an earlier
 * one (input out of order) does not. A released lease removes it from its holder. DNS records
 * (registrations lag behind leases) bind free addresses only: they never move an address, and
 * any other source takes an address only DNS vouched for.
 *
 * Facts (OS, hardware, antivirus, directory data, names, roles, connectivity) are merged field by
 * field: a field is overwritten by a source of higher precedence (osquery > inventory export >
 * directory > DHCP > DNS), or by the same source with an equal or later time, never by an older
 * or lower one. Provenance is kept in `field_sources`, so the rule survives a restore.
 * Collections (software, updates, ports, ...) are kept per origin: a snapshot replaces the items
 * of its own origin (`osquery:programs`, `inventory:sccm-software`) and no other; an older
 * snapshot than the one applied is skipped.
 *
 * Asset ids are deterministic: `host-` + 16 hex digits of SHA-256 of the strongest key the asset
 * was first known by (`serial:...`, `uuid:...`, `mac:...`, `fqdn:...`, `host:...`). Replaying the
 * same inputs in the same order gives the same ids; a restored table keeps its ids.
 */

export const SOURCE_PRECEDENCE: Record<InventorySource, number> = {
  osquery: 5,
  inventory: 4,
  directory: 3,
  dhcp: 2,
  dns: 1,
};

/** Bounds so that one asset's record stays well inside Kafka's 1 MB message limit. */
export const COLLECTION_LIMITS: Record<HostCollection, number> = {
  software: 4000,
  updates: 2000,
  missing_updates: 1000,
  listening_ports: 500,
  local_admins: 200,
  services: 1000,
  files: 500,
};
const MAX_NAMES = 32;
const MAX_MACS = 32;
const MAX_IPS = 32;

export interface ApplyResult {
  id: string;
  created: boolean;
  /** Assets whose state changed (the observed one, and any that lost an address to it). */
  changed: string[];
}

type MutableHost = HostV1;

const itemKey: Record<HostCollection, (item: Record<string, unknown>) => string> = {
  software: (item) => `${String(item.name).toLowerCase()}\u0000${String(item.version ?? "")}`,
  updates: (item) => String(item.id).toUpperCase(),
  missing_updates: (item) => String(item.id).toUpperCase(),
  listening_ports: (item) => `${String(item.port)}/${String(item.protocol)}/${String(item.address ?? "")}`,
  local_admins: (item) => String(item.name).toLowerCase(),
  services: (item) => String(item.name).toLowerCase(),
  files: (item) => String(item.path).toLowerCase(),
};

export function assetIdFor(key: string): string {
  return `host-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
}

const lower = (value: string | undefined) => value?.toLowerCase();

export class AssetTable {
  readonly #assets = new Map<string, MutableHost>();
  readonly #serial = new Map<string, string>();
  readonly #uuid = new Map<string, string>();
  readonly #hostIdentifier = new Map<string, string>();
  readonly #mac = new Map<string, string>();
  readonly #fqdn = new Map<string, string>();
  readonly #short = new Map<string, Set<string>>();
  /** Address -> the asset holding it now. */
  readonly #ip = new Map<string, string>();

  get size(): number {
    return this.#assets.size;
  }

  get(id: string): HostV1 | undefined {
    return this.#assets.get(id);
  }

  /** Every asset, sorted by id. */
  all(): HostV1[] {
    return [...this.#assets.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Restores assets (e.g. read back from `vigil.inventory.hosts`); the most recently seen owns shared keys. */
  load(hosts: Iterable<HostV1>): void {
    for (const host of hosts) this.#assets.set(host.id, structuredClone(host));
    const ordered = [...this.#assets.values()].sort((a, b) =>
      a.last_seen < b.last_seen ? -1 : a.last_seen > b.last_seen ? 1 : a.id < b.id ? -1 : 1,
    );
    for (const host of ordered) this.#index(host);
  }

  /** Which asset the observation is about, or undefined when it is a new one. */
  resolve(observation: HostObservation): string | undefined {
    const identity = observation.identity;
    const strong: [Map<string, string>, string | undefined][] = [
      [this.#serial, lower(identity.serial_number)],
      [this.#uuid, lower(identity.uuid)],
      [this.#hostIdentifier, identity.host_identifier],
    ];
    for (const [index, key] of strong) {
      const id = key !== undefined ? index.get(key) : undefined;
      if (id !== undefined) return id;
    }
    for (const mac of identity.macs ?? []) {
      const id = this.#mac.get(mac);
      if (id !== undefined && this.#compatible(id, observation)) return id;
    }
    const fqdn = lower(identity.fqdn);
    if (fqdn !== undefined) {
      const id = this.#fqdn.get(fqdn);
      if (id !== undefined && this.#compatible(id, observation)) return id;
    }
    const domain = fqdn?.split(".").slice(1).join(".");
    const shortNames = [lower(identity.hostname), lower(identity.netbios_name)].filter(
      (name): name is string => name !== undefined,
    );
    const candidates = [...new Set(shortNames.flatMap((name) => [...(this.#short.get(name) ?? [])]))]
      .map((id) => this.#assets.get(id)!)
      .filter(
        (host) =>
          (domain === undefined || host.domain === undefined || host.domain === domain) &&
          this.#compatible(host.id, observation),
      );
    if (candidates.length > 0) {
      candidates.sort((a, b) => {
        const sameA = domain !== undefined && a.domain === domain ? 1 : 0;
        const sameB = domain !== undefined && b.domain === domain ? 1 : 0;
        if (sameA !== sameB) return sameB - sameA;
        if (a.last_seen !== b.last_seen) return a.last_seen < b.last_seen ? 1 : -1;
        return a.id < b.id ? -1 : 1;
      });
      return candidates[0]!.id;
    }
    const identified =
      identity.serial_number ??
      identity.uuid ??
      identity.host_identifier ??
      identity.macs?.[0] ??
      identity.hostname ??
      identity.netbios_name;
    if (identified === undefined) {
      for (const ip of identity.ips ?? []) {
        const id = this.#ip.get(ip);
        if (id !== undefined) return id;
      }
    }
    return undefined;
  }

  /** A name or MAC match is refused when both sides carry different hardware ids. */
  #compatible(id: string, observation: HostObservation): boolean {
    const host = this.#assets.get(id)!;
    const serial = lower(observation.identity.serial_number);
    const hostSerial = lower(host.hw_info.serial_number);
    if (serial !== undefined && hostSerial !== undefined && serial !== hostSerial) return false;
    const uuid = lower(observation.identity.uuid);
    const hostUuid = lower(host.hw_info.uuid);
    if (uuid !== undefined && hostUuid !== undefined && uuid !== hostUuid) return false;
    return true;
  }

  /** Merges one observation; returns the asset it went to and every asset it changed. */
  apply(observation: HostObservation): ApplyResult {
    const existing = this.resolve(observation);
    let host: MutableHost;
    let created = false;
    if (existing === undefined) {
      host = this.#create(observation);
      created = true;
    } else {
      host = this.#assets.get(existing)!;
    }
    const before = created ? "" : JSON.stringify(host);
    const changed = new Set<string>();
    this.#merge(host, observation, changed);
    this.#index(host);
    if (created || JSON.stringify(host) !== before) changed.add(host.id);
    return { id: host.id, created, changed: [...changed].sort() };
  }

  #create(observation: HostObservation): MutableHost {
    const identity = observation.identity;
    const key =
      (identity.serial_number && `serial:${identity.serial_number.toLowerCase()}`) ||
      (identity.uuid && `uuid:${identity.uuid.toLowerCase()}`) ||
      (identity.macs?.[0] && `mac:${[...identity.macs].sort()[0]}`) ||
      (identity.fqdn && `fqdn:${identity.fqdn.toLowerCase()}`) ||
      (identity.hostname && `host:${identity.hostname.toLowerCase()}`) ||
      (identity.netbios_name && `host:${identity.netbios_name.toLowerCase()}`) ||
      (identity.host_identifier && `hid:${identity.host_identifier}`) ||
      `ip:${identity.ips?.[0] ?? "none"}`;
    let id = assetIdFor(key);
    // The same key vetoed for another machine (a reused name): derive a distinct, still stable id.
    for (let attempt = 2; this.#assets.has(id); attempt++) id = assetIdFor(`${key}#${attempt}`);
    const host: MutableHost = {
      schema: "vigil.inventory.host/v1",
      id,
      time: observation.time,
      names: [],
      ips: [],
      macs: [],
      type: "unknown",
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
      connectivity: { link: "unknown", remote: false },
      is_managed: false,
      sources: [],
      first_seen: observation.time,
      last_seen: observation.time,
      field_sources: {},
    };
    this.#assets.set(id, host);
    return host;
  }

  /** May `source` at `time` overwrite the field? Records the new provenance when it may. */
  #claim(host: MutableHost, field: string, source: InventorySource, time: string): boolean {
    const previous = host.field_sources[field];
    if (previous !== undefined) {
      const rank = SOURCE_PRECEDENCE[source];
      const previousRank = SOURCE_PRECEDENCE[previous.source];
      if (rank < previousRank || (rank === previousRank && time < previous.time)) return false;
    }
    host.field_sources[field] = { source, time };
    return true;
  }

  #mergeObject<T extends Record<string, unknown>>(
    host: MutableHost,
    group: string,
    target: T,
    incoming: Partial<T> | undefined,
    observation: HostObservation,
  ): void {
    if (incoming === undefined) return;
    for (const [key, value] of Object.entries(incoming)) {
      if (value === undefined) continue;
      if (this.#claim(host, `${group}.${key}`, observation.source, observation.time))
        (target as Record<string, unknown>)[key] = value;
    }
  }

  #merge(host: MutableHost, observation: HostObservation, changed: Set<string>): void {
    const { identity, source, time } = observation;
    if (time > host.last_seen) host.last_seen = time;
    if (time < host.first_seen) host.first_seen = time;
    if (time > host.time) host.time = time;

    // Names.
    const fqdn = lower(identity.fqdn);
    const hostname = lower(identity.hostname) ?? fqdn?.split(".")[0];
    const names = {
      hostname,
      fqdn,
      domain: fqdn?.split(".").slice(1).join(".") || undefined,
      netbios_name: identity.netbios_name?.toUpperCase(),
    };
    this.#mergeObject(host, "name", host as unknown as Record<string, unknown>, names, observation);
    const allNames = new Set(host.names);
    for (const name of [
      hostname,
      fqdn,
      lower(identity.netbios_name),
      ...(identity.aliases ?? []).map((alias) => alias.toLowerCase()),
    ])
      if (name !== undefined) allNames.add(name);
    host.names = [...allNames].sort().slice(0, MAX_NAMES);

    if (identity.macs) host.macs = [...new Set([...host.macs, ...identity.macs])].sort().slice(0, MAX_MACS);
    if (identity.serial_number && this.#claim(host, "hw_info.serial_number", source, time))
      host.hw_info.serial_number = identity.serial_number;
    if (identity.uuid && this.#claim(host, "hw_info.uuid", source, time))
      host.hw_info.uuid = identity.uuid.toLowerCase();

    // Addresses: current holder is whoever was seen with it last.
    for (const ip of identity.ips ?? []) this.#bindAddress(host, ip, source, time, changed);
    for (const ip of observation.released_ips ?? []) {
      const entry = host.ips.find((item) => item.ip === ip);
      if (entry && entry.last_seen <= time) {
        host.ips = host.ips.filter((item) => item.ip !== ip);
        if (this.#ip.get(ip) === host.id) this.#ip.delete(ip);
      }
    }
    host.ips.sort((a, b) =>
      a.last_seen === b.last_seen ? (a.ip < b.ip ? -1 : 1) : a.last_seen < b.last_seen ? 1 : -1,
    );
    host.ips = host.ips.slice(0, MAX_IPS);

    if (
      observation.type !== undefined &&
      (observation.type !== "unknown" || host.type === "unknown") &&
      this.#claim(host, "type", source, time)
    )
      host.type = observation.type;
    this.#mergeObject(host, "hw_info", host.hw_info, observation.hw_info, observation);
    this.#mergeObject(host, "os", host.os, observation.os, observation);
    if (observation.antivirus) {
      host.antivirus ??= {};
      this.#mergeObject(host, "antivirus", host.antivirus, observation.antivirus, observation);
    }
    if (observation.directory) {
      host.directory ??= {};
      this.#mergeObject(host, "directory", host.directory, observation.directory, observation);
    }
    if (observation.connectivity)
      this.#mergeObject(host, "connectivity", host.connectivity, observation.connectivity, observation);
    const roles = observation.roles;
    if (roles) {
      // Being a domain controller is seen (a running NTDS service, the OU), never unseen.
      if (roles.domain_controller) host.roles.domain_controller = true;
      if (roles.fsmo && this.#claim(host, "roles.fsmo", source, time))
        host.roles.fsmo = [...new Set(roles.fsmo)].sort();
      if (roles.business_critical !== undefined && this.#claim(host, "roles.business_critical", source, time))
        host.roles.business_critical = roles.business_critical;
      if (roles.tags) host.roles.tags = [...new Set([...host.roles.tags, ...roles.tags])].sort();
      if (host.roles.tags.includes("business-critical")) host.roles.business_critical = true;
    }

    for (const change of observation.changes ?? []) this.#applyChange(host, change, source, time);

    // Sources and agent.
    const seen = host.sources.find((item) => item.source === source);
    if (seen) {
      if (time > seen.last_seen) seen.last_seen = time;
      if (time < seen.first_seen) seen.first_seen = time;
    } else {
      host.sources.push({ source, first_seen: time, last_seen: time });
      host.sources.sort((a, b) => SOURCE_PRECEDENCE[b.source] - SOURCE_PRECEDENCE[a.source]);
    }
    if (source === "osquery") {
      const lastSeen = host.agent && host.agent.last_seen > time ? host.agent.last_seen : time;
      host.agent = { name: "osquery", last_seen: lastSeen };
      const hid = identity.host_identifier ?? host.agent.host_identifier;
      if (hid !== undefined) host.agent.host_identifier = hid;
    }
    host.is_managed = host.sources.some((item) => item.source === "osquery" || item.source === "inventory");
  }

  #bindAddress(
    host: MutableHost,
    ip: string,
    source: InventorySource,
    time: string,
    changed: Set<string>,
  ): void {
    const holderId = this.#ip.get(ip);
    if (holderId !== undefined && holderId !== host.id) {
      const holder = this.#assets.get(holderId)!;
      const held = holder.ips.find((item) => item.ip === ip);
      // DNS registrations lag behind leases and agents: they name addresses but never move them,
      // and an address only DNS vouches for goes to whoever else is seen with it.
      if (source === "dns") return;
      if (held && held.source !== "dns" && held.last_seen > time) return; // an older sighting: the address has moved on since
      holder.ips = holder.ips.filter((item) => item.ip !== ip);
      holder.time = time > holder.time ? time : holder.time;
      changed.add(holder.id);
    }
    this.#ip.set(ip, host.id);
    const entry = host.ips.find((item) => item.ip === ip);
    if (entry) {
      // A DNS record does not make a lease or an agent's sighting any more recent.
      if (time > entry.last_seen && (source !== "dns" || entry.source === "dns")) entry.last_seen = time;
      if (time < entry.first_seen) entry.first_seen = time;
      if (SOURCE_PRECEDENCE[source] > SOURCE_PRECEDENCE[entry.source]) entry.source = source;
    } else {
      host.ips.push({ ip, first_seen: time, last_seen: time, source });
    }
  }

  #applyChange(host: MutableHost, change: CollectionChange, source: InventorySource, time: string): void {
    const field = `collection.${change.collection}.${change.origin}`;
    const previous = host.field_sources[field];
    if (previous !== undefined && time < previous.time) return;
    host.field_sources[field] = { source, time };
    const key = itemKey[change.collection];
    const list = host[change.collection] as Record<string, unknown>[];
    let next: Record<string, unknown>[];
    const items = change.items as Record<string, unknown>[];
    if (change.op === "replace") {
      next = [...list.filter((item) => item.origin !== change.origin), ...items];
    } else if (change.op === "add") {
      const adding = new Set(items.map(key));
      next = [...list.filter((item) => item.origin !== change.origin || !adding.has(key(item))), ...items];
    } else {
      const removing = new Set(items.map(key));
      next = list.filter((item) => item.origin !== change.origin || !removing.has(key(item)));
    }
    // One item per key and origin; sorted so that equal states serialise equally.
    const unique = new Map<string, Record<string, unknown>>();
    for (const item of next) unique.set(`${key(item)}\u0001${String(item.origin)}`, item);
    const sorted = [...unique.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => item);
    (host as unknown as Record<string, unknown>)[change.collection] = sorted.slice(
      0,
      COLLECTION_LIMITS[change.collection],
    );
  }

  #index(host: MutableHost): void {
    const id = host.id;
    if (host.hw_info.serial_number) this.#serial.set(host.hw_info.serial_number.toLowerCase(), id);
    if (host.hw_info.uuid) this.#uuid.set(host.hw_info.uuid.toLowerCase(), id);
    if (host.agent?.host_identifier) this.#hostIdentifier.set(host.agent.host_identifier, id);
    for (const mac of host.macs) this.#mac.set(mac, id);
    if (host.fqdn) this.#fqdn.set(host.fqdn, id);
    for (const name of host.names) {
      if (name.includes(".")) {
        if (!this.#fqdn.has(name)) this.#fqdn.set(name, id);
        continue;
      }
      const set = this.#short.get(name) ?? new Set<string>();
      set.add(id);
      this.#short.set(name, set);
    }
    for (const entry of host.ips) {
      const holder = this.#ip.get(entry.ip);
      const held =
        holder !== undefined && holder !== id
          ? this.#assets.get(holder)?.ips.find((item) => item.ip === entry.ip)
          : undefined;
      if (held === undefined || held.last_seen <= entry.last_seen) this.#ip.set(entry.ip, id);
    }
  }
}
