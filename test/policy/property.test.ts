// Random binding sets and requests, decided by the engine and by a naive reference checker written
// from the policy documentation: allowed iff some unexpired binding's role covers the action on the
// resource or an ancestor (or self-service applies) and no guardrail applies.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CedarValue,
  type EntityData,
  type EntityRef,
  entityText,
  PolicyEngine,
  type RoleBinding,
} from '../../src/policy/index.js';
import { defaultBundle, ManualClock, ref } from './world.js';

const NOW = Date.parse('2030-06-01T12:00:00Z');

const ROLE_ACTIONS: Record<string, readonly string[] | 'all'> = {
  'data-engineer': [
    'project.read',
    'dataset.register',
    'dataset.read',
    'dataset.request_access',
    'model.read',
    'event.ingest',
    'access.break_glass',
  ],
  'data-scientist': [
    'project.read',
    'dataset.read',
    'dataset.request_access',
    'model.register',
    'model.read',
    'model_version.download',
    'model_version.promote',
    'model_version.attach',
    'endpoint.create',
    'endpoint.deploy',
    'endpoint.invoke',
    'endpoint.rollback',
  ],
  'model-validator': [
    'project.read',
    'dataset.read',
    'model.read',
    'model_version.download',
    'model_version.approve',
    'model_version.rollback',
    'model_version.retire',
    'model_version.alias',
    'endpoint.rollback',
  ],
  'platform-admin': 'all',
  'security-auditor': [
    'audit.query',
    'audit.export',
    'ledger.read',
    'legal_hold.list',
    'principal.read',
    'token.read',
    'binding.read',
    'policy.read',
    'authorize.explain',
    'access.review',
    'project.read',
    'model.read',
    'alert.read',
  ],
};
const ROLES = Object.keys(ROLE_ACTIONS);
const SELF = ['self.read', 'session.close', 'mfa.manage', 'token.create', 'token.read', 'token.revoke'];
const PRIVILEGED = [
  'binding.create',
  'binding.revoke',
  'policy.apply',
  'model_version.promote_production',
  'endpoint.deploy_production',
  'access.break_glass',
  'audit.export',
];

const root = ref('Platform', 'root');
const p1 = ref('Project', 'p1');
const p2 = ref('Project', 'p2');
const m1 = ref('Model', 'm1');
const PEOPLE = [ref('User', 'u1'), ref('User', 'u2'), ref('ServiceAccount', 's1')];
const GROUP = ref('Group', 'g1');
const IN_GROUP = new Set(['User::"u1"', 'ServiceAccount::"s1"']);

/** Attributes that vary between runs. */
interface Facts {
  suspended: boolean[];
  sensitivity: string;
  purposes: string[];
  creator: number;
  stage: string;
  signed: boolean;
  environment: string;
}

function world(f: Facts): EntityData[] {
  const creator = PEOPLE[f.creator] as EntityRef;
  const uid = { type: creator.type, id: creator.id };
  const createdBy: CedarValue = creator.type === 'User' ? { user: uid } : { serviceAccount: uid };
  return [
    ...PEOPLE.map((p, i) => ({
      uid: p,
      attrs: { suspended: f.suspended[i] ?? false },
      parents: IN_GROUP.has(entityText(p)) ? [GROUP, root] : [root],
    })),
    { uid: root },
    { uid: p1, parents: [root], attrs: { environments: ['dev'] } },
    { uid: p2, parents: [root], attrs: { environments: ['dev'] } },
    { uid: ref('Ledger', 'l'), parents: [root] },
    {
      uid: ref('Dataset', 'd1'),
      parents: [p1],
      attrs: { sensitivity: f.sensitivity, allowedPurposes: f.purposes },
    },
    { uid: m1, parents: [p1] },
    {
      uid: ref('ModelVersion', 'v1'),
      parents: [m1, p1],
      attrs: { createdBy, stage: f.stage, signed: f.signed },
    },
    { uid: ref('Endpoint', 'e1'), parents: [p2], attrs: { environment: f.environment } },
  ];
}

const RESOURCES = world({
  suspended: [],
  sensitivity: '',
  purposes: [],
  creator: 0,
  stage: '',
  signed: false,
  environment: '',
}).map((e) => e.uid);
const SCOPES = RESOURCES.filter((r) => r.type !== 'User' && r.type !== 'ServiceAccount');

interface Ask {
  who: number;
  resource: number;
  action: number;
  mfa: boolean;
  purpose: string | undefined;
}

/** The reference: the documented meaning of the default bundle, written without Cedar. */
function reference(
  entities: readonly EntityData[],
  bindings: readonly (RoleBinding & { expired: boolean })[],
  who: EntityRef,
  action: string,
  resource: EntityRef,
  ctx: { mfa: boolean; purpose?: string },
): { allowed: boolean; policies: string[] } {
  const byKey = new Map(entities.map((e) => [entityText(e.uid), e]));
  const ancestors = new Set<string>();
  const walk = (r: EntityRef) => {
    if (ancestors.has(entityText(r))) return;
    ancestors.add(entityText(r));
    for (const p of byKey.get(entityText(r))?.parents ?? []) walk(p);
  };
  walk(resource);
  const me = byKey.get(entityText(who));
  const target = byKey.get(entityText(resource));
  const attr = (k: string) => target?.attrs?.[k] as CedarValue;

  const forbids: string[] = [];
  if (me?.attrs?.suspended === true) forbids.push('guardrail:suspended');
  if (who.type === 'User' && PRIVILEGED.includes(action) && !ctx.mfa)
    forbids.push('guardrail:mfa-privileged');
  if (action === 'dataset.read') {
    const s = attr('sensitivity') as string;
    const purposes = attr('allowedPurposes') as string[];
    if (
      !['public', 'internal'].includes(s) &&
      !(ctx.purpose !== undefined && purposes.includes(ctx.purpose))
    ) {
      forbids.push('guardrail:dataset-purpose');
    }
    if (!['public', 'internal', 'confidential'].includes(s) && !ctx.mfa)
      forbids.push('guardrail:dataset-restricted-mfa');
  }
  if (action === 'model_version.approve') {
    const by = attr('createdBy') as { user?: EntityRef; serviceAccount?: EntityRef };
    const creator = by.user ?? by.serviceAccount;
    if (creator && entityText(creator) === entityText(who)) forbids.push('guardrail:separation-of-duties');
  }
  if (
    action === 'endpoint.deploy_production' &&
    (attr('stage') !== 'production' || attr('signed') !== true)
  ) {
    forbids.push('guardrail:production-deploy-stage');
  }
  if (forbids.length > 0) return { allowed: false, policies: forbids.sort() };

  const permits = new Set<string>();
  for (const b of bindings) {
    if (b.expired) continue;
    const holder = entityText(b.principal);
    const holds =
      holder === entityText(who) || (holder === entityText(GROUP) && IN_GROUP.has(entityText(who)));
    const actions = ROLE_ACTIONS[b.role];
    const covers = actions === 'all' || actions?.includes(action);
    const inProduction = resource.type === 'Endpoint' && attr('environment') === 'production';
    const condition = b.role !== 'data-scientist' || !inProduction || action === 'project.read';
    if (holds && covers && ancestors.has(entityText(b.resource)) && condition) permits.add(`role:${b.role}`);
  }
  if (SELF.includes(action) && entityText(resource) === entityText(who)) permits.add('self:service');
  return { allowed: permits.size > 0, policies: [...permits].sort() };
}

let engine: PolicyEngine;
const clock = new ManualClock(NOW);

const binding = fc.record({
  role: fc.constantFrom(...ROLES),
  principal: fc.constantFrom(...PEOPLE, GROUP),
  resource: fc.constantFrom(...SCOPES),
  expiry: fc.constantFrom('none', 'past', 'future'),
});

const facts = fc.record({
  // Mostly active principals, so the other rules get exercised too.
  suspended: fc.array(fc.constantFrom(false, false, false, true), { minLength: 3, maxLength: 3 }),
  sensitivity: fc.constantFrom('public', 'internal', 'confidential', 'restricted', 'secret'),
  purposes: fc.subarray(['fraud', 'ads']),
  creator: fc.integer({ min: 0, max: 2 }),
  stage: fc.constantFrom('registered', 'staging', 'production', 'retired'),
  signed: fc.boolean(),
  environment: fc.constantFrom('dev', 'staging', 'production'),
});

const ask = fc.record({
  who: fc.integer({ min: 0, max: PEOPLE.length - 1 }),
  resource: fc.integer({ min: 0, max: RESOURCES.length - 1 }),
  action: fc.nat(),
  mfa: fc.boolean(),
  purpose: fc.constantFrom(undefined, 'fraud', 'ads'),
});

describe('decisions match a reference checker (property)', () => {
  before(async () => {
    engine = new PolicyEngine(await defaultBundle(), [], { clock });
  });

  it('on random bindings, principals, actions, resources and contexts', () => {
    fc.assert(
      fc.property(
        fc.array(binding, { maxLength: 6 }),
        facts,
        fc.array(ask, { minLength: 1, maxLength: 12 }),
        (raw, f, asks: Ask[]) => {
          const bindings = raw.map((b, i) => ({
            id: `b${i}`,
            role: b.role,
            principal: b.principal,
            resource: b.resource,
            expired: b.expiry === 'past',
            ...(b.expiry === 'none' ? {} : { expiresAt: b.expiry === 'past' ? NOW - 1 : NOW + 3_600_000 }),
          }));
          engine.setBindings(bindings);
          const entities = world(f);
          for (const a of asks) {
            const who = PEOPLE[a.who] as EntityRef;
            const resource = RESOURCES[a.resource] as EntityRef;
            const actions = [...engine.actions.values()].filter((x) =>
              x.resourceTypes.includes(resource.type),
            );
            const action = actions[a.action % actions.length]?.name as string;
            const ctx = {
              mfa: a.mfa,
              environment: 'dev',
              sourceIp: '10.0.0.1',
              ...(a.purpose ? { purpose: a.purpose } : {}),
            };
            const got = engine.decide({ principal: who, action, resource, context: ctx, entities });
            const want = reference(entities, bindings, who, action, resource, ctx);
            const what = `${entityText(who)} ${action} ${entityText(resource)} ${JSON.stringify(ctx)}: ${got.reason}`;
            assert.deepEqual(got.errors, [], what);
            assert.equal(got.allowed, want.allowed, what);
            assert.deepEqual(got.policies, want.policies, what);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
