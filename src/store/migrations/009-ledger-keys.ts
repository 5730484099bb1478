import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

// The audit query indexes on `ledger_events.actor_id` and `resource_id` leave the insert path. Their
// keys are random, so every recorded row dirtied another page of each index, and each commit wrote that
// many pages to the WAL: as the table grew this cost several times the event insert itself. Instead the
// integrator stores (key, pos) rows in two narrow tables for integrated entries, many thousands at a
// time in key order, in the transaction of an integrated batch; `ledger_keys_state.indexed` says how
// many leaves (from index 0) have their keys stored. Audit queries by actor or resource look up these
// tables and scan only the rest: the queue and the leaves from `indexed` on (docs/design/ledger.md).

const KEY_TABLES = [
  ['ledger_actor_keys', 'actor_id'],
  ['ledger_resource_keys', 'resource_id'],
] as const;

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const bigint = pg ? 'bigint' : 'integer';
  for (const [table, column] of KEY_TABLES) {
    await sql
      .raw(
        `CREATE TABLE ${table} (${column} text NOT NULL, pos ${bigint} NOT NULL, PRIMARY KEY (${column}, pos))${pg ? '' : ' WITHOUT ROWID'}`,
      )
      .execute(db);
    await sql
      .raw(
        `INSERT INTO ${table} (${column}, pos)
         SELECT e.${column}, e.pos FROM ledger_leaves l JOIN ledger_events e ON e.pos = l.pos ORDER BY 1, 2`,
      )
      .execute(db);
  }
  await sql
    .raw(`CREATE TABLE ledger_keys_state (id integer PRIMARY KEY CHECK (id = 1), indexed ${bigint} NOT NULL)`)
    .execute(db);
  await sql
    .raw('INSERT INTO ledger_keys_state (id, indexed) SELECT 1, coalesce(max(seq) + 1, 0) FROM ledger_leaves')
    .execute(db);
  await sql`DROP INDEX ledger_events_actor_id`.execute(db);
  await sql`DROP INDEX ledger_events_resource_id`.execute(db);

  // Like the ledger's own tables: keys are insert-only, and the indexed count only grows.
  if (pg) {
    await sql`
      CREATE OR REPLACE FUNCTION warden_keys_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME; END $$`.execute(db);
    for (const [table] of KEY_TABLES) {
      await sql
        .raw(
          `CREATE TRIGGER ${table}_insert_only BEFORE UPDATE OR DELETE ON ${table}
           FOR EACH ROW EXECUTE FUNCTION warden_keys_insert_only()`,
        )
        .execute(db);
    }
    await sql`
      CREATE OR REPLACE FUNCTION warden_keys_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.indexed >= OLD.indexed THEN RETURN NEW; END IF;
        RAISE EXCEPTION 'ledger_keys_state only grows';
      END $$`.execute(db);
    await sql`
      CREATE TRIGGER ledger_keys_state_guard BEFORE UPDATE OR DELETE ON ledger_keys_state
      FOR EACH ROW EXECUTE FUNCTION warden_keys_state_guard()`.execute(db);
    return;
  }
  for (const [table] of KEY_TABLES) {
    for (const op of ['UPDATE', 'DELETE']) {
      await sql
        .raw(
          `CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table}
           BEGIN SELECT RAISE(ABORT, '${table} is insert-only'); END`,
        )
        .execute(db);
    }
  }
  await sql
    .raw(
      `CREATE TRIGGER ledger_keys_state_no_delete BEFORE DELETE ON ledger_keys_state
       BEGIN SELECT RAISE(ABORT, 'ledger_keys_state only grows'); END`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER ledger_keys_state_no_update BEFORE UPDATE ON ledger_keys_state
       WHEN NEW.id IS NOT OLD.id OR NEW.indexed < OLD.indexed
       BEGIN SELECT RAISE(ABORT, 'ledger_keys_state only grows'); END`,
    )
    .execute(db);
}
