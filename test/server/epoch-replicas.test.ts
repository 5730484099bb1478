import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PG_ADMIN_URL, postgresAvailable } from '../support/backends.js';
import { call, type Replicas, type ServerProcess, startReplicas } from '../support/process.js';

// Throws under CI=true when PostgreSQL is unreachable, so CI fails rather than skips.
const pgUp = await postgresAvailable();

describe('authorization changes reach every replica on the next request (postgres)', {
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

  it('a binding granted and revoked on replica A decides the very next request on replica B', async () => {
    const sa = await call(a, 'POST', '/api/v1/principals', admin, { type: 'service', name: 'auditor-bot' });
    assert.equal(sa.status, 201, sa.text);
    const id = sa.body.id as string;
    const issued = await call(a, 'POST', `/api/v1/principals/${id}/tokens`, admin, {
      description: 'replica test',
    });
    assert.equal(issued.status, 201, issued.text);
    const token = issued.body.token as string;

    // B decides first, so it holds a cached denial that only the epoch can invalidate.
    assert.equal((await call(b, 'GET', '/api/v1/ledger/info', token)).status, 403);
    assert.equal((await call(b, 'GET', '/api/v1/ledger/info', token)).status, 403);

    const bound = await call(a, 'POST', '/api/v1/bindings', admin, {
      role: 'security-auditor',
      principal: { type: 'ServiceAccount', id },
      resource: { type: 'Platform', id: 'root' },
    });
    assert.equal(bound.status, 201, bound.text);
    assert.equal((await call(b, 'GET', '/api/v1/ledger/info', token)).status, 200);

    const revoked = await call(a, 'POST', `/api/v1/bindings/${bound.body.id}/revoke`, admin, {});
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal((await call(b, 'GET', '/api/v1/ledger/info', token)).status, 403);
  });

  it('a policy bundle applied on replica A is in force on replica B at once', async () => {
    const sa = await call(a, 'POST', '/api/v1/principals', admin, { type: 'service', name: 'metrics-bot' });
    const id = sa.body.id as string;
    const token = (
      await call(a, 'POST', `/api/v1/principals/${id}/tokens`, admin, { description: 'metrics' })
    ).body.token as string;
    await call(a, 'POST', '/api/v1/bindings', admin, {
      role: 'security-auditor',
      principal: { type: 'ServiceAccount', id },
      resource: { type: 'Platform', id: 'root' },
    });
    assert.equal((await call(b, 'GET', '/metrics', token)).status, 403);
    const { files } = (await call(a, 'GET', '/api/v1/policy/files', admin)).body as {
      files: Record<string, string>;
    };
    const role = 'roles/security-auditor.cedar';
    assert.ok(files[role]?.includes('Action::"audit.query"'));
    const changed = {
      ...files,
      [role]: (files[role] as string).replace(
        'Action::"audit.query",',
        'Action::"audit.query",\n    Action::"metrics.read",',
      ),
    };
    const applied = await call(a, 'POST', '/api/v1/policy/bundles', admin, { files: changed });
    assert.equal(applied.status, 201, applied.text);
    assert.equal((await call(b, 'GET', '/metrics', token)).status, 200);
    assert.equal((await call(b, 'GET', '/api/v1/policy', admin)).body.version, applied.body.version);
  });

  it('a token revoked on replica A is refused by replica B on the next request, though B had cached it', async () => {
    const sa = await call(a, 'POST', '/api/v1/principals', admin, { type: 'service', name: 'cached-bot' });
    const id = sa.body.id as string;
    const issued = await call(a, 'POST', `/api/v1/principals/${id}/tokens`, admin, { description: 'cached' });
    const token = issued.body.token as string;
    // B authenticates the token twice: the second time from its token cache.
    assert.equal((await call(b, 'GET', '/api/v1/auth/whoami', token)).status, 200);
    assert.equal((await call(b, 'GET', '/api/v1/auth/whoami', token)).status, 200);
    const revoked = await call(a, 'POST', `/api/v1/tokens/${issued.body.id}/revoke`, admin, {});
    assert.equal(revoked.status, 200, revoked.text);
    const refused = await call(b, 'GET', '/api/v1/auth/whoami', token);
    assert.equal(refused.status, 401, refused.text);
    assert.match(refused.text, /revoked/);
  });
});
