interface Entry<V> {
  value: Promise<V>;
  expiresAt: number;
  /** Set once the load has succeeded, so {@link ReadCache.peek} can answer without waiting. */
  loaded?: { value: V };
}

/**
 * Reads kept for a short time, for hot paths that would otherwise query on
 * every request. A writer on this replica calls {@link invalidate} after its
 * commit (TransactionRunner.afterCommit), so its own changes show at once;
 * changes made by other replicas show within `ttlMs`. Invalidating drops
 * loads still under way too (they answer their callers but are not kept), so
 * a read from before a commit never outlives it. Concurrent misses for one
 * key share one load; a failed load is not kept.
 */
export class ReadCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    if (!cached && this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    const entry: Entry<V> = { value: load(), expiresAt: this.now() + this.ttlMs };
    this.entries.set(key, entry);
    entry.value.then(
      (value) => (entry.loaded = { value }),
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  /** The kept value of `key` if it is loaded and fresh, without waiting: for answering in the same tick. */
  peek(key: K): { value: V } | undefined {
    const cached = this.entries.get(key);
    return cached && cached.expiresAt > this.now() ? cached.loaded : undefined;
  }

  /** Forgets everything: the next read of every key loads again. */
  invalidate(): void {
    this.entries.clear();
  }
}
