// Uncached PolicyEngine.decide against bare cedar-wasm statefulIsAuthorized on the same request: the
// same preparsed policies, schema, entities and context, so the ratio is the engine's own overhead
// (building the call, mapping ids back to roles and bindings, writing the reason, freezing the result).
import { fileURLToPath } from 'node:url';
import {
  preparsePolicySet,
  preparseSchema,
  type StatefulAuthorizationCall,
  statefulIsAuthorized,
} from '@cedar-policy/cedar-wasm/nodejs';
import {
  type AuthorizationRequest,
  type EntityData,
  loadBundleDir,
  PolicyEngine,
  type RoleBinding,
} from '../src/policy/index.js';
import { median, progress, type Row, rate, since } from './report.js';
import { benchScale, scaled } from './workload.js';

const BUNDLE_DIR = fileURLToPath(new URL('../../policies/default', import.meta.url));
const ROUNDS = 7;
const PER_ROUND = 2_000;
/** Decisions/s of the engine ÷ bare Cedar must be at least 0.83 ≈ 1/1.2 (the engine within 1.2× the time). */
const TARGET = 0.83;

const FRAUD = { type: 'Project', id: 'fraud' };

/** A data scientist, in a group, reading a confidential dataset for an allowed purpose. */
function scenario(): { bindings: RoleBinding[]; request: AuthorizationRequest } {
  const alice = { type: 'User', id: 'alice' };
  const entities: EntityData[] = [
    {
      uid: alice,
      attrs: { suspended: false, department: 'risk' },
      parents: [{ type: 'Group', id: 'fraud-ds' }],
    },
    { uid: { type: 'Group', id: 'fraud-ds' }, attrs: {}, parents: [] },
    {
      uid: { type: 'Dataset', id: 'transactions' },
      attrs: { sensitivity: 'confidential', allowedPurposes: ['fraud-detection'] },
      parents: [FRAUD],
    },
    {
      uid: FRAUD,
      attrs: { environments: ['dev', 'production'] },
      parents: [{ type: 'Platform', id: 'root' }],
    },
    { uid: { type: 'Platform', id: 'root' }, attrs: {}, parents: [] },
  ];
  // A realistic number of links in force: many bindings, one of which applies.
  const bindings: RoleBinding[] = Array.from({ length: 200 }, (_, i) => ({
    id: `b${i}`,
    role: ['data-scientist', 'data-engineer', 'model-validator'][i % 3] as string,
    principal: { type: 'User', id: `user-${i}` },
    resource: { type: 'Project', id: `project-${i % 20}` },
  }));
  bindings.push({
    id: 'alice-ds',
    role: 'data-scientist',
    principal: { type: 'Group', id: 'fraud-ds' },
    resource: FRAUD,
  });
  const request: AuthorizationRequest = {
    principal: alice,
    action: 'dataset.read',
    resource: { type: 'Dataset', id: 'transactions' },
    context: { mfa: false, environment: 'dev', sourceIp: '10.0.0.7', purpose: 'fraud-detection' },
    entities,
  };
  return { bindings, request };
}

/** Decisions per second of `decide` over `n` calls. */
function measure(n: number, decide: () => boolean): number {
  const start = performance.now();
  let allowed = 0;
  for (let i = 0; i < n; i++) if (decide()) allowed++;
  const ms = since(start);
  if (allowed !== n) throw new Error(`expected every decision to allow, got ${allowed} of ${n}`);
  return (n / ms) * 1000;
}

/** The policy rows of `npm run bench`: uncached engine decisions against bare statefulIsAuthorized. */
export async function benchPolicy(): Promise<Row[]> {
  const bundle = await loadBundleDir(BUNDLE_DIR);
  const { bindings, request } = scenario();
  const engine = new PolicyEngine(bundle, bindings);

  // The baseline preparses the very same policies, links and schema under its own names.
  const links = bindings.map((b) => ({
    templateId: `role:${b.role}`,
    newId: `binding:${b.id}`,
    values: { '?principal': b.principal, '?resource': b.resource },
  }));
  const of = (kind: 'static' | 'template') =>
    Object.fromEntries(bundle.policies.filter((p) => p.kind === kind).map((p) => [p.id, p.text]));
  const policies = preparsePolicySet('bench-baseline', {
    staticPolicies: of('static'),
    templates: of('template'),
    templateLinks: links,
  });
  const schema = preparseSchema('bench-baseline-schema', bundle.schema);
  if (policies.type === 'failure' || schema.type === 'failure') throw new Error('baseline did not preparse');
  const call: StatefulAuthorizationCall = {
    principal: request.principal,
    action: { type: 'Action', id: request.action },
    resource: request.resource,
    context: { ...request.context },
    entities: request.entities.map((e) => ({
      uid: e.uid,
      attrs: { ...e.attrs },
      parents: [...(e.parents ?? [])],
    })),
    preparsedPolicySetId: 'bench-baseline',
    preparsedSchemaName: 'bench-baseline-schema',
    validateRequest: true,
  };
  const bare = () => {
    const answer = statefulIsAuthorized(call);
    return answer.type === 'success' && answer.response.decision === 'allow';
  };
  const warden = () => engine.decide(request).allowed;

  const n = scaled(PER_ROUND, benchScale());
  measure(Math.ceil(n / 4), bare);
  measure(Math.ceil(n / 4), warden);
  const bareRates: number[] = [];
  const wardenRates: number[] = [];
  progress(`policy: ${ROUNDS} rounds of ${n} decisions, bare Cedar and the engine interleaved`);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither side always runs on a warmer cache.
    if (round % 2 === 0) {
      bareRates.push(measure(n, bare));
      wardenRates.push(measure(n, warden));
    } else {
      wardenRates.push(measure(n, warden));
      bareRates.push(measure(n, bare));
    }
  }
  const baseline = median(bareRates);
  const ours = median(wardenRates);
  return [
    {
      backend: 'cedar',
      measure: `uncached decision, ${bindings.length} bindings (target within 1.2× of bare)`,
      baseline: rate(baseline, 'dec'),
      warden: rate(ours, 'dec'),
      ratio: ours / baseline,
      target: TARGET,
    },
  ];
}
