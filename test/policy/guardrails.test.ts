// No role, however broad, gets past a guardrail: each guardrail is checked against every role bound
// platform-wide, on every action and resource of the test world it applies to.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type EntityData, type EntityRef, PolicyEngine } from '../../src/policy/index.js';
import { context, defaultBundle, PLATFORM, principal, ref, request, resources } from './world.js';

const ROLES = ['data-engineer', 'data-scientist', 'model-validator', 'platform-admin', 'security-auditor'];
const PRIVILEGED = [
  'binding.create',
  'binding.revoke',
  'policy.apply',
  'model_version.promote_production',
  'endpoint.deploy_production',
  'access.break_glass',
  'audit.export',
];

let engine: PolicyEngine;

/** Every (action, resource) pair of the world the schema allows, for a principal entity. */
function everything(who: EntityData): { action: string; resource: EntityRef }[] {
  const targets = [...resources.map((e) => e.uid), who.uid];
  return [...engine.actions.values()].flatMap((a) =>
    targets.filter((t) => a.resourceTypes.includes(t.type)).map((resource) => ({ action: a.name, resource })),
  );
}

function bindAll(who: EntityRef, role: string): void {
  engine.setBindings([{ id: `${role}-everywhere`, role, principal: who, resource: PLATFORM }]);
}

describe('guardrails hold for every role', () => {
  before(async () => {
    engine = new PolicyEngine(await defaultBundle());
  });

  it('a suspended principal is denied every action, with MFA and a purpose', () => {
    for (const role of ROLES) {
      for (const type of ['User', 'ServiceAccount'] as const) {
        const who = principal(type, 'zed', { suspended: true });
        bindAll(who.uid, role);
        for (const { action, resource } of everything(who)) {
          const d = engine.decide(
            request(who, action, resource, context({ mfa: true, purpose: 'fraud-detection' })),
          );
          assert.equal(d.allowed, false, `${role} ${type} ${action}`);
          assert.ok(d.policies.includes('guardrail:suspended'), `${role} ${action}: ${d.reason}`);
        }
      }
    }
  });

  it('a user without MFA is denied every privileged action; with MFA the role decides', () => {
    const who = principal('User', 'zed');
    let allowedWithMfa = 0;
    for (const role of ROLES) {
      bindAll(who.uid, role);
      for (const { action, resource } of everything(who).filter((x) => PRIVILEGED.includes(x.action))) {
        const without = engine.decide(request(who, action, resource));
        assert.equal(without.allowed, false, `${role} ${action}`);
        const withMfa = engine.decide(request(who, action, resource, context({ mfa: true })));
        if (withMfa.allowed) allowedWithMfa += 1;
        else assert.ok(!withMfa.policies.includes('guardrail:mfa-privileged'), `${role} ${action}`);
        if (withMfa.allowed) {
          assert.deepEqual(
            without.policies,
            ['guardrail:mfa-privileged'],
            `${role} ${action}: ${without.reason}`,
          );
        }
      }
    }
    assert.ok(allowedWithMfa > 0, 'some role performs privileged actions with MFA');
  });

  it('nobody approves a model version they created, whatever their role', () => {
    for (const role of ROLES) {
      for (const [who, version] of [
        [principal('User', 'carol'), ref('ModelVersion', 'by-carol')],
        [principal('ServiceAccount', 'ci'), ref('ModelVersion', 'by-ci')],
      ] as const) {
        bindAll(who.uid, role);
        const d = engine.decide(request(who, 'model_version.approve', version, context({ mfa: true })));
        // A satisfied forbid is named whether or not the role would have permitted the action.
        assert.deepEqual(
          [d.allowed, d.policies],
          [false, ['guardrail:separation-of-duties']],
          `${role}: ${d.reason}`,
        );
      }
    }
  });

  it('confidential data needs an allowed purpose and restricted data MFA too, whatever the role', () => {
    const who = principal('User', 'zed');
    for (const role of ROLES) {
      bindAll(who.uid, role);
      const readers = role !== 'security-auditor';
      const transactions = ref('Dataset', 'transactions');
      const cards = ref('Dataset', 'card-holders');
      const noPurpose = engine.decide(request(who, 'dataset.read', transactions, context({ mfa: true })));
      const wrongPurpose = engine.decide(
        request(who, 'dataset.read', transactions, context({ purpose: 'ads' })),
      );
      const noMfa = engine.decide(
        request(who, 'dataset.read', cards, context({ purpose: 'fraud-detection' })),
      );
      const ok = engine.decide(
        request(who, 'dataset.read', cards, context({ purpose: 'fraud-detection', mfa: true })),
      );
      for (const d of [noPurpose, wrongPurpose, noMfa])
        assert.equal(d.allowed, false, `${role}: ${d.reason}`);
      if (readers) {
        assert.deepEqual(noPurpose.policies, ['guardrail:dataset-purpose']);
        assert.deepEqual(wrongPurpose.policies, ['guardrail:dataset-purpose']);
        assert.deepEqual(noMfa.policies, ['guardrail:dataset-restricted-mfa']);
      }
      assert.equal(ok.allowed, readers, `${role}: ${ok.reason}`);
    }
  });

  it('only production-stage versions are deployed to production', () => {
    const who = principal('ServiceAccount', 'deployer');
    bindAll(who.uid, 'platform-admin');
    const staging = engine.decide(
      request(who, 'endpoint.deploy_production', ref('ModelVersion', 'by-carol')),
    );
    assert.deepEqual([staging.allowed, staging.policies], [false, ['guardrail:production-deploy-stage']]);
    const production = engine.decide(
      request(who, 'endpoint.deploy_production', ref('ModelVersion', 'by-ci')),
    );
    assert.equal(production.allowed, true);
  });
});
