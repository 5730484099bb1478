import { CompiledQuery, type Kysely } from 'kysely';
import type { Clock } from '../core/index.js';
import type { Database, Store } from '../store/index.js';
import { signCheckpoint } from './checkpoint.js';
import type { Leadership } from './leadership.js';
import { CompactRange, rangeSubtrees } from './merkle.js';
import type { NoteSigner } from './note.js';
import { isPostgres } from './recorder.js';
import { storedHashReader, storedTreeSize } from './repository.js';
import { readNodesFrom } from './stored-nodes.js';
import { TILE_HEIGHT } from './tiles.js';

export interface IntegratorOptions {
  readonly store: Store;
  readonly signer: NoteSigner;
  readonly leadership: Leadership;
  readonly clock: Clock;
  /** Most events sequenced in one transaction. */
  readonly batchSize: number;
  /**
   * Integrated entries whose audit query keys (actor and resource ids) are stored together, in key order,
   * once that many have gathered (default KEYS_BATCH); until then queries scan them.
   */
  readonly keysBatch?: number;
  /**
   * Pause between polls of an empty queue, and the least time between two batches that are not full:
   * under a steady trickle of events, a wake within that time waits for its end, so each batch (and its
   * signed checkpoint and commit) carries what gathered meanwhile rather than a few events.
   */
  readonly idleMs: number;
  /** How often a follower asks to become leader. */
  readonly takeoverMs: number;
  readonly onError: (err: unknown) => void;
}

/**
 * Default `keysBatch`. Storing the keys of this many entries at once dirties each page of the key
 * tables about once rather than once per entry; a query scans at most this many integrated entries
 * beyond the key tables (plus the queue).
 */
export const KEYS_BATCH = 8192;

const KEY_TABLES = [
  ['ledger_actor_keys', 'actor_id'],
  ['ledger_resource_keys', 'resource_id'],
] as const;

/**
 * Stage two of the ledger: the leader takes queued events in recording order, gives them consecutive
 * sequence numbers by storing their leaf hashes (queued by the recorder, with each event's position)
 * and the completed tile-level subtree hashes, deletes their queue rows and signs a checkpoint of the
 * new tree, all in one transaction. Event rows are never rewritten, nor even read.
 */
export class Integrator {
  readonly #opts: IntegratorOptions;
  #range: CompactRange | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: ((now: boolean) => void) | undefined;
  /** Set by `wake()`, cleared before each look at the queue: a wake during a batch is not lost. */
  #woken = false;
  #leader = false;
  /** ledger_keys_state.indexed as last committed by this process (undefined: read it). */
  #indexed: number | undefined;

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

  /**
   * Asks the loop to look at the queue now rather than after its idle pause (or, right after a batch
   * that was not full, once `idleMs` have passed since it).
   */
  wake(): void {
    this.#woken = true;
    this.#wake?.(false);
  }

  /** Stops the loop; a leader first integrates everything pending (its last batch's checkpoint is the final one). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake?.(true);
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
    const work = range.clone();
    let count = 0;
    let indexed: number | undefined;
    try {
      count = await db.transaction().execute(async (trx) => {
        const n = await this.#integrate(trx, work);
        if (n > 0) indexed = await this.#storeKeys(trx, work.size);
        return n;
      });
    } catch (err) {
      // Another integrator may have moved the tree on (a leader change): reload before retrying.
      this.#range = undefined;
      this.#indexed = undefined;
      throw err;
    }
    if (count > 0) {
      this.#indexed = indexed;
      this.#range = work;
    }
    return count;
  }

  async #integrate(trx: Kysely<Database>, range: CompactRange): Promise<number> {
    const pg = isPostgres(trx);
    const start = range.size;
    const limit = this.#opts.batchSize;
    let taken: { pos: number; hash: Buffer }[];
    if (pg) {
      // One statement takes the first queued rows, numbers them in position order and stores their leaves.
      // Its snapshot decides what is taken: a row committed meanwhile stays queued for the next batch, and
      // a concurrent integrator blocks on the same rows, then finds them gone (and a seq collision, if any,
      // rolls one of the two back).
      const res = await trx.executeQuery<{ pos: number; hash: Buffer }>(
        CompiledQuery.raw(
          `WITH taken AS (
             DELETE FROM ledger_queue WHERE pos IN (SELECT pos FROM ledger_queue ORDER BY pos LIMIT $2)
             RETURNING pos, hash
           ), leaves AS (
             INSERT INTO ledger_leaves (seq, hash, pos)
             SELECT $1::bigint + row_number() OVER (ORDER BY pos) - 1, hash, pos FROM taken
             RETURNING seq, pos, hash
           )
           SELECT pos, hash FROM leaves ORDER BY seq`,
          [start, limit],
        ),
      );
      taken = res.rows;
    } else {
      // SQLite runs one writer at a time: the queue cannot change between these statements.
      taken = (
        await trx.executeQuery<{ pos: number; hash: Buffer }>(
          CompiledQuery.raw('SELECT pos, hash FROM ledger_queue ORDER BY pos LIMIT ?', [limit]),
        )
      ).rows;
      if (taken.length === 0) return 0;
      const last = Number(taken[taken.length - 1]?.pos);
      await trx.executeQuery(
        CompiledQuery.raw(
          `INSERT INTO ledger_leaves (seq, hash, pos)
           SELECT ? + row_number() OVER (ORDER BY pos) - 1, hash, pos FROM ledger_queue WHERE pos <= ?`,
          [start, last],
        ),
      );
      const del = await trx.executeQuery(
        CompiledQuery.raw('DELETE FROM ledger_queue WHERE pos <= ?', [last]),
      );
      if (Number(del.numAffectedRows) !== taken.length) {
        throw new Error('the ledger queue changed under the integrator; retrying');
      }
    }
    const n = taken.length;
    if (n === 0) return 0;
    const tiles: { tile_level: number; idx: number; hash: Buffer }[] = [];
    for (const row of taken) {
      const hash = row.hash;
      if (hash.length !== 32)
        throw new Error(`queued event at position ${row.pos} has a malformed leaf hash`);
      for (const node of range.appendOwned(hash)) {
        if (node.level % TILE_HEIGHT === 0) {
          tiles.push({ tile_level: node.level / TILE_HEIGHT, idx: node.index, hash: node.hash });
        }
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

  /**
   * Once KEYS_BATCH integrated entries (of a tree of `size`) lack their audit query keys, stores them
   * from their event rows in key order and records how far keys are stored; returns that point.
   */
  async #storeKeys(trx: Kysely<Database>, size: number): Promise<number> {
    let indexed = this.#indexed;
    if (indexed === undefined) {
      const row = await trx
        .selectFrom('ledger_keys_state')
        .select('indexed')
        .where('id', '=', 1)
        .executeTakeFirst();
      indexed = Number(row?.indexed ?? 0);
    }
    if (size - indexed < (this.#opts.keysBatch ?? KEYS_BATCH)) return indexed;
    for (const [table, column] of KEY_TABLES) {
      await trx.executeQuery(
        CompiledQuery.raw(
          `INSERT INTO ${table} (${column}, pos)
           SELECT e.${column}, e.pos FROM ledger_leaves l JOIN ledger_events e ON e.pos = l.pos
           WHERE l.seq >= ${isPostgres(trx) ? '$1' : '?'} AND l.seq < ${isPostgres(trx) ? '$2' : '?'}
           ORDER BY 1, 2`,
          [indexed, size],
        ),
      );
    }
    await trx.updateTable('ledger_keys_state').set({ indexed: size }).where('id', '=', 1).execute();
    return size;
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
      // After a batch that was not full, the next waits out idleMs even if woken (a full one: none).
      let hold = false;
      this.#woken = false;
      try {
        const wasLeader = this.#leader;
        this.#leader = await leadership.acquire();
        if (this.#leader && !wasLeader) {
          this.#range = undefined;
          this.#indexed = undefined;
        }
        if (!this.#leader) {
          // A follower cannot integrate: it asks to lead every takeoverMs, whatever wakes it.
          pause = takeoverMs;
          hold = true;
        } else {
          const n = await this.integrateBatch();
          if (n >= this.#opts.batchSize) pause = 0;
          else if (n > 0) hold = true;
        }
      } catch (err) {
        onError(err);
        pause = Math.max(idleMs, 250);
      }
      if (pause > 0 && this.#running) await this.#pause(pause, hold);
    }
  }

  /**
   * Sleeps `ms`. A wake (also one that came during the batch before) ends it at once unless `hold`;
   * a stop always does.
   */
  #pause(ms: number, hold: boolean): Promise<void> {
    if (this.#woken && !hold) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = (now) => {
        if (now || !hold) done();
      };
    });
  }
}
