import type { EventInput, Ledger } from '../ledger/index.js';
import { withCallScope } from '../ledger/index.js';
import type { Store } from '../store/index.js';

/** Why the queue cannot take more events right now. */
export interface QueueHealth {
  readonly accepting: boolean;
  /** Seconds a refused caller should wait. */
  readonly retryAfter: number;
}

/**
 * Gateway call events, written to the ledger in batches (one transaction for many calls), so calls
 * never wait on each other's ledger write. A failed write keeps the events and retries with
 * backoff; while writes fail or the queue is full, `health()` says so and the gateway refuses calls
 * (fail closed) unless an endpoint chose otherwise.
 */
export class AuditQueue {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #limit: number;
  readonly #onError: (err: unknown) => void;
  #queue: EventInput[] = [];
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: {
    store: Store;
    ledger: Ledger;
    /** Most events held before calls are refused. */
    limit?: number;
    onError: (err: unknown) => void;
  }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#limit = deps.limit ?? 20_000;
    this.#onError = deps.onError;
  }

  /** Whether a new call may be served with its event recorded. */
  health(): QueueHealth {
    const accepting = this.#failures === 0 && this.#queue.length < this.#limit;
    return { accepting, retryAfter: accepting ? 0 : Math.min(30, 2 ** Math.min(this.#failures, 4)) };
  }

  /** Queues an event; it is written with the next batch. */
  push(event: EventInput): void {
    this.#queue.push(event);
    if (this.#flushing === undefined && this.#timer === undefined) this.#schedule(0);
  }

  /** Writes everything queued (for shutdown and tests). */
  async drain(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0 || this.#flushing !== undefined) {
      await (this.#flushing ?? this.#flush());
      if (this.#failures > 0 && this.#queue.length > 0)
        throw new Error('the ledger does not accept gateway events');
    }
  }

  #schedule(delayMs: number): void {
    // Outside any request's call scope: each event carries its own decision and request id.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void withCallScope({}, () => this.#flush());
    }, delayMs);
    this.#timer.unref();
  }

  #flush(): Promise<void> {
    if (this.#flushing !== undefined) return this.#flushing;
    this.#flushing = this.#write().finally(() => {
      this.#flushing = undefined;
      if (this.#queue.length > 0 && this.#timer === undefined)
        this.#schedule(this.#failures === 0 ? 0 : Math.min(5000, 50 * 2 ** this.#failures));
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const batch = this.#queue.splice(0, 1000);
    if (batch.length === 0) return;
    try {
      await this.#store.db.transaction().execute((trx) => this.#ledger.recordMany(trx, batch));
      this.#failures = 0;
      this.#ledger.committed();
    } catch (err) {
      this.#queue.unshift(...batch);
      this.#failures++;
      this.#onError(err);
    }
  }
}
