import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signOms } from '../../src/registry/oms/index.js';
import { type CliServer, startCliServer } from '../support/cli-server.js';
import { ecKeyPair } from '../support/lifecycle-fixtures.js';
import { provenanceStatement } from '../support/provenance.js';
import { tarFiles } from '../support/tar.js';

describe('warden model promote | approve, promotion and endpoint commands against a running server', () => {
  let s: CliServer;
  const tokens: Record<string, string> = {};
  const key = ecKeyPair();
  let version = '';

  /** Calls the API directly (setup the CLI tests do not cover). */
  async function http(
    method: string,
    url: string,
    body?: unknown,
    type = 'application/json',
    token = s.admin,
  ) {
    const res = await fetch(s.server.url + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${url}: ${res.status} ${text}`);
    return JSON.parse(text);
  }
  const cli = (as: string, args: string[], code = 0) =>
    s.cli(args, { code, ...(tokens[as] !== undefined ? { token: tokens[as] } : {}) });
  const json = async (as: string, args: string[]) => JSON.parse((await cli(as, args)).stdout);

  before(async () => {
    s = await startCliServer('workflow-cli');
    await http('POST', '/api/v1/projects', { id: 'fraud' });
    await http('POST', '/api/v1/projects/fraud/signers', { name: 'ci', kind: 'key', pem: key.publicKey });
    for (const [name, role] of [
      ['ds', 'data-scientist'],
      ['rel', 'platform-admin'],
      ['val1', 'model-validator'],
      ['val2', 'model-validator'],
    ] as const) {
      const p = await http('POST', '/api/v1/principals', { type: 'service', name });
      await http('POST', '/api/v1/bindings', {
        role,
        principal: { type: 'ServiceAccount', id: p.id },
        resource: { type: 'Project', id: 'fraud' },
      });
      tokens[name] = (
        await http('POST', `/api/v1/principals/${p.id}/tokens`, { description: 'cli', scopes: ['*'] })
      ).token;
    }
    const model = await http(
      'POST',
      '/api/v1/projects/fraud/models',
      { name: 'scorer' },
      'application/json',
      tokens.ds,
    );
    const files = { 'weights.bin': 'cli weights' };
    const uploaded = await http(
      'POST',
      `/api/v1/models/${model.id}/versions`,
      tarFiles(files),
      'application/x-tar',
      tokens.ds,
    );
    version = uploaded.id;
    const modelDir = join(s.dir, 'model');
    await mkdir(modelDir);
    await writeFile(join(modelDir, 'weights.bin'), files['weights.bin']);
    const bundle = JSON.parse(await signOms({ modelDir, privateKey: key.privateKey }));
    await http('POST', `/api/v1/model-versions/${version}/signatures`, bundle, 'application/json', tokens.ds);
    const datasetRes = await http('POST', '/api/v1/projects/fraud/datasets', {
      name: 'cards',
      versionDigest: `sha256:${'d'.repeat(64)}`,
      sensitivity: 'internal',
      allowedPurposes: [],
      piiFields: [],
      locationUri: 's3://lake/cards',
    });
    await http(
      'PUT',
      `/api/v1/model-versions/${version}/provenance`,
      provenanceStatement({
        manifestDigest: uploaded.manifestDigest,
        datasets: [{ name: 'cards', id: datasetRes.id, digest: datasetRes.versionDigest }],
      }),
      'application/json',
      tokens.ds,
    );
  });
  after(() => s?.close());

  it('documents every command in --help', async () => {
    for (const args of [
      ['model', 'promote'],
      ['model', 'approve'],
      ['model', 'reject'],
      ['model', 'rollback'],
      ['model', 'retire'],
      ['model', 'alias'],
      ['promotion', 'show'],
      ['promotion', 'cancel'],
      ['endpoint', 'create'],
      ['endpoint', 'deploy'],
      ['endpoint', 'rollback'],
      ['endpoint', 'history'],
    ]) {
      const res = await cli('admin', [...args, '--help']);
      assert.match(res.stdout, /^Usage: warden /, args.join(' '));
    }
  });

  it('promotes to staging and production, approves twice, deploys, and refuses self-approval (exit 2)', async () => {
    const staged = await json('ds', [
      'model',
      'promote',
      version,
      '--to',
      'staging',
      '--rationale',
      'eval passed',
    ]);
    assert.equal(staged.status, 'completed');
    const req = await json('rel', [
      'model',
      'promote',
      version,
      '--to',
      'production',
      '--rationale',
      'ship it',
    ]);
    assert.equal(req.status, 'pending');
    const self = await cli('rel', ['model', 'approve', req.id], 2);
    assert.match(self.stderr, /requester cannot approve/);
    assert.equal((await json('val1', ['model', 'approve', req.id, '--comment', 'ok'])).status, 'pending');
    assert.equal((await json('val2', ['model', 'approve', req.id])).status, 'completed');
    const shown = await json('ds', ['promotion', 'show', req.id]);
    assert.deepEqual(
      shown.approvals.map((a: { comment: string | null }) => a.comment),
      ['ok', null],
    );
    assert.equal((await json('ds', ['promotion', 'list', version])).promotions.length, 2);
    const ep = await json('rel', [
      'endpoint',
      'create',
      'fraud',
      'scoring',
      '--environment',
      'production',
      '--upstream-url',
      'http://127.0.0.1:9000',
    ]);
    const deployed = await json('rel', ['endpoint', 'deploy', ep.id, version, '--rationale', 'launch']);
    assert.equal(deployed.status, 'active');
    assert.equal((await json('rel', ['endpoint', 'show', ep.id])).active.version, version);
    assert.equal((await json('rel', ['endpoint', 'history', ep.id])).deployments.length, 1);
    assert.equal((await json('rel', ['endpoint', 'list', 'fraud'])).endpoints.length, 1);
    const none = await cli('val1', ['endpoint', 'rollback', ep.id, '--rationale', 'nothing before'], 2);
    assert.match(none.stderr, /no earlier deployment/);
    const model = (await http('GET', `/api/v1/model-versions/${version}`)).model.id;
    const alias = await json('val1', ['model', 'alias', model, 'champion', version]);
    assert.equal(alias.version, version);
    assert.equal((await json('val1', ['model', 'alias', model, 'champion', '--remove'])).removed, true);
  });
});
