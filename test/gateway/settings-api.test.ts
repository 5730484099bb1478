import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { eventually } from '../support/process.js';
import { type TestServer, testServer } from '../support/runtime.js';
import { addEndpoint, addProject } from './fixtures.js';
import { refuseLedgerWrites } from './ledger-outage.js';
import { startUpstream, type Upstream } from './upstream.js';

const SECRET = 'Bearer upstream-secret-4f1d9c';

for (const dialect of await backends()) {
  describe(`endpoint gateway settings on ${dialect}`, () => {
    let s: TestServer;
    let upstream: Upstream;
    let base: string;
    let outsider: string;

    const call = (path: string, token = s.token) =>
      fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const put = (id: string, settings: object, token?: string) =>
      s.inject({ method: 'PUT', url: `/api/v1/endpoints/${id}/gateway`, body: { settings }, token });
    const events = async (action: string, filter: (e: LedgerEvent) => boolean = () => true) =>
      (await allEvents(s, `action=${action}&wait=integrated`))
        .map((e) => e.event as LedgerEvent)
        .filter(filter);

    before(async () => {
      upstream = await startUpstream();
      s = await testServer(dialect);
      await addProject(s.rt.store.db, 'fraud', ['staging', 'production']);
      for (const name of ['keyed', 'closed', 'open'])
        await addEndpoint(s.rt.store.db, { project: 'fraud', name, upstreamUrl: upstream.url });
      await addEndpoint(s.rt.store.db, {
        project: 'fraud',
        name: 'prod',
        upstreamUrl: upstream.url,
        environment: 'production',
      });
      await s.rt.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(s.rt.app.server.address() as AddressInfo).port}`;
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'service', name: 'outsider' },
      });
      const token = await s.inject({
        method: 'POST',
        url: `/api/v1/principals/${created.json().id}/tokens`,
        body: { description: 'no bindings', scopes: ['*'] },
      });
      outsider = token.json().token;
    });

    after(async () => {
      await s?.close();
      await upstream?.close();
    });

    it('rejects bad settings with 400 naming the fields', async () => {
      const res = await put('ep-keyed', { rateLimit: { perSecond: -1, burst: 1 }, colour: 'red' });
      assert.equal(res.statusCode, 400, res.body);
      const fields = res.json().error.issues.map((i: { field: string }) => i.field);
      assert.ok(fields.includes('settings.rateLimit.perSecond'), fields.join());
      assert.ok(
        fields.some((f: string) => f.startsWith('settings')),
        fields.join(),
      );
      const bad = await put('ep-keyed', { upstreamAuthorization: 'Bearer a\nb' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.issues[0].field, 'settings.upstreamAuthorization');
    });

    it('needs endpoint.configure: a caller without it gets 403 (recorded), an unknown endpoint 404', async () => {
      assert.equal((await put('ep-keyed', {}, outsider)).statusCode, 403);
      const read = await s.inject({
        method: 'GET',
        url: '/api/v1/endpoints/ep-keyed/gateway',
        token: outsider,
      });
      assert.equal(read.statusCode, 403);
      assert.ok((await events('endpoint.configure', (e) => e.outcome === 'denied')).length >= 2);
      assert.equal((await put('ep-none', {})).statusCode, 404);
    });

    it('seals the upstream credential, never returns it, injects it instead of the caller token', async () => {
      const res = await put('ep-keyed', { timeoutMs: 5000, upstreamAuthorization: SECRET });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().upstreamAuthorization, 'set');
      assert.deepEqual(res.json().settings, { timeoutMs: 5000, onLedgerUnavailable: 'fail-closed' });
      const shown = await s.inject({ method: 'GET', url: '/api/v1/endpoints/ep-keyed/gateway' });
      assert.equal(shown.statusCode, 200);
      assert.equal(shown.body.includes('upstream-secret'), false);
      assert.equal(shown.json().upstreamAuthorization, 'set');
      const row = await s.rt.store.db
        .selectFrom('endpoints')
        .select('settings')
        .where('id', '=', 'ep-keyed')
        .executeTakeFirstOrThrow();
      assert.equal(row.settings.includes('upstream-secret'), false, 'stored sealed');

      const called = await call('/gw/fraud/keyed/ok');
      assert.equal(called.status, 200);
      const seen = upstream.seen.at(-1);
      assert.equal(seen?.headers.authorization, SECRET);

      // Changing other settings keeps the credential; null removes it.
      assert.equal((await put('ep-keyed', { timeoutMs: 4000 })).json().upstreamAuthorization, 'set');
      const removed = await put('ep-keyed', { upstreamAuthorization: null });
      assert.equal(removed.json().upstreamAuthorization, 'unset');
      await (await call('/gw/fraud/keyed/ok')).arrayBuffer();
      assert.equal(
        upstream.seen.at(-1)?.headers.authorization,
        undefined,
        'the caller token is never forwarded',
      );

      const changes = await events('endpoint.configure', (e) => e.outcome === 'succeeded');
      assert.deepEqual(
        changes.map((e) => (e.details as { upstreamAuthorization: string }).upstreamAuthorization),
        ['set', 'kept', 'removed'],
      );
      assert.equal(JSON.stringify(changes).includes('upstream-secret'), false, 'never in the ledger');
      assert.equal(changes[0]?.context?.project, 'fraud');
    });

    it('passes the endpoint environment to the policies as context.environment', async () => {
      const files = (await s.inject({ method: 'GET', url: '/api/v1/policy/files' })).json().files;
      const applied = await s.inject({
        method: 'POST',
        url: '/api/v1/policy/bundles',
        body: {
          files: {
            ...files,
            'guardrails/test-production-calls.cedar': `@id("guardrail:test-no-production-calls")
@reason("no gateway calls in production (test)")
forbid (principal, action == Action::"endpoint.invoke", resource)
when { context.environment == "production" };
`,
          },
        },
      });
      assert.equal(applied.statusCode, 201, applied.body);
      const staging = await call('/gw/fraud/closed/ok');
      assert.equal(staging.status, 200);
      await staging.arrayBuffer();
      const prod = await call('/gw/fraud/prod/ok');
      assert.equal(prod.status, 403);
      assert.match(
        ((await prod.json()) as { error: { message: string } }).error.message,
        /production \(test\)/,
      );
      const [denied] = await events('endpoint.invoke', (e) => e.resource.id === 'ep-prod');
      assert.deepEqual(denied?.decision?.policies, ['guardrail:test-no-production-calls']);
      assert.equal(denied?.context?.environment, 'production');
    });

    it('fails closed with 503 and Retry-After while the ledger refuses; a fail-open endpoint serves and records the gap', async () => {
      const opened = await put('ep-open', { onLedgerUnavailable: 'fail-open' });
      assert.equal(opened.statusCode, 200, opened.body);
      const [change] = await events('endpoint.configure', (e) => e.resource.id === 'ep-open');
      assert.match(
        String((change?.details as { ledgerFailure?: string } | undefined)?.ledgerFailure),
        /^fail-open/,
      );

      const restore = await refuseLedgerWrites(s.rt.store);
      let refused: Response | undefined;
      try {
        refused = await eventually('a 503 from the fail-closed endpoint', async () => {
          const res = await call('/gw/fraud/closed/ok');
          await res.arrayBuffer();
          return res.status === 503 ? res : undefined;
        });
        assert.ok(Number(refused.headers.get('retry-after')) >= 1);
        const before = upstream.seen.length;
        for (let i = 0; i < 3; i++) {
          const res = await call('/gw/fraud/open/ok');
          assert.equal(res.status, 200);
          await res.arrayBuffer();
        }
        assert.equal(upstream.seen.length, before + 3);
        const metrics = await s.inject({ method: 'GET', url: '/metrics' });
        assert.match(metrics.body, /warden_gateway_unrecorded_calls_total\{endpoint="fraud\/open"\} 3/);
      } finally {
        await restore();
      }
      const gap = await eventually('the audit gap event', async () => {
        const found = await events('endpoint.audit_gap');
        return found.length > 0 ? found : undefined;
      });
      assert.equal(gap.length, 1);
      const d = gap[0]?.details as { unrecordedCalls: number; from: string; to: string; endpoint: string };
      assert.equal(gap[0]?.resource.id, 'ep-open');
      assert.equal(gap[0]?.context?.project, 'fraud');
      assert.equal(d.unrecordedCalls, 3);
      assert.equal(d.endpoint, 'fraud/open');
      assert.ok(Date.parse(d.from) <= Date.parse(d.to));
      const served = await call('/gw/fraud/closed/ok');
      assert.equal(served.status, 200, 'fail-closed endpoints serve again once the ledger takes events');
    });

    it('shows ledger size, integration lag, decisions and gateway calls on /metrics', async () => {
      const res = await s.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200);
      const size = /^warden_ledger_size (\d+)$/m.exec(res.body);
      assert.ok(size && Number(size[1]) > 0, 'ledger size');
      assert.match(res.body, /^warden_ledger_pending_events \d+$/m);
      assert.match(res.body, /^warden_ledger_integration_lag_seconds [\d.e-]+$/m);
      assert.match(res.body, /^warden_decisions_total\{outcome="allow"\} \d+$/m);
      assert.match(res.body, /^warden_gateway_requests_total\{endpoint="fraud\/keyed",status="200"\} 2$/m);
    });
  });
}
