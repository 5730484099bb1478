import type { Clock } from '../core/index.js';
import type { RateLimit, Take, TokenBuckets } from './token-buckets.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key, in this process's memory (one replica's own counters): each starts full at `burst` and refills at
 * `perSecond`. The least recently used buckets are dropped past `maxKeys` (a dropped bucket comes
 * back full, which only ever errs towards allowing a call that had waited).
 */
export class MemoryTokenBuckets implements TokenBuckets {
  readonly #clock: Clock;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(clock: Clock, maxKeys = 100_000) {
    this.#clock = clock;
    this.#maxKeys = maxKeys;
  }

  /** Takes `cost` tokens from `key`'s bucket if it holds them. */
  take(key: string, limit: RateLimit, cost = 1): Take {
    const now = this.#clock.now();
    const bucket = this.#buckets.get(key) ?? { tokens: limit.burst, at: now };
    this.#buckets.delete(key);
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true, retryAfter: 0 };
    }
    const wait = limit.perSecond > 0 ? (cost - bucket.tokens) / limit.perSecond : Number.POSITIVE_INFINITY;
    return { allowed: false, retryAfter: Number.isFinite(wait) ? Math.max(1, Math.ceil(wait)) : 3600 };
  }

  async close(): Promise<void> {}
}
