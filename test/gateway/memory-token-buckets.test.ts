import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryTokenBuckets } from '../../src/gateway/index.js';

describe('MemoryTokenBuckets', () => {
  it('allows a burst, then refills at the rate and says when to retry', () => {
    const clock = { ms: 0, now: () => clock.ms };
    const buckets = new MemoryTokenBuckets(clock);
    const limit = { perSecond: 2, burst: 3 };
    for (let i = 0; i < 3; i++) assert.equal(buckets.take('p', limit).allowed, true);
    assert.deepEqual(buckets.take('p', limit), { allowed: false, retryAfter: 1 });
    assert.equal(buckets.take('q', limit).allowed, true, 'keys are independent');
    clock.ms = 500;
    assert.equal(buckets.take('p', limit).allowed, true);
    assert.equal(buckets.take('p', limit).allowed, false);
  });

  it('never allows more than the burst plus what the elapsed time refilled', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 200 }),
        (perSecond, burst, steps) => {
          const clock = { ms: 0, now: () => clock.ms };
          const buckets = new MemoryTokenBuckets(clock);
          let allowed = 0;
          for (const step of steps) {
            clock.ms += step;
            if (buckets.take('k', { perSecond, burst }).allowed) allowed++;
          }
          assert.ok(allowed <= burst + (clock.ms / 1000) * perSecond + 1e-9);
        },
      ),
    );
  });

  it('forgets the least recently used buckets past its size', () => {
    const clock = { ms: 0, now: () => clock.ms };
    const buckets = new MemoryTokenBuckets(clock, 2);
    const limit = { perSecond: 0.001, burst: 1 };
    buckets.take('a', limit);
    buckets.take('b', limit);
    buckets.take('c', limit);
    assert.equal(buckets.take('a', limit).allowed, true, 'a was evicted and comes back full');
    assert.equal(buckets.take('c', limit).allowed, false);
  });
});
