import type { Kysely } from 'kysely';
import { WardenError } from '../core/index.js';
import type { Database } from './schema.js';

/** Rows that end once: a time column that is null while the row is in force. */
const ENDINGS = {
  api_tokens: 'revoked_ms',
  role_bindings: 'revoked_ms',
  legal_holds: 'released_ms',
} as const;

type Ending = keyof typeof ENDINGS;

/**
 * Ends row `id` of `table` (sets `changes`, which include its end time) only if it is still in force;
 * otherwise throws 409 when it already ended, 404 when it does not exist. `what` names it in errors.
 */
export async function endOnce<T extends Ending>(
  trx: Kysely<Database>,
  table: T,
  id: string,
  changes: Partial<Database[T]>,
  what: { noun: string; ended: string },
): Promise<void> {
  // Kysely cannot type a column reference over a union of tables; ENDINGS keeps the names right.
  const db = trx as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const name: string = table;
  const res = await db
    .updateTable(name)
    .set(changes)
    .where('id', '=', id)
    .where(ENDINGS[table], 'is', null)
    .executeTakeFirst();
  if (res.numUpdatedRows > 0n) return;
  const exists = await db.selectFrom(name).select('id').where('id', '=', id).executeTakeFirst();
  throw exists
    ? new WardenError('WARDEN_CONFLICT', `${what.noun} ${id} is already ${what.ended}`)
    : new WardenError('WARDEN_NOT_FOUND', `${what.noun} ${id} not found`);
}
