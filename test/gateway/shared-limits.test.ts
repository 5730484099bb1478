import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisTokenBuckets } from '../../src/gateway/index.js';
import { openStore } from '../../src/store/index.js';
import { allEvents } from '../support/audit.js';
import { backends, postgresAvailable } from '../support/backends.js';
import { eventually, type Replicas, startReplicas } from '../support/process.js';
import { type TestServer, testServer } from '../support/runtime.js';
import { addEndpoint, addProject } from './fixtures.js';
import { REDIS_URL, redisAvailable } from './redis.js';
import { startUpstream, type Upstream } from './upstream.js';

const prefix = () => `warden-test:${randomBytes(6).toString('hex')}:`;

describe('Redis token buckets', { skip: !(await redisAvailable()) && 'Redis is not running' }, () => {
  it('allows the burst, refuses with a retry time and lets idle buckets expire', async () => {
    const p = prefix();
    const buckets = new RedisTokenBuckets({ url: REDIS_URL, prefix: p });
    const redis = new Redis(REDIS_URL);
    try {
      const limit = { perSecond: 0.5, burst: 3 };
      for (let i = 0; i < 3; i++) assert.equal((await buckets.take('k', limit)).allowed, true);
      assert.deepEqual(await buckets.take('k', limit), { allowed: false, retryAfter: 2 });
      assert.equal((await buckets.take('other', limit)).allowed, true, 'keys are independent');
      const ttl = await redis.pttl(`${p}k`);
      assert.ok(ttl > 0 && ttl <= 7000, `expiry set to the time to refill (${ttl} ms)`);
    } finally {
      await buckets.close();
      redis.disconnect();
    }
  });

  it('refuses with 503 and a retry time when Redis cannot be reached', async () => {
    const buckets = new RedisTokenBuckets({ url: 'redis://127.0.0.1:1', prefix: prefix() });
    try {
      await assert.rejects(
        buckets.take('k', { perSecond: 1, burst: 1 }),
        (err: Error & Record<string, unknown>) => {
          assert.equal(err.code, 'WARDEN_UNAVAILABLE');
          assert.equal(err.retryAfter, 1);
          return true;
        },
      );
    } finally {
      await buckets.close();
    }
  });
});

for (const dialect of await backends()) {
  describe(`gateway with an unreachable Redis on ${dialect}`, () => {
    let s: TestServer;
    let upstream: Upstream;

    before(async () => {
      upstream = await startUpstream();
      s = await testServer(dialect, { redisUrl: 'redis://127.0.0.1:1' });
      await addProject(s.rt.store.db, 'fraud', ['staging']);
      await addEndpoint(s.rt.store.db, { project: 'fraud', name: 'plain', upstreamUrl: upstream.url });
    });

    after(async () => {
      await s?.close();
      await upstream?.close();
    });

    it('fails closed: 503 with Retry-After, recorded, and the model server never called', async () => {
      const seen = upstream.seen.length;
      const res = await s.inject({ method: 'GET', url: '/gw/fraud/plain/ok' });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(res.json().error.code, 'WARDEN_UNAVAILABLE');
      assert.equal(upstream.seen.length, seen);
      const events = await eventually('the refusal event', async () => {
        const found = (await allEvents(s, 'action=endpoint.invoke&wait=integrated')).filter(
          (e) => e.event?.outcome === 'denied',
        );
        return found.length > 0 ? found : undefined;
      });
      const details = events[0]?.event?.details as Record<string, unknown>;
      assert.equal(details.status, 503);
      assert.equal(details.reason, 'rate limiter unavailable');
    });
  });
}

const shared = (await redisAvailable()) && (await postgresAvailable());
describe('rate limits shared by two replicas through Redis', {
  skip: !shared && 'needs Redis and PostgreSQL',
}, () => {
  let replicas: Replicas;
  let upstream: Upstream;

  before(async () => {
    upstream = await startUpstream();
    replicas = await startReplicas({
      WARDEN_REDIS_URL: REDIS_URL,
      WARDEN_REDIS_PREFIX: prefix(),
      WARDEN_GATEWAY_RATE_PER_SECOND: '0.01',
      WARDEN_GATEWAY_BURST: '6',
    });
    const store = await openStore({ databaseUrl: replicas.databaseUrl, sqlitePath: '', poolSize: 1 });
    try {
      await addProject(store.db, 'fraud', ['staging']);
      await addEndpoint(store.db, { project: 'fraud', name: 'plain', upstreamUrl: upstream.url });
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await replicas?.stop();
    await upstream?.close();
  });

  it('spends one burst across both replicas, then both answer 429 with Retry-After', async () => {
    const call = async (i: number) => {
      const server = i % 2 === 0 ? replicas.a : replicas.b;
      const res = await fetch(`${server.url}/gw/fraud/plain/ok`, {
        headers: { authorization: `Bearer ${replicas.admin}` },
      });
      await res.arrayBuffer();
      return res;
    };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(i)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200], 'the burst of 6, three calls on each replica');
    for (const i of [6, 7]) {
      const res = await call(i);
      assert.equal(res.status, 429, `call ${i} on replica ${i % 2 === 0 ? 'A' : 'B'}`);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    }
  });
});
