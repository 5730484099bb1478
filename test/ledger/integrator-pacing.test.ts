import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EventInput, Integrator, type IntegratorOptions, type Ledger } from '../../src/ledger/index.js';
import type { Store } from '../../src/store/index.js';
import { type Backend, backends, freshBackend } from '../support/backends.js';
import { standaloneLedger } from '../support/standalone-ledger.js';

// The integrator's loop: a wake after a quiet spell integrates at once; after a batch that was not
// full, further events gather until idleMs has passed (one batch, one checkpoint, one commit for all
// of them); a full batch is followed at once by the next. idleMs is a minute here, so an event
// integrated before the end of the test was integrated because of a wake, never by the idle poll.

const IDLE_MS = 60_000;
const input = (i: number): EventInput => ({
  actor: { type: 'user', id: `u-${i}`, via: 'api' },
  action: 'dataset.read',
  resource: { type: 'Dataset', id: 'ds' },
  outcome: 'allowed',
});

for (const dialect of await backends()) {
  describe(`integrator pacing on ${dialect}`, () => {
    let backend: Backend | undefined;
    let store: Store | undefined;
    let integrator: Integrator | undefined;

    afterEach(async () => {
      await integrator?.stop();
      await store?.close();
      await backend?.drop();
    });

    async function start(
      batchSize: number,
      make?: (opts: IntegratorOptions) => Integrator,
    ): Promise<{ ledger: Ledger; store: Store; integrator: Integrator }> {
      backend = await freshBackend(dialect);
      const built = await standaloneLedger(
        backend,
        { batchSize, idleMs: IDLE_MS, onError: (err) => assert.fail(err as Error) },
        make,
      );
      ({ store, integrator } = built);
      built.integrator.start();
      return built;
    }

    const checkpointSizes = async (s: Store) =>
      (await s.db.selectFrom('ledger_checkpoints').select('size').orderBy('size').execute()).map((r) =>
        Number(r.size),
      );

    async function waitForSize(s: Store, size: number): Promise<void> {
      for (let i = 0; i < 3000; i++) {
        if ((await checkpointSizes(s)).at(-1) === size) return;
        await sleep(10);
      }
      assert.fail(`no checkpoint of size ${size}: ${await checkpointSizes(s)}`);
    }

    it('integrates the first event after a quiet spell at once, then gathers a trickle into one batch', async () => {
      const { ledger, store: s, integrator: i } = await start(100);
      await ledger.recordAlone(input(0));
      await waitForSize(s, 1);
      // The batch of one was not full: ten more events, each committed and waking the loop, wait.
      for (let k = 1; k <= 10; k++) await ledger.recordAlone(input(k));
      await sleep(50);
      assert.deepEqual(await checkpointSizes(s), [1]);
      // Stopping integrates what is pending now: the ten in one batch under one checkpoint.
      await i.stop();
      assert.deepEqual(await checkpointSizes(s), [1, 11]);
    });

    it('does not lose a wake that comes between a look at the empty queue and its pause', async () => {
      // The event is committed (and wakes the loop) right after the loop found the queue empty.
      let record: (() => Promise<unknown>) | undefined;
      class Racing extends Integrator {
        override async integrateBatch(): Promise<number> {
          const n = await super.integrateBatch();
          const late = record;
          record = undefined;
          if (n === 0 && late !== undefined) await late();
          return n;
        }
      }
      const { ledger, store: s } = await start(100, (opts) => new Racing(opts));
      record = () => ledger.recordAlone(input(0));
      await waitForSize(s, 1);
    });

    it('follows a full batch with the next at once', async () => {
      const { ledger, store: s } = await start(4);
      await s.db.transaction().execute((trx) =>
        ledger.recordMany(
          trx,
          Array.from({ length: 10 }, (_, k) => input(k)),
        ),
      );
      ledger.committed();
      await waitForSize(s, 10);
      assert.deepEqual(await checkpointSizes(s), [4, 8, 10]);
    });
  });
}
