import type { Principal } from './principal.js';

/** What a token authentication found, kept so the next call with the same token skips the lookup. */
export interface CachedToken {
  readonly digest: string;
  /** The authorization epoch the lookup saw; any credential or principal change moves it on. */
  readonly epoch: number;
  readonly tokenId: string;
  readonly expiresMs: number | null;
  readonly mfaUntilMs: number | null;
  /** When `last_used_ms` was last written (it is refreshed at most every 30 s). */
  lastUsedMs: number;
  /** The principal as of the lookup; `mfa` is recomputed when the step-up window ends. */
  principal: Principal;
}

/**
 * API tokens recently authenticated, by digest. An entry answers only while the authorization epoch
 * is the one it was read under (every revocation, suspension, status, group or MFA change moves the
 * epoch on, in every replica's view, in the transaction that makes the change), so a cached answer is
 * never staler than the epoch read at the start of the call. Bounded; the oldest entries go first.
 */
export class TokenCache {
  readonly #entries = new Map<string, CachedToken>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /** The entry for `digest` if it was read under `epoch`; an entry of another epoch is dropped. */
  get(digest: string, epoch: number): CachedToken | undefined {
    const entry = this.#entries.get(digest);
    if (entry === undefined) return undefined;
    if (entry.epoch === epoch) return entry;
    this.#entries.delete(digest);
    return undefined;
  }

  /** Keeps `entry` (replacing any for its digest), dropping the oldest entry when full. */
  set(entry: CachedToken): void {
    this.#entries.delete(entry.digest);
    if (this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(entry.digest, entry);
  }
}
