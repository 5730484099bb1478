import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signOms } from '../../src/registry/oms/index.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type Actor, ecKeyPair, serviceAccount } from '../support/lifecycle-fixtures.js';
import { provenanceStatement } from '../support/provenance.js';
import { type InjectResult, type TestServer, testServer } from '../support/runtime.js';
import { tarFiles, uploadVersion } from '../support/tar.js';

// The whole governed lifecycle over HTTP, through the public API only: register (tar upload) →
// sign → provenance → staging → production with two validators' approvals → deploy to a production
// endpoint; then a second version the same way, and a rollback of both the model and the endpoint.
// The ledger shows each step, in order.
for (const dialect of await backends()) {
  describe(`governed lifecycle end to end (${dialect})`, () => {
    let s: TestServer;
    let ds: Actor;
    let rel: Actor;
    let val1: Actor;
    let val2: Actor;
    let model: string;
    let dataset: { id: string; digest: string };
    const key = ecKeyPair();

    const api = (method: string, url: string, token?: string, body?: unknown): Promise<InjectResult> =>
      s.inject({ method, url, body, ...(token !== undefined ? { token } : {}) });
    async function ok(res: InjectResult, status = 200) {
      assert.equal(res.statusCode, status, res.body);
      return res.json();
    }

    /** Uploads, signs and attaches provenance: the steps a data scientist takes. */
    async function register(files: Record<string, string>): Promise<string> {
      const uploaded = await uploadVersion(s, model, tarFiles(files), { token: ds.token });
      assert.equal(uploaded.statusCode, 201, uploaded.body);
      const version = uploaded.json();
      assert.equal(version.stage, 'registered');
      const dir = await mkdtemp(join(tmpdir(), 'warden-e2e-'));
      try {
        for (const [path, body] of Object.entries(files)) await writeFile(join(dir, path), body);
        const bundle = JSON.parse(await signOms({ modelDir: dir, privateKey: key.privateKey }));
        await ok(await api('POST', `/api/v1/model-versions/${version.id}/signatures`, ds.token, bundle), 201);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const statement = provenanceStatement({
        manifestDigest: version.manifestDigest,
        datasets: [{ name: 'cards', id: dataset.id, digest: dataset.digest }],
        metrics: { auc: 0.94 },
      });
      await ok(await api('PUT', `/api/v1/model-versions/${version.id}/provenance`, ds.token, statement));
      return version.id;
    }

    /** staging (no approvals) → production request → two validators approve. */
    async function promote(id: string, why: string) {
      const staged = await ok(
        await api('POST', `/api/v1/model-versions/${id}/promotions`, ds.token, {
          target: 'staging',
          rationale: `${why}: offline eval passed`,
        }),
        201,
      );
      assert.equal(staged.status, 'completed');
      const req = await ok(
        await api('POST', `/api/v1/model-versions/${id}/promotions`, rel.token, {
          target: 'production',
          rationale: why,
        }),
        201,
      );
      assert.equal(req.status, 'pending');
      assert.equal(req.requiredApprovals, 2);
      const first = await ok(
        await api('POST', `/api/v1/promotions/${req.id}/approvals`, val1.token, {
          decision: 'approve',
          comment: 'eval ok',
        }),
        201,
      );
      assert.equal(first.status, 'pending');
      const second = await ok(
        await api('POST', `/api/v1/promotions/${req.id}/approvals`, val2.token, {
          decision: 'approve',
          comment: 'lgtm',
        }),
        201,
      );
      assert.equal(second.status, 'completed');
      const shown = await ok(await api('GET', `/api/v1/model-versions/${id}`, ds.token));
      assert.equal(shown.stage, 'production');
    }

    before(async () => {
      s = await testServer(dialect);
      await ok(
        await api('POST', '/api/v1/projects', undefined, {
          id: 'fraud',
          settings: { metricThresholds: { auc: { min: 0.9 } } },
        }),
        201,
      );
      await ok(
        await api('POST', '/api/v1/projects/fraud/signers', undefined, {
          name: 'ci',
          kind: 'key',
          pem: key.publicKey,
        }),
        201,
      );
      ds = await serviceAccount(s, 'ds', ['data-scientist', 'data-engineer'], 'fraud');
      rel = await serviceAccount(s, 'release', ['platform-admin'], 'fraud');
      val1 = await serviceAccount(s, 'val1', ['model-validator'], 'fraud');
      val2 = await serviceAccount(s, 'val2', ['model-validator'], 'fraud');
      const ds1 = await ok(
        await api('POST', '/api/v1/projects/fraud/datasets', ds.token, {
          name: 'cards',
          versionDigest: `sha256:${'d'.repeat(64)}`,
          sensitivity: 'internal',
          allowedPurposes: ['training'],
          piiFields: [],
          locationUri: 's3://lake/cards',
        }),
        201,
      );
      dataset = { id: ds1.id, digest: ds1.versionDigest };
      model = (
        await ok(await api('POST', '/api/v1/projects/fraud/models', ds.token, { name: 'scorer' }), 201)
      ).id;
    });
    after(() => s.close());

    it('register → sign → provenance → staging → two approvals → production → deploy → rollback, in the ledger in order', async () => {
      const v1 = await register({ 'weights.bin': 'v1 weights', 'config.json': '{"v": 1}' });
      await promote(v1, 'first release');
      const ep = await ok(
        await api('POST', '/api/v1/projects/fraud/endpoints', rel.token, {
          name: 'scoring',
          environment: 'production',
          upstreamUrl: 'http://127.0.0.1:9000',
          protocol: 'open-inference-v2',
        }),
        201,
      );
      const d1 = await ok(
        await api('POST', `/api/v1/endpoints/${ep.id}/deployments`, rel.token, {
          version: v1,
          rationale: 'launch',
        }),
        201,
      );
      const v2 = await register({ 'weights.bin': 'v2 weights', 'config.json': '{"v": 2}' });
      await promote(v2, 'second release');
      const d2 = await ok(
        await api('POST', `/api/v1/endpoints/${ep.id}/deployments`, rel.token, {
          version: v2,
          rationale: 'upgrade',
        }),
        201,
      );
      assert.equal((await ok(await api('GET', `/api/v1/model-versions/${v1}`, ds.token))).stage, 'staging');
      // v2 misbehaves: the model goes back to v1 in production, and the endpoint serves v1 again.
      await ok(
        await api('POST', `/api/v1/model-versions/${v2}/rollback`, val1.token, {
          rationale: 'false positives doubled',
        }),
      );
      const d3 = await ok(
        await api('POST', `/api/v1/endpoints/${ep.id}/rollback`, val1.token, {
          rationale: 'false positives doubled',
        }),
        201,
      );
      assert.equal(d3.version, v1);
      assert.equal(
        (await ok(await api('GET', `/api/v1/model-versions/${v1}`, ds.token))).stage,
        'production',
      );
      assert.equal((await ok(await api('GET', `/api/v1/model-versions/${v2}`, ds.token))).stage, 'staging');

      // Everything the project recorded after the setup (which ends with the model's creation).
      const all = (await allEvents(s, 'wait=integrated&project=fraud')).flatMap((e) =>
        e.event ? [e.event] : [],
      );
      // The misuse monitor's alerts are not lifecycle steps: its off-hours detector raises them for
      // privileged actions depending on the time of day the suite runs.
      const events = all
        .slice(all.findIndex((e) => e.action === 'model.create') + 1)
        .filter((e) => e.outcome === 'succeeded' && !e.action.startsWith('alert.'));
      const steps = events.map(
        (e) => `${e.action} ${e.resource.id === v1 ? 'v1' : e.resource.id === v2 ? 'v2' : e.resource.type}`,
      );
      const lifecycle = (v: string) => [
        `model.register ${v}`,
        `model_version.attach ${v}`,
        `model_version.provenance ${v}`,
        `promotion.request ${v}`,
        `model_version.gate ${v}`,
        `model_version.promote ${v}`,
        `promotion.request ${v}`,
        `model_version.gate ${v}`,
        `model_version.approve ${v}`,
        `model_version.approve ${v}`,
        `model_version.gate ${v}`,
      ];
      const expected = [
        ...lifecycle('v1'),
        'model_version.promote_production v1',
        'endpoint.create Endpoint',
        'endpoint.deploy Endpoint',
        ...lifecycle('v2'),
        'model_version.demote v1',
        'model_version.promote_production v2',
        'endpoint.deploy Endpoint',
        'model_version.rollback v2',
        'model_version.restore v1',
        'endpoint.rollback Endpoint',
      ];
      assert.deepEqual(steps, expected);
      const byAction = (action: string, id: string) =>
        events.find((e) => e.action === action && e.resource.id === id);
      const promoted = byAction('model_version.promote_production', v2);
      assert.equal(promoted?.details?.rationale, 'second release');
      assert.deepEqual(
        [...((promoted?.details?.approvers as string[] | undefined) ?? [])].sort(),
        [val1.id, val2.id].sort(),
      );
      assert.ok(
        ((promoted?.details?.gates as { passed: boolean }[] | undefined) ?? []).every((g) => g.passed),
      );
      assert.equal(promoted?.details?.replaced, v1);
      assert.equal(byAction('model_version.rollback', v2)?.details?.rationale, 'false positives doubled');
      const deploys = events.filter((e) => e.resource.id === ep.id).map((e) => e.details?.deployment);
      assert.deepEqual(deploys.slice(1), [d1.id, d2.id, d3.id]);
      const lineage = await ok(await api('GET', `/api/v1/lineage/dataset/${dataset.id}?direction=down`));
      const kinds = lineage.nodes.map((n: { kind: string }) => n.kind).sort();
      assert.deepEqual(kinds, [
        'dataset',
        'deployment',
        'deployment',
        'deployment',
        'model_version',
        'model_version',
      ]);
    });
  });
}
