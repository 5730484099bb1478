/** Per-key counts of events within a sliding window; bounded in keys and in times per key. */
export class BurstCounter {
  readonly #threshold: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  #times = new Map<string, number[]>();
  #seen = 0;

  constructor(threshold: number, windowMs: number, maxKeys = 50_000) {
    this.#threshold = threshold;
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /**
   * Counts one event of `key` at `t`. Returns the time of the burst's first event when this one
   * makes `threshold` within the window; the key then starts counting afresh.
   */
  add(key: string, t: number): number | undefined {
    if (++this.#seen % 1000 === 0 || this.#times.size >= this.#maxKeys) this.#prune(t);
    const times = (this.#times.get(key) ?? []).filter((x) => x > t - this.#windowMs);
    times.push(t);
    if (times.length >= this.#threshold) {
      this.#times.delete(key);
      return times[0];
    }
    this.#times.set(key, times);
    return undefined;
  }

  snapshot(): Record<string, number[]> {
    return Object.fromEntries(this.#times);
  }

  restore(state: unknown): void {
    this.#times = new Map();
    if (state === null || typeof state !== 'object') return;
    for (const [k, v] of Object.entries(state)) {
      if (Array.isArray(v))
        this.#times.set(
          k,
          v.filter((x): x is number => typeof x === 'number'),
        );
    }
  }

  #prune(t: number): void {
    for (const [k, times] of this.#times) {
      if ((times[times.length - 1] ?? 0) <= t - this.#windowMs) this.#times.delete(k);
    }
    // Still full of live keys: drop the oldest half rather than grow without bound.
    if (this.#times.size >= this.#maxKeys) {
      const keys = [...this.#times.keys()];
      for (const k of keys.slice(0, keys.length / 2)) this.#times.delete(k);
    }
  }
}
