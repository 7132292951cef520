/**
 * The inventory's hosts (`vigil.inventory.hosts`) by id, by every current address and by every
 * name, kept current as host states and tombstones arrive.
 */
import { isIP } from "node:net";
import type { HostV1 } from "@vigil/schema";
import { canonicalIp } from "../cidr.ts";
import { namesOf } from "./host-facts.ts";

interface Holder {
  lastSeen: string;
  sequence: number;
}

export class HostIndex {
  readonly #byId = new Map<string, HostV1>();
  /** ip -> host id -> when that host was last seen with it. */
  readonly #ipHolders = new Map<string, Map<string, Holder>>();
  readonly #byName = new Map<string, Set<string>>();
  readonly #sequence = new Map<string, number>();
  #counter = 0;

  get size(): number {
    return this.#byId.size;
  }
  get addressCount(): number {
    return this.#ipHolders.size;
  }
  get nameCount(): number {
    return this.#byName.size;
  }

  get(id: string): HostV1 | undefined {
    return this.#byId.get(id);
  }

  all(): IterableIterator<HostV1> {
    return this.#byId.values();
  }

  /** Adds or replaces a host's state: addresses and names it no longer has leave the index. */
  upsert(host: HostV1): void {
    this.remove(host.id);
    this.#byId.set(host.id, host);
    const sequence = ++this.#counter;
    this.#sequence.set(host.id, sequence);
    for (const entry of host.ips) {
      const ip = canonicalIp(entry.ip);
      let holders = this.#ipHolders.get(ip);
      if (!holders) {
        holders = new Map();
        this.#ipHolders.set(ip, holders);
      }
      holders.set(host.id, { lastSeen: entry.last_seen, sequence });
    }
    for (const name of namesOf(host)) {
      let ids = this.#byName.get(name);
      if (!ids) {
        ids = new Set();
        this.#byName.set(name, ids);
      }
      ids.add(host.id);
    }
  }

  /** Forgets a host (a tombstone on the hosts topic). */
  remove(id: string): boolean {
    const previous = this.#byId.get(id);
    if (!previous) return false;
    this.#byId.delete(id);
    this.#sequence.delete(id);
    for (const entry of previous.ips) {
      const ip = canonicalIp(entry.ip);
      const holders = this.#ipHolders.get(ip);
      holders?.delete(id);
      if (holders?.size === 0) this.#ipHolders.delete(ip);
    }
    for (const name of namesOf(previous)) {
      const ids = this.#byName.get(name);
      ids?.delete(id);
      if (ids?.size === 0) this.#byName.delete(name);
    }
    return true;
  }

  /**
   * The host holding an address now. Two states may list one address for a while (a DHCP lease
   * moved before the old holder's next state arrives): the host seen with it most recently wins,
   * then the state applied last.
   */
  byIp(ip: string): HostV1 | undefined {
    if (isIP(ip) === 0) return undefined;
    const holders = this.#ipHolders.get(canonicalIp(ip));
    if (!holders) return undefined;
    let bestId: string | undefined;
    let best: Holder | undefined;
    for (const [id, holder] of holders) {
      if (
        !best ||
        holder.lastSeen > best.lastSeen ||
        (holder.lastSeen === best.lastSeen && holder.sequence > best.sequence)
      ) {
        best = holder;
        bestId = id;
      }
    }
    return bestId === undefined ? undefined : this.#byId.get(bestId);
  }

  /** Every host known by this name (case-insensitive). */
  byName(name: string): HostV1[] {
    const ids = this.#byName.get(name.trim().toLowerCase());
    return ids ? [...ids].map((id) => this.#byId.get(id)!) : [];
  }

  /**
   * The one host a name designates, or undefined when none or several do (`ws-041` in two
   * domains): a name that could mean two machines is not guessed. An unknown FQDN falls back to its
   * first label when that is unique.
   */
  resolveName(name: string): HostV1 | undefined {
    const exact = this.byName(name);
    if (exact.length === 1) return exact[0];
    if (exact.length > 1) return undefined;
    const short = name.trim().toLowerCase().split(".")[0];
    if (!short || short === name.trim().toLowerCase()) return undefined;
    const candidates = this.byName(short);
    return candidates.length === 1 ? candidates[0] : undefined;
  }
}
