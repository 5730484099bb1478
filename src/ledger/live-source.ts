import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import type { NoteKey } from './note.js';
import { type VerifyLeaf, type VerifyResult, verifyLog } from './verify.js';

const CHUNK = 10_000;

/**
 * Every stored leaf with its event body, in index order, read in chunks from `db` (use a snapshot
 * transaction); then the first sequenced event past the last leaf, if any, flagged as having no leaf.
 */
export async function* storedLeaves(
  db: Kysely<Database>,
  from = 0,
  to = Number.MAX_SAFE_INTEGER,
): AsyncGenerator<VerifyLeaf> {
  let next = from;
  for (;;) {
    const rows = await db
      .selectFrom('ledger_leaves as l')
      .leftJoin('ledger_events as e', 'e.seq', 'l.seq')
      .select(['l.seq', 'l.hash', 'e.body', 'e.id', 'e.purged_at'])
      .where('l.seq', '>=', next)
      .where('l.seq', '<', to)
      .orderBy('l.seq')
      .limit(CHUNK)
      .execute();
    for (const r of rows) {
      yield {
        index: Number(r.seq),
        body: r.body ?? null,
        storedHash: r.hash,
        bodyExpected: r.id === null || r.purged_at === null,
      };
    }
    if (rows.length > 0) next = Number(rows[rows.length - 1]?.seq) + 1;
    if (rows.length < CHUNK) break;
  }
  // The integrator sets seq and writes the leaf in one transaction, so a sequenced event past the last
  // leaf was written by someone else.
  const orphan = await db
    .selectFrom('ledger_events')
    .select(['seq', 'body'])
    .where('seq', '>=', next)
    .where('seq', '<', to)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  if (orphan !== undefined) {
    yield {
      index: Number(orphan.seq),
      body: orphan.body,
      storedHash: null,
      bodyExpected: true,
      noLeaf: true,
    };
  }
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

/** Verifies the whole log in the store, in one snapshot (repeatable read), as `warden audit verify` does. */
export async function verifyStore(
  db: Kysely<Database>,
  key: NoteKey,
  onProgress?: (done: number) => void,
): Promise<VerifyResult> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) =>
      verifyLog({
        key,
        from: 0,
        leaves: storedLeaves(trx),
        checkpoints: await storedCheckpoints(trx),
        tileHashes: await storedTileHashes(trx),
        ...(onProgress ? { onProgress } : {}),
      }),
    );
}
