import { availableParallelism } from 'node:os';
import { CompiledQuery, type Kysely } from 'kysely';
import type { ClientBase } from 'pg';
import { type Database, openPgSession, type Store } from '../store/index.js';
import { checkChunksByCopy } from './copy-chunks.js';
import { leafRowsSql } from './leaf-rows.js';
import type { NoteKey } from './note.js';
import { isPostgres } from './recorder.js';
import { type VerifyLeaf, type VerifyResult, verifyLog } from './verify.js';
import { type ChunkResult, type ChunkRow, type ChunkTask, chunkTasks, verifyChunk } from './verify-chunk.js';
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
  const text = `${pg ? leafRowsSql('$1', '$2') : leafRowsSql('?', '?')} LIMIT ${PAGE}`;
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
   * connections of their own to its file; on PostgreSQL, verify runs on a session of its own (from
   * `store.url`), whose raw client reads the leaves with COPY. Without it, this thread reads over `db`.
   */
  readonly store?: Pick<Store, 'dialect' | 'sqlitePath' | 'url'>;
  /** Reader threads beside the main thread (default: the machine's parallelism less one, from 1 to 3). */
  readonly threads?: number;
  /** Entries per chunk checked at a time, a power of two (default 2,048). */
  readonly chunkLeaves?: number;
  /** Whether this thread checks chunks too while waiting for the threads (default true; false is for tests). */
  readonly mainThreadChunks?: boolean;
  /** The smallest log for which reader threads are started (default 32,768 entries); smaller ones are read here. */
  readonly minLeaves?: number;
}

const CHUNK_LEAVES = 2048;
/** Chunks read with one COPY on PostgreSQL. */
const COPY_CHUNKS = 8;
const MIN_THREADED_LEAVES = 32_768;

/**
 * Verifies the whole log in the store, in one snapshot (repeatable read), as `warden audit verify` does.
 * On SQLite, given the store (`options.store`) and a log of at least `minLeaves` entries, reader threads
 * read and check chunks of the log in parallel, each over its own connection, and hand back the chunks'
 * subtree hashes; this thread only joins them into the tree and checks tiles and checkpoints. Otherwise
 * (and always on PostgreSQL, whose server needs the second core to send the rows) the leaves are read
 * here in chunks, the next chunk requested while the current one is hashed; on PostgreSQL given the
 * store, with binary COPY in the transaction of a session of its own.
 */
export async function verifyStore(
  db: Kysely<Database>,
  key: NoteKey,
  onProgress?: (done: number) => void,
  options: VerifyStoreOptions = {},
): Promise<VerifyResult> {
  const chunkLeaves = options.chunkLeaves ?? CHUNK_LEAVES;
  if (!Number.isSafeInteger(chunkLeaves) || chunkLeaves < 1 || (chunkLeaves & (chunkLeaves - 1)) !== 0) {
    throw new RangeError(`chunkLeaves must be a power of two, got ${chunkLeaves}`);
  }
  const url = options.store?.dialect === 'postgres' ? options.store.url : undefined;
  if (url === undefined) return verifySnapshot(db, undefined, key, chunkLeaves, onProgress, options);
  const session = await openPgSession(url);
  try {
    return await verifySnapshot(session.db, session.client, key, chunkLeaves, onProgress, options);
  } finally {
    await session.close();
  }
}

/**
 * `verifyStore` over `db`; `client`, if given, is `db`'s one PostgreSQL connection, and the chunks are
 * read on it with COPY.
 */
function verifySnapshot(
  db: Kysely<Database>,
  client: ClientBase | undefined,
  key: NoteKey,
  chunkLeaves: number,
  onProgress: ((done: number) => void) | undefined,
  options: VerifyStoreOptions,
): Promise<VerifyResult> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const pg = isPostgres(trx);
      if (pg) await trx.executeQuery(CompiledQuery.raw(LEAVES_IN_ORDER));
      const { rows } = await trx.executeQuery<{ last: number | null }>(
        CompiledQuery.raw('SELECT max(seq) AS last FROM ledger_leaves'),
      );
      const last = rows[0]?.last;
      const size = last === null || last === undefined ? 0 : Number(last) + 1;
      const source = readerSource(size, options);
      const readers =
        source === undefined
          ? undefined
          : new ChunkReaders(source, Math.max(1, options.threads ?? defaultThreads()));
      try {
        const checkpoints = await storedCheckpoints(trx);
        const tileHashes = await storedTileHashes(trx);
        const sizes = checkpoints.map((c) => c.size);
        // Chunks are handed out now, so the threads work while this one checks the checkpoints' signatures.
        const chunks = readers
          ? readers.chunks(
              size,
              chunkLeaves,
              sizes,
              options.mainThreadChunks === false
                ? undefined
                : async (task) => verifyChunk(task, await readChunk(trx, pg, task.from, task.to)),
            )
          : localChunks(
              client === undefined
                ? (tasks) =>
                    Promise.all(
                      tasks.map(async (t) => verifyChunk(t, await readChunk(trx, pg, t.from, t.to))),
                    )
                : (tasks) => checkChunksByCopy(client, tasks),
              chunkTasks(size, chunkLeaves, sizes),
              client === undefined ? 1 : COPY_CHUNKS,
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
        await readers?.close();
      }
    });
}

/** The rows of the leaves [from, to) for `verifyChunk`, read over `trx`. */
function readChunk(trx: Kysely<Database>, pg: boolean, from: number, to: number): Promise<ChunkRow[]> {
  const text = pg ? leafRowsSql('$1', '$2') : leafRowsSql('?', '?');
  return trx
    .executeQuery<LeafRow>(CompiledQuery.raw(text, [from, to]))
    .then((r) => r.rows.map((x) => [x.seq, x.hash, x.body, x.epos, x.purged_at] as const));
}

/**
 * The results of `tasks`, checked on this thread `per` at a time by `check`; the next group is
 * requested before the current one is handed out, so that PostgreSQL's server reads it meanwhile.
 */
async function* localChunks(
  check: (tasks: readonly ChunkTask[]) => Promise<ChunkResult[]>,
  tasks: Iterator<ChunkTask, undefined>,
  per: number,
): AsyncGenerator<ChunkResult> {
  const request = (): Promise<ChunkResult[]> | undefined => {
    const group: ChunkTask[] = [];
    for (let t = tasks.next(); !t.done; t = tasks.next()) {
      group.push(t.value);
      if (group.length === per) break;
    }
    return group.length > 0 ? check(group) : undefined;
  };
  for (let next = request(); next !== undefined; ) {
    const results = await next;
    next = request();
    next?.catch(() => {});
    yield* results;
  }
}

/** One reader thread fewer than the machine runs at once (the main thread checks chunks too), 1 to 3. */
function defaultThreads(): number {
  return Math.min(3, Math.max(1, availableParallelism() - 1));
}

/** Where reader threads can read the log, if they should. */
function readerSource(size: number, options: VerifyStoreOptions): ReaderSource | undefined {
  const store = options.store;
  if (store?.dialect !== 'sqlite' || store.sqlitePath === undefined || store.sqlitePath === ':memory:') {
    return undefined;
  }
  if (size === 0 || size < (options.minLeaves ?? MIN_THREADED_LEAVES)) return undefined;
  return { path: store.sqlitePath };
}
