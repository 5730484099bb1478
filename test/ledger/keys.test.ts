import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { EventInput, Integrator, Ledger } from '../../src/ledger/index.js';
import type { Store } from '../../src/store/index.js';
import { type Backend, backends, freshBackend } from '../support/backends.js';
import { standaloneLedger } from '../support/standalone-ledger.js';

// Audit queries by actor or resource read the key tables for entries the integrator has stored keys
// for (migration 009) and scan the rest: integrated entries beyond `ledger_keys_state.indexed` and the
// queue. Each query must find the same events as a plain filter, wherever the events are.

const EVENTS = 40;
const input = (i: number): EventInput => ({
  actor: { type: 'user', id: `u-${i % 3}`, via: 'api' },
  action: i % 2 === 0 ? 'dataset.read' : 'model.read',
  resource: { type: 'Dataset', id: `ds-${i % 4}` },
  outcome: 'allowed',
  context: { project: i % 5 === 0 ? 'alpha' : 'beta' },
});

for (const dialect of await backends()) {
  describe(`audit query keys on ${dialect}`, () => {
    let backend: Backend;
    let store: Store;
    let ledger: Ledger;
    let integrator: Integrator;
    const ids: string[] = [];

    before(async () => {
      backend = await freshBackend(dialect);
      // The integrator is never started: the test integrates batch by batch.
      ({ store, ledger, integrator } = await standaloneLedger(backend, {
        batchSize: 5,
        keysBatch: 8,
        idleMs: 20,
        onError: () => {},
      }));
      for (let i = 0; i < EVENTS; i += 4) {
        const recorded = await store.db.transaction().execute((trx) =>
          ledger.recordMany(
            trx,
            [0, 1, 2, 3].map((k) => input(i + k)),
          ),
        );
        ids.push(...recorded.map((r) => r.event.id));
      }
    });
    after(async () => {
      await store?.close();
      await backend?.drop();
    });

    /** The ids of the recorded events with these inputs, in recording order. */
    const expected = (match: (i: number) => boolean) => ids.filter((_, i) => match(i));

    async function assertQueries(where: string): Promise<void> {
      for (let a = 0; a < 3; a++) {
        const { events } = await ledger.queryEvents({ actor: `u-${a}`, limit: 100 });
        assert.deepEqual(
          events.map((e) => e.id),
          expected((i) => i % 3 === a),
          `actor u-${a}, ${where}`,
        );
      }
      for (let r = 0; r < 4; r++) {
        const { events } = await ledger.queryEvents({
          resourceId: `ds-${r}`,
          action: 'dataset.read',
          limit: 100,
        });
        assert.deepEqual(
          events.map((e) => e.id),
          expected((i) => i % 4 === r && i % 2 === 0),
          `resource ds-${r}, ${where}`,
        );
      }
      // Both keys, and pages that continue after a cursor.
      const both = expected((i) => i % 3 === 1 && i % 4 === 1);
      const first = await ledger.queryEvents({ actor: 'u-1', resourceId: 'ds-1', limit: 2 });
      assert.deepEqual(
        first.events.map((e) => e.id),
        both.slice(0, 2),
        `both keys, ${where}`,
      );
      const rest = await ledger.queryEvents({
        actor: 'u-1',
        resourceId: 'ds-1',
        after: first.next ?? 0,
        limit: 100,
      });
      assert.deepEqual(
        rest.events.map((e) => e.id),
        both.slice(2),
        `both keys after a cursor, ${where}`,
      );
    }

    const state = async () => {
      const { indexed } = await store.db
        .selectFrom('ledger_keys_state')
        .select('indexed')
        .executeTakeFirstOrThrow();
      const leaves = await store.db
        .selectFrom('ledger_leaves')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      const queued = await store.db
        .selectFrom('ledger_queue')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return { indexed: Number(indexed), leaves: Number(leaves.n), queued: Number(queued.n) };
    };

    it('finds queued events', async () => {
      assert.deepEqual(await state(), { indexed: 0, leaves: 0, queued: EVENTS });
      await assertQueries('all queued');
    });

    it('finds events with keys stored, integrated without them yet, and queued, each once', async () => {
      // Batches of 5: keys are stored once 8 integrated entries lack them, i.e. at 10 and 20 leaves.
      for (let b = 0; b < 5; b++) assert.equal(await integrator.integrateBatch(), 5);
      assert.deepEqual(await state(), { indexed: 20, leaves: 25, queued: EVENTS - 25 });
      await assertQueries('keys stored for 20, 25 integrated, 15 queued');
      while ((await integrator.integrateBatch()) > 0) {}
      assert.deepEqual(await state(), { indexed: EVENTS, leaves: EVENTS, queued: 0 });
      await assertQueries('all keys stored');
      const seqs = (await ledger.queryEvents({ actor: 'u-0', limit: 100 })).events.map((e) => e.seq);
      assert.ok(seqs.every((s) => typeof s === 'number'));
    });

    it('keeps keys insert-only and the indexed count growing', async () => {
      const rejected = [
        "UPDATE ledger_actor_keys SET actor_id = 'x'",
        'DELETE FROM ledger_actor_keys',
        "UPDATE ledger_resource_keys SET resource_id = 'x'",
        'DELETE FROM ledger_resource_keys',
        'UPDATE ledger_keys_state SET indexed = 0',
        'DELETE FROM ledger_keys_state',
      ];
      for (const statement of rejected) {
        await assert.rejects(sql.raw(statement).execute(store.db), /insert-only|only grows/, statement);
      }
    });
  });
}
