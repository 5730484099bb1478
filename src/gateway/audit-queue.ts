import type { Clock } from '../core/index.js';
import type { EventInput, Ledger } from '../ledger/index.js';
import { withCallScope } from '../ledger/index.js';
import type { Store } from '../store/index.js';

/** Why the queue cannot take more events right now. */
export interface QueueHealth {
  readonly accepting: boolean;
  /** Seconds a refused caller should wait. */
  readonly retryAfter: number;
}

// A batch gathers the events of this long: one transaction (and one integrated checkpoint) per
// hundreds of calls under load rather than per few. Calls never wait for it.
const GATHER_MS = 5;

/** Calls of one endpoint served without their events, while the ledger could not take them. */
interface Gap {
  readonly event: EventInput;
  calls: number;
  firstMs: number;
  lastMs: number;
}

/**
 * Gateway call events, written to the ledger in batches (one transaction for many calls), so calls
 * never wait on each other's ledger write. A failed write keeps the events and retries with
 * backoff; while writes fail or the queue is full, `health()` says so and the gateway refuses calls
 * (fail closed) unless an endpoint chose otherwise. Calls a fail-open endpoint serves meanwhile are
 * not queued but counted per endpoint; once the ledger takes events again, each endpoint's count and
 * time span is recorded as one `endpoint.audit_gap` event. The queue holds at most twice `limit`
 * events (the second half absorbs calls already in flight when it filled); past that, events are
 * counted in the gap too rather than held.
 */
export class AuditQueue {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #limit: number;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  #queue: EventInput[] = [];
  readonly #gaps = new Map<string, Gap>();
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    /** Most events held before calls are refused. */
    limit?: number;
    onError: (err: unknown) => void;
  }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#limit = deps.limit ?? 20_000;
    this.#clock = deps.clock;
    this.#onError = deps.onError;
  }

  /** Whether a new call may be served with its event recorded. */
  health(): QueueHealth {
    const accepting = this.#failures === 0 && this.#queue.length < this.#limit;
    return { accepting, retryAfter: accepting ? 0 : Math.min(30, 2 ** Math.min(this.#failures, 4)) };
  }

  /** Queues an event for the next batch; false when the queue is full and it was counted as a gap instead. */
  push(event: EventInput): boolean {
    if (this.#queue.length >= 2 * this.#limit) {
      this.skip(event);
      return false;
    }
    this.#queue.push(event);
    if (this.#flushing === undefined && this.#timer === undefined) this.#schedule(GATHER_MS);
    return true;
  }

  /** Counts a call served without its event (a fail-open endpoint while the ledger is unavailable). */
  skip(event: EventInput): void {
    const key = event.resource.id;
    const now = this.#clock.now();
    const gap = this.#gaps.get(key);
    if (gap === undefined) this.#gaps.set(key, { event, calls: 1, firstMs: now, lastMs: now });
    else {
      gap.calls++;
      gap.lastMs = now;
    }
    if (this.#flushing === undefined && this.#timer === undefined) this.#schedule(GATHER_MS);
  }

  /** Writes everything queued (for shutdown and tests). */
  async drain(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0 || this.#gaps.size > 0 || this.#flushing !== undefined) {
      await (this.#flushing ?? this.#flush());
      if (this.#failures > 0 && (this.#queue.length > 0 || this.#gaps.size > 0))
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
      if ((this.#queue.length > 0 || this.#gaps.size > 0) && this.#timer === undefined)
        this.#schedule(this.#failures === 0 ? GATHER_MS : Math.min(5000, 50 * 2 ** this.#failures));
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const batch = this.#queue.splice(0, 1000);
    // Gaps ride with a batch: they are recorded by the first write that goes through again.
    const gaps = [...this.#gaps.values()];
    for (const g of gaps) this.#gaps.delete(g.event.resource.id);
    const events = gaps.length === 0 ? batch : [...batch, ...gaps.map(gapEvent)];
    if (events.length === 0) return;
    try {
      await this.#store.db.transaction().execute((trx) => this.#ledger.recordMany(trx, events));
      this.#failures = 0;
      this.#ledger.committed();
    } catch (err) {
      this.#queue.unshift(...batch);
      for (const g of gaps) this.#restore(g);
      this.#failures++;
      this.#onError(err);
    }
  }

  #restore(gap: Gap): void {
    const later = this.#gaps.get(gap.event.resource.id);
    if (later === undefined) this.#gaps.set(gap.event.resource.id, gap);
    else {
      later.calls += gap.calls;
      later.firstMs = gap.firstMs;
    }
  }
}

/** The `endpoint.audit_gap` event for calls an endpoint served unrecorded. */
function gapEvent(gap: Gap): EventInput {
  const e = gap.event;
  return {
    actor: { type: 'system', id: 'gateway', via: 'system' },
    action: 'endpoint.audit_gap',
    resource: { type: 'Endpoint', id: e.resource.id },
    outcome: 'succeeded',
    context: pick(e.context ?? {}),
    details: {
      endpoint: String(e.details?.endpoint ?? e.resource.id),
      unrecordedCalls: gap.calls,
      from: new Date(gap.firstMs).toISOString(),
      to: new Date(gap.lastMs).toISOString(),
      reason: 'the ledger could not take events and the endpoint is configured to fail open',
    },
  };
}

function pick(c: NonNullable<EventInput['context']>): NonNullable<EventInput['context']> {
  return {
    ...(c.project !== undefined ? { project: c.project } : {}),
    ...(c.environment !== undefined ? { environment: c.environment } : {}),
  };
}
