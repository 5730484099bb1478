import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Backend, freshBackend } from '../support/backends.js';
import {
  call,
  eventually,
  freePort,
  newToken,
  runCli,
  type ServerProcess,
  spawnServer,
  waitReady,
} from '../support/process.js';

describe('warden alert against a running server', () => {
  let backend: Backend;
  let server: ServerProcess;
  let dir: string;
  const admin = newToken();
  const env = () => ({
    WARDEN_URL: server.url,
    WARDEN_TOKEN: admin,
    WARDEN_PROFILE: join(dir, 'profile.json'),
  });
  const cli = async (args: string[], code = 0) => {
    const res = await runCli(args, env());
    assert.equal(res.code, code, `warden ${args.join(' ')}: ${res.stderr}${res.stdout}`);
    return res;
  };
  const json = async (args: string[]) => JSON.parse((await cli(args)).stdout);

  before(async () => {
    backend = await freshBackend('sqlite');
    dir = await mkdtemp(join(tmpdir(), 'warden-alert-cli-'));
    server = spawnServer(await freePort(), {
      WARDEN_DATA_DIR: backend.dataDir,
      WARDEN_BOOTSTRAP_TOKEN: admin,
      WARDEN_LOG_LEVEL: 'warn',
      WARDEN_DETECTORS: JSON.stringify({ deniedActions: { threshold: 3, windowSeconds: 60 } }),
      WARDEN_ALERT_WEBHOOKS: JSON.stringify([
        { url: 'http://127.0.0.1:1/hook', secret: 'a-secret-of-16-chars' },
      ]),
      WARDEN_WEBHOOK_MAX_ATTEMPTS: '1',
      WARDEN_MONITOR_INTERVAL_MS: '50',
    });
    await waitReady(server);
  });
  after(async () => {
    await server?.kill();
    await backend?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('documents every command in --help', async () => {
    for (const args of [
      ['alert'],
      ['alert', 'list'],
      ['alert', 'show'],
      ['alert', 'ack'],
      ['alert', 'resolve'],
      ['alert', 'lift'],
      ['alert', 'deliveries'],
      ['alert', 'retry'],
    ]) {
      const res = await cli([...args, '--help']);
      assert.match(res.stdout, /^Usage: warden /, args.join(' '));
    }
  });

  it('lists, acknowledges and resolves an alert, and shows the dead letters', async () => {
    const svc = await call(server, 'POST', '/api/v1/principals', admin, { type: 'service', name: 'noisy' });
    const token = await call(server, 'POST', `/api/v1/principals/${svc.body.id}/tokens`, admin, {
      description: 'x',
    });
    for (let i = 0; i < 3; i++)
      assert.equal((await call(server, 'GET', '/api/v1/principals', token.body.token)).status, 403);
    const alert = await eventually(
      'an alert',
      async () => (await json(['alert', 'list', '--status', 'open'])).alerts[0],
    );
    assert.equal(alert.kind, 'denied_actions');
    assert.equal((await json(['alert', 'show', alert.id])).subject.id, svc.body.id);
    assert.equal((await json(['alert', 'ack', alert.id, '--note', 'looking'])).status, 'acknowledged');
    assert.equal((await json(['alert', 'resolve', alert.id])).status, 'resolved');
    const lift = await cli(['alert', 'lift', alert.id], 2);
    assert.match(lift.stderr, /no suspension/);
    const dead = await eventually(
      'a dead letter',
      async () => (await json(['alert', 'deliveries', '--status', 'dead'])).deliveries[0],
    );
    assert.equal(dead.alertId, alert.id);
    assert.equal((await json(['alert', 'retry', dead.id])).status, 'pending');
    await cli(['alert', 'list', '--severity', 'loud'], 1);
  });
});
