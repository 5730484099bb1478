import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  Migrator,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
} from 'kysely';
import pg from 'pg';
import type { Dialect } from './dialect.js';
import * as initial from './migrations/001-initial.js';
import * as identity from './migrations/002-identity.js';
import * as ledgerQueue from './migrations/003-ledger-queue.js';
import * as lifecycle from './migrations/004-lifecycle.js';
import * as registry from './migrations/006-registry.js';
import * as workflow from './migrations/007-workflow.js';
import * as monitor from './migrations/008-monitor.js';
import * as ledgerKeys from './migrations/009-ledger-keys.js';
import type { Database } from './schema.js';

// int8 columns hold sequence numbers and millisecond times, all below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/** An open database: the Kysely handle and which backend it is. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** The connection string for PostgreSQL (for dedicated sessions such as the integrator's lock), else undefined. */
  readonly url: string | undefined;
  /** The SQLite database file for SQLite (for other connections to it, such as `audit verify`'s readers), else undefined. */
  readonly sqlitePath: string | undefined;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** `postgres://…` for PostgreSQL; otherwise `sqlitePath` is used. */
  readonly databaseUrl?: string | undefined;
  readonly sqlitePath?: string;
  readonly poolSize?: number;
}

/** Opens the store and brings its schema up to date. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const store = connect(opts);
  try {
    await migrate(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function connect(opts: StoreOptions): Store {
  const url = opts.databaseUrl;
  if (url !== undefined && url !== '') {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new Error(`WARDEN_DATABASE_URL must start with postgres:// (got ${redactUrl(url)})`);
    }
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
    // An idle connection the server ends (restart, failover, pg_terminate_backend) is already dropped by
    // the pool and replaced on the next query; unhandled, its 'error' event would crash the process.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', url, sqlitePath: undefined, close: () => db.destroy() };
  }
  const path = opts.sqlitePath;
  if (path === undefined) throw new Error('either a database URL or a SQLite path is required');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode survives a process crash; only power loss can drop the last commits.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(sqlite) }) });
  return { db, dialect: 'sqlite', url: undefined, sqlitePath: path, close: () => db.destroy() };
}

const STATEMENT_CACHE = 1000;

/**
 * better-sqlite3 behind Kysely, with prepared statements kept by SQL text: preparing costs more than
 * running most of Warden's queries. A statement still iterating (a streamed query) is never handed
 * out twice; SQLite re-prepares a kept statement by itself after a schema change.
 */
function reusingStatements(sqlite: SQLite.Database): SqliteDatabase {
  const kept = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      const hit = kept.get(sql);
      if (hit !== undefined && !hit.busy) return hit;
      const statement = sqlite.prepare(sql);
      if (hit === undefined) {
        if (kept.size >= STATEMENT_CACHE) kept.delete(kept.keys().next().value as string);
        kept.set(sql, statement);
      }
      return statement;
    },
  };
}

async function migrate(store: Store): Promise<void> {
  const migrations: Record<string, Migration> = {
    '001-initial': { up: (db) => initial.up(db, store.dialect) },
    '002-identity': { up: (db) => identity.up(db, store.dialect) },
    '003-ledger-queue': { up: (db) => ledgerQueue.up(db, store.dialect) },
    '004-lifecycle': { up: (db) => lifecycle.up(db, store.dialect) },
    '006-registry': { up: (db) => registry.up(db, store.dialect) },
    '007-workflow': { up: (db) => workflow.up(db, store.dialect) },
    '008-monitor': { up: (db) => monitor.up(db, store.dialect) },
    '009-ledger-keys': { up: (db) => ledgerKeys.up(db, store.dialect) },
  };
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${String(error)}`, { cause: error });
  }
}

/** A URL with its password replaced, safe to print. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}
