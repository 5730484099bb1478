import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Clock } from '../core/index.js';
import type { Database, Store } from '../store/index.js';
import { signCheckpoint } from './checkpoint.js';
import type { Leadership } from './leadership.js';
import { CompactRange, leafHashOfText, rangeSubtrees } from './merkle.js';
import type { NoteSigner } from './note.js';
import { isPostgres } from './recorder.js';
import { storedHashReader, storedTreeSize } from './repository.js';
import { readNodesFrom } from './stored-nodes.js';
import { TILE_HEIGHT } from './tiles.js';

/** Leaves per insert statement on SQLite (3 parameters each). */
const LEAF_CHUNK = 1000;

const leafSql = new Map<number, string>();
function sqliteLeafSql(rows: number): string {
  let text = leafSql.get(rows);
  if (text === undefined) {
    text = `INSERT INTO ledger_leaves (seq, hash, pos) VALUES ${Array(rows).fill('(?,?,?)').join(',')}`;
    if (leafSql.size < 16) leafSql.set(rows, text);
  }
  return text;
}

export interface IntegratorOptions {
  readonly store: Store;
  readonly signer: NoteSigner;
  readonly leadership: Leadership;
  readonly clock: Clock;
  /** Most events sequenced in one transaction. */
  readonly batchSize: number;
  /** Pause between polls of an empty queue. */
  readonly idleMs: number;
  /** How often a follower asks to become leader. */
  readonly takeoverMs: number;
  readonly onError: (err: unknown) => void;
}

/** One integrated batch: the tree grew from `from` to `to` and a checkpoint of size `to` was signed. */
export interface IntegratedBatch {
  readonly from: number;
  readonly to: number;
}

/**
 * Stage two of the ledger: the leader takes queued events in recording order, gives them consecutive
 * sequence numbers by storing their leaf hashes (with each event's position) and the completed
 * tile-level subtree hashes, deletes their queue rows and signs a checkpoint of the new tree, all in
 * one transaction. Event rows are never rewritten.
 */
export class Integrator {
  readonly #opts: IntegratorOptions;
  readonly #events = new EventEmitter();
  #range: CompactRange | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #leader = false;

  constructor(opts: IntegratorOptions) {
    this.#opts = opts;
  }

  /** Whether this process currently integrates. */
  get isLeader(): boolean {
    return this.#leader;
  }

  /** Starts the background loop. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Asks the loop to look at the queue now rather than after its idle pause. */
  wake(): void {
    this.#wake?.();
  }

  /** Calls `listener` after every committed batch. */
  onBatch(listener: (batch: IntegratedBatch) => void): () => void {
    this.#events.on('batch', listener);
    return () => this.#events.off('batch', listener);
  }

  /** Stops the loop; a leader first integrates everything pending (its last batch's checkpoint is the final one). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.wake();
    await this.#loop;
    if (this.#leader) {
      while ((await this.integrateBatch()) > 0) {}
    }
    this.#leader = false;
    await this.#opts.leadership.release();
  }

  /** Integrates one batch if this process leads; returns how many events it sequenced. */
  async integrateBatch(): Promise<number> {
    const { db } = this.#opts.store;
    const range = this.#range ?? (await this.#loadRange(db));
    this.#range = range;
    const from = range.size;
    const work = range.clone();
    let count = 0;
    try {
      count = await db.transaction().execute(async (trx) => this.#integrate(trx, work));
    } catch (err) {
      // Another integrator may have moved the tree on (a leader change): reload before retrying.
      this.#range = undefined;
      throw err;
    }
    if (count > 0) {
      this.#range = work;
      this.#events.emit('batch', { from, to: work.size } satisfies IntegratedBatch);
    }
    return count;
  }

  async #integrate(trx: Kysely<Database>, range: CompactRange): Promise<number> {
    const pg = isPostgres(trx);
    const { rows: pending } = await trx.executeQuery<{ pos: number; body: string | null }>(
      CompiledQuery.raw(
        `SELECT q.pos, e.body FROM ledger_queue q LEFT JOIN ledger_events e ON e.pos = q.pos
         ORDER BY q.pos LIMIT ${pg ? '$1' : '?'}`,
        [this.#opts.batchSize],
      ),
    );
    const n = pending.length;
    if (n === 0) return 0;
    const start = range.size;
    const hashes: Buffer[] = new Array(n);
    const positions: number[] = new Array(n);
    const tiles: { tile_level: number; idx: number; hash: Buffer }[] = [];
    for (let i = 0; i < n; i++) {
      const row = pending[i] as { pos: number; body: string | null };
      const pos = Number(row.pos);
      if (row.body === null || row.body === undefined) {
        throw new Error(`queued event at position ${pos} has no body`);
      }
      const hash = leafHashOfText(row.body);
      hashes[i] = hash;
      positions[i] = pos;
      for (const node of range.appendOwned(hash)) {
        if (node.level % TILE_HEIGHT === 0) {
          tiles.push({ tile_level: node.level / TILE_HEIGHT, idx: node.index, hash: node.hash });
        }
      }
    }
    if (pg) {
      // Arrays keep the statement the same for every batch size: one round trip, one plan.
      await trx.executeQuery(
        CompiledQuery.raw(
          `INSERT INTO ledger_leaves (seq, hash, pos)
           SELECT $1::bigint + t.ord - 1, t.hash, t.pos
           FROM unnest($2::bytea[], $3::bigint[]) WITH ORDINALITY AS t(hash, pos, ord)`,
          [start, hashes, positions],
        ),
      );
      // Exactly the rows taken: a row committed since the SELECT stays queued for the next batch.
      const del = await trx.executeQuery(
        CompiledQuery.raw('DELETE FROM ledger_queue WHERE pos = ANY($1::bigint[])', [positions]),
      );
      if (Number(del.numAffectedRows) !== n) {
        throw new Error('the ledger queue changed under the integrator (another leader?); retrying');
      }
    } else {
      for (let i = 0; i < n; i += LEAF_CHUNK) {
        const m = Math.min(LEAF_CHUNK, n - i);
        const params: unknown[] = new Array(3 * m);
        for (let k = 0; k < m; k++) {
          params[3 * k] = start + i + k;
          params[3 * k + 1] = hashes[i + k];
          params[3 * k + 2] = positions[i + k];
        }
        await trx.executeQuery(CompiledQuery.raw(sqliteLeafSql(m), params));
      }
      // SQLite runs one writer at a time, so the queue's first n rows are exactly the ones taken.
      const del = await trx.executeQuery(
        CompiledQuery.raw('DELETE FROM ledger_queue WHERE pos <= ?', [positions[n - 1]]),
      );
      if (Number(del.numAffectedRows) !== n) {
        throw new Error('the ledger queue changed under the integrator; retrying');
      }
    }
    if (tiles.length > 0) await trx.insertInto('ledger_tile_hashes').values(tiles).execute();
    const note = signCheckpoint(
      { origin: this.#opts.signer.name, size: range.size, root: range.root(), extensions: [] },
      this.#opts.signer,
    );
    await trx
      .insertInto('ledger_checkpoints')
      .values({ size: range.size, note, created_ms: this.#opts.clock.now() })
      .execute();
    return n;
  }

  async #loadRange(db: Kysely<Database>): Promise<CompactRange> {
    const size = await storedTreeSize(db);
    const ids = rangeSubtrees(0, size);
    const hashes = ids.length === 0 ? [] : await readNodesFrom(storedHashReader(db))(ids);
    return CompactRange.fromSubtrees(size, hashes);
  }

  async #run(): Promise<void> {
    const { leadership, idleMs, takeoverMs, onError } = this.#opts;
    while (this.#running) {
      let pause = idleMs;
      try {
        const wasLeader = this.#leader;
        this.#leader = await leadership.acquire();
        if (this.#leader && !wasLeader) this.#range = undefined;
        if (!this.#leader) pause = takeoverMs;
        else if ((await this.integrateBatch()) > 0) pause = 0;
      } catch (err) {
        onError(err);
        pause = Math.max(idleMs, 250);
      }
      if (pause > 0 && this.#running) await this.#pause(pause);
    }
  }

  async #pause(ms: number): Promise<void> {
    const ac = new AbortController();
    this.#wake = () => ac.abort();
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => {});
    this.#wake = undefined;
  }
}
