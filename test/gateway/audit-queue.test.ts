import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditQueue } from '../../src/gateway/index.js';
import type { EventInput, Ledger } from '../../src/ledger/index.js';
import type { Store } from '../../src/store/index.js';

/** A store and ledger whose writes fail while `down` is set, keeping what they were given otherwise. */
function fakeLedger() {
  const state = { down: true, written: [] as EventInput[] };
  const store = {
    db: {
      transaction: () => ({
        execute: async (fn: (trx: unknown) => Promise<unknown>) => {
          if (state.down) throw new Error('ledger down (test)');
          return fn({});
        },
      }),
    },
  } as unknown as Store;
  const ledger = {
    recordMany: async (_trx: unknown, events: EventInput[]) => {
      state.written.push(...events);
      return [];
    },
    committed: () => {},
  } as unknown as Ledger;
  return { state, store, ledger };
}

const call = (endpoint: string, n: number): EventInput => ({
  actor: { type: 'service', id: 'svc', via: 'gateway' },
  action: 'endpoint.invoke',
  resource: { type: 'Endpoint', id: endpoint },
  outcome: 'succeeded',
  context: { project: 'fraud', environment: 'staging' },
  details: { endpoint: `fraud/${endpoint}`, n },
});

describe('AuditQueue', () => {
  it('holds at most twice its limit while the ledger is down, counts the rest, and records the gap after', async () => {
    const { state, store, ledger } = fakeLedger();
    const clock = { ms: 1_000_000, now: () => clock.ms };
    const queue = new AuditQueue({ store, ledger, clock, limit: 2, onError: () => {} });
    const pushed = [0, 1, 2, 3, 4, 5].map((n) => {
      clock.ms += 10;
      return queue.push(call('ep-a', n));
    });
    assert.deepEqual(pushed, [true, true, true, true, false, false], 'four held (2 × limit), two counted');
    queue.skip(call('ep-b', 9));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(queue.health().accepting, false);
    state.down = false;
    await queue.drain();
    assert.deepEqual(
      state.written.filter((e) => e.action === 'endpoint.invoke').map((e) => e.details?.n),
      [0, 1, 2, 3],
    );
    const gaps = state.written.filter((e) => e.action === 'endpoint.audit_gap');
    assert.deepEqual(
      gaps.map((g) => [g.resource.id, g.details?.unrecordedCalls, g.context?.project]),
      [
        ['ep-a', 2, 'fraud'],
        ['ep-b', 1, 'fraud'],
      ],
    );
    assert.equal(gaps[0]?.details?.from, new Date(1_000_050).toISOString());
    assert.equal(gaps[0]?.details?.to, new Date(1_000_060).toISOString());
    assert.equal(queue.health().accepting, true);
  });
});
