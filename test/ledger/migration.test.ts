import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, type Migration, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { canonicalJson, systemClock } from '../../src/core/index.js';
import { signCheckpoint } from '../../src/ledger/checkpoint.js';
import { Integrator, leafHash, SoleLeadership, verifyStore } from '../../src/ledger/index.js';
import { CompactRange } from '../../src/ledger/merkle.js';
import { generateSignerKey, parseSkey } from '../../src/ledger/note.js';
import { TILE_HEIGHT } from '../../src/ledger/tiles.js';
import {
  type Database,
  type Dialect,
  type LedgerEventTable,
  openStore,
  type Store,
} from '../../src/store/index.js';
import * as initial from '../../src/store/migrations/001-initial.js';
import * as identity from '../../src/store/migrations/002-identity.js';
import { type Backend, backends, freshBackend } from '../support/backends.js';

// A database written by the code before migration 003 (events sequenced by `ledger_events.seq`) must
// keep verifying after the upgrade, and its pending events must be integrated after the integrated ones.

/** The ledger tables as migrations 001 and 002 left them. */
type OldDatabase = Omit<Database, 'ledger_events' | 'ledger_leaves'> & {
  ledger_events: LedgerEventTable & { seq: number | null };
  ledger_leaves: { seq: number; hash: Buffer };
};

const INTEGRATED = 300; // more than 256, so a level-8 subtree hash is stored too
const PENDING = 40;

const signer = parseSkey(generateSignerKey('warden.test/migration').skey);

/** A Kysely handle on the backend that has run only migrations 001 and 002, as the old code left it. */
async function oldSchema(backend: Backend): Promise<Kysely<OldDatabase>> {
  const db =
    backend.dialect === 'postgres'
      ? new Kysely<OldDatabase>({
          dialect: new PostgresDialect({
            pool: new pg.Pool({ connectionString: backend.databaseUrl, max: 1 }),
          }),
        })
      : new Kysely<OldDatabase>({
          dialect: new SqliteDialect({ database: new SQLite(join(backend.dataDir, 'warden.db')) }),
        });
  const migrations: Record<string, Migration> = {
    '001-initial': { up: (k) => initial.up(k, backend.dialect) },
    '002-identity': { up: (k) => identity.up(k, backend.dialect) },
  };
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  }).migrateToLatest();
  if (error !== undefined) throw error;
  return db;
}

function body(i: number): string {
  return canonicalJson({
    v: 1,
    id: `01JOLDEVENT${String(i).padStart(15, '0')}`,
    time: new Date(1_700_000_000_000 + i).toISOString(),
    actor: { type: 'user', id: `u-${i % 7}`, via: 'api' },
    action: 'dataset.read',
    resource: { type: 'Dataset', id: `ds-${i % 5}` },
    outcome: 'allowed',
  });
}

/** Writes INTEGRATED sequenced events (leaves, tile hash, checkpoints) and PENDING unsequenced ones, the old way. */
async function writeOldLedger(db: Kysely<OldDatabase>): Promise<void> {
  const range = new CompactRange();
  for (let i = 0; i < INTEGRATED + PENDING; i++) {
    const b = body(i);
    const e = JSON.parse(b);
    const seq = i < INTEGRATED ? i : null;
    await db
      .insertInto('ledger_events')
      .values({
        id: e.id,
        seq,
        body: b,
        time_ms: Date.parse(e.time),
        actor_type: e.actor.type,
        actor_id: e.actor.id,
        action: e.action,
        resource_type: e.resource.type,
        resource_id: e.resource.id,
        outcome: e.outcome,
        project: null,
        purged_at: null,
      })
      .execute();
    if (seq === null) continue;
    const hash = leafHash(Buffer.from(b));
    await db.insertInto('ledger_leaves').values({ seq, hash }).execute();
    for (const node of range.append(hash)) {
      if (node.level % TILE_HEIGHT === 0) {
        await db
          .insertInto('ledger_tile_hashes')
          .values({ tile_level: node.level / TILE_HEIGHT, idx: node.index, hash: node.hash })
          .execute();
      }
    }
    if (range.size === 100 || range.size === INTEGRATED) {
      const note = signCheckpoint(
        { origin: signer.name, size: range.size, root: range.root(), extensions: [] },
        signer,
      );
      await db.insertInto('ledger_checkpoints').values({ size: range.size, note, created_ms: 1 }).execute();
    }
  }
}

for (const dialect of await backends()) {
  describe(`migration 003 (ledger queue) on ${dialect}`, () => {
    let backend: Backend;
    let store: Store;
    before(async () => {
      backend = await freshBackend(dialect as Dialect);
      const old = await oldSchema(backend);
      try {
        await writeOldLedger(old);
      } finally {
        await old.destroy();
      }
      store = await openStore({
        databaseUrl: backend.databaseUrl,
        sqlitePath: join(backend.dataDir, 'warden.db'),
        poolSize: 2,
      });
    });
    after(async () => {
      await store?.close();
      await backend?.drop();
    });

    it('keeps integrated events verifying, with their sequence numbers on their leaves', async () => {
      const result = await verifyStore(store.db, signer);
      assert.deepEqual(result, { ok: true, size: INTEGRATED, checkpoints: 2, purged: 0 });
      const rows = await store.db
        .selectFrom('ledger_leaves as l')
        .innerJoin('ledger_events as e', 'e.pos', 'l.pos')
        .select(['l.seq', 'e.body'])
        .orderBy('l.seq')
        .execute();
      assert.equal(rows.length, INTEGRATED);
      rows.forEach((r, i) => {
        assert.equal(Number(r.seq), i);
        assert.equal(r.body, body(i));
      });
    });

    it('queues the pending events, and the integrator then sequences them after the others', async () => {
      const queued = await store.db.selectFrom('ledger_queue').select('pos').execute();
      assert.equal(queued.length, PENDING);
      const integrator = new Integrator({
        store,
        signer,
        leadership: new SoleLeadership(),
        clock: systemClock,
        batchSize: 1000,
        idleMs: 10,
        takeoverMs: 1000,
        onError: (err) => {
          throw err;
        },
      });
      assert.equal(await integrator.integrateBatch(), PENDING);
      assert.equal((await store.db.selectFrom('ledger_queue').select('pos').execute()).length, 0);
      const result = await verifyStore(store.db, signer);
      assert.deepEqual(result, { ok: true, size: INTEGRATED + PENDING, checkpoints: 3, purged: 0 });
      const last = await store.db
        .selectFrom('ledger_leaves as l')
        .innerJoin('ledger_events as e', 'e.pos', 'l.pos')
        .select(['l.seq', 'e.body'])
        .where('l.seq', '>=', INTEGRATED)
        .orderBy('l.seq')
        .execute();
      assert.deepEqual(
        last.map((r) => r.body),
        Array.from({ length: PENDING }, (_, k) => body(INTEGRATED + k)),
      );
    });

    it('leaves ledger_events without seq, still guarded, and the leaves still insert-only', async () => {
      const columns =
        dialect === 'postgres'
          ? (
              await sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
                WHERE table_name = 'ledger_events'`.execute(store.db)
            ).rows
          : (
              await sql<{ name: string }>`SELECT name FROM pragma_table_info('ledger_events')`.execute(
                store.db,
              )
            ).rows;
      assert.ok(!columns.some((c) => c.name === 'seq'), 'ledger_events.seq is gone');
      await assert.rejects(sql`UPDATE ledger_events SET action = 'x'`.execute(store.db), /only purging/);
      await assert.rejects(sql`DELETE FROM ledger_events`.execute(store.db), /cannot be deleted/);
      await assert.rejects(sql`UPDATE ledger_leaves SET pos = NULL`.execute(store.db), /insert-only/);
      await assert.rejects(sql`DELETE FROM ledger_leaves`.execute(store.db), /insert-only/);
    });
  });
}
