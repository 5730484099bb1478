import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Moves the authorization epoch on, inside the caller's transaction, so every replica drops cached decisions. */
export async function bumpAuthzEpoch(trx: Kysely<Database>): Promise<void> {
  await trx
    .updateTable('authz_epoch')
    .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
    .where('id', '=', 1)
    .execute();
}

/** The current authorization epoch. */
export async function readAuthzEpoch(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('authz_epoch')
    .select('epoch')
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  return Number(row.epoch);
}
