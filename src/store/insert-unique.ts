import type { Insertable, Kysely } from 'kysely';
import { WardenError } from '../core/index.js';
import type { Database } from './schema.js';

/**
 * Inserts `row` unless a row with the same `key` (a unique key of `table`) exists: then 409
 * WARDEN_CONFLICT with `taken.message`, blaming the input field `taken.field`.
 */
export async function insertUnique<T extends keyof Database & string>(
  trx: Kysely<Database>,
  table: T,
  row: Insertable<Database[T]>,
  key: readonly (keyof Database[T] & string)[],
  taken: { readonly message: string; readonly field: string; readonly issue: string },
): Promise<void> {
  const res = await trx
    .insertInto(table)
    .values(row)
    .onConflict((oc) => oc.columns(key).doNothing())
    .executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 0)
    throw new WardenError('WARDEN_CONFLICT', taken.message, {
      issues: [{ field: taken.field, message: taken.issue }],
    });
}
