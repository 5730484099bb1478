import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateToken } from '../../src/identity/index.js';
import { addEndpoint } from '../gateway/fixtures.js';
import { startUpstream, type Upstream } from '../gateway/upstream.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { eventually } from '../support/process.js';
import { type TestServer, testServer } from '../support/runtime.js';

// Each detector on a running server, from the requests a user would make: quiet on normal traffic,
// then each scripted misuse raises its alert (the denied-burst and oversized scenarios, with
// suspensions, are in monitor-api.test.ts and gateway-suspend.test.ts).
for (const dialect of await backends()) {
  describe(`detectors on a running server, ${dialect}`, () => {
    let s: TestServer;
    let upstream: Upstream;
    let base: string;
    let caller: string;
    let reader: string;
    let dataset: string;
    // Monday 10:00 UTC: inside the default working hours.
    const clock = { ms: Date.parse('2026-03-02T10:00:00Z'), now: () => clock.ms };
    const MINUTE = 60_000;

    const api = async (method: string, url: string, opts: { body?: unknown; token?: string | null } = {}) => {
      const res = await s.inject({
        method,
        url,
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        ...(opts.token !== undefined ? { token: opts.token } : {}),
      });
      return res;
    };

    let gatewayCalls = 0;
    /** `n` model calls through the gateway, waiting until their events are in the ledger. */
    async function invoke(n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${base}/gw/fraud/scorer/v2/models/m/infer`, {
          method: 'POST',
          headers: { authorization: `Bearer ${caller}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ data: [1, 2] }] }),
        });
        assert.equal(res.status, 200, await res.text());
      }
      gatewayCalls += n;
      // Events are stamped when the gateway writes its batch: wait before the clock moves on.
      await eventually(`${gatewayCalls} gateway events`, async () => {
        const found = await allEvents(s, 'action=endpoint.invoke&wait=integrated');
        return found.length >= gatewayCalls ? true : undefined;
      });
    }

    async function reads(n: number): Promise<void> {
      const grant = await api('POST', `/api/v1/datasets/${dataset}/access-requests`, {
        token: reader,
        body: { purpose: 'analytics' },
      });
      assert.equal(grant.statusCode, 201, grant.body);
      for (let i = 0; i < n; i++) {
        const res = await s.inject({
          method: 'POST',
          url: `/api/v1/datasets/${dataset}/reads`,
          token: reader,
          body: { grant: grant.json().id },
          headers: { 'x-warden-purpose': 'analytics' },
        });
        assert.equal(res.statusCode, 200, res.body);
      }
    }

    async function badLogins(n: number): Promise<void> {
      for (let i = 0; i < n; i++)
        assert.equal((await api('GET', '/api/v1/auth/whoami', { token: generateToken() })).statusCode, 401);
    }

    async function alerts(): Promise<{ kind: string; subject: { type: string; id: string } }[]> {
      await s.rt.ledger.waitIntegrated(5000);
      await s.rt.monitor.runOnce();
      const res = await api('GET', '/api/v1/alerts');
      assert.equal(res.statusCode, 200, res.body);
      return res.json().alerts;
    }

    async function principal(name: string, role: string): Promise<{ id: string; token: string }> {
      const created = await api('POST', '/api/v1/principals', { body: { type: 'service', name } });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id as string;
      const bound = await api('POST', '/api/v1/bindings', {
        body: { role, principal: { type: 'ServiceAccount', id }, resource: { type: 'Project', id: 'fraud' } },
      });
      assert.equal(bound.statusCode, 201, bound.body);
      const token = await api('POST', `/api/v1/principals/${id}/tokens`, { body: { description: name } });
      return { id, token: token.json().token };
    }

    before(async () => {
      upstream = await startUpstream();
      s = await testServer(
        dialect,
        {
          detectors: JSON.stringify({
            rateSpike: { windowSeconds: 60, factor: 3, minCalls: 10, warmupWindows: 2 },
            authFailures: { threshold: 5, windowSeconds: 60 },
            bulkReads: { threshold: 5, windowSeconds: 60 },
          }),
          // Passes are driven by the test.
          monitorIntervalMs: '3600000',
        },
        clock,
      );
      assert.equal((await api('POST', '/api/v1/projects', { body: { id: 'fraud' } })).statusCode, 201);
      const ds = await api('POST', '/api/v1/projects/fraud/datasets', {
        body: {
          name: 'transactions',
          sensitivity: 'internal',
          allowedPurposes: ['analytics'],
          piiFields: [],
          locationUri: 's3://lake/transactions',
          versionDigest: `sha256:${'a'.repeat(64)}`,
        },
      });
      assert.equal(ds.statusCode, 201, ds.body);
      dataset = ds.json().id;
      await addEndpoint(s.rt.store.db, {
        project: 'fraud',
        name: 'scorer',
        upstreamUrl: upstream.url,
        protocol: 'open-inference-v2',
      });
      caller = (await principal('scorer-client', 'data-scientist')).token;
      reader = (await principal('analyst', 'data-scientist')).token;
      await s.rt.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(s.rt.app.server.address() as AddressInfo).port}`;
    });

    after(async () => {
      await s?.close();
      await upstream?.close();
    });

    it('stays quiet on normal traffic: a steady call rate, a few reads and failed logins, changes by day', async () => {
      for (let w = 0; w < 4; w++) {
        await invoke(12); // steady: never over 3× its own baseline
        clock.ms += MINUTE;
      }
      await reads(3);
      await badLogins(3);
      await principal('daytime-bot', 'model-validator'); // a binding.create within working hours
      assert.deepEqual(await alerts(), []);
    });

    it('raises each detector’s alert on its scripted misuse', async () => {
      clock.ms += MINUTE;
      await invoke(40); // over 3× the baseline of ~7 calls a minute
      await reads(6); // over 5 dataset reads within a minute
      await badLogins(6); // over 5 failed authentications from one address
      clock.ms = Date.parse('2026-03-02T23:30:00Z');
      await principal('night-bot', 'model-validator'); // a privileged change at night
      const raised = await alerts();
      assert.deepEqual(raised.map((a) => a.kind).sort(), [
        'auth_failures',
        'bulk_reads',
        'off_hours',
        'rate_spike',
      ]);
      const bySubject = Object.fromEntries(raised.map((a) => [a.kind, a.subject.type]));
      assert.deepEqual(bySubject, {
        auth_failures: 'SourceIp',
        bulk_reads: 'ServiceAccount',
        off_hours: 'ServiceAccount',
        rate_spike: 'ServiceAccount',
      });
      const recorded = await allEvents(s, 'action=alert.raise&wait=integrated');
      assert.equal(recorded.length, 4, 'each alert is recorded in the ledger');
    });
  });
}
