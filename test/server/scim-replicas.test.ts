import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PG_ADMIN_URL, postgresAvailable } from '../support/backends.js';
import { call, type Replicas, type ServerProcess, startReplicas } from '../support/process.js';

// Throws under CI=true when PostgreSQL is unreachable, so CI fails rather than skips.
const pgUp = await postgresAvailable();

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

function histogram(metrics: string): { count: number; sum: number } {
  const value = (name: string) =>
    Number(new RegExp(`^warden_revocation_seconds_${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
  return { count: value('count'), sum: value('sum') };
}

describe('SCIM deactivation across two replicas on postgres', {
  skip: pgUp ? false : `PostgreSQL is unavailable at ${PG_ADMIN_URL} (set CI=true to make this a failure)`,
}, () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let admin: string;
  let replicas: Replicas | undefined;

  before(async () => {
    replicas = await startReplicas();
    ({ a, b, admin } = replicas);
  });
  after(() => replicas?.stop());

  it('a SCIM deactivation through replica A is refused by replica B on the very next request', async (t) => {
    // The identity provider's service account, set up through the JSON API as the bootstrap admin.
    const sa = await call(a, 'POST', '/api/v1/principals', admin, { type: 'service', name: 'entra-scim' });
    assert.equal(sa.status, 201, sa.text);
    const bound = await call(a, 'POST', '/api/v1/bindings', admin, {
      role: 'platform-admin',
      principal: { type: 'ServiceAccount', id: sa.body.id },
      resource: { type: 'Platform', id: 'root' },
    });
    assert.equal(bound.status, 201, bound.text);
    const scimToken = (
      await call(a, 'POST', `/api/v1/principals/${sa.body.id}/tokens`, admin, {
        scopes: ['scim.provision'],
        description: 'SCIM',
      })
    ).body.token;

    const user = await call(
      a,
      'POST',
      '/scim/v2/Users',
      scimToken,
      { schemas: [USER], userName: 'kim@contoso.example', active: true },
      'application/scim+json',
    );
    assert.equal(user.status, 201, user.text);
    const issued = await call(a, 'POST', `/api/v1/principals/${user.body.id}/tokens`, admin, {
      scopes: ['*'],
      description: 'notebook',
    });
    assert.equal(issued.status, 201, issued.text);
    const token: string = issued.body.token;
    const password = 'Replica-Test-Passw0rd';
    assert.equal(
      (await call(a, 'POST', `/api/v1/principals/${user.body.id}/password`, admin, { password })).status,
      204,
    );
    const login = await fetch(`${b.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'kim@contoso.example', password }),
    });
    assert.equal(login.status, 200);
    const session: string = ((await login.json()) as { token: string }).token;

    // The user works through replica B (warming whatever B caches).
    for (let i = 0; i < 3; i++) {
      for (const credential of [token, session]) {
        const ok = await call(b, 'GET', '/api/v1/auth/whoami', credential);
        assert.equal(ok.status, 200, ok.text);
      }
    }
    const before = histogram((await call(b, 'GET', '/metrics', admin)).text);

    const started = performance.now();
    const off = await call(
      a,
      'PATCH',
      `/scim/v2/Users/${user.body.id}`,
      scimToken,
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] },
      'application/scim+json',
    );
    const deactivated = performance.now();
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body.active, false);
    const refused = await call(b, 'GET', '/api/v1/auth/whoami', token);
    const refusedAt = performance.now();
    assert.equal(refused.status, 401, refused.text);
    assert.equal((await call(b, 'GET', '/api/v1/auth/whoami', session)).status, 401);

    const metrics = await call(b, 'GET', '/metrics', admin);
    assert.equal(metrics.status, 200, metrics.text);
    const now = histogram(metrics.text);
    assert.ok(
      now.count >= before.count + 2,
      `B's warden_revocation_seconds has no new sample:\n${metrics.text}`,
    );
    t.diagnostic(
      `SCIM PATCH on A took ${(deactivated - started).toFixed(1)} ms; B refused ${(refusedAt - deactivated).toFixed(1)} ms after it answered ` +
        `(${(refusedAt - started).toFixed(1)} ms from the SCIM call); B's warden_revocation_seconds: ${now.count - before.count} samples, ` +
        `mean ${(((now.sum - before.sum) / (now.count - before.count)) * 1000).toFixed(1)} ms`,
    );
  });
});
