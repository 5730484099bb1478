import type { Kysely } from 'kysely';
import { type Clock, newId, WardenError } from '../core/index.js';
import type { EventActor, EventInput, Ledger } from '../ledger/index.js';
import { bumpAuthzEpoch, type Database, type Store } from '../store/index.js';
import type { Finding } from './detector.js';
import type { Severity, WebhookSettings } from './settings.js';
import { webhookWants } from './webhooks.js';

/** An alert as the API shows it. */
export interface AlertView {
  readonly id: string;
  readonly kind: string;
  readonly severity: Severity;
  readonly status: 'open' | 'acknowledged' | 'resolved';
  readonly project: string | null;
  readonly subject: { readonly type: string; readonly id: string };
  readonly summary: string;
  readonly details: Record<string, unknown>;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly updatedBy: string | null;
}

/** A webhook delivery as the API shows it. */
export interface DeliveryView {
  readonly id: string;
  readonly alertId: string;
  readonly url: string;
  readonly status: 'pending' | 'delivered' | 'dead';
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  readonly updatedAt: string;
}

/** Filters for listing alerts. */
export interface AlertFilter {
  readonly status?: 'open' | 'acknowledged' | 'resolved' | undefined;
  readonly kind?: string | undefined;
  readonly severity?: Severity | undefined;
  readonly project?: string | undefined;
  /** Id after which to continue (the previous page's `next`). */
  readonly after?: string | undefined;
  readonly limit: number;
}

/** The actor of everything the monitor does on its own. */
export const MONITOR_ACTOR: EventActor = Object.freeze({ type: 'system', id: 'monitor', via: 'system' });

/**
 * Alerts: raised by the monitor (stored, recorded, queued for webhooks, maybe suspending the
 * offender, all in one transaction), then acknowledged, resolved or lifted by people.
 */
export class Alerts {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #webhooks: readonly WebhookSettings[];

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock; webhooks: readonly WebhookSettings[] }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#webhooks = deps.webhooks;
  }

  /** Stores and records one finding inside `trx`; undefined when its window was already raised. */
  async raise(trx: Kysely<Database>, f: Finding): Promise<AlertView | undefined> {
    const dup = await trx
      .selectFrom('alerts')
      .select('id')
      .where('dedupe_key', '=', f.key)
      .executeTakeFirst();
    if (dup !== undefined) return undefined;
    const now = this.#clock.now();
    const id = newId(now);
    const row = {
      id,
      kind: f.kind,
      severity: f.severity,
      status: 'open' as const,
      project: f.project ?? null,
      subject_type: f.subject.type,
      subject_id: f.subject.id,
      summary: f.summary.slice(0, 1000),
      details: JSON.stringify(f.details),
      created_ms: now,
      updated_ms: now,
      updated_by: null,
      dedupe_key: f.key,
    };
    await trx.insertInto('alerts').values(row).execute();
    await this.#ledger.record(trx, {
      actor: MONITOR_ACTOR,
      action: 'alert.raise',
      resource: { type: 'Alert', id },
      outcome: 'succeeded',
      context: f.project !== undefined ? { project: f.project } : {},
      details: { kind: f.kind, severity: f.severity, subject: f.subject, summary: row.summary, ...f.details },
    });
    const deliveries = this.#webhooks
      .filter((w) => webhookWants(w, f.kind, f.severity))
      .map((w) => ({
        id: newId(now),
        alert_id: id,
        url: w.url,
        status: 'pending' as const,
        attempts: 0,
        next_attempt_ms: now,
        last_error: null,
        created_ms: now,
        updated_ms: now,
      }));
    if (deliveries.length > 0) await trx.insertInto('webhook_deliveries').values(deliveries).execute();
    if (f.suspend !== undefined) await this.#suspend(trx, id, f, now);
    return alertView(row);
  }

  async list(q: AlertFilter): Promise<{ alerts: AlertView[]; next: string | null }> {
    let query = this.#store.db
      .selectFrom('alerts')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(q.limit + 1);
    if (q.status !== undefined) query = query.where('status', '=', q.status);
    if (q.kind !== undefined) query = query.where('kind', '=', q.kind);
    if (q.severity !== undefined) query = query.where('severity', '=', q.severity);
    if (q.project !== undefined) query = query.where('project', '=', q.project);
    if (q.after !== undefined) query = query.where('id', '<', q.after);
    const rows = await query.execute();
    const page = rows.slice(0, q.limit);
    return {
      alerts: page.map(alertView),
      next: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }

  async get(id: string): Promise<AlertView> {
    const row = await this.#store.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new WardenError('WARDEN_NOT_FOUND', `alert ${id} not found`);
    return alertView(row);
  }

  /** Moves an open alert to acknowledged, or an open or acknowledged one to resolved; recorded. */
  async setStatus(
    actor: EventActor,
    id: string,
    status: 'acknowledged' | 'resolved',
    note: string | undefined,
  ): Promise<AlertView> {
    const now = this.#clock.now();
    const from: AlertView['status'][] = status === 'acknowledged' ? ['open'] : ['open', 'acknowledged'];
    const view = await this.#store.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
      if (row === undefined) throw new WardenError('WARDEN_NOT_FOUND', `alert ${id} not found`);
      const done = await trx
        .updateTable('alerts')
        .set({ status, updated_ms: now, updated_by: actor.id })
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) !== 1)
        throw new WardenError('WARDEN_CONFLICT', `alert ${id} is ${row.status}; it cannot become ${status}`);
      await this.#ledger.record(trx, {
        actor,
        action: status === 'acknowledged' ? 'alert.acknowledge' : 'alert.resolve',
        resource: { type: 'Alert', id },
        outcome: 'succeeded',
        context: row.project !== null ? { project: row.project } : {},
        details: { kind: row.kind, ...(note !== undefined ? { note } : {}) },
      });
      return alertView({ ...row, status, updated_ms: now, updated_by: actor.id });
    });
    this.#ledger.committed();
    return view;
  }

  /** Ends the suspensions an alert imposed, now (an administrator's decision); recorded. */
  async liftSuspension(
    actor: EventActor,
    alertId: string,
    note: string | undefined,
  ): Promise<{ lifted: number }> {
    const lifted = await this.#store.db.transaction().execute(async (trx) => {
      const alert = await trx
        .selectFrom('alerts')
        .select(['id', 'project'])
        .where('id', '=', alertId)
        .executeTakeFirst();
      if (alert === undefined) throw new WardenError('WARDEN_NOT_FOUND', `alert ${alertId} not found`);
      const open = await trx
        .selectFrom('alert_suspensions')
        .selectAll()
        .where('alert_id', '=', alertId)
        .where('lifted_ms', 'is', null)
        .execute();
      if (open.length === 0)
        throw new WardenError('WARDEN_CONFLICT', `alert ${alertId} has no suspension in force`);
      for (const s of open) await this.#lift(trx, s, actor, note);
      return open.length;
    });
    this.#ledger.committed();
    return { lifted };
  }

  /** Lifts every suspension whose period has ended (the leader's sweep); returns how many. */
  async liftExpired(): Promise<number> {
    const now = this.#clock.now();
    const due = await this.#store.db
      .selectFrom('alert_suspensions')
      .selectAll()
      .where('lifted_ms', 'is', null)
      .where('until_ms', '<=', now)
      .limit(100)
      .execute();
    if (due.length === 0) return 0;
    await this.#store.db.transaction().execute(async (trx) => {
      for (const s of due) await this.#lift(trx, s, MONITOR_ACTOR, 'suspension period ended');
    });
    this.#ledger.committed();
    return due.length;
  }

  async deliveries(status: DeliveryView['status'] | undefined, limit: number): Promise<DeliveryView[]> {
    let q = this.#store.db.selectFrom('webhook_deliveries').selectAll().orderBy('id', 'desc').limit(limit);
    if (status !== undefined) q = q.where('status', '=', status);
    return (await q.execute()).map(deliveryView);
  }

  /** Puts a dead (or delivered) delivery back in the queue with fresh attempts; recorded. */
  async retryDelivery(actor: EventActor, id: string): Promise<DeliveryView> {
    const now = this.#clock.now();
    const view = await this.#store.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) throw new WardenError('WARDEN_NOT_FOUND', `delivery ${id} not found`);
      if (row.status === 'pending')
        throw new WardenError('WARDEN_CONFLICT', `delivery ${id} is already pending`);
      const next = { status: 'pending' as const, attempts: 0, next_attempt_ms: now, updated_ms: now };
      await trx.updateTable('webhook_deliveries').set(next).where('id', '=', id).execute();
      await this.#ledger.record(trx, {
        actor,
        action: 'alert.delivery_retry',
        resource: { type: 'Alert', id: row.alert_id },
        outcome: 'succeeded',
        details: { delivery: id, url: row.url, previousStatus: row.status },
      });
      return deliveryView({ ...row, ...next });
    });
    this.#ledger.committed();
    return view;
  }

  async #suspend(trx: Kysely<Database>, alertId: string, f: Finding, now: number): Promise<void> {
    const s = f.suspend;
    if (s === undefined) return;
    const until = now + s.minutes * 60_000;
    const tokenId =
      s.target === 'token' && s.credential?.startsWith('token:') ? s.credential.slice(6) : undefined;
    const token =
      tokenId === undefined
        ? undefined
        : await trx
            .selectFrom('api_tokens')
            .select('id')
            .where('id', '=', tokenId)
            .where('principal_id', '=', s.principalId)
            .executeTakeFirst();
    const principal = await trx
      .selectFrom('principals')
      .select(['id', 'type'])
      .where('id', '=', s.principalId)
      .executeTakeFirst();
    if (principal === undefined) return;
    const target =
      token !== undefined
        ? { type: 'token' as const, id: token.id }
        : { type: 'principal' as const, id: principal.id };
    const table = target.type === 'token' ? 'api_tokens' : 'principals';
    await trx
      .updateTable(table)
      .set({ suspended_until_ms: until })
      .where('id', '=', target.id)
      .where((eb) => eb.or([eb('suspended_until_ms', 'is', null), eb('suspended_until_ms', '<', until)]))
      .execute();
    await trx
      .insertInto('alert_suspensions')
      .values({
        id: newId(now),
        alert_id: alertId,
        target_type: target.type,
        target_id: target.id,
        principal_id: principal.id,
        until_ms: until,
        created_ms: now,
        lifted_ms: null,
        lifted_by: null,
      })
      .execute();
    await this.#ledger.record(
      trx,
      suspensionEvent(
        target,
        principal,
        'suspend',
        {
          alertId,
          until: new Date(until).toISOString(),
          minutes: s.minutes,
          ...(s.target === 'token' && target.type === 'principal'
            ? { note: 'the offending credential is not an API token; the principal was suspended instead' }
            : {}),
        },
        f.project,
      ),
    );
    await bumpAuthzEpoch(trx);
  }

  async #lift(
    trx: Kysely<Database>,
    s: {
      id: string;
      alert_id: string;
      target_type: 'principal' | 'token';
      target_id: string;
      principal_id: string;
      until_ms: number;
    },
    actor: EventActor,
    note: string | undefined,
  ): Promise<void> {
    const now = this.#clock.now();
    await trx
      .updateTable('alert_suspensions')
      .set({ lifted_ms: now, lifted_by: actor.id })
      .where('id', '=', s.id)
      .execute();
    // Another suspension of the same target may still run; the until-time becomes the latest of those.
    const rest = await trx
      .selectFrom('alert_suspensions')
      .select((eb) => eb.fn.max('until_ms').as('until'))
      .where('target_type', '=', s.target_type)
      .where('target_id', '=', s.target_id)
      .where('lifted_ms', 'is', null)
      .executeTakeFirst();
    const until = rest?.until === null || rest?.until === undefined ? null : Number(rest.until);
    await trx
      .updateTable(s.target_type === 'token' ? 'api_tokens' : 'principals')
      .set({ suspended_until_ms: until !== null && until > now ? until : null })
      .where('id', '=', s.target_id)
      .execute();
    const principal = await trx
      .selectFrom('principals')
      .select(['id', 'type'])
      .where('id', '=', s.principal_id)
      .executeTakeFirst();
    await this.#ledger.record(
      trx,
      suspensionEvent(
        { type: s.target_type, id: s.target_id },
        principal ?? { id: s.principal_id, type: 'user' },
        'lift',
        {
          alertId: s.alert_id,
          actor: actor.id,
          scheduledUntil: new Date(Number(s.until_ms)).toISOString(),
          ...(note !== undefined ? { note } : {}),
        },
        undefined,
        actor,
      ),
    );
    await bumpAuthzEpoch(trx);
  }
}

function suspensionEvent(
  target: { type: 'principal' | 'token'; id: string },
  principal: { id: string; type: string },
  verb: 'suspend' | 'lift',
  details: Record<string, unknown>,
  project: string | undefined,
  actor: EventActor = MONITOR_ACTOR,
): EventInput {
  const resource =
    target.type === 'token'
      ? { type: 'ApiToken', id: target.id }
      : { type: principal.type === 'service' ? 'ServiceAccount' : 'User', id: principal.id };
  return {
    actor,
    action: `${target.type}.${verb === 'suspend' ? 'suspend' : 'suspension_lift'}`,
    resource,
    outcome: 'succeeded',
    ...(project !== undefined ? { context: { project } } : {}),
    details: { ...details, principal: principal.id },
  };
}

type AlertRow = Omit<Database['alerts'], 'dedupe_key'>;

function alertView(r: AlertRow): AlertView {
  return {
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    status: r.status,
    project: r.project,
    subject: { type: r.subject_type, id: r.subject_id },
    summary: r.summary,
    details: JSON.parse(r.details) as Record<string, unknown>,
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    updatedAt: new Date(Number(r.updated_ms)).toISOString(),
    updatedBy: r.updated_by,
  };
}

function deliveryView(r: Database['webhook_deliveries']): DeliveryView {
  return {
    id: r.id,
    alertId: r.alert_id,
    url: r.url,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: new Date(Number(r.next_attempt_ms)).toISOString(),
    lastError: r.last_error,
    updatedAt: new Date(Number(r.updated_ms)).toISOString(),
  };
}

/** The JSON body a webhook receives for one alert. */
export function alertPayload(a: AlertView): string {
  return JSON.stringify({ type: 'warden.alert', alert: a });
}
