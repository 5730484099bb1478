import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import type { VerifyLeaf } from './verify.js';

const CHUNK = 10_000;

/** Every stored leaf with its event body, in index order, read in chunks from `db` (use a snapshot transaction). */
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
    if (rows.length < CHUNK) return;
    next = Number(rows[rows.length - 1]?.seq) + 1;
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
