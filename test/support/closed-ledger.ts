import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { storedCheckpoints } from '../../src/ledger/index.js';
import { type Dialect, openStore, type Store } from '../../src/store/index.js';
import { type Backend, PG_ADMIN_URL } from './backends.js';
import { type CliResult, loadEvent, runCli } from './process.js';
import { testServer } from './runtime.js';

/** A ledger that Warden wrote and then shut down, left in its database for offline checks and tampering. */
export interface ClosedLedger {
  readonly backend: Backend;
  readonly origin: string;
  readonly verifierKey: string;
  /** Sequence numbers of the ingested events; each was integrated alone, under its own checkpoint. */
  readonly seqs: readonly number[];
  /** Entries in the log (the bootstrap events, then the ingested ones), all under the last checkpoint. */
  readonly size: number;
}

/**
 * Starts Warden on a fresh backend, ingests `events` CloudEvents one request at a time with
 * `?wait=integrated` (so each gets a checkpoint of its own), and closes the runtime, keeping the database.
 */
export async function closedLedger(dialect: Dialect, events: number): Promise<ClosedLedger> {
  const s = await testServer(dialect);
  try {
    const seqs: number[] = [];
    try {
      await s.rt.ledger.waitIntegrated(10_000);
      for (let i = 0; i < events; i++) {
        const res = await s.inject({
          method: 'POST',
          url: '/api/v1/events?wait=integrated',
          body: loadEvent(i),
        });
        if (res.statusCode !== 201) throw new Error(`ingest ${i} answered ${res.statusCode}: ${res.body}`);
        seqs.push(res.json().events[0].seq);
      }
    } finally {
      await s.rt.close();
    }
    const store = await openDatabase(s.backend);
    let sizes: Set<number>;
    try {
      sizes = new Set((await storedCheckpoints(store.db)).map((c) => c.size));
      if (!seqs.every((q) => sizes.has(q) && sizes.has(q + 1))) {
        throw new Error(`ingested events ${seqs} do not each have a checkpoint of their own: ${[...sizes]}`);
      }
    } finally {
      await store.close();
    }
    const { origin, verifierKey } = s.rt.ledger;
    return { backend: s.backend, origin, verifierKey, seqs, size: Math.max(...sizes) };
  } catch (err) {
    await s.backend.drop();
    throw err;
  }
}

/** A copy of the ledger (data directory and database) on a new backend of the same kind, to tamper with. */
export async function copyLedger(fx: ClosedLedger): Promise<ClosedLedger> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-test-'));
  cpSync(fx.backend.dataDir, dataDir, { recursive: true });
  const removeDir = async () => rmSync(dataDir, { recursive: true, force: true });
  if (fx.backend.dialect === 'sqlite') {
    return { ...fx, backend: { dialect: 'sqlite', dataDir, databaseUrl: '', drop: removeDir } };
  }
  const template = new URL(fx.backend.databaseUrl).pathname.slice(1);
  const name = `warden_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const drop = async () => {
    await removeDir();
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  return { ...fx, backend: { dialect: 'postgres', dataDir, databaseUrl: url.toString(), drop } };
}

async function adminQuery(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** Opens the backend's database directly, as anyone with database access could. */
export function openDatabase(backend: Backend): Promise<Store> {
  return openStore({
    databaseUrl: backend.databaseUrl,
    sqlitePath: join(backend.dataDir, 'warden.db'),
    poolSize: 1,
  });
}

/** A table that migration 001 guards with triggers. */
export type GuardedTable = 'ledger_events' | 'ledger_leaves' | 'ledger_checkpoints' | 'ledger_tile_hashes';

/** Drops the triggers guarding `table` (named as in migration 001), as an attacker with DDL rights could. */
export async function dropGuards(store: Store, table: GuardedTable): Promise<void> {
  const triggers =
    store.dialect === 'postgres'
      ? [table === 'ledger_events' ? 'ledger_events_guard' : `${table}_insert_only`]
      : table === 'ledger_events'
        ? ['ledger_events_guard_update', 'ledger_events_no_delete']
        : [`${table}_no_update`, `${table}_no_delete`];
  for (const name of triggers) {
    const on = store.dialect === 'postgres' ? ` ON ${table}` : '';
    await sql.raw(`DROP TRIGGER ${name}${on}`).execute(store.db);
  }
}

/** `warden audit verify --quiet` against the backend's live store. */
export function verifyStore(backend: Backend): Promise<CliResult> {
  return runCli(
    [
      'audit',
      'verify',
      '--quiet',
      '--data-dir',
      backend.dataDir,
      ...(backend.databaseUrl ? ['--database-url', backend.databaseUrl] : []),
    ],
    {},
  );
}
