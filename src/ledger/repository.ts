import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

/** Reads `to - from` consecutive stored hashes at a tile level (0 = leaves); throws if any is missing. */
export function storedHashReader(db: Kysely<Database>) {
  return async (tileLevel: number, from: number, to: number): Promise<Buffer[]> => {
    const rows =
      tileLevel === 0
        ? await db
            .selectFrom('ledger_leaves')
            .select(['seq as idx', 'hash'])
            .where('seq', '>=', from)
            .where('seq', '<', to)
            .orderBy('seq')
            .execute()
        : await db
            .selectFrom('ledger_tile_hashes')
            .select(['idx', 'hash'])
            .where('tile_level', '=', tileLevel)
            .where('idx', '>=', from)
            .where('idx', '<', to)
            .orderBy('idx')
            .execute();
    if (rows.length !== to - from || rows.some((r, i) => Number(r.idx) !== from + i)) {
      throw new Error(`ledger store is missing hashes at tile level ${tileLevel} in [${from}, ${to})`);
    }
    return rows.map((r) => r.hash);
  };
}

/** The number of integrated leaves (one more than the highest sequence number). */
export async function storedTreeSize(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('ledger_leaves')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  return row?.max === null || row?.max === undefined ? 0 : Number(row.max) + 1;
}

/** The newest signed checkpoint note, if any. */
export async function latestCheckpointNote(
  db: Kysely<Database>,
): Promise<{ size: number; note: string } | undefined> {
  return db
    .selectFrom('ledger_checkpoints')
    .select(['size', 'note'])
    .orderBy('size', 'desc')
    .limit(1)
    .executeTakeFirst();
}
