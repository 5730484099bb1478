import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import { type Clock, newId, WardenError } from '../core/index.js';
import { type Database, endOnce, type LegalHoldTable, type Store } from '../store/index.js';
import type { EventActor } from './event.js';
import type { Ledger } from './ledger.js';

/** The longest retention period, in days, the configuration and a retention run accept (about 270 years): its cutoff stays a safe integer of milliseconds. */
export const MAX_RETENTION_DAYS = 100_000;

/** What a legal hold covers; the given criteria combine with AND. */
export interface HoldScope {
  readonly project?: string | undefined;
  readonly resourceType?: string | undefined;
  readonly resourceId?: string | undefined;
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
}

/** A legal hold as the API shows it. */
export interface LegalHold extends HoldScope {
  readonly id: string;
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly releasedAt: string | null;
}

const PURGE_BATCH = 1000;

/**
 * Retention purges event bodies older than the retention period (their leaf hashes stay, so every proof
 * and `audit verify` still hold); legal holds block the purge of the events they cover.
 */
export class Retention {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  async createHold(actor: EventActor, scope: HoldScope, reason: string): Promise<LegalHold> {
    if (Object.values(scope).every((v) => v === undefined)) {
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        'a legal hold needs a project, a resource or a time range',
        {
          issues: [
            { field: 'project', message: 'give at least one of project, resourceType, resourceId, from, to' },
          ],
        },
      );
    }
    if (scope.resourceId !== undefined && scope.resourceType === undefined) {
      throw new WardenError('WARDEN_INVALID_INPUT', 'resourceId needs resourceType', {
        issues: [{ field: 'resourceType', message: 'required with resourceId' }],
      });
    }
    const now = this.#clock.now();
    const row: LegalHoldTable = {
      id: newId(now),
      project: scope.project ?? null,
      resource_type: scope.resourceType ?? null,
      resource_id: scope.resourceId ?? null,
      from_ms: scope.fromMs ?? null,
      to_ms: scope.toMs ?? null,
      reason,
      created_by: actor.id,
      created_ms: now,
      released_ms: null,
      released_by: null,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      await trx.insertInto('legal_holds').values(row).execute();
      await this.#ledger.record(trx, {
        actor,
        action: 'legal_hold.create',
        resource: { type: 'LegalHold', id: row.id },
        outcome: 'succeeded',
        ...(scope.project ? { context: { project: scope.project } } : {}),
        details: { scope: toHold(row), reason },
      });
    });
    this.#ledger.committed();
    return toHold(row);
  }

  async releaseHold(actor: EventActor, id: string, reason: string): Promise<LegalHold> {
    const now = this.#clock.now();
    const released = await this.#store.db.transaction().execute(async (trx) => {
      await endOnce(
        trx,
        'legal_holds',
        id,
        { released_ms: now, released_by: actor.id },
        { noun: 'legal hold', ended: 'released' },
      );
      await this.#ledger.record(trx, {
        actor,
        action: 'legal_hold.release',
        resource: { type: 'LegalHold', id },
        outcome: 'succeeded',
        details: { reason },
      });
      return trx.selectFrom('legal_holds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    });
    this.#ledger.committed();
    return toHold(released);
  }

  async listHolds(includeReleased: boolean): Promise<LegalHold[]> {
    let q = this.#store.db.selectFrom('legal_holds').selectAll().orderBy('created_ms');
    if (!includeReleased) q = q.where('released_ms', 'is', null);
    return (await q.execute()).map(toHold);
  }

  /**
   * Purges bodies of integrated events recorded before `now - retentionMs` that no active hold covers.
   * Each batch and its `ledger.purge` event commit together. Returns how many bodies were purged.
   */
  async purge(actor: EventActor, retentionMs: number): Promise<number> {
    // Whole milliseconds: a fractional period (0.1 days) makes no bigint for PostgreSQL to compare with.
    const cutoff = Math.floor(this.#clock.now() - retentionMs);
    let total = 0;
    for (;;) {
      const n = await this.#store.db
        .transaction()
        .execute(async (trx) => this.#purgeBatch(trx, actor, cutoff));
      total += n;
      if (n < PURGE_BATCH) break;
    }
    if (total > 0) this.#ledger.committed();
    return total;
  }

  async #purgeBatch(trx: Kysely<Database>, actor: EventActor, cutoff: number): Promise<number> {
    const rows = await trx
      .selectFrom('ledger_events as e')
      .innerJoin('ledger_leaves as l', 'l.pos', 'e.pos')
      .select(['e.pos', 'l.seq'])
      .where('e.body', 'is not', null)
      .where('e.time_ms', '<', cutoff)
      .where(({ not, exists }) => not(exists(heldBy)))
      .orderBy('e.pos')
      .limit(PURGE_BATCH)
      .execute();
    if (rows.length === 0) return 0;
    const positions = rows.map((r) => Number(r.pos));
    await trx
      .updateTable('ledger_events')
      .set({ body: null, purged_at: this.#clock.now() })
      .where('pos', 'in', positions)
      .execute();
    const seqs = rows.map((r) => Number(r.seq));
    await this.#ledger.record(trx, {
      actor,
      action: 'ledger.purge',
      resource: { type: 'Ledger', id: this.#ledger.origin },
      outcome: 'succeeded',
      details: {
        purged: rows.length,
        before: new Date(cutoff).toISOString(),
        firstSeq: Math.min(...seqs),
        lastSeq: Math.max(...seqs),
      },
    });
    return rows.length;
  }
}

/** Active holds covering the event `e` in the outer query. */
function heldBy(
  eb: ExpressionBuilder<Database & { e: Database['ledger_events']; l: Database['ledger_leaves'] }, 'e' | 'l'>,
) {
  return eb
    .selectFrom('legal_holds as h')
    .select(sql`1`.as('one'))
    .where('h.released_ms', 'is', null)
    .where((w) => w.or([w('h.project', 'is', null), w('h.project', '=', w.ref('e.project'))]))
    .where((w) =>
      w.or([w('h.resource_type', 'is', null), w('h.resource_type', '=', w.ref('e.resource_type'))]),
    )
    .where((w) => w.or([w('h.resource_id', 'is', null), w('h.resource_id', '=', w.ref('e.resource_id'))]))
    .where((w) => w.or([w('h.from_ms', 'is', null), w('h.from_ms', '<=', w.ref('e.time_ms'))]))
    .where((w) => w.or([w('h.to_ms', 'is', null), w('h.to_ms', '>', w.ref('e.time_ms'))]));
}

function toHold(r: LegalHoldTable): LegalHold {
  return {
    id: r.id,
    ...(r.project !== null ? { project: r.project } : {}),
    ...(r.resource_type !== null ? { resourceType: r.resource_type } : {}),
    ...(r.resource_id !== null ? { resourceId: r.resource_id } : {}),
    ...(r.from_ms !== null ? { fromMs: Number(r.from_ms) } : {}),
    ...(r.to_ms !== null ? { toMs: Number(r.to_ms) } : {}),
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    releasedAt: r.released_ms === null ? null : new Date(Number(r.released_ms)).toISOString(),
  };
}
