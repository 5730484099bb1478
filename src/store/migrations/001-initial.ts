import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

const INSERT_ONLY = ['ledger_leaves', 'ledger_tile_hashes', 'ledger_checkpoints'] as const;

/** Creates the ledger, legal-hold, principal and token tables with their insert-only triggers. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const bigint = pg ? 'bigint' : 'integer';
  const bytes = pg ? 'bytea' : 'blob';

  await db.schema
    .createTable('ledger_events')
    .addColumn('pos', pg ? 'bigserial' : 'integer', (c) =>
      pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('seq', bigint, (c) => c.unique())
    .addColumn('body', 'text')
    .addColumn('time_ms', bigint, (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('purged_at', bigint)
    .execute();
  await sql`CREATE INDEX ledger_events_pending ON ledger_events (pos) WHERE seq IS NULL`.execute(db);
  for (const col of ['time_ms', 'actor_id', 'action', 'resource_id', 'project']) {
    await db.schema.createIndex(`ledger_events_${col}`).on('ledger_events').column(col).execute();
  }

  await db.schema
    .createTable('ledger_leaves')
    .addColumn('seq', bigint, (c) => c.primaryKey())
    .addColumn('hash', bytes, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('ledger_tile_hashes')
    .addColumn('tile_level', 'integer', (c) => c.notNull())
    .addColumn('idx', bigint, (c) => c.notNull())
    .addColumn('hash', bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('ledger_tile_hashes_pk', ['tile_level', 'idx'])
    .execute();
  await db.schema
    .createTable('ledger_checkpoints')
    .addColumn('size', bigint, (c) => c.primaryKey())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('legal_holds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project', 'text')
    .addColumn('resource_type', 'text')
    .addColumn('resource_id', 'text')
    .addColumn('from_ms', bigint)
    .addColumn('to_ms', bigint)
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('released_ms', bigint)
    .addColumn('released_by', 'text')
    .execute();

  await db.schema
    .createTable('principals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('expires_ms', bigint)
    .addColumn('last_used_ms', bigint)
    .addColumn('revoked_ms', bigint)
    .execute();
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  if (pg) await postgresTriggers(db);
  else await sqliteTriggers(db);
}

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  for (const table of INSERT_ONLY) {
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
      `CREATE TRIGGER ledger_events_no_delete BEFORE DELETE ON ledger_events
       BEGIN SELECT RAISE(ABORT, 'ledger_events rows cannot be deleted'); END`,
    )
    .execute(db);
  // The only updates allowed: the integrator setting seq once, and a purge clearing the body.
  await sql
    .raw(
      `CREATE TRIGGER ledger_events_guard_update BEFORE UPDATE ON ledger_events
       WHEN NOT (
         NEW.pos = OLD.pos AND NEW.id = OLD.id AND NEW.time_ms = OLD.time_ms
         AND NEW.actor_type = OLD.actor_type AND NEW.actor_id = OLD.actor_id AND NEW.action = OLD.action
         AND NEW.resource_type = OLD.resource_type AND NEW.resource_id = OLD.resource_id
         AND NEW.outcome = OLD.outcome AND NEW.project IS OLD.project
         AND (
           (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.body IS OLD.body AND NEW.purged_at IS OLD.purged_at)
           OR (NEW.seq IS OLD.seq AND NEW.body IS NULL AND NEW.purged_at IS NOT NULL)
         )
       )
       BEGIN SELECT RAISE(ABORT, 'ledger_events: only sequencing and purging may change a row'); END`,
    )
    .execute(db);
}

async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION warden_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME; END $$`.execute(db);
  for (const table of INSERT_ONLY) {
    await sql
      .raw(
        `CREATE TRIGGER ${table}_insert_only BEFORE UPDATE OR DELETE ON ${table}
         FOR EACH ROW EXECUTE FUNCTION warden_insert_only()`,
      )
      .execute(db);
  }
  await sql`
    CREATE FUNCTION warden_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'ledger_events rows cannot be deleted'; END IF;
      IF NEW.pos = OLD.pos AND NEW.id = OLD.id AND NEW.time_ms = OLD.time_ms
         AND NEW.actor_type = OLD.actor_type AND NEW.actor_id = OLD.actor_id AND NEW.action = OLD.action
         AND NEW.resource_type = OLD.resource_type AND NEW.resource_id = OLD.resource_id
         AND NEW.outcome = OLD.outcome AND NEW.project IS NOT DISTINCT FROM OLD.project
         AND (
           (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.body IS NOT DISTINCT FROM OLD.body
             AND NEW.purged_at IS NOT DISTINCT FROM OLD.purged_at)
           OR (NEW.seq IS NOT DISTINCT FROM OLD.seq AND NEW.body IS NULL AND NEW.purged_at IS NOT NULL)
         )
      THEN RETURN NEW; END IF;
      RAISE EXCEPTION 'ledger_events: only sequencing and purging may change a row';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER ledger_events_guard BEFORE UPDATE OR DELETE ON ledger_events
    FOR EACH ROW EXECUTE FUNCTION warden_events_guard()`.execute(db);
}
