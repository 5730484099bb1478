import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/index.js';
import type { Database, Store } from '../store/index.js';
import { signCheckpoint } from './checkpoint.js';
import type { Leadership } from './leadership.js';
import { CompactRange, leafHash, rangeSubtrees } from './merkle.js';
import type { NoteSigner } from './note.js';
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
 * Stage two of the ledger: the leader takes pending events in recording order, gives them
 * consecutive sequence numbers, stores their leaf hashes and the completed tile-level subtree
 * hashes, and signs a checkpoint of the new tree, all in one transaction.
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
    const pending = await trx
      .selectFrom('ledger_events')
      .select(['pos', 'body'])
      .where('seq', 'is', null)
      .orderBy('pos')
      .limit(this.#opts.batchSize)
      .execute();
    if (pending.length === 0) return 0;
    const start = range.size;
    const leaves: { seq: number; hash: Buffer }[] = [];
    const tiles: { tile_level: number; idx: number; hash: Buffer }[] = [];
    for (const row of pending) {
      if (row.body === null) throw new Error(`pending event at position ${row.pos} has no body`);
      const hash = leafHash(Buffer.from(row.body, 'utf8'));
      leaves.push({ seq: range.size, hash });
      for (const node of range.append(hash)) {
        if (node.level % TILE_HEIGHT === 0) {
          tiles.push({ tile_level: node.level / TILE_HEIGHT, idx: node.index, hash: node.hash });
        }
      }
    }
    for (let i = 0; i < leaves.length; i += 1000) {
      await trx
        .insertInto('ledger_leaves')
        .values(leaves.slice(i, i + 1000))
        .execute();
    }
    if (tiles.length > 0) await trx.insertInto('ledger_tile_hashes').values(tiles).execute();
    await this.#assignSequence(
      trx,
      pending.map((r) => Number(r.pos)),
      start,
    );
    const note = signCheckpoint(
      { origin: this.#opts.signer.name, size: range.size, root: range.root(), extensions: [] },
      this.#opts.signer,
    );
    await trx
      .insertInto('ledger_checkpoints')
      .values({ size: range.size, note, created_ms: this.#opts.clock.now() })
      .execute();
    return pending.length;
  }

  /** Sets seq = start + i on the i-th pending position, one UPDATE per run of consecutive positions. */
  async #assignSequence(trx: Kysely<Database>, positions: number[], start: number): Promise<void> {
    let runStart = 0;
    for (let i = 1; i <= positions.length; i++) {
      if (i < positions.length && positions[i] === (positions[i - 1] as number) + 1) continue;
      const lo = positions[runStart] as number;
      const hi = positions[i - 1] as number;
      const delta = start + runStart - lo;
      await trx
        .updateTable('ledger_events')
        .set((eb) => ({ seq: eb('pos', '+', delta) }))
        .where('pos', '>=', lo)
        .where('pos', '<=', hi)
        .where('seq', 'is', null)
        .execute();
      runStart = i;
    }
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
