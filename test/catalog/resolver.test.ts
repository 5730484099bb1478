import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { catalogResolver } from '../../src/catalog/index.js';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';

const T = 1_700_000_000_000;

for (const dialect of await backends()) {
  describe(`catalog resolver on ${dialect}`, () => {
    let s: TestServer;
    const ids = { alice: '', carol: '', ci: '' };

    async function principal(type: 'user' | 'service', name: string): Promise<string> {
      const res = await s.inject({ method: 'POST', url: '/api/v1/principals', body: { type, name } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id;
    }

    async function bind(role: string, who: { type: string; id: string }, project: string) {
      const res = await s.inject({
        method: 'POST',
        url: '/api/v1/bindings',
        body: { role, principal: who, resource: { type: 'Project', id: project } },
      });
      assert.equal(res.statusCode, 201, res.body);
    }

    async function decide(
      who: { type: string; id: string },
      action: string,
      resource: { type: string; id: string },
      context: Record<string, unknown> = {},
    ): Promise<{ allowed: boolean; policies: string[]; errors: unknown[] }> {
      const res = await s.inject({
        method: 'POST',
        url: '/api/v1/authorize/explain',
        body: { principal: who, action, resource, context },
      });
      assert.equal(res.statusCode, 200, res.body);
      const d = res.json().decision;
      return { allowed: d.allowed, policies: d.policies, errors: d.errors };
    }

    before(async () => {
      s = await testServer(dialect);
      ids.alice = await principal('user', 'alice');
      ids.carol = await principal('user', 'carol');
      ids.ci = await principal('service', 'ci');
      const db = s.rt.store.db;
      const base = { description: '', settings: '{}', created_by: 'admin', created_ms: T, updated_ms: T };
      await db
        .insertInto('projects')
        .values([
          { id: 'fraud', environments: '["dev","production"]', ...base },
          { id: 'other', environments: '[]', ...base },
        ])
        .execute();
      const ds = {
        project_id: 'fraud',
        version_digest: `sha256:${'a'.repeat(64)}`,
        domain: null,
        pii_fields: '[]',
        location_uri: 's3://bucket/x',
        description: null,
        created_by: 'admin',
        created_ms: T,
      };
      await db
        .insertInto('datasets')
        .values([
          {
            id: 'ds-restricted',
            name: 'card-holders',
            sensitivity: 'restricted',
            allowed_purposes: '["fraud-detection"]',
            owner_id: ids.alice,
            ...ds,
          },
          {
            id: 'ds-public',
            name: 'rates',
            sensitivity: 'public',
            allowed_purposes: '[]',
            owner_id: 'nobody',
            ...ds,
          },
        ])
        .execute();
      await db
        .insertInto('models')
        .values({
          id: 'm1',
          project_id: 'fraud',
          name: 'scorer',
          description: null,
          created_by: ids.alice,
          created_ms: T,
        })
        .execute();
      const mv = {
        model_id: 'm1',
        project_id: 'fraud',
        manifest_digest: `sha256:${'b'.repeat(64)}`,
        total_bytes: 1,
        file_count: 1,
        revision: 0,
        created_ms: T,
        provenance: null,
        provenance_digest: null,
        trainer: null,
        stage_changed_ms: T,
        stage_rationale: null,
      };
      await db
        .insertInto('model_versions')
        .values([
          {
            id: 'v-alice',
            number: 1,
            stage: 'staging',
            created_by: ids.alice,
            created_by_type: 'user',
            ...mv,
          },
          {
            id: 'v-signed',
            number: 2,
            stage: 'production',
            created_by: ids.ci,
            created_by_type: 'service',
            ...mv,
          },
          {
            id: 'v-revoked',
            number: 3,
            stage: 'production',
            created_by: ids.ci,
            created_by_type: 'service',
            ...mv,
          },
          {
            id: 'v-unsigned',
            number: 4,
            stage: 'production',
            created_by: ids.ci,
            created_by_type: 'service',
            ...mv,
          },
        ])
        .execute();
      const signer = {
        project_id: 'fraud',
        kind: 'key' as const,
        pem: '',
        created_by: 'admin',
        created_ms: T,
      };
      await db
        .insertInto('project_signers')
        .values([
          { id: 'sg-live', name: 'live', fingerprint: 'aa', revoked_ms: null, ...signer },
          { id: 'sg-old', name: 'old', fingerprint: 'bb', revoked_ms: T, ...signer },
        ])
        .execute();
      const sig = { bundle: '{}', signer: '{}', created_by: ids.ci, created_ms: T };
      await db
        .insertInto('model_signatures')
        .values([
          { id: 's1', version_id: 'v-signed', bundle_digest: 'd1', signer_id: 'sg-live', ...sig },
          { id: 's2', version_id: 'v-revoked', bundle_digest: 'd2', signer_id: 'sg-old', ...sig },
        ])
        .execute();
      const ep = { project_id: 'fraud', upstream_url: 'http://m', protocol: 'http' as const, settings: '{}' };
      await db
        .insertInto('endpoints')
        .values([
          {
            id: 'e-dev',
            name: 'dev',
            environment: 'dev',
            revision: 0,
            created_by: 'a',
            created_ms: T,
            ...ep,
          },
          {
            id: 'e-prod',
            name: 'prod',
            environment: 'production',
            revision: 0,
            created_by: 'a',
            created_ms: T,
            ...ep,
          },
        ])
        .execute();
      await bind('data-scientist', { type: 'User', id: ids.alice }, 'fraud');
      await bind('model-validator', { type: 'User', id: ids.alice }, 'fraud');
      await bind('model-validator', { type: 'User', id: ids.carol }, 'fraud');
      await bind('platform-admin', { type: 'ServiceAccount', id: ids.ci }, 'fraud');
    });
    after(() => s.close());

    it('gives entities their attributes and ancestors from the tables', async () => {
      const db = s.rt.store.db;
      const dataset = await catalogResolver({ type: 'Dataset', id: 'ds-restricted' }, db);
      assert.deepEqual(dataset, [
        {
          uid: { type: 'Dataset', id: 'ds-restricted' },
          attrs: {
            sensitivity: 'restricted',
            allowedPurposes: ['fraud-detection'],
            owner: { __entity: { type: 'User', id: ids.alice } },
          },
          parents: [{ type: 'Project', id: 'fraud' }],
        },
        {
          uid: { type: 'Project', id: 'fraud' },
          attrs: { environments: ['dev', 'production'] },
          parents: [{ type: 'Platform', id: 'root' }],
        },
        { uid: { type: 'Platform', id: 'root' }, attrs: {}, parents: [] },
      ]);
      const noOwner = await catalogResolver({ type: 'Dataset', id: 'ds-public' }, db);
      assert.equal(noOwner?.[0]?.attrs?.owner, undefined, 'an owner that is not a user is left out');
      const version = await catalogResolver({ type: 'ModelVersion', id: 'v-alice' }, db);
      assert.deepEqual(version?.[0], {
        uid: { type: 'ModelVersion', id: 'v-alice' },
        attrs: {
          createdBy: { user: { __entity: { type: 'User', id: ids.alice } } },
          stage: 'staging',
          signed: false,
        },
        parents: [
          { type: 'Model', id: 'm1' },
          { type: 'Project', id: 'fraud' },
        ],
      });
      assert.deepEqual(
        version?.map((e) => e.uid.type),
        ['ModelVersion', 'Model', 'Project', 'Platform'],
      );
      const signed = await catalogResolver({ type: 'ModelVersion', id: 'v-signed' }, db);
      assert.equal(signed?.[0]?.attrs?.signed, true);
      const revoked = await catalogResolver({ type: 'ModelVersion', id: 'v-revoked' }, db);
      assert.equal(revoked?.[0]?.attrs?.signed, false, 'a revoked signer no longer counts');
      const endpoint = await catalogResolver({ type: 'Endpoint', id: 'e-prod' }, db);
      assert.deepEqual(endpoint?.[0]?.attrs, { environment: 'production' });
      for (const type of ['Project', 'Dataset', 'Model', 'ModelVersion', 'Endpoint']) {
        const unknown = await catalogResolver({ type, id: 'missing' }, db);
        assert.deepEqual(unknown?.[0]?.parents, [{ type: 'Platform', id: 'root' }], type);
      }
      assert.deepEqual(
        (await catalogResolver({ type: 'Dataset', id: 'missing' }, db))?.[0]?.attrs,
        { sensitivity: 'restricted', allowedPurposes: [] },
        'an unknown dataset is treated as restricted',
      );
      assert.equal(await catalogResolver({ type: 'Ledger', id: 'x' }, db), undefined);
    });

    it('lets dataset guardrails decide on sensitivity, purpose and MFA, under the project binding', async () => {
      const alice = { type: 'User', id: ids.alice };
      const restricted = { type: 'Dataset', id: 'ds-restricted' };
      const ok = await decide(alice, 'dataset.read', restricted, { mfa: true, purpose: 'fraud-detection' });
      assert.deepEqual(ok, {
        allowed: true,
        policies: ['role:data-scientist', 'role:model-validator'],
        errors: [],
      });
      const noMfa = await decide(alice, 'dataset.read', restricted, { purpose: 'fraud-detection' });
      assert.deepEqual(noMfa.policies, ['guardrail:dataset-restricted-mfa']);
      assert.equal(noMfa.allowed, false);
      const wrong = await decide(alice, 'dataset.read', restricted, { mfa: true, purpose: 'marketing' });
      assert.deepEqual(wrong.policies, ['guardrail:dataset-purpose']);
      const none = await decide(alice, 'dataset.read', restricted, { mfa: true });
      assert.deepEqual(none.policies, ['guardrail:dataset-purpose']);
      assert.equal((await decide(alice, 'dataset.read', { type: 'Dataset', id: 'ds-public' })).allowed, true);
      const unknown = await decide(alice, 'project.read', { type: 'Dataset', id: 'missing' });
      assert.equal(unknown.allowed, false, 'an unknown dataset is outside every project');
      const admin = { type: 'ServiceAccount', id: s.rt.bootstrap.principalId };
      const adminRead = await decide(
        admin,
        'dataset.read',
        { type: 'Dataset', id: 'missing' },
        { mfa: true },
      );
      assert.deepEqual(adminRead.policies, ['guardrail:dataset-purpose'], 'and never readable');
      assert.equal((await decide(alice, 'project.read', { type: 'Project', id: 'other' })).allowed, false);
      assert.equal((await decide(alice, 'model.read', { type: 'Model', id: 'm1' })).allowed, true);
    });

    it('lets model version guardrails see the creator, stage and signature', async () => {
      const alice = { type: 'User', id: ids.alice };
      const carol = { type: 'User', id: ids.carol };
      const ci = { type: 'ServiceAccount', id: ids.ci };
      const own = await decide(alice, 'model_version.approve', { type: 'ModelVersion', id: 'v-alice' });
      assert.deepEqual([own.allowed, own.policies], [false, ['guardrail:separation-of-duties']]);
      assert.equal(
        (await decide(carol, 'model_version.approve', { type: 'ModelVersion', id: 'v-alice' })).allowed,
        true,
      );
      const ciOwn = await decide(ci, 'model_version.approve', { type: 'ModelVersion', id: 'v-signed' });
      assert.deepEqual(ciOwn.policies, ['guardrail:separation-of-duties']);
      const deploy = (id: string) => decide(ci, 'endpoint.deploy_production', { type: 'ModelVersion', id });
      assert.equal((await deploy('v-signed')).allowed, true);
      for (const id of ['v-revoked', 'v-unsigned', 'v-alice']) {
        const d = await deploy(id);
        assert.deepEqual([d.allowed, d.policies], [false, ['guardrail:production-deploy-stage']], id);
      }
    });

    it('lets endpoint rules see the environment', async () => {
      const alice = { type: 'User', id: ids.alice };
      assert.equal((await decide(alice, 'endpoint.invoke', { type: 'Endpoint', id: 'e-dev' })).allowed, true);
      assert.equal(
        (await decide(alice, 'endpoint.invoke', { type: 'Endpoint', id: 'e-prod' })).allowed,
        false,
      );
    });
  });
}
