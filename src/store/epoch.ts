import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Moves the authorization epoch on, inside the caller's transaction, so every replica drops cached decisions. */
export async function bumpAuthzEpoch(trx: Kysely<Database>): Promise<void> {
  await trx
    .updateTable('authz_epoch')
    .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
    .where('id', '=', 1)
    .execute();
}

// The epoch query, compiled once per database handle: every cached authentication runs it.
const epochQueries = new WeakMap<Kysely<Database>, CompiledQuery<{ epoch: number | string }>>();

/** The current authorization epoch. */
export async function readAuthzEpoch(db: Kysely<Database>): Promise<number> {
  let query = epochQueries.get(db);
  if (query === undefined) {
    query = db.selectFrom('authz_epoch').select('epoch').where('id', '=', 1).compile();
    epochQueries.set(db, query);
  }
  const [row] = (await db.executeQuery(query)).rows;
  if (row === undefined) throw new Error('the authorization epoch row is missing');
  return Number(row.epoch);
}
