/**
 * Update supersedence (MISSION.md 2): a superseding update satisfies the one it replaces, and
 * chains are transitive (March's cumulative update replaces February's, which replaced January's).
 * Not honouring it is the top false-positive complaint about the leading open-source agent.
 *
 * Edges come from several sources (each baseline's `supersedence:` map, each advisory's
 * `remediations[].supersedes`), kept per source so that withdrawing one removes only its edges.
 * A cycle within one document is refused at load (`findSupersedenceCycle`); a cycle formed between
 * sources cannot loop: every walk keeps a visited set.
 */

/** `KB5034441` from `KB5034441`, `kb5034441` or `5034441`; undefined for anything else. */
export function normalizeKb(text: string): string | undefined {
  const match = /^\s*(?:kb)?(\d{1,10})\s*$/i.exec(text);
  return match ? `KB${match[1]}` : undefined;
}

/** The first cycle in one `superseding -> superseded[]` map, as the path `A -> B -> A`, or undefined. */
export function findSupersedenceCycle(map: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  for (const start of map.keys()) {
    if (state.has(start)) continue;
    // Iterative depth-first search: a hostile chain of thousands of updates must not overflow the stack.
    const stack: { kb: string; next: number }[] = [{ kb: start, next: 0 }];
    state.set(start, "open");
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const children = map.get(top.kb) ?? [];
      if (top.next >= children.length) {
        state.set(top.kb, "done");
        stack.pop();
        continue;
      }
      const child = children[top.next++]!;
      const seen = state.get(child);
      if (seen === "open") {
        const from = stack.findIndex((frame) => frame.kb === child);
        return [...stack.slice(from).map((frame) => frame.kb), child];
      }
      if (seen === undefined) {
        state.set(child, "open");
        stack.push({ kb: child, next: 0 });
      }
    }
  }
  return undefined;
}

export class SupersedenceGraph {
  /** source -> superseding -> superseded. */
  readonly #sources = new Map<string, Map<string, Set<string>>>();
  /** superseded -> the updates that directly supersede it (all sources). */
  #supersededBy: Map<string, Set<string>> | undefined;
  readonly #closure = new Map<string, ReadonlySet<string>>();

  /** Replaces the edges of one source (`baseline:windows`, `advisory:nvd/CVE-...`). */
  setSource(source: string, edges: Iterable<readonly [string, Iterable<string>]>): void {
    const map = new Map<string, Set<string>>();
    for (const [superseding, superseded] of edges) {
      const newer = normalizeKb(superseding);
      if (newer === undefined) continue;
      for (const old of superseded) {
        const older = normalizeKb(old);
        if (older === undefined || older === newer) continue;
        let set = map.get(newer);
        if (!set) {
          set = new Set();
          map.set(newer, set);
        }
        set.add(older);
      }
    }
    if (map.size === 0) this.removeSource(source);
    else this.#sources.set(source, map);
    this.#invalidate();
  }

  removeSource(source: string): void {
    if (this.#sources.delete(source)) this.#invalidate();
  }

  /** Number of direct supersedence edges over all sources. */
  get edgeCount(): number {
    let count = 0;
    for (const map of this.#sources.values()) for (const set of map.values()) count += set.size;
    return count;
  }

  /** Every update that supersedes `kb`, directly or through a chain (never `kb` itself). */
  superseders(kb: string): ReadonlySet<string> {
    const start = normalizeKb(kb) ?? kb;
    const cached = this.#closure.get(start);
    if (cached) return cached;
    const index = this.#index();
    const found = new Set<string>();
    const queue = [start];
    while (queue.length > 0) {
      const current = queue.pop()!;
      for (const newer of index.get(current) ?? []) {
        if (newer === start || found.has(newer)) continue;
        found.add(newer);
        queue.push(newer);
      }
    }
    this.#closure.set(start, found);
    return found;
  }

  /** Whether `newer` replaces `older`, directly or through a chain. */
  supersedes(newer: string, older: string): boolean {
    return this.superseders(older).has(normalizeKb(newer) ?? newer);
  }

  /** The installed update that satisfies `kb` (itself, else a superseding one), or undefined. */
  satisfiedBy(installed: ReadonlySet<string>, kb: string): string | undefined {
    const wanted = normalizeKb(kb) ?? kb;
    if (installed.has(wanted)) return wanted;
    for (const newer of this.superseders(wanted)) if (installed.has(newer)) return newer;
    return undefined;
  }

  #invalidate(): void {
    this.#supersededBy = undefined;
    this.#closure.clear();
  }

  #index(): Map<string, Set<string>> {
    if (this.#supersededBy) return this.#supersededBy;
    const index = new Map<string, Set<string>>();
    for (const map of this.#sources.values())
      for (const [newer, olders] of map)
        for (const older of olders) {
          let set = index.get(older);
          if (!set) {
            set = new Set();
            index.set(older, set);
          }
          set.add(newer);
        }
    this.#supersededBy = index;
    return index;
  }
}
