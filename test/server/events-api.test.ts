import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openCheckpoint } from '../../src/ledger/checkpoint.js';
import { leafHash, parseTlogProof, parseVkey, verifyInclusion } from '../../src/ledger/index.js';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';

const ce = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'https://ci.example/pipelines/7',
  type: 'com.example.build.finished',
  data: { ok: true },
  ...extra,
});

for (const dialect of await backends()) {
  describe(`events API on ${dialect}`, () => {
    let s: TestServer;
    before(async () => {
      s = await testServer(dialect);
    });
    after(() => s.close());

    it('ingests one event and a batch, attributed to the caller, and integrates them on request', async () => {
      const one = await s.inject({ method: 'POST', url: '/api/v1/events', body: ce('a-1') });
      assert.equal(one.statusCode, 202);
      assert.equal(one.json().accepted, 1);
      const batch = await s.inject({
        method: 'POST',
        url: '/api/v1/events?wait=integrated',
        body: [ce('b-1'), ce('b-2', { subject: 'model/7', wardenproject: 'fraud' })],
        headers: { 'content-type': 'application/cloudevents-batch+json' },
      });
      assert.equal(batch.statusCode, 201);
      const seqs = batch.json().events.map((e: { seq: number }) => e.seq);
      assert.equal(seqs.length, 2);
      assert.ok(seqs.every((q: unknown) => typeof q === 'number'));
      assert.equal(seqs[1], seqs[0] + 1);
      const q = await s.inject({ method: 'GET', url: '/api/v1/audit/events?project=fraud' });
      assert.equal(q.statusCode, 200);
      const [ev] = q.json().events;
      assert.equal(ev.event.action, 'external.com.example.build.finished');
      assert.equal(ev.event.actor.type, 'service');
      assert.equal(ev.event.actor.id, s.rt.bootstrap.principalId);
      assert.equal(ev.event.details.cloudevent.subject, 'model/7');
      assert.equal(ev.seq, seqs[1]);
      // The event carries the decision that allowed the call: deciding policy, bundle hash, request id.
      assert.deepEqual(ev.event.decision.policies, ['role:platform-admin']);
      assert.match(ev.event.decision.bundle, /^[0-9a-f]{64}$/);
      assert.equal(typeof ev.event.request.id, 'string');
    });

    it('rejects bad input with 400 naming the field and writes nothing', async () => {
      const before = (
        await s.inject({ method: 'GET', url: '/api/v1/audit/events?action=external.x&limit=1000' })
      ).json().events.length;
      const cases: [unknown, string][] = [
        [[ce('ok'), { ...ce('bad'), specversion: '0.3' }], '[1].specversion'],
        [{ ...ce('x'), time: 'yesterday' }, 'time'],
        [{ ...ce('x'), id: 7 }, 'id'],
        [{ ...ce('x'), source: undefined }, 'source'],
        [{ ...ce('x'), data_base64: 'AA==' }, 'data_base64'],
        [{ ...ce('x'), 'Bad-Name': 1 }, 'Bad-Name'],
        [{ ...ce('x'), ext: { nested: true } }, 'ext'],
        ['[1,2', 'body'],
        [[], 'body'],
        [Array.from({ length: 1001 }, (_, i) => ce(`n${i}`)), 'body'],
      ];
      for (const [body, field] of cases) {
        const res = await s.inject({ method: 'POST', url: '/api/v1/events', body });
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        const fields = (res.json().error.issues ?? []).map((i: { field: string }) => i.field);
        assert.ok(fields.includes(field), `${field} not named in ${res.body}`);
      }
      const after = (
        await s.inject({ method: 'GET', url: '/api/v1/audit/events?action=external.x&limit=1000' })
      ).json().events.length;
      assert.equal(after, before);
    });

    it('answers 401 without a valid token and records the failed attempt', async () => {
      for (const token of [null, 'wdn_not-a-real-token-at-all-000000']) {
        const res = await s.inject({ method: 'POST', url: '/api/v1/events', body: ce('z'), token });
        assert.equal(res.statusCode, 401);
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="warden"');
      }
      const denied = await s.inject({
        method: 'GET',
        url: '/api/v1/audit/events?action=auth.authenticate&outcome=denied',
      });
      const reasons = denied
        .json()
        .events.map((e: { event: { decision: { reason: string } } }) => e.event.decision.reason);
      assert.ok(reasons.some((r: string) => r.includes('authentication required')));
      assert.ok(reasons.some((r: string) => r.includes('not recognised')));
      assert.ok(!denied.body.includes('wdn_not-a-real-token'), 'the presented secret must not be recorded');
    });

    it('serves a tlog-proof that verifies against the signed checkpoint', async () => {
      const res = await s.inject({ method: 'POST', url: '/api/v1/events?wait=integrated', body: ce('p-1') });
      const { id, seq } = res.json().events[0];
      const proofRes = await s.inject({ method: 'GET', url: `/api/v1/audit/events/${id}/proof` });
      assert.equal(proofRes.statusCode, 200);
      const proof = parseTlogProof(proofRes.body);
      assert.equal(proof.index, seq);
      const key = parseVkey(s.rt.ledger.verifierKey);
      const cp = openCheckpoint(proof.checkpoint, key, key.name);
      const stored = (await s.inject({ method: 'GET', url: `/api/v1/audit/events/${id}` })).json();
      const { canonicalJson } = await import('../../src/core/index.js');
      verifyInclusion(leafHash(Buffer.from(canonicalJson(stored.event))), seq, cp.size, proof.proof, cp.root);
    });

    it('paginates with a cursor and never repeats an event', async () => {
      await s.inject({
        method: 'POST',
        url: '/api/v1/events',
        body: Array.from({ length: 25 }, (_, i) => ce(`pg-${i}`)),
      });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/api/v1/audit/events?action=external.com.example.build.finished&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await s.inject({ method: 'GET', url })).json();
        seen.push(...page.events.map((e: { id: string }) => e.id));
        cursor = page.next;
      } while (cursor !== null);
      assert.equal(new Set(seen).size, seen.length);
      assert.ok(seen.length >= 25);
    });
  });
}
