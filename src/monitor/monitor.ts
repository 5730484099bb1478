import type { Clock } from '../core/index.js';
import type { Ledger, StoredEvent } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import { type Alerts, type AlertView, alertPayload } from './alerts.js';
import { type Detector, type Finding, observe } from './detector.js';
import { buildDetectors } from './detectors/index.js';
import type { MonitorSettings } from './settings.js';
import { backoffMs, DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './webhooks.js';

/** Where the monitor stopped reading, and its detectors' state, in the `settings` table. */
const CURSOR_KEY = 'monitor.cursor';
const PAGE = 500;
const PAGES_PER_PASS = 20;
const WEBHOOK_TIMEOUT_MS = 10_000;
/** How long a skipped recording position is watched for a transaction that commits late. */
const GAP_WATCH_MS = 60_000;
const MAX_GAPS = 256;

interface Saved {
  /** The highest recording position judged. */
  readonly pos: number;
  /** Positions below `pos` not seen yet (an open or rolled-back transaction), with when they were noticed. */
  readonly gaps?: Record<string, number>;
  readonly state: Record<string, unknown>;
}

/**
 * Runs the detectors over ledger events once they are integrated, on the integrator's leader only.
 * Each pass reads the events after its persisted cursor, in order, and commits the alerts it raised
 * together with the new cursor and detector state, so a restart neither misses nor repeats alerts.
 * The same pass lifts suspensions whose time is up and sends due webhook deliveries.
 *
 * Recording positions are taken when a transaction inserts its event but become visible when it
 * commits, so with concurrent writers (PostgreSQL) a lower position can appear after a higher one
 * was read. Positions skipped over are watched for a minute and judged when they show up.
 */
export class Monitor {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #alerts: Alerts;
  readonly #clock: Clock;
  readonly #settings: MonitorSettings;
  readonly #isLeader: () => boolean;
  readonly #onAlert: (a: AlertView) => void;
  readonly #onError: (err: unknown) => void;
  readonly #detectors: Detector[];
  #cursor: number | undefined;
  #gaps = new Map<number, number>();
  #pass: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: {
    store: Store;
    ledger: Ledger;
    alerts: Alerts;
    clock: Clock;
    settings: MonitorSettings;
    isLeader: () => boolean;
    onAlert: (a: AlertView) => void;
    onError: (err: unknown) => void;
  }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#alerts = deps.alerts;
    this.#clock = deps.clock;
    this.#settings = deps.settings;
    this.#isLeader = deps.isLeader;
    this.#onAlert = deps.onAlert;
    this.#onError = deps.onError;
    this.#detectors = buildDetectors(deps.settings.detectors);
  }

  /** Runs a pass every `intervalMs`. */
  start(): void {
    this.#timer ??= setInterval(() => {
      this.runOnce().catch(this.#onError);
    }, this.#settings.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pass.catch(() => undefined);
  }

  /** One pass (after any pass under way): detect, lift ended suspensions, deliver webhooks. */
  runOnce(): Promise<void> {
    this.#pass = this.#pass.catch(() => undefined).then(() => this.#run());
    return this.#pass;
  }

  async #run(): Promise<void> {
    if (!this.#isLeader()) {
      // Another replica leads; reload from the store should this one take over.
      this.#cursor = undefined;
      return;
    }
    try {
      for (let i = 0; i < PAGES_PER_PASS && (await this.#detect()); i++);
    } catch (err) {
      this.#cursor = undefined;
      throw err;
    }
    await this.#alerts.liftExpired();
    await this.#deliver();
  }

  /** Reads and judges one page of integrated events (and late arrivals); false when there was nothing new. */
  async #detect(): Promise<boolean> {
    if (this.#cursor === undefined) this.#load(await this.#read());
    const after = this.#cursor ?? 0;
    const late = await this.#lateArrivals();
    const page = await this.#ledger.queryEvents({ after, limit: PAGE });
    // Only integrated events, and only up to the first still pending, so the order is the log's.
    const ready: StoredEvent[] = [];
    for (const e of page.events) {
      if (e.seq === null) break;
      ready.push(e);
    }
    if (ready.length === 0 && late.length === 0) return false;
    const now = this.#clock.now();
    let pos = after;
    for (const e of ready) {
      for (let p = pos + 1; p < e.pos && this.#gaps.size < MAX_GAPS; p++) this.#gaps.set(p, now);
      pos = e.pos;
    }
    const findings: Finding[] = [];
    for (const stored of [...late, ...ready]) {
      const e = observe(stored.id, stored.event);
      if (e === undefined || (e.actorType === 'system' && e.actorId === 'monitor')) continue;
      for (const d of this.#detectors) findings.push(...d.observe(e));
    }
    const saved: Saved = {
      pos,
      gaps: Object.fromEntries(this.#gaps),
      state: Object.fromEntries(this.#detectors.map((d) => [d.kind, d.snapshot()])),
    };
    const raised = await this.#store.db.transaction().execute(async (trx) => {
      const out: AlertView[] = [];
      for (const f of findings) {
        const a = await this.#alerts.raise(trx, f);
        if (a !== undefined) out.push(a);
      }
      const value = JSON.stringify(saved);
      await trx
        .insertInto('settings')
        .values({ key: CURSOR_KEY, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
      return out;
    });
    this.#cursor = pos;
    if (raised.length > 0) this.#ledger.committed();
    for (const a of raised) this.#onAlert(a);
    return page.events.length === ready.length && page.next !== null;
  }

  /** Integrated events at positions skipped earlier; positions watched long enough are given up. */
  async #lateArrivals(): Promise<StoredEvent[]> {
    const now = this.#clock.now();
    const found: StoredEvent[] = [];
    for (const [p, noticed] of this.#gaps) {
      const [e] = (await this.#ledger.queryEvents({ after: p - 1, limit: 1 })).events;
      if (e?.pos === p && e.seq !== null) {
        found.push(e);
        this.#gaps.delete(p);
      } else if (now - noticed > GAP_WATCH_MS && e?.pos !== p) {
        this.#gaps.delete(p);
      }
    }
    return found;
  }

  async #read(): Promise<Saved | undefined> {
    const row = await this.#store.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', CURSOR_KEY)
      .executeTakeFirst();
    return row === undefined ? undefined : (JSON.parse(row.value) as Saved);
  }

  #load(saved: Saved | undefined): void {
    this.#cursor = saved?.pos ?? 0;
    this.#gaps = new Map(Object.entries(saved?.gaps ?? {}).map(([p, t]) => [Number(p), t]));
    for (const d of this.#detectors) d.restore(saved?.state[d.kind] ?? null);
  }

  /** Sends due deliveries; a failure is retried with exponential backoff, then dead-lettered. */
  async #deliver(): Promise<void> {
    const now = this.#clock.now();
    const due = await this.#store.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_ms', '<=', now)
      .orderBy('next_attempt_ms')
      .limit(50)
      .execute();
    await Promise.all(
      due.map(async (d) => {
        const hook = this.#settings.webhooks.find((w) => w.url === d.url);
        const error =
          hook === undefined
            ? 'the webhook is no longer configured'
            : await this.#send(hook.secret, d.id, d.alert_id, d.url);
        const attempts = Number(d.attempts) + 1;
        const at = this.#clock.now();
        const dead =
          error !== undefined && (hook === undefined || attempts >= this.#settings.webhookMaxAttempts);
        await this.#store.db
          .updateTable('webhook_deliveries')
          .set({
            status: error === undefined ? 'delivered' : dead ? 'dead' : 'pending',
            attempts,
            next_attempt_ms:
              error === undefined || dead ? at : at + backoffMs(this.#settings.webhookBackoffMs, attempts),
            last_error: error ?? null,
            updated_ms: at,
          })
          .where('id', '=', d.id)
          .execute();
      }),
    );
  }

  /** POSTs the alert; returns why it failed, or undefined on a 2xx. */
  async #send(secret: string, deliveryId: string, alertId: string, url: string): Promise<string | undefined> {
    try {
      const body = alertPayload(await this.#alerts.get(alertId));
      const timestamp = String(this.#clock.now());
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
          [DELIVERY_HEADER]: deliveryId,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await res.body?.cancel();
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).message.slice(0, 500);
    }
  }
}
