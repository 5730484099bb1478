/** A rate: `perSecond` sustained, up to `burst` at once. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** The outcome of taking from a bucket. */
export interface Take {
  readonly allowed: boolean;
  /** Whole seconds until the call would be allowed (0 when allowed), for `Retry-After`. */
  readonly retryAfter: number;
}

/**
 * Token buckets by key: each starts full at `burst` and refills at `perSecond`. Kept in this
 * process's memory (memory-token-buckets.ts) or in Redis, shared by every replica
 * (redis-token-buckets.ts). An implementation that cannot reach its store throws a 503 WardenError.
 */
export interface TokenBuckets {
  /** Takes `cost` tokens from `key`'s bucket if it holds them (synchronous when in memory). */
  take(key: string, limit: RateLimit, cost?: number): Take | Promise<Take>;
  /** Releases connections (a no-op in memory). */
  close(): Promise<void>;
}
