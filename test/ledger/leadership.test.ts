import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Backend, freshBackend, PG_ADMIN_URL, postgresAvailable } from '../support/backends.js';
import {
  eventually,
  freePort,
  type IngestResult,
  ingest,
  newToken,
  type Readiness,
  readiness,
  runCli,
  type ServerProcess,
  spawnServer,
  startLoad,
  waitReady,
} from '../support/process.js';

// Throws under CI=true when PostgreSQL is unreachable, so CI fails rather than skips.
const pgUp = await postgresAvailable();

/** Both replicas' readiness once each answers and exactly one leads; undefined until then. */
async function roles(a: ServerProcess, b: ServerProcess): Promise<[Readiness, Readiness] | undefined> {
  const [ra, rb] = await Promise.all([readiness(a), readiness(b)]);
  if (ra === undefined || rb === undefined) return undefined;
  return [ra.integrator, rb.integrator].sort().join() === 'follower,leader' ? [ra, rb] : undefined;
}

/** Asserts that every event of a `?wait=integrated` ingest answer got a sequence number. */
function assertIntegrated(res: IngestResult, via: string) {
  assert.equal(res.status, 201, `ingest through ${via}: ${res.error}`);
  assert.ok(
    res.events.every((e) => typeof e.seq === 'number'),
    `events ingested through ${via} were not integrated: ${JSON.stringify(res.events)}`,
  );
}

describe('integrator leadership across two replicas on postgres', {
  skip: pgUp ? false : `PostgreSQL is unavailable at ${PG_ADMIN_URL} (set CI=true to make this a failure)`,
}, () => {
  let backend: Backend;
  let env: Record<string, string>;
  const token = newToken();
  let leader: ServerProcess;
  let follower: ServerProcess;
  let db: pg.Client;

  before(async () => {
    backend = await freshBackend('postgres');
    env = {
      WARDEN_DATA_DIR: backend.dataDir,
      WARDEN_DATABASE_URL: backend.databaseUrl,
      WARDEN_BOOTSTRAP_TOKEN: token,
      WARDEN_LOG_LEVEL: 'warn',
    };
    // The first replica bootstraps and creates the keys; the second shares them through the data dir.
    // The names are provisional until the first test has asked each replica which role it has.
    leader = spawnServer(await freePort(), env);
    await waitReady(leader);
    follower = spawnServer(await freePort(), env);
    await waitReady(follower);
    db = new pg.Client({ connectionString: backend.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await Promise.all([leader?.kill(), follower?.kill()]);
    await db?.end();
    await backend?.drop();
  });

  it('serves the API on both replicas while exactly one integrates', async () => {
    const [ra, rb] = await eventually('one leader and one follower', () => roles(leader, follower));
    if (rb.integrator === 'leader') [leader, follower] = [follower, leader];
    assert.equal(ra.status, 'ready');
    assert.equal(rb.status, 'ready');
    for (let i = 0; i < 5; i++) {
      assert.equal((await readiness(leader))?.integrator, 'leader');
      assert.equal((await readiness(follower))?.integrator, 'follower');
      await new Promise((r) => setTimeout(r, 100));
    }
    assertIntegrated(await ingest(leader, token, 3, { wait: true }), 'the leader');
    assertIntegrated(await ingest(follower, token, 3, { wait: true }), 'the follower');
  });

  it('hands integration to the follower when the leader is killed under load', async () => {
    const maxBefore = Number((await db.query('SELECT max(seq) AS m FROM ledger_leaves')).rows[0].m);
    const loads = [startLoad(leader, token, 4), startLoad(follower, token, 4)];
    await eventually('load on both replicas', async () => {
      for (const l of loads)
        assert.equal(l.rejected.length, 0, `a replica rejected ingest: ${l.rejected[0]}`);
      return loads.every((l) => l.acked.size >= 50) ? true : undefined;
    });
    await leader.kill('SIGKILL');
    await eventually('the follower to take over', async () =>
      (await readiness(follower))?.integrator === 'leader' ? true : undefined,
    );
    const fresh = await ingest(follower, token, 5, { wait: true });
    assertIntegrated(fresh, 'the new leader');
    assert.ok((fresh.events[0]?.seq as number) > maxBefore, 'new events continue the sequence');
    await Promise.all(loads.map((l) => l.stop()));
    for (const l of loads) assert.deepEqual(l.rejected, [], 'a replica rejected ingest requests');

    // Everything either replica acknowledged, before or after the kill, is stored and gets integrated.
    const acked = loads.flatMap((l) => [...l.acked]);
    const stored = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM ledger_events WHERE id = ANY($1)',
      [acked],
    );
    assert.equal(stored.rows[0]?.n, acked.length, 'acknowledged events are missing from the store');
    await eventually('every acknowledged event to be integrated', async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ledger_events e
         WHERE e.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM ledger_leaves l WHERE l.pos = e.pos)`,
        [acked],
      );
      return rows[0]?.n === 0 ? true : undefined;
    });
  });

  it('leaves a log that verifies, with no sequence number given twice', async () => {
    const verify = await runCli(['audit', 'verify', '--quiet'], env);
    assert.equal(verify.code, 0, `audit verify failed:\n${verify.stdout}${verify.stderr}`);
    const { rows } = await db.query<{
      n: number;
      distinct: number;
      max: number;
      leaves: number;
      events: number;
      queued: number;
    }>(
      `SELECT count(l.seq)::int AS n, count(DISTINCT l.seq)::int AS distinct, max(l.seq)::int AS max,
                (SELECT count(*)::int FROM ledger_leaves) AS leaves,
                count(DISTINCT l.pos)::int AS events, (SELECT count(*)::int FROM ledger_queue) AS queued
         FROM ledger_events e JOIN ledger_leaves l ON l.pos = e.pos`,
    );
    const [r] = rows;
    assert.ok(r !== undefined && r.n > 0);
    assert.equal(r.distinct, r.n, 'a sequence number was assigned twice');
    assert.equal(r.max, r.n - 1, 'sequence numbers have a gap');
    assert.equal(r.leaves, r.n, 'leaf hashes and sequenced events differ in number');
    assert.equal(r.events, r.n, 'an event was integrated twice');
    assert.equal(r.queued, 0, 'events are still queued');
  });
});
