import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

/** One dedicated PostgreSQL connection: a Kysely handle over it, and its raw client for what Kysely cannot say (COPY). */
export interface PgSession {
  readonly db: Kysely<Database>;
  readonly client: pg.Client;
  close(): Promise<void>;
}

/**
 * Opens a session of its own on the database at `url`. Everything `db` runs (transactions included)
 * and everything sent through `client` share the one connection, in the order they are issued.
 */
export async function openPgSession(url: string): Promise<PgSession> {
  const client = new pg.Client({ connectionString: url });
  // A server that ends the session fails the next query; unhandled, the 'error' event would crash the process.
  client.on('error', () => {});
  await client.connect();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: onePool(client) }) });
  return {
    db,
    client,
    close: async () => {
      await db.destroy();
      await client.end();
    },
  };
}

/** A pool that hands out `client` every time and never ends it (the session does). */
function onePool(client: pg.Client): PostgresPool {
  const lent: PostgresPoolClient = { query: client.query.bind(client), release: () => {} };
  return { connect: async () => lent, end: async () => {} };
}
