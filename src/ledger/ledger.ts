import { setTimeout as sleep } from 'node:timers/promises';
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import { WardenError } from '../core/index.js';
import type { Database, Store } from '../store/index.js';
import type { EventInput } from './event.js';
import type { Integrator } from './integrator.js';
import { proveConsistency, proveInclusion } from './merkle.js';
import type { NoteKey } from './note.js';
import { formatTlogProof } from './proof-text.js';
import type { RecordedEvent, Recorder } from './recorder.js';
import { latestCheckpointNote, storedHashReader } from './repository.js';
import { HMAC_PREFIX, type SensitiveFields } from './sensitive.js';
import { readNodesFrom } from './stored-nodes.js';
import { encodeEntryBundle, TILE_WIDTH } from './tiles.js';

/** Filters for the audit query; all optional and combined with AND. */
export interface EventQuery {
  readonly actor?: string | undefined;
  readonly actorType?: string | undefined;
  readonly action?: string | undefined;
  readonly resourceType?: string | undefined;
  readonly resourceId?: string | undefined;
  readonly outcome?: string | undefined;
  readonly project?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  /** Recording position after which to continue (from the previous page's cursor). */
  readonly after?: number | undefined;
  readonly limit: number;
}

/** One event as the audit API returns it; `event` is null once retention purged its body. */
export interface StoredEvent {
  readonly id: string;
  readonly seq: number | null;
  readonly pos: number;
  readonly event: unknown;
  readonly purged: boolean;
}

/** Public facts a verifier needs. */
export interface LedgerInfo {
  readonly origin: string;
  readonly verifierKey: string;
  readonly size: number;
  readonly checkpoint: string | null;
}

/** The ledger as the rest of Warden sees it: record inside a transaction, read, prove. */
export class Ledger {
  readonly #store: Store;
  readonly #recorder: Recorder;
  readonly #integrator: Integrator;
  readonly #key: NoteKey;
  readonly #verifierKey: string;
  readonly #sensitive: SensitiveFields;

  constructor(deps: {
    store: Store;
    recorder: Recorder;
    integrator: Integrator;
    key: NoteKey;
    verifierKey: string;
    sensitive: SensitiveFields;
  }) {
    this.#store = deps.store;
    this.#recorder = deps.recorder;
    this.#integrator = deps.integrator;
    this.#key = deps.key;
    this.#verifierKey = deps.verifierKey;
    this.#sensitive = deps.sensitive;
  }

  get origin(): string {
    return this.#key.name;
  }

  get verifierKey(): string {
    return this.#verifierKey;
  }

  /** Records an event inside `trx`; if it cannot be written the caller's transaction fails. */
  record(trx: Kysely<Database>, input: EventInput): Promise<RecordedEvent> {
    return this.#recorder.record(trx, input);
  }

  recordMany(trx: Kysely<Database>, inputs: readonly EventInput[]): Promise<RecordedEvent[]> {
    return this.#recorder.recordMany(trx, inputs);
  }

  /** Records an event in a transaction of its own (for denials and reads that change nothing). */
  async recordAlone(input: EventInput): Promise<RecordedEvent> {
    const recorded = await this.#store.db.transaction().execute((trx) => this.record(trx, input));
    this.#integrator.wake();
    return recorded;
  }

  /** Tells the local integrator that new events were committed. */
  committed(): void {
    this.#integrator.wake();
  }

  async info(): Promise<LedgerInfo> {
    const cp = await latestCheckpointNote(this.#store.db);
    return {
      origin: this.origin,
      verifierKey: this.#verifierKey,
      size: cp?.size ?? 0,
      checkpoint: cp?.note ?? null,
    };
  }

  /** The latest signed checkpoint, or a 404 before the first event is integrated. */
  async checkpoint(): Promise<{ size: number; note: string }> {
    const cp = await latestCheckpointNote(this.#store.db);
    if (cp === undefined) throw new WardenError('WARDEN_NOT_FOUND', 'the ledger has no checkpoint yet');
    return cp;
  }

  /** RFC 9162 inclusion proof of leaf `index` in the tree of `size` (default: latest checkpoint). */
  async inclusionProof(index: number, size?: number): Promise<{ size: number; proof: Buffer[] }> {
    const treeSize = await this.#checkedSize(size, 'size');
    if (index >= treeSize) {
      throw new WardenError('WARDEN_INVALID_INPUT', `index ${index} is not below tree size ${treeSize}`, {
        issues: [{ field: 'index', message: `must be below ${treeSize}` }],
      });
    }
    return { size: treeSize, proof: await proveInclusion(index, treeSize, this.#readNodes()) };
  }

  /** RFC 9162 consistency proof between two checkpointed tree sizes. */
  async consistencyProof(from: number, to?: number): Promise<{ from: number; to: number; proof: Buffer[] }> {
    const treeSize = await this.#checkedSize(to, 'to');
    if (from < 1 || from > treeSize) {
      throw new WardenError('WARDEN_INVALID_INPUT', `from must be between 1 and ${treeSize}`, {
        issues: [{ field: 'from', message: `must be between 1 and ${treeSize}` }],
      });
    }
    return { from, to: treeSize, proof: await proveConsistency(from, treeSize, this.#readNodes()) };
  }

  /** The C2SP tlog-proof text for one event against the latest checkpoint. */
  async eventProof(eventId: string): Promise<string> {
    const row = await this.#store.db
      .selectFrom('ledger_events as e')
      .leftJoin('ledger_leaves as l', 'l.pos', 'e.pos')
      .select(['l.seq'])
      .where('e.id', '=', eventId)
      .executeTakeFirst();
    if (row === undefined) throw new WardenError('WARDEN_NOT_FOUND', `event ${eventId} not found`);
    if (row.seq === null) {
      throw new WardenError('WARDEN_CONFLICT', `event ${eventId} is not integrated yet; retry shortly`, {
        retryAfter: 1,
      });
    }
    const cp = await this.checkpoint();
    const proof = await proveInclusion(Number(row.seq), cp.size, this.#readNodes());
    return formatTlogProof({ index: Number(row.seq), proof, checkpoint: cp.note });
  }

  /** A C2SP hash tile: `width` hashes at tree level 8·level starting at tile `index`. */
  async tile(level: number, index: number, width: number): Promise<Buffer> {
    const size = (await this.checkpoint()).size;
    const available = Math.floor(size / TILE_WIDTH ** level);
    const from = index * TILE_WIDTH;
    if (from + width > available) throw new WardenError('WARDEN_NOT_FOUND', 'tile not in the log yet');
    const hashes = await storedHashReader(this.#store.db)(level, from, from + width);
    return Buffer.concat(hashes);
  }

  /** A C2SP entry bundle: the leaf data of `width` entries from tile `index`. */
  async entryBundle(index: number, width: number): Promise<Buffer> {
    const size = (await this.checkpoint()).size;
    const from = index * TILE_WIDTH;
    if (from + width > size) throw new WardenError('WARDEN_NOT_FOUND', 'entry tile not in the log yet');
    const rows = await this.#store.db
      .selectFrom('ledger_leaves as l')
      .leftJoin('ledger_events as e', 'e.pos', 'l.pos')
      .select(['l.seq', 'e.body'])
      .where('l.seq', '>=', from)
      .where('l.seq', '<', from + width)
      .orderBy('l.seq')
      .execute();
    if (rows.length !== width)
      throw new Error(`ledger store is missing entries in [${from}, ${from + width})`);
    if (rows.some((r) => r.body === null)) {
      throw new WardenError(
        'WARDEN_GONE',
        'an entry of this tile was purged by retention; its leaf hash remains',
      );
    }
    return encodeEntryBundle(rows.map((r) => Buffer.from(r.body as string, 'utf8')));
  }

  /** Events matching `q`, in recording order, with their sequence numbers once integrated. */
  async queryEvents(q: EventQuery): Promise<{ events: StoredEvent[]; next: number | null }> {
    let query = this.#store.db
      .selectFrom('ledger_events as e')
      .leftJoin('ledger_leaves as l', 'l.pos', 'e.pos')
      .select(['e.pos', 'e.id', 'l.seq', 'e.body'])
      .orderBy('e.pos')
      .limit(q.limit + 1);
    // A value already masked (as the audit log shows it) is stored as is, like the recorder leaves it.
    const actor =
      q.actor !== undefined && this.#sensitive.covers('actor.id') && !q.actor.startsWith(HMAC_PREFIX)
        ? this.#sensitive.mask(q.actor)
        : q.actor;
    if (actor !== undefined) query = query.where('e.actor_id', '=', actor).where(keyed('actor', actor));
    if (q.actorType !== undefined) query = query.where('e.actor_type', '=', q.actorType);
    if (q.action !== undefined) query = query.where('e.action', '=', q.action);
    if (q.resourceType !== undefined) query = query.where('e.resource_type', '=', q.resourceType);
    if (q.resourceId !== undefined) {
      query = query.where('e.resource_id', '=', q.resourceId).where(keyed('resource', q.resourceId));
    }
    if (q.outcome !== undefined) query = query.where('e.outcome', '=', q.outcome);
    if (q.project !== undefined) query = query.where('e.project', '=', q.project);
    if (q.since !== undefined) query = query.where('e.time_ms', '>=', q.since);
    if (q.until !== undefined) query = query.where('e.time_ms', '<', q.until);
    if (q.after !== undefined) query = query.where('e.pos', '>', q.after);
    const rows = await query.execute();
    const page = rows.slice(0, q.limit);
    return {
      events: page.map(toStored),
      next: rows.length > q.limit ? Number(page[page.length - 1]?.pos) : null,
    };
  }

  /** Sequence numbers of the given events (absent while pending). */
  async sequenceNumbers(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#store.db
        .selectFrom('ledger_events as e')
        .innerJoin('ledger_leaves as l', 'l.pos', 'e.pos')
        .select(['e.id', 'l.seq'])
        .where('e.id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) if (r.seq !== null) out.set(r.id, Number(r.seq));
    }
    return out;
  }

  /** One event by id. */
  async event(id: string): Promise<StoredEvent> {
    const r = await this.#store.db
      .selectFrom('ledger_events as e')
      .leftJoin('ledger_leaves as l', 'l.pos', 'e.pos')
      .select(['e.pos', 'e.id', 'l.seq', 'e.body'])
      .where('e.id', '=', id)
      .executeTakeFirst();
    if (r === undefined) throw new WardenError('WARDEN_NOT_FOUND', `event ${id} not found`);
    return toStored(r);
  }

  /** Events recorded but not yet integrated, and when the oldest of them was recorded (for metrics). */
  async backlog(): Promise<{ events: number; oldestMs: number | undefined }> {
    const db = this.#store.db;
    const count = await db
      .selectFrom('ledger_queue')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('pos').as('first')])
      .executeTakeFirst();
    const first = count?.first;
    const oldest =
      first === null || first === undefined
        ? undefined
        : await db
            .selectFrom('ledger_events')
            .select('time_ms')
            .where('pos', '=', Number(first))
            .executeTakeFirst();
    return {
      events: Number(count?.n ?? 0),
      oldestMs: oldest === undefined ? undefined : Number(oldest.time_ms),
    };
  }

  /** Waits until every event recorded before this call has a sequence number, or throws 503 after `timeoutMs`. */
  async waitIntegrated(timeoutMs: number): Promise<void> {
    const db = this.#store.db;
    const last = await db
      .selectFrom('ledger_queue')
      .select((eb) => eb.fn.max('pos').as('pos'))
      .executeTakeFirst();
    if (last?.pos === null || last?.pos === undefined) return;
    const deadline = Date.now() + timeoutMs;
    this.#integrator.wake();
    for (;;) {
      const waiting = await db
        .selectFrom('ledger_queue')
        .select('pos')
        .where('pos', '<=', Number(last.pos))
        .limit(1)
        .executeTakeFirst();
      if (waiting === undefined) return;
      if (Date.now() >= deadline) {
        throw new WardenError(
          'WARDEN_LEDGER_UNAVAILABLE',
          'events are not integrated yet; the integrator is behind',
          {
            retryAfter: 1,
          },
        );
      }
      await sleep(5);
    }
  }

  async #checkedSize(size: number | undefined, field: string): Promise<number> {
    const latest = (await this.checkpoint()).size;
    if (size === undefined) return latest;
    if (size < 1 || size > latest) {
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        `${field} must be between 1 and the checkpointed size ${latest}`,
        {
          issues: [{ field, message: `must be between 1 and ${latest}` }],
        },
      );
    }
    return size;
  }

  #readNodes() {
    return readNodesFrom(storedHashReader(this.#store.db));
  }
}

/**
 * `e.pos` is that of an event whose actor (or resource) id is `value`: stored in the key table for the
 * leaves [0, ledger_keys_state.indexed) (migration 009), and found by scanning the rest, the leaves
 * from there on and the queue (the integrator moves an event from one part to the next atomically, so a
 * statement sees each event in exactly one).
 */
function keyed(kind: 'actor' | 'resource', value: string): RawBuilder<SqlBool> {
  const table = sql.table(kind === 'actor' ? 'ledger_actor_keys' : 'ledger_resource_keys');
  const column = sql.ref(kind === 'actor' ? 'actor_id' : 'resource_id');
  return sql<SqlBool>`e.pos IN (
    SELECT k.pos FROM ${table} k WHERE k.${column} = ${value}
    UNION ALL
    SELECT l.pos FROM ledger_leaves l JOIN ledger_events x ON x.pos = l.pos
    WHERE l.seq >= (SELECT s.indexed FROM ledger_keys_state s WHERE s.id = 1) AND x.${column} = ${value}
    UNION ALL
    SELECT q.pos FROM ledger_queue q JOIN ledger_events x ON x.pos = q.pos WHERE x.${column} = ${value})`;
}

function toStored(r: { pos: number; id: string; seq: number | null; body: string | null }): StoredEvent {
  return {
    id: r.id,
    seq: r.seq === null ? null : Number(r.seq),
    pos: Number(r.pos),
    event: r.body === null ? null : JSON.parse(r.body),
    purged: r.body === null,
  };
}
