import { sql } from 'kysely';
import type { Store } from '../../src/store/index.js';

/**
 * Makes the database refuse new ledger events (a trigger on `ledger_events` inserts), as a full disk
 * or a broken ledger would; returns the function that lifts the refusal.
 */
export async function refuseLedgerWrites(store: Store): Promise<() => Promise<void>> {
  if (store.dialect === 'postgres') {
    await sql`CREATE OR REPLACE FUNCTION warden_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'ledger unavailable (test)'; END $$`.execute(store.db);
    await sql`CREATE TRIGGER warden_test_refuse BEFORE INSERT ON ledger_events
      FOR EACH ROW EXECUTE FUNCTION warden_test_refuse()`.execute(store.db);
    return async () => {
      await sql`DROP TRIGGER warden_test_refuse ON ledger_events`.execute(store.db);
    };
  }
  await sql`CREATE TRIGGER warden_test_refuse BEFORE INSERT ON ledger_events
    BEGIN SELECT RAISE(ABORT, 'ledger unavailable (test)'); END`.execute(store.db);
  return async () => {
    await sql`DROP TRIGGER warden_test_refuse`.execute(store.db);
  };
}
