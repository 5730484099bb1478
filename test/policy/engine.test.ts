import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { WardenError } from '../../src/core/index.js';
import {
  bundleFromFiles,
  type PolicyBundle,
  PolicyEngine,
  type RoleBinding,
} from '../../src/policy/index.js';
import { context, defaultBundle, FRAUD, ManualClock, PLATFORM, principal, ref, request } from './world.js';

const T0 = Date.parse('2030-06-01T12:00:00Z');
const alice = principal('User', 'alice', {}, ['fraud-ds']);
const labels = ref('Dataset', 'labels');

function refusal(fn: () => unknown): WardenError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WardenError, `expected a WardenError, got ${err}`);
    return err;
  }
  assert.fail('expected a refusal');
}

async function withFile(path: string, text: string): Promise<PolicyBundle> {
  return bundleFromFiles({ ...(await defaultBundle()).files, [path]: text });
}

describe('PolicyEngine: refusing bad bundles', () => {
  it('refuses a policy with a type error, naming the policy id, file, line and column', async () => {
    const bad = await withFile(
      'guardrails/typo.cedar',
      [
        '// a typo in an attribute name',
        '@id("guardrail:typo")',
        'forbid (principal, action == Action::"dataset.read", resource is Dataset)',
        'when { resource.sensitivty == "secret" };',
      ].join('\n'),
    );
    const err = refusal(() => new PolicyEngine(bad));
    assert.equal(err.code, 'WARDEN_INVALID_INPUT');
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0]?.field, 'guardrails/typo.cedar:4:8');
    assert.match(
      err.issues[0]?.message ?? '',
      /^guardrail:typo: attribute `sensitivty` on entity type `Dataset` not found/,
    );
    assert.match(err.message, /guardrails\/typo\.cedar:4:8/);
  });

  it('refuses a schema that does not parse, at its line and column', async () => {
    const bundle = await defaultBundle();
    const broken = bundleFromFiles({
      ...bundle.files,
      'schema.cedarschema': 'entity User = {\n  suspended: Bool ;\n',
    });
    const err = refusal(() => new PolicyEngine(broken));
    assert.equal(err.issues[0]?.field, 'schema.cedarschema:2:19');
  });

  it('refuses role templates without both slots', async () => {
    const bad = await withFile(
      'roles/odd.cedar',
      '@id("role:odd")\npermit (principal == ?principal, action, resource);',
    );
    const err = refusal(() => new PolicyEngine(bad));
    assert.equal(err.issues[0]?.field, 'roles/odd.cedar:1:1');
    assert.match(err.issues[0]?.message ?? '', /role:odd: .*resource in \?resource/);
  });

  it('keeps the bundle and bindings in force when a new bundle or binding is refused', async () => {
    const bundle = await defaultBundle();
    const ds: RoleBinding = { id: 'b1', role: 'data-scientist', principal: alice.uid, resource: FRAUD };
    const engine = new PolicyEngine(bundle, [ds]);
    const before = engine.bindingsVersion;
    const bad = await withFile(
      'roles/x.cedar',
      '@id("role:x") permit (principal in ?principal, action, resource in ?resource) when { resource.nope };',
    );
    refusal(() => engine.load(bad));
    refusal(() => engine.setBindings([{ ...ds, role: 'astronaut' }]));
    const unknownType = refusal(() => engine.setBindings([{ ...ds, resource: ref('Projet', 'fraud') }]));
    assert.match(unknownType.issues[0]?.message ?? '', /no entity type Projet/);
    assert.equal(engine.bundle, bundle);
    assert.equal(engine.bindingsVersion, before);
    assert.equal(engine.decide(request(alice, 'dataset.read', labels)).allowed, true);
  });
});

describe('PolicyEngine: decisions', () => {
  it('explains allow, forbid and default deny in words, with the deciding ids', async () => {
    const engine = new PolicyEngine(await defaultBundle(), [
      { id: 'b1', role: 'data-scientist', principal: alice.uid, resource: FRAUD },
    ]);
    const allowed = engine.decide(request(alice, 'dataset.read', labels));
    assert.equal(allowed.allowed, true);
    assert.deepEqual(allowed.policies, ['role:data-scientist']);
    assert.deepEqual(allowed.bindings, ['b1']);
    assert.equal(
      allowed.reason,
      'permitted by role:data-scientist (binding b1: User::"alice" on Project::"fraud")',
    );
    assert.equal(allowed.bundle, engine.bundleHash);
    assert.ok(Object.isFrozen(allowed) && Object.isFrozen(allowed.policies));

    const forbidden = engine.decide(request(alice, 'dataset.read', ref('Dataset', 'transactions')));
    assert.deepEqual([forbidden.allowed, forbidden.policies], [false, ['guardrail:dataset-purpose']]);
    assert.match(
      forbidden.reason,
      /^forbidden by guardrail:dataset-purpose \(confidential and restricted datasets/,
    );

    const none = engine.decide(request(alice, 'ledger.read', ref('Ledger', 'warden')));
    assert.deepEqual([none.allowed, none.policies, none.errors], [false, [], []]);
    assert.equal(none.reason, 'no policy permits ledger.read on Ledger::"warden" for User::"alice"');
  });

  it('lets a group binding permit its members through `principal in ?principal`', async () => {
    const engine = new PolicyEngine(await defaultBundle(), [
      { id: 'g', role: 'data-scientist', principal: ref('Group', 'fraud-ds'), resource: FRAUD },
    ]);
    assert.equal(engine.decide(request(alice, 'model.register', FRAUD)).allowed, true);
    const outsider = principal('User', 'hank', {}, ['other']);
    assert.equal(engine.decide(request(outsider, 'model.register', FRAUD)).allowed, false);
  });

  it('denies (fail closed) when an entity misses a required attribute', async () => {
    const engine = new PolicyEngine(await defaultBundle(), [
      { id: 'b1', role: 'platform-admin', principal: alice.uid, resource: PLATFORM },
    ]);
    const req = request(alice, 'dataset.read', labels);
    const broken = req.entities.map((e) =>
      e.uid.id === 'labels' ? { ...e, attrs: { sensitivity: 'public' } } : e,
    );
    const d = engine.decide({ ...req, entities: broken });
    assert.equal(d.allowed, false);
    assert.match(d.reason, /^denied \(fail closed\): .*allowedPurposes/);
    assert.equal(d.errors.length, 1);
  });

  it('denies when a forbid errors, where bare Cedar would skip it and allow', async () => {
    const bundle = await withFile(
      'guardrails/owner.cedar',
      '@id("guardrail:owner-active")\nforbid (principal, action == Action::"dataset.read", resource is Dataset)\nwhen { resource has owner && resource.owner.suspended };',
    );
    const binding: RoleBinding = { id: 'b1', role: 'data-scientist', principal: alice.uid, resource: FRAUD };
    const engine = new PolicyEngine(bundle, [binding]);
    const req = request(alice, 'dataset.read', labels);
    // The owner is named but not among the request's entities: evaluating the forbid errors.
    const entities = req.entities.map((e) =>
      e.uid.id === 'labels' ? { ...e, attrs: { ...e.attrs, owner: { type: 'User', id: 'olga' } } } : e,
    );

    const bare = isAuthorized({
      principal: req.principal,
      action: { type: 'Action', id: req.action },
      resource: req.resource,
      context: req.context as Record<string, never>,
      schema: bundle.schema,
      policies: {
        staticPolicies: Object.fromEntries(
          bundle.policies.filter((p) => p.kind === 'static').map((p) => [p.id, p.text]),
        ),
        templates: Object.fromEntries(
          bundle.policies.filter((p) => p.kind === 'template').map((p) => [p.id, p.text]),
        ),
        templateLinks: [
          {
            templateId: 'role:data-scientist',
            newId: 'binding:b1',
            values: { '?principal': alice.uid, '?resource': FRAUD },
          },
        ],
      },
      entities: entities.map((e) => ({ uid: e.uid, attrs: { ...e.attrs }, parents: [...(e.parents ?? [])] })),
    });
    assert.equal(bare.type, 'success');
    assert.equal(
      bare.type === 'success' && bare.response.decision,
      'allow',
      'bare Cedar skips the erroring forbid',
    );

    const d = engine.decide({ ...req, entities });
    assert.equal(d.allowed, false);
    assert.deepEqual(d.policies, ['guardrail:owner-active']);
    assert.equal(d.errors[0]?.policy, 'guardrail:owner-active');
    assert.match(d.reason, /^denied \(fail closed\): guardrail:owner-active could not be evaluated: .*olga/);

    // With the owner present and active, the same request is allowed.
    const olga = principal('User', 'olga');
    assert.equal(engine.decide({ ...req, entities: [...entities, olga] }).allowed, true);
  });

  it('denies a request the schema does not allow (wrong resource type for the action)', async () => {
    const engine = new PolicyEngine(await defaultBundle(), [
      { id: 'b1', role: 'platform-admin', principal: alice.uid, resource: PLATFORM },
    ]);
    const d = engine.decide(request(alice, 'model.read', labels));
    assert.equal(d.allowed, false);
    assert.match(d.errors[0]?.message ?? '', /resource type `Dataset` is not valid/);
  });
});

describe('PolicyEngine: binding expiry', () => {
  it('an expired binding never permits, and expiry takes effect without a reload', async () => {
    const clock = new ManualClock(T0);
    const engine = new PolicyEngine(
      await defaultBundle(),
      [
        { id: 'jit', role: 'data-engineer', principal: alice.uid, resource: FRAUD, expiresAt: T0 + 60_000 },
        { id: 'old', role: 'platform-admin', principal: alice.uid, resource: PLATFORM, expiresAt: T0 - 1 },
      ],
      { clock },
    );
    assert.equal(engine.nextExpiry, T0 + 60_000);
    const read = request(alice, 'dataset.read', labels);
    const during = engine.decide(read);
    assert.deepEqual([during.allowed, during.bindings], [true, ['jit']]);
    assert.equal(
      engine.decide(request(alice, 'project.create', PLATFORM)).allowed,
      false,
      'expired at compile time',
    );

    const version = engine.bindingsVersion;
    clock.time = T0 + 60_000;
    const after = engine.decide(read);
    assert.equal(after.allowed, false);
    assert.match(after.reason, /^no policy permits/);
    assert.equal(engine.nextExpiry, undefined);
    assert.notEqual(engine.bindingsVersion, version);

    const explained = engine.explain(read);
    assert.deepEqual(
      explained.bindings.map((b) => [b.binding.id, b.status]),
      [
        ['jit', 'expired'],
        ['old', 'expired'],
      ],
    );
  });
});

describe('PolicyEngine: explain and permissions', () => {
  it('reports each binding of the principal and what became of it', async () => {
    const engine = new PolicyEngine(await defaultBundle(), [
      { id: 'ds', role: 'data-scientist', principal: ref('Group', 'fraud-ds'), resource: FRAUD },
      { id: 'audit', role: 'security-auditor', principal: alice.uid, resource: PLATFORM },
      { id: 'churn', role: 'data-engineer', principal: alice.uid, resource: ref('Project', 'churn') },
      { id: 'someone-else', role: 'platform-admin', principal: ref('User', 'bob'), resource: PLATFORM },
    ]);
    const e = engine.explain(request(alice, 'dataset.read', labels));
    assert.equal(e.decision.allowed, true);
    assert.deepEqual(
      e.bindings.map((b) => [b.binding.id, b.status]),
      [
        ['ds', 'permitted'],
        ['audit', 'action-not-in-role'],
        ['churn', 'resource-out-of-scope'],
      ],
    );
    assert.deepEqual(e.principalAncestors, ['User::"alice"', 'Group::"fraud-ds"']);
    assert.deepEqual(e.resourceAncestors, ['Dataset::"labels"', 'Project::"fraud"', 'Platform::"root"']);
    const purpose = e.policies.find((p) => p.id === 'guardrail:dataset-purpose');
    assert.deepEqual([purpose?.coversAction, purpose?.determining], [true, false]);
    assert.equal(e.policies.find((p) => p.id === 'guardrail:mfa-privileged')?.coversAction, false);
    assert.equal(e.policies.find((p) => p.id === 'role:data-scientist')?.determining, true);
  });

  it('lists what a principal may do on a resource, under the minimal or a given context', async () => {
    const engine = new PolicyEngine(await defaultBundle(), [
      { id: 'ds', role: 'data-scientist', principal: alice.uid, resource: FRAUD },
    ]);
    const { entities } = request(alice, 'dataset.read', labels);
    const transactions = ref('Dataset', 'transactions');
    assert.deepEqual(engine.permissions(alice.uid, transactions, entities), [
      'dataset.request_access',
      'project.read',
    ]);
    assert.deepEqual(
      engine.permissions(alice.uid, transactions, entities, context({ purpose: 'fraud-detection' })),
      ['dataset.read', 'dataset.request_access', 'project.read'],
    );
    // A production endpoint: its description only, never a call or a deploy.
    assert.deepEqual(engine.permissions(alice.uid, ref('Endpoint', 'prod'), entities), ['project.read']);
    assert.deepEqual(engine.permissions(alice.uid, alice.uid, entities), [
      'mfa.manage',
      'self.read',
      'session.close',
      'token.create',
      'token.read',
      'token.revoke',
    ]);
  });
});
