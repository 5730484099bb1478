import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { type EventInput, type Ledger, leafHashOfText } from '../../src/ledger/index.js';
import type { Store } from '../../src/store/index.js';
import { type Backend, backends, freshBackend } from '../support/backends.js';
import { standaloneLedger } from '../support/standalone-ledger.js';

// The recorder queues each event's position with its leaf hash for the integrator. On SQLite it does not
// read the positions back: it takes them to be the consecutive keys ending at the last one inserted. Each
// queued position must name its own event, across statements (500 events each), transactions and a
// rollback in between.

const input = (i: number): EventInput => ({
  actor: { type: 'user', id: `u-${i}`, via: 'api' },
  action: 'dataset.read',
  resource: { type: 'Dataset', id: `ds-${i}` },
  outcome: 'allowed',
});
const inputs = (from: number, n: number) => Array.from({ length: n }, (_, k) => input(from + k));

for (const dialect of await backends()) {
  describe(`recorder queue on ${dialect}`, () => {
    let backend: Backend;
    let store: Store;
    let ledger: Ledger;

    before(async () => {
      backend = await freshBackend(dialect);
      ({ store, ledger } = await standaloneLedger(backend, {
        batchSize: 100,
        idleMs: 20,
        onError: () => {},
      }));
    });
    after(async () => {
      await store?.close();
      await backend?.drop();
    });

    it('queues every recorded event at its own position with its own leaf hash', async () => {
      const ids: string[] = [];
      const record = async (events: EventInput[]) => {
        const recorded = await store.db.transaction().execute((trx) => ledger.recordMany(trx, events));
        ids.push(...recorded.map((r) => r.event.id));
      };
      await record(inputs(0, 3));
      // Two statements in one transaction (500 + 201 events).
      await record(inputs(3, 701));
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await ledger.recordMany(trx, inputs(704, 10));
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      await record(inputs(714, 1));

      const { rows } = await sql<{ pos: number; hash: Buffer; id: string; body: string }>`
        SELECT q.pos, q.hash, e.id, e.body FROM ledger_queue q JOIN ledger_events e ON e.pos = q.pos
        ORDER BY q.pos`.execute(store.db);
      assert.equal(rows.length, ids.length);
      assert.deepEqual(
        rows.map((r) => r.id),
        ids,
      );
      for (const row of rows) {
        assert.deepEqual(Buffer.from(row.hash), leafHashOfText(row.body), `hash queued at ${row.pos}`);
      }
      const events = await sql<{ n: number }>`SELECT count(*) AS n FROM ledger_events`.execute(store.db);
      assert.equal(Number(events.rows[0]?.n), ids.length, 'the rolled-back events left no row');
    });
  });
}
