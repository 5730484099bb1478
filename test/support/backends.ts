import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Dialect } from '../../src/store/index.js';

/** The PostgreSQL server tests create their databases on (a database that already exists there). */
export const PG_ADMIN_URL = process.env.WARDEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgUp: Promise<boolean> | undefined;

/** Whether PostgreSQL answers; under CI=true a missing server is an error, never a skip. */
export function postgresAvailable(): Promise<boolean> {
  pgUp ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch (err) {
      if (process.env.CI === 'true') {
        throw new Error(
          `PostgreSQL tests are mandatory in CI, but ${PG_ADMIN_URL} is unreachable: ${(err as Error).message}`,
        );
      }
      return false;
    }
  })();
  return pgUp;
}

/** A fresh, empty database of one backend, and how to remove it. */
export interface Backend {
  readonly dialect: Dialect;
  /** Data directory (keys, blobs, and the SQLite file). */
  readonly dataDir: string;
  /** PostgreSQL URL, or '' for SQLite. */
  readonly databaseUrl: string;
  drop(): Promise<void>;
}

/** Creates a fresh backend: a temp directory, plus a new PostgreSQL database for `postgres`. */
export async function freshBackend(dialect: Dialect): Promise<Backend> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-test-'));
  if (dialect === 'sqlite') {
    return {
      dialect,
      dataDir,
      databaseUrl: '',
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `warden_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    dialect,
    dataDir,
    databaseUrl: url.toString(),
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The backends every store test runs on: SQLite always; PostgreSQL when it answers (always under
 * CI=true, where an unreachable server fails the run).
 */
export async function backends(): Promise<Dialect[]> {
  return (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];
}
