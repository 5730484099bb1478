import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

// Integration no longer rewrites event rows. Until now the integrator set `ledger_events.seq`, which
// rewrote the whole row (body included) and every index on it. From here on:
// - `record` adds the event's position and leaf hash to `ledger_queue` next to the event row (same
//   transaction);
// - the integrator takes queue rows in position order, inserts `ledger_leaves(seq, hash, pos)` and
//   deletes the queue rows it took, in one transaction with the checkpoint;
// - an event's sequence number is the `seq` of the leaf whose `pos` is the event's position.
// Pending rows move into the queue, integrated rows keep their numbers (copied onto their leaves), and
// `ledger_events.seq` goes away.

const EVENT_COLUMNS =
  'pos, id, body, time_ms, actor_type, actor_id, action, resource_type, resource_id, outcome, project, purged_at';
const EVENT_INDEXES = ['time_ms', 'actor_id', 'action', 'resource_id', 'project'] as const;

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const bigint = pg ? 'bigint' : 'integer';

  const bytes = pg ? 'bytea' : 'blob';
  await sql.raw(`CREATE TABLE ledger_queue (pos ${bigint} PRIMARY KEY, hash ${bytes} NOT NULL)`).execute(db);
  await queuePending(db);

  // Leaves learn which event they hash; the insert-only guard is lifted for this one copy.
  await sql.raw(`ALTER TABLE ledger_leaves ADD COLUMN pos ${bigint}`).execute(db);
  if (pg) await sql`ALTER TABLE ledger_leaves DISABLE TRIGGER ledger_leaves_insert_only`.execute(db);
  else await sql`DROP TRIGGER ledger_leaves_no_update`.execute(db);
  await sql`UPDATE ledger_leaves SET pos = (SELECT e.pos FROM ledger_events e WHERE e.seq = ledger_leaves.seq)`.execute(
    db,
  );
  if (pg) await sql`ALTER TABLE ledger_leaves ENABLE TRIGGER ledger_leaves_insert_only`.execute(db);
  else {
    await sql
      .raw(
        `CREATE TRIGGER ledger_leaves_no_update BEFORE UPDATE ON ledger_leaves
         BEGIN SELECT RAISE(ABORT, 'ledger_leaves is insert-only'); END`,
      )
      .execute(db);
  }
  await sql`CREATE UNIQUE INDEX ledger_leaves_pos ON ledger_leaves (pos)`.execute(db);

  if (pg) await dropSeqPostgres(db);
  else await dropSeqSqlite(db);
}

/** Queues the events not sequenced yet, in position order, each with SHA-256(0x00 ‖ body). */
async function queuePending(db: Kysely<unknown>): Promise<void> {
  let after = -1;
  for (;;) {
    const { rows } = await sql<{ pos: number | string; body: string | null }>`
      SELECT pos, body FROM ledger_events WHERE seq IS NULL AND pos > ${after} ORDER BY pos LIMIT 1000`.execute(
      db,
    );
    if (rows.length === 0) return;
    for (const r of rows) {
      if (r.body === null) throw new Error(`pending event at position ${r.pos} has no body`);
      const hash = createHash('sha256').update(Buffer.of(0)).update(r.body, 'utf8').digest();
      await sql`INSERT INTO ledger_queue (pos, hash) VALUES (${Number(r.pos)}, ${hash})`.execute(db);
    }
    after = Number(rows[rows.length - 1]?.pos);
  }
}

async function dropSeqPostgres(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX ledger_events_pending`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION warden_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'ledger_events rows cannot be deleted'; END IF;
      IF NEW.pos = OLD.pos AND NEW.id = OLD.id AND NEW.time_ms = OLD.time_ms
         AND NEW.actor_type = OLD.actor_type AND NEW.actor_id = OLD.actor_id AND NEW.action = OLD.action
         AND NEW.resource_type = OLD.resource_type AND NEW.resource_id = OLD.resource_id
         AND NEW.outcome = OLD.outcome AND NEW.project IS NOT DISTINCT FROM OLD.project
         AND NEW.body IS NULL AND NEW.purged_at IS NOT NULL
      THEN RETURN NEW; END IF;
      RAISE EXCEPTION 'ledger_events: only purging may change a row';
    END $$`.execute(db);
  await sql`ALTER TABLE ledger_events DROP COLUMN seq`.execute(db);
}

/** SQLite cannot drop a UNIQUE column, so the table is rebuilt without it (same rows, indexes, triggers). */
async function dropSeqSqlite(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `CREATE TABLE ledger_events_new (
         pos integer PRIMARY KEY AUTOINCREMENT,
         id text NOT NULL UNIQUE,
         body text,
         time_ms integer NOT NULL,
         actor_type text NOT NULL,
         actor_id text NOT NULL,
         action text NOT NULL,
         resource_type text NOT NULL,
         resource_id text NOT NULL,
         outcome text NOT NULL,
         project text,
         purged_at integer
       )`,
    )
    .execute(db);
  await sql
    .raw(
      `INSERT INTO ledger_events_new (${EVENT_COLUMNS}) SELECT ${EVENT_COLUMNS} FROM ledger_events ORDER BY pos`,
    )
    .execute(db);
  // Dropping the table drops its indexes and triggers too.
  await sql`DROP TABLE ledger_events`.execute(db);
  await sql`ALTER TABLE ledger_events_new RENAME TO ledger_events`.execute(db);
  for (const col of EVENT_INDEXES) {
    await sql.raw(`CREATE INDEX ledger_events_${col} ON ledger_events (${col})`).execute(db);
  }
  await sql
    .raw(
      `CREATE TRIGGER ledger_events_no_delete BEFORE DELETE ON ledger_events
       BEGIN SELECT RAISE(ABORT, 'ledger_events rows cannot be deleted'); END`,
    )
    .execute(db);
  // The only update allowed: a purge clearing the body.
  await sql
    .raw(
      `CREATE TRIGGER ledger_events_guard_update BEFORE UPDATE ON ledger_events
       WHEN NOT (
         NEW.pos = OLD.pos AND NEW.id = OLD.id AND NEW.time_ms = OLD.time_ms
         AND NEW.actor_type = OLD.actor_type AND NEW.actor_id = OLD.actor_id AND NEW.action = OLD.action
         AND NEW.resource_type = OLD.resource_type AND NEW.resource_id = OLD.resource_id
         AND NEW.outcome = OLD.outcome AND NEW.project IS OLD.project
         AND NEW.body IS NULL AND NEW.purged_at IS NOT NULL
       )
       BEGIN SELECT RAISE(ABORT, 'ledger_events: only purging may change a row'); END`,
    )
    .execute(db);
}
