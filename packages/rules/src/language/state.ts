/**
 * Keyed rule state. `MemoryStateStore` is the store the evaluator runs on: it records every change
 * (`drainChanges`, for the engine's compacted changelog, `vigil.rules.state`) and can be restored
 * from such a changelog. `KeyedState` is a rule's view of its own keys, with a due-time index so
 * that `advance(watermark)` finds every window that closed and every silence that expired, however
 * far the watermark jumps, without scanning all keys.
 */
import type { StateStore } from "../model.ts";

/** A StateStore that can also list its keys: what correlation needs to rebuild its timers after a restore. */
export interface RuleStateStore extends StateStore {
  keys(prefix: string): Iterable<string>;
}

export interface StateEntry {
  key: string;
  /** `undefined`: the key was deleted (a tombstone). */
  value: unknown;
}

function cloneJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

export class MemoryStateStore implements RuleStateStore {
  readonly #values = new Map<string, unknown>();
  readonly #changes = new Map<string, unknown>();
  #generation = 0;

  get(key: string): unknown {
    return this.#values.get(key);
  }

  set(key: string, value: unknown): void {
    if (value === undefined) this.#values.delete(key);
    else this.#values.set(key, value);
    this.#changes.set(key, value);
  }

  *keys(prefix: string): Iterable<string> {
    for (const key of this.#values.keys()) if (key.startsWith(prefix)) yield key;
  }

  get size(): number {
    return this.#values.size;
  }

  /** Bumped by `restore`: views holding indexes over the store rebuild them. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * The changes since the last drain, one per key (the latest), as JSON copies; `value: undefined`
   * is a deletion. The engine writes them to the changelog in the same batch as the findings.
   */
  drainChanges(): StateEntry[] {
    const changes = [...this.#changes].map(([key, value]) => ({ key, value: cloneJson(value) }));
    this.#changes.clear();
    return changes;
  }

  /** Applies changelog entries (later entries win; `undefined` deletes) without recording them as changes. */
  restore(entries: Iterable<StateEntry>): void {
    for (const { key, value } of entries) {
      if (value === undefined || value === null) this.#values.delete(key);
      else this.#values.set(key, cloneJson(value));
    }
    this.#generation++;
  }

  /**
   * Becomes exactly the state of these changelog entries: every value and undrained change is
   * dropped first. For a store that went ahead of what was published (a batch whose outputs
   * failed) or whose keys another instance moved on (a partition it just got).
   */
  replace(entries: Iterable<StateEntry>): void {
    this.#values.clear();
    this.#changes.clear();
    this.restore(entries);
  }

  /** Every key and value, as JSON copies (a snapshot, e.g. for tests or a state dump). */
  entries(): StateEntry[] {
    return [...this.#values].map(([key, value]) => ({ key, value: cloneJson(value) }));
  }
}

function canList(store: StateStore): store is RuleStateStore {
  return typeof (store as Partial<RuleStateStore>).keys === "function";
}

function generationOf(store: StateStore): number {
  return store instanceof MemoryStateStore ? store.generation : 0;
}

interface Scheduled {
  due: number;
  key: string;
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.due < b.due || (a.due === b.due && a.key < b.key);
}

/** A binary min-heap on (due, key): the order is total, so a restored index pops in the same order. */
class DueHeap {
  readonly #items: Scheduled[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Scheduled | undefined {
    return this.#items[0];
  }

  push(item: Scheduled): void {
    const items = this.#items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(items[index]!, items[parent]!)) break;
      [items[index], items[parent]] = [items[parent]!, items[index]!];
      index = parent;
    }
  }

  pop(): Scheduled | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === index) break;
        [items[index], items[smallest]] = [items[smallest]!, items[index]!];
        index = smallest;
      }
    }
    return top;
  }
}

/** What a keyed value carries for the index: when `advance` must look at it again. */
export interface Dated {
  due?: number;
}

/**
 * One rule's keys under a prefix (`<rule id>/`), with an index of due times. At most one live
 * index entry per key (a later due is found when the earlier entry pops), so the index stays as
 * small as the key space whatever the event rate.
 */
export class KeyedState<T extends Dated> {
  readonly #store: StateStore;
  readonly #prefix: string;
  #heap = new DueHeap();
  #scheduled = new Map<string, number>();
  #generation: number;

  constructor(store: StateStore, prefix: string) {
    this.#store = store;
    this.#prefix = prefix;
    this.#generation = generationOf(store);
    this.#rebuild();
  }

  #rebuild(): void {
    this.#heap = new DueHeap();
    this.#scheduled = new Map();
    if (!canList(this.#store)) return;
    const start = this.#prefix.length;
    for (const fullKey of this.#store.keys(this.#prefix)) {
      const value = this.#store.get(fullKey) as T | undefined;
      if (value?.due !== undefined) this.#schedule(fullKey.slice(start), value.due);
    }
  }

  #fresh(): void {
    const generation = generationOf(this.#store);
    if (generation !== this.#generation) {
      this.#generation = generation;
      this.#rebuild();
    }
  }

  #schedule(key: string, due: number): void {
    const current = this.#scheduled.get(key);
    if (current !== undefined && current <= due) return;
    this.#scheduled.set(key, due);
    this.#heap.push({ due, key });
  }

  get(key: string): T | undefined {
    this.#fresh();
    return this.#store.get(this.#prefix + key) as T | undefined;
  }

  /** Stores the value (call it after every change: the store records changes on `set`). */
  put(key: string, value: T): void {
    this.#fresh();
    this.#store.set(this.#prefix + key, value);
    if (value.due !== undefined) this.#schedule(key, value.due);
  }

  delete(key: string): void {
    this.#fresh();
    this.#store.set(this.#prefix + key, undefined);
  }

  /** Entries whose due time is at or before `watermark`, earliest first; handlers may put or delete as they go. */
  *due(watermark: number): Generator<[string, T]> {
    this.#fresh();
    for (;;) {
      const top = this.#heap.peek();
      if (!top || top.due > watermark) return;
      this.#heap.pop();
      if (this.#scheduled.get(top.key) !== top.due) continue;
      this.#scheduled.delete(top.key);
      const value = this.#store.get(this.#prefix + top.key) as T | undefined;
      if (value?.due === undefined) continue;
      if (value.due > top.due) {
        this.#schedule(top.key, value.due);
        continue;
      }
      yield [top.key, value];
    }
  }
}

/** One view per store (a compiled rule may run on several evaluators, e.g. before and after a restore). */
export function viewCache<T extends Dated>(prefix: string): (store: StateStore) => KeyedState<T> {
  const views = new WeakMap<StateStore, KeyedState<T>>();
  return (store) => {
    let view = views.get(store);
    if (!view) {
      view = new KeyedState<T>(store, prefix);
      views.set(store, view);
    }
    return view;
  };
}
