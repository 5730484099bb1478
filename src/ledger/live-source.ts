import { availableParallelism } from 'node:os';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database, Store } from '../store/index.js';
import type { NoteKey } from './note.js';
import { isPostgres } from './recorder.js';
import { type VerifyLeaf, type VerifyResult, verifyLog } from './verify.js';
import { ChunkReaders } from './verify-threads.js';
import type { ReaderSource } from './verify-worker.js';

/**
 * PostgreSQL settings for the verify transaction, which reads the leaves in index order joined with
 * their events by primary key: without statistics on a young table the planner may read them through a
 * bitmap and then sort each page, bodies included, on disk, which costs more than the reading itself.
 */
const LEAVES_IN_ORDER = 'SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off';

/** Leaves per page read from the store. */
const PAGE = 20_000;

interface LeafRow {
  seq: number;
  hash: Buffer;
  body: string | null;
  epos: number | null;
  purged_at: number | null;
}

function readPage(db: Kysely<Database>, pg: boolean, from: number, to: number): Promise<LeafRow[]> {
  // Only the columns verify needs, in one keyset page; the event row is found by its primary key.
  const text = pg
    ? `SELECT l.seq, l.hash, e.body, e.pos AS epos, e.purged_at FROM ledger_leaves l
       LEFT JOIN ledger_events e ON e.pos = l.pos
       WHERE l.seq >= $1 AND l.seq < $2 ORDER BY l.seq LIMIT ${PAGE}`
    : `SELECT l.seq, l.hash, e.body, e.pos AS epos, e.purged_at FROM ledger_leaves l
       LEFT JOIN ledger_events e ON e.pos = l.pos
       WHERE l.seq >= ? AND l.seq < ? ORDER BY l.seq LIMIT ${PAGE}`;
  return db.executeQuery<LeafRow>(CompiledQuery.raw(text, [from, to])).then((r) => r.rows);
}

function toLeaf(r: LeafRow): VerifyLeaf {
  return {
    index: Number(r.seq),
    body: r.body ?? null,
    storedHash: r.hash,
    bodyExpected: r.epos === null || r.epos === undefined || r.purged_at === null,
  };
}

/**
 * Every stored leaf with its event body, in index order, in pages read from `db` (use a snapshot
 * transaction); the next page is requested before the current one is handed out, so the database
 * works on it while the caller hashes. For the whole log it then checks that every event row is either
 * integrated or queued; if not, it yields one more entry, flagged as having no leaf.
 */
export async function* storedLeafPages(
  db: Kysely<Database>,
  from = 0,
  to = Number.MAX_SAFE_INTEGER,
): AsyncGenerator<VerifyLeaf[]> {
  const pg = isPostgres(db);
  let next = from;
  let page = readPage(db, pg, next, to);
  for (;;) {
    const rows = await page;
    const full = rows.length === PAGE;
    if (rows.length > 0) next = Number(rows[rows.length - 1]?.seq) + 1;
    if (full) page = readPage(db, pg, next, to);
    if (rows.length > 0) yield rows.map(toLeaf);
    if (!full) break;
  }
  if (from !== 0 || to !== Number.MAX_SAFE_INTEGER) return;
  yield* orphanEntry(db, next);
}

/** The entry `verifyLog` fails on as missing-leaf at `index` (the end of the log) if an event row is neither integrated nor queued. */
async function* orphanEntry(db: Kysely<Database>, index: number): AsyncGenerator<VerifyLeaf[]> {
  const orphan = await unintegratedEvent(db);
  if (orphan !== undefined) {
    yield [{ index, body: orphan.body, storedHash: null, bodyExpected: true, noLeaf: true }];
  }
}

/**
 * An event row that is neither integrated (no leaf has its position) nor queued: the integrator writes
 * the leaf and deletes the queue row in one transaction, so such a row was written or changed by
 * someone else. Counting first keeps the usual case to three counts.
 */
async function unintegratedEvent(db: Kysely<Database>): Promise<{ body: string | null } | undefined> {
  const { rows } = await db.executeQuery<{ events: number; leaves: number; queued: number }>(
    CompiledQuery.raw(
      `SELECT (SELECT count(*) FROM ledger_events) AS events,
              (SELECT count(pos) FROM ledger_leaves) AS leaves,
              (SELECT count(*) FROM ledger_queue) AS queued`,
    ),
  );
  const c = rows[0];
  if (c === undefined || Number(c.events) <= Number(c.leaves) + Number(c.queued)) return undefined;
  return db
    .selectFrom('ledger_events as e')
    .select(['e.body'])
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('ledger_leaves as l').select('l.seq').whereRef('l.pos', '=', 'e.pos'))),
    )
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('ledger_queue as q').select('q.pos').whereRef('q.pos', '=', 'e.pos'))),
    )
    .orderBy('e.pos')
    .limit(1)
    .executeTakeFirst();
}

/** `storedLeafPages`, one leaf at a time. */
export async function* storedLeaves(
  db: Kysely<Database>,
  from = 0,
  to = Number.MAX_SAFE_INTEGER,
): AsyncGenerator<VerifyLeaf> {
  for await (const page of storedLeafPages(db, from, to)) yield* page;
}

/** Every stored checkpoint, by ascending size. */
export async function storedCheckpoints(db: Kysely<Database>): Promise<{ size: number; note: string }[]> {
  const rows = await db.selectFrom('ledger_checkpoints').select(['size', 'note']).orderBy('size').execute();
  return rows.map((r) => ({ size: Number(r.size), note: r.note }));
}

/** Every stored tile-level subtree hash, keyed `${tileLevel}/${idx}`. */
export async function storedTileHashes(db: Kysely<Database>): Promise<Map<string, Buffer>> {
  const rows = await db.selectFrom('ledger_tile_hashes').select(['tile_level', 'idx', 'hash']).execute();
  return new Map(rows.map((r) => [`${r.tile_level}/${Number(r.idx)}`, r.hash]));
}

/** How `verifyStore` may read the log with threads of its own. */
export interface VerifyStoreOptions {
  /**
   * The store `db` belongs to (as `openStore` returned it). On SQLite, reader threads then open
   * connections of their own to its file; without it, or on PostgreSQL, this thread reads.
   */
  readonly store?: Pick<Store, 'dialect' | 'sqlitePath'>;
  /** Reader threads (default: the machine's parallelism, from 2 to 4). */
  readonly threads?: number;
  /** Entries per chunk a reader thread checks at a time, a power of two (default 8,192). */
  readonly chunkLeaves?: number;
  /** The smallest log for which reader threads are started (default 32,768 entries); smaller ones are read here. */
  readonly minLeaves?: number;
}

const CHUNK_LEAVES = 8192;
const MIN_THREADED_LEAVES = 32_768;

/**
 * Verifies the whole log in the store, in one snapshot (repeatable read), as `warden audit verify` does.
 * On SQLite, given the store (`options.store`) and a log of at least `minLeaves` entries, reader threads
 * read and check chunks of the log in parallel, each over its own connection, and hand back the chunks'
 * subtree hashes; this thread only joins them into the tree and checks tiles and checkpoints. Otherwise
 * (and always on PostgreSQL, whose server needs the second core to send the rows) the leaves are read
 * here in pages, the next page requested while the current one is hashed.
 */
export async function verifyStore(
  db: Kysely<Database>,
  key: NoteKey,
  onProgress?: (done: number) => void,
  options: VerifyStoreOptions = {},
): Promise<VerifyResult> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      if (isPostgres(trx)) await trx.executeQuery(CompiledQuery.raw(LEAVES_IN_ORDER));
      const threaded = await readerSource(trx, options);
      if (threaded === undefined) {
        return verifyLog({
          key,
          from: 0,
          leaves: storedLeafPages(trx),
          checkpoints: await storedCheckpoints(trx),
          tileHashes: await storedTileHashes(trx),
          ...(onProgress ? { onProgress } : {}),
        });
      }
      const { source, size } = threaded;
      const readers = new ChunkReaders(source, Math.max(1, options.threads ?? defaultThreads()));
      try {
        const checkpoints = await storedCheckpoints(trx);
        const tileHashes = await storedTileHashes(trx);
        const chunkLeaves = options.chunkLeaves ?? CHUNK_LEAVES;
        // Chunks are handed out now, so the threads work while this one checks the checkpoints' signatures.
        const chunks = readers.chunks(
          size,
          chunkLeaves,
          checkpoints.map((c) => c.size),
        );
        return await verifyLog({
          key,
          from: 0,
          chunks,
          leaves: orphanEntry(trx, size),
          checkpoints,
          tileHashes,
          ...(onProgress ? { onProgress } : {}),
        });
      } finally {
        await readers.close();
      }
    });
}

function defaultThreads(): number {
  return Math.min(4, Math.max(2, availableParallelism()));
}

/** Where reader threads can read this snapshot of the log, and its size (one past the highest leaf index), if they should. */
async function readerSource(
  trx: Kysely<Database>,
  options: VerifyStoreOptions,
): Promise<{ source: ReaderSource; size: number } | undefined> {
  const store = options.store;
  if (store?.dialect !== 'sqlite' || store.sqlitePath === undefined || store.sqlitePath === ':memory:') {
    return undefined;
  }
  const chunkLeaves = options.chunkLeaves ?? CHUNK_LEAVES;
  if (!Number.isSafeInteger(chunkLeaves) || chunkLeaves < 1 || (chunkLeaves & (chunkLeaves - 1)) !== 0) {
    throw new RangeError(`chunkLeaves must be a power of two, got ${chunkLeaves}`);
  }
  const { rows } = await trx.executeQuery<{ last: number | null }>(
    CompiledQuery.raw('SELECT max(seq) AS last FROM ledger_leaves'),
  );
  const last = rows[0]?.last;
  const size = last === null || last === undefined ? 0 : Number(last) + 1;
  if (size === 0 || size < (options.minLeaves ?? MIN_THREADED_LEAVES)) return undefined;
  return { source: { path: store.sqlitePath }, size };
}
