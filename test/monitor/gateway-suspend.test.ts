import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { addEndpoint, addProject } from '../gateway/fixtures.js';
import { startUpstream, type Upstream } from '../gateway/upstream.js';
import { backends } from '../support/backends.js';
import { eventually } from '../support/process.js';
import { type TestServer, testServer } from '../support/runtime.js';

for (const dialect of await backends()) {
  describe(`auto-suspension at the gateway on ${dialect}`, () => {
    let s: TestServer;
    let upstream: Upstream;
    let base: string;
    let caller: string;
    const clock = { ms: Date.parse('2026-03-02T10:00:00Z'), now: () => clock.ms };

    const call = (body: string) =>
      fetch(`${base}/gw/fraud/small/v2/models/m/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${caller}`, 'content-type': 'application/json' },
        body,
      });

    before(async () => {
      upstream = await startUpstream();
      s = await testServer(
        dialect,
        {
          detectors: JSON.stringify({
            rateSpike: { enabled: false },
            oversized: { severity: 'critical', suspend: { target: 'token', minutes: 5 } },
          }),
          monitorIntervalMs: '3600000',
        },
        clock,
      );
      await addProject(s.rt.store.db, 'fraud', ['staging']);
      await addEndpoint(s.rt.store.db, {
        project: 'fraud',
        name: 'small',
        upstreamUrl: upstream.url,
        settings: { maxPayloadBytes: 64 },
      });
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'service', name: 'scorer-client' },
      });
      const id = created.json().id;
      const bound = await s.inject({
        method: 'POST',
        url: '/api/v1/bindings',
        body: {
          role: 'data-scientist',
          principal: { type: 'ServiceAccount', id },
          resource: { type: 'Project', id: 'fraud' },
        },
      });
      assert.equal(bound.statusCode, 201, bound.body);
      const token = await s.inject({
        method: 'POST',
        url: `/api/v1/principals/${id}/tokens`,
        body: { description: 'client' },
      });
      caller = token.json().token;
      await s.rt.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(s.rt.app.server.address() as AddressInfo).port}`;
    });

    after(async () => {
      await s?.close();
      await upstream?.close();
    });

    const small = JSON.stringify({ inputs: [{ data: [1, 2] }] });

    it('an oversized call suspends the token: the next call is refused, and works again after the period', async () => {
      assert.equal((await call(small)).status, 200);
      assert.equal((await call(JSON.stringify({ inputs: [{ data: Array(100).fill(1) }] }))).status, 413);
      // The gateway writes its call events in batches just after the response: wait for the alert.
      const alert = await eventually('the oversized alert', async () => {
        await s.rt.ledger.waitIntegrated(5000);
        await s.rt.monitor.runOnce();
        return (await s.inject({ method: 'GET', url: '/api/v1/alerts?severity=critical' })).json().alerts[0];
      });
      assert.equal(alert.kind, 'oversized');
      assert.equal(alert.project, 'fraud');
      assert.equal((await call(small)).status, 401, 'the next call is refused at once');

      clock.ms += 4 * 60_000;
      await s.rt.monitor.runOnce();
      assert.equal((await call(small)).status, 401, 'still within the period');

      clock.ms += 2 * 60_000;
      await s.rt.monitor.runOnce();
      assert.equal((await call(small)).status, 200);
      const lifted = await s.inject({
        method: 'GET',
        url: '/api/v1/audit/events?wait=integrated&action=token.suspension_lift',
      });
      assert.equal(lifted.json().events[0]?.event.details.alertId, alert.id);
    });
  });
}
