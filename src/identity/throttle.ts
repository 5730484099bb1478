/** A limit: at most `failures` failed attempts per key within `windowMs`. */
export interface ThrottleRule {
  readonly failures: number;
  readonly windowMs: number;
}

/**
 * Slows brute force: counts failed authentications per key (a source address, an account) in a
 * fixed window; once a key reaches its limit, attempts are refused until the window ends. Counters
 * live in this process (each replica counts its own share of the attempts).
 */
export class Throttle {
  readonly #rule: ThrottleRule;
  readonly #now: () => number;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(rule: ThrottleRule, now: () => number = Date.now) {
    this.#rule = rule;
    this.#now = now;
  }

  /** Seconds to wait before `key` may try again, or 0 when it may try now. */
  retryAfter(key: string): number {
    const w = this.#current(key);
    if (w === undefined || w.count < this.#rule.failures) return 0;
    return Math.max(1, Math.ceil((w.start + this.#rule.windowMs - this.#now()) / 1000));
  }

  /** Counts one failed attempt for `key`. */
  fail(key: string): void {
    const w = this.#current(key);
    if (w === undefined) this.#windows.set(key, { start: this.#now(), count: 1 });
    else w.count++;
    if (this.#windows.size > 100_000) this.#sweep();
  }

  /** Forgets `key` after a success. */
  reset(key: string): void {
    this.#windows.delete(key);
  }

  #current(key: string): { start: number; count: number } | undefined {
    const w = this.#windows.get(key);
    if (w === undefined) return undefined;
    if (this.#now() - w.start >= this.#rule.windowMs) {
      this.#windows.delete(key);
      return undefined;
    }
    return w;
  }

  #sweep(): void {
    for (const key of [...this.#windows.keys()]) this.#current(key);
  }
}
