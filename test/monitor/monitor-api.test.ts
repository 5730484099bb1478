import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Alerts, Monitor, parseMonitorSettings, signWebhook } from '../../src/monitor/index.js';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';

/** A webhook receiver that checks every signature and fails the first `failures` posts to /flaky. */
class Receiver {
  readonly received: { path: string; alert: { id: string; kind: string }; delivery: string }[] = [];
  readonly badSignatures: string[] = [];
  #flakyLeft: number;
  #server: Server | undefined;
  url = '';

  constructor(
    readonly secret: string,
    failures: number,
  ) {
    this.#flakyLeft = failures;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const ts = String(req.headers['x-warden-timestamp']);
        if (req.headers['x-warden-signature'] !== signWebhook(this.secret, ts, body)) {
          this.badSignatures.push(body);
          res.writeHead(401).end();
          return;
        }
        if (req.url === '/down' || (req.url === '/flaky' && this.#flakyLeft-- > 0)) {
          res.writeHead(500).end('not now');
          return;
        }
        const parsed = JSON.parse(body) as { alert: { id: string; kind: string } };
        this.received.push({
          path: String(req.url),
          alert: parsed.alert,
          delivery: String(req.headers['x-warden-delivery']),
        });
        res.writeHead(204).end();
      });
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server?.close(() => resolve()));
  }
}

const SECRET = 'whsec-0123456789abcdef';

for (const dialect of await backends()) {
  describe(`misuse detection over HTTP on ${dialect}`, () => {
    let s: TestServer;
    const clock = { ms: Date.parse('2026-03-02T10:00:00Z'), now: () => clock.ms };
    const receiver = new Receiver(SECRET, 2);
    let svc: string;
    let tokenA: { id: string; token: string };
    let tokenB: { id: string; token: string };

    before(async () => {
      await receiver.start();
      s = await testServer(
        dialect,
        {
          detectors: JSON.stringify({
            deniedActions: { threshold: 5, windowSeconds: 60, suspend: { target: 'token', minutes: 10 } },
            rateSpike: { enabled: false },
          }),
          alertWebhooks: JSON.stringify([
            { url: `${receiver.url}/flaky`, secret: SECRET },
            { url: `${receiver.url}/down`, secret: SECRET, kinds: ['denied_actions'] },
            { url: `${receiver.url}/critical-only`, secret: SECRET, minSeverity: 'critical' },
          ]),
          // Passes are driven by the test.
          monitorIntervalMs: '3600000',
          webhookMaxAttempts: '3',
          webhookBackoffMs: '1000',
        },
        clock,
      );
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'service', name: 'batch-job' },
      });
      assert.equal(created.statusCode, 201, created.body);
      svc = created.json().id;
      const issue = async () => {
        const res = await s.inject({
          method: 'POST',
          url: `/api/v1/principals/${svc}/tokens`,
          body: { description: 'job token' },
        });
        assert.equal(res.statusCode, 201, res.body);
        return { id: res.json().id as string, token: res.json().token as string };
      };
      tokenA = await issue();
      tokenB = await issue();
    });

    after(async () => {
      await s?.close();
      await receiver.close();
    });

    async function pass(): Promise<void> {
      await s.rt.ledger.waitIntegrated(5000);
      await s.rt.monitor.runOnce();
    }

    async function events(action: string) {
      const res = await s.inject({
        method: 'GET',
        url: `/api/v1/audit/events?wait=integrated&action=${action}`,
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().events.map((e: { event: unknown }) => e.event);
    }

    it('stays quiet on normal traffic', async () => {
      for (let i = 0; i < 4; i++) {
        const res = await s.inject({ method: 'GET', url: '/api/v1/principals', token: tokenA.token });
        assert.equal(res.statusCode, 403);
        clock.ms += 30_000;
      }
      for (let i = 0; i < 5; i++) {
        assert.equal(
          (await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token: tokenA.token })).statusCode,
          200,
        );
      }
      await pass();
      const res = await s.inject({ method: 'GET', url: '/api/v1/alerts' });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().alerts, []);
    });

    it('a burst of denied actions raises one alert, recorded, and suspends the token at once', async () => {
      clock.ms += 120_000;
      for (let i = 0; i < 7; i++) {
        const res = await s.inject({ method: 'GET', url: '/api/v1/principals', token: tokenA.token });
        assert.equal(res.statusCode, 403);
      }
      await pass();
      await pass();
      const list = (
        await s.inject({ method: 'GET', url: '/api/v1/alerts?status=open&kind=denied_actions' })
      ).json();
      assert.equal(list.alerts.length, 1);
      const alert = list.alerts[0];
      assert.deepEqual(alert.subject, { type: 'ServiceAccount', id: svc });
      assert.equal(alert.severity, 'warning');

      const refused = await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token: tokenA.token });
      assert.equal(refused.statusCode, 401, refused.body);
      assert.match(refused.json().message ?? refused.body, /suspended/);
      const other = await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token: tokenB.token });
      assert.equal(other.statusCode, 200, 'only the offending token is suspended');

      const raised = await events('alert.raise');
      assert.equal(raised.length, 1);
      assert.equal(raised[0].resource.id, alert.id);
      const suspended = await events('token.suspend');
      assert.deepEqual(suspended[0].resource, { type: 'ApiToken', id: tokenA.id });
      assert.equal(suspended[0].details.alertId, alert.id);

      const metrics = await s.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /warden_alerts_total\{kind="denied_actions",severity="warning"\} 1/);
    });

    it('never raises the same window twice, even when a restarted monitor reads everything again', async () => {
      await s.rt.store.db.deleteFrom('settings').where('key', '=', 'monitor.cursor').execute();
      const settings = parseMonitorSettings({
        detectors: s.rt.config.detectors,
        webhooks: [],
        intervalMs: 1000,
        webhookMaxAttempts: 1,
        webhookBackoffMs: 1,
      });
      const fresh = new Monitor({
        store: s.rt.store,
        ledger: s.rt.ledger,
        alerts: new Alerts({ store: s.rt.store, ledger: s.rt.ledger, clock, webhooks: [] }),
        clock,
        settings,
        isLeader: () => true,
        onAlert: () => assert.fail('no new alert expected'),
        onError: (err) => assert.fail(String(err)),
      });
      await fresh.runOnce();
      const list = (await s.inject({ method: 'GET', url: '/api/v1/alerts' })).json();
      assert.equal(list.alerts.length, 1);
    });

    it('delivers signed webhooks, retrying with backoff, and dead-letters what keeps failing', async () => {
      // The first pass tried once; two more passes after the backoff.
      for (let i = 0; i < 3; i++) {
        clock.ms += 60_000;
        await pass();
      }
      assert.deepEqual(receiver.badSignatures, []);
      assert.equal(receiver.received.length, 1, 'only /flaky accepts, on its third attempt');
      assert.equal(receiver.received[0]?.path, '/flaky');
      assert.equal(receiver.received[0]?.alert.kind, 'denied_actions');
      const all = (await s.inject({ method: 'GET', url: '/api/v1/alerts/deliveries' })).json().deliveries;
      assert.equal(all.length, 2, 'the critical-only webhook was not sent a warning');
      const delivered = all.find((d: { url: string }) => d.url.endsWith('/flaky'));
      assert.equal(delivered.status, 'delivered');
      assert.equal(delivered.attempts, 3);
      const dead = (await s.inject({ method: 'GET', url: '/api/v1/alerts/deliveries?status=dead' })).json()
        .deliveries;
      assert.equal(dead.length, 1);
      assert.equal(dead[0].lastError, 'HTTP 500');
      assert.equal(dead[0].attempts, 3);

      const retry = await s.inject({ method: 'POST', url: `/api/v1/alerts/deliveries/${dead[0].id}/retry` });
      assert.equal(retry.statusCode, 200, retry.body);
      assert.equal(retry.json().status, 'pending');
      assert.equal(
        (await s.inject({ method: 'POST', url: `/api/v1/alerts/deliveries/${dead[0].id}/retry` })).statusCode,
        409,
      );
      assert.equal((await events('alert.delivery_retry')).length, 1);
    });

    it('lifts the suspension when its period ends, and records it', async () => {
      clock.ms += 11 * 60_000;
      await pass();
      const res = await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token: tokenA.token });
      assert.equal(res.statusCode, 200, res.body);
      const lifted = await events('token.suspension_lift');
      assert.equal(lifted.length, 1);
      assert.deepEqual(lifted[0].actor, { type: 'system', id: 'monitor', via: 'system' });
    });

    it('acknowledges and resolves an alert, refusing moves that make no sense', async () => {
      const [alert] = (await s.inject({ method: 'GET', url: '/api/v1/alerts' })).json().alerts;
      const ack = await s.inject({
        method: 'POST',
        url: `/api/v1/alerts/${alert.id}/acknowledge`,
        body: { note: 'on it' },
      });
      assert.equal(ack.statusCode, 200, ack.body);
      assert.equal(ack.json().status, 'acknowledged');
      assert.equal(
        (await s.inject({ method: 'POST', url: `/api/v1/alerts/${alert.id}/acknowledge`, body: {} }))
          .statusCode,
        409,
      );
      const res = await s.inject({
        method: 'POST',
        url: `/api/v1/alerts/${alert.id}/resolve`,
        body: { note: 'batch bug' },
      });
      assert.equal(res.json().status, 'resolved');
      assert.equal(
        (await s.inject({ method: 'GET', url: '/api/v1/alerts?status=resolved' })).json().alerts.length,
        1,
      );
      assert.equal(
        (await s.inject({ method: 'GET', url: '/api/v1/alerts?status=open' })).json().alerts.length,
        0,
      );
      assert.equal((await s.inject({ method: 'GET', url: '/api/v1/alerts/nope/resolve' })).statusCode, 404);
      assert.equal(
        (await s.inject({ method: 'POST', url: '/api/v1/alerts/nope/resolve', body: {} })).statusCode,
        404,
      );
      const bad = await s.inject({ method: 'GET', url: '/api/v1/alerts?severity=loud' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /severity/);
      const [resolved] = await events('alert.resolve');
      assert.equal(resolved.details.note, 'batch bug');
      assert.equal((await events('alert.acknowledge')).length, 1);
    });
  });

  describe(`principal suspension and an administrator's lift on ${dialect}`, () => {
    let s: TestServer;
    const clock = { ms: Date.parse('2026-03-02T10:00:00Z'), now: () => clock.ms };

    before(async () => {
      s = await testServer(
        dialect,
        {
          detectors: JSON.stringify({
            deniedActions: { threshold: 3, windowSeconds: 60, suspend: { target: 'principal', minutes: 60 } },
          }),
          monitorIntervalMs: '3600000',
        },
        clock,
      );
    });
    after(() => s?.close());

    it('suspends every credential of the principal until an administrator lifts it', async () => {
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'service', name: 'etl' },
      });
      const id = created.json().id;
      const tokens = [];
      for (let i = 0; i < 2; i++) {
        const t = await s.inject({
          method: 'POST',
          url: `/api/v1/principals/${id}/tokens`,
          body: { description: 'etl' },
        });
        tokens.push(t.json().token as string);
      }
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await s.inject({ method: 'GET', url: '/api/v1/principals', token: tokens[0] })).statusCode,
          403,
        );
      await s.rt.ledger.waitIntegrated(5000);
      await s.rt.monitor.runOnce();
      for (const token of tokens)
        assert.equal((await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token })).statusCode, 401);
      const [alert] = (await s.inject({ method: 'GET', url: '/api/v1/alerts' })).json().alerts;
      const lift = await s.inject({
        method: 'POST',
        url: `/api/v1/alerts/${alert.id}/lift-suspension`,
        body: { note: 'known job' },
      });
      assert.equal(lift.statusCode, 200, lift.body);
      assert.deepEqual(lift.json(), { lifted: 1 });
      for (const token of tokens)
        assert.equal((await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token })).statusCode, 200);
      assert.equal(
        (await s.inject({ method: 'POST', url: `/api/v1/alerts/${alert.id}/lift-suspension`, body: {} }))
          .statusCode,
        409,
      );
      const res = await s.inject({
        method: 'GET',
        url: '/api/v1/audit/events?wait=integrated&action=principal.suspension_lift',
      });
      const [ev] = res.json().events;
      assert.equal(ev.event.details.note, 'known job');
      assert.equal(ev.event.actor.id, s.rt.bootstrap.principalId);
      assert.equal(
        (
          await s.inject({
            method: 'GET',
            url: '/api/v1/audit/events?wait=integrated&action=principal.suspend',
          })
        ).json().events[0].event.details.alertId,
        alert.id,
      );
    });
  });
}

if ((await backends()).includes('postgres')) {
  describe('events whose transaction commits after a later one on postgres', () => {
    let s: TestServer;
    const clock = { ms: Date.parse('2026-03-02T10:00:00Z'), now: () => clock.ms };

    before(async () => {
      s = await testServer(
        'postgres',
        {
          detectors: JSON.stringify({
            offHours: { timezone: 'UTC', hours: '00:00-00:01', days: ['Sun'] },
            rateSpike: { enabled: false },
          }),
          monitorIntervalMs: '3600000',
        },
        clock,
      );
    });
    after(() => s?.close());

    it('are still judged when they show up', async () => {
      const applied = {
        actor: { type: 'user', id: 'late-admin', via: 'api' },
        action: 'policy.apply',
        resource: { type: 'Platform', id: 'root' },
        outcome: 'succeeded',
      } as const;
      const slow = await s.rt.store.db.startTransaction().execute();
      await s.rt.ledger.record(slow, applied);
      await s.rt.ledger.recordAlone({ ...applied, actor: { ...applied.actor, id: 'quick-admin' } });
      await s.rt.ledger.waitIntegrated(5000);
      await s.rt.monitor.runOnce();
      await slow.commit().execute();
      s.rt.ledger.committed();
      await s.rt.ledger.waitIntegrated(5000);
      await s.rt.monitor.runOnce();
      const alerts = (await s.inject({ method: 'GET', url: '/api/v1/alerts?kind=off_hours' })).json().alerts;
      assert.deepEqual(alerts.map((a: { subject: { id: string } }) => a.subject.id).sort(), [
        'late-admin',
        'quick-admin',
      ]);
    });
  });
}
