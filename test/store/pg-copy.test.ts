import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { copyRows, openPgSession, type PgSession } from '../../src/store/index.js';
import { type Backend, freshBackend, postgresAvailable } from '../support/backends.js';

describe('binary COPY over a PostgreSQL session', { skip: !(await postgresAvailable()) }, () => {
  let backend: Backend;
  let session: PgSession;
  before(async () => {
    backend = await freshBackend('postgres');
    session = await openPgSession(backend.databaseUrl);
    await sql`CREATE TABLE t (n bigint, b bytea, s text)`.execute(session.db);
    await sql`INSERT INTO t VALUES
      (1, '\\x00ff10'::bytea, 'plain'),
      (-5, ''::bytea, 'ünïcødé ✓ 𝄞'),
      (9007199254740991, NULL, NULL),
      (NULL, '\\xdeadbeef'::bytea, '')`.execute(session.db);
  });
  after(async () => {
    await session.close();
    await backend.drop();
  });

  it('reads int8, bytea and text fields as sent, nulls as null', async () => {
    const rows: unknown[][] = [];
    const n = await copyRows(session.client, 'SELECT n, b, s FROM t ORDER BY n NULLS LAST', 3, (r) => {
      rows.push([r.int8(), r.bytes()?.toString('hex') ?? null, r.bytes()?.toString('utf8') ?? null]);
    });
    assert.equal(n, 4);
    assert.deepEqual(rows, [
      [-5, '', 'ünïcødé ✓ 𝄞'],
      [1, '00ff10', 'plain'],
      [9007199254740991, null, null],
      [null, 'deadbeef', ''],
    ]);
  });

  it('reads no rows from an empty result', async () => {
    let called = false;
    const n = await copyRows(session.client, 'SELECT n, b, s FROM t WHERE false', 3, () => {
      called = true;
    });
    assert.equal(n, 0);
    assert.equal(called, false);
  });

  it('rejects an int8 beyond 2^53 and a row whose fields are left unread', async () => {
    await assert.rejects(
      copyRows(session.client, 'SELECT 9007199254740993::int8', 1, (r) => r.int8()),
      /beyond 2\^53/,
    );
    await assert.rejects(
      copyRows(session.client, 'SELECT n, b, s FROM t', 3, (r) => r.int8()),
      /2 field\(s\) of a COPY row left unread/,
    );
    await assert.rejects(
      copyRows(session.client, 'SELECT n FROM t', 3, () => {}),
      /has 1 fields, expected 3/,
    );
  });

  it("rejects with the server's error or the reader's, and the session stays usable", async () => {
    await assert.rejects(
      copyRows(session.client, 'SELECT nope FROM t', 1, () => {}),
      /nope/,
    );
    await assert.rejects(
      copyRows(session.client, 'SELECT n, b, s FROM t', 3, () => {
        throw new Error('reader failed');
      }),
      /reader failed/,
    );
    const { rows } = await session.client.query<{ one: number }>('SELECT 1 AS one');
    assert.deepEqual(rows, [{ one: 1 }]);
  });

  it('reads the snapshot of the Kysely transaction it runs in, not later commits', async () => {
    const other = new pg.Client({ connectionString: backend.databaseUrl });
    await other.connect();
    try {
      const seen = await session.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          await sql`SELECT count(*) FROM t`.execute(trx);
          await other.query(`INSERT INTO t VALUES (100, NULL, 'later')`);
          let n = 0;
          await copyRows(session.client, 'SELECT n FROM t', 1, (r) => {
            r.int8();
            n++;
          });
          return n;
        });
      assert.equal(seen, 4);
      const now = await copyRows(session.client, 'SELECT n FROM t', 1, (r) => r.int8());
      assert.equal(now, 5);
    } finally {
      await other.query('DELETE FROM t WHERE n = 100');
      await other.end();
    }
  });
});
