// A small resource world on the default bundle's schema, shared by the policy tests.
import { fileURLToPath } from 'node:url';
import {
  type AuthorizationRequest,
  type CedarValue,
  type EntityData,
  type EntityRef,
  loadBundleDir,
  type PolicyBundle,
} from '../../src/policy/index.js';

/** policies/default, seen from the compiled dist/test/policy/. */
export const DEFAULT_DIR = fileURLToPath(new URL('../../../policies/default', import.meta.url));

let loaded: Promise<PolicyBundle> | undefined;

/** The default bundle shipped in policies/default, loaded once per test file. */
export function defaultBundle(): Promise<PolicyBundle> {
  loaded ??= loadBundleDir(DEFAULT_DIR);
  return loaded;
}

export const ref = (type: string, id: string): EntityRef => ({ type, id });

export const PLATFORM = ref('Platform', 'root');
export const FRAUD = ref('Project', 'fraud');
export const CHURN = ref('Project', 'churn');
export const LEDGER = ref('Ledger', 'warden');

/** A principal entity: active unless `attrs` says otherwise. */
export function principal(
  type: 'User' | 'ServiceAccount',
  id: string,
  attrs: Record<string, CedarValue> = {},
  groups: readonly string[] = [],
): EntityData {
  return {
    uid: ref(type, id),
    attrs: { suspended: false, ...attrs },
    parents: groups.map((g) => ref('Group', g)),
  };
}

/** The request context: no MFA, no purpose unless given. */
export function context(over: Record<string, CedarValue> = {}): Record<string, CedarValue> {
  return { mfa: false, environment: 'dev', sourceIp: '10.0.0.7', ...over };
}

/** The resources of two projects under the platform. */
export const resources: readonly EntityData[] = [
  { uid: PLATFORM },
  { uid: FRAUD, parents: [PLATFORM], attrs: { environments: ['dev', 'staging', 'production'] } },
  { uid: CHURN, parents: [PLATFORM], attrs: { environments: ['dev'] } },
  { uid: LEDGER, parents: [PLATFORM] },
  {
    uid: ref('Dataset', 'labels'),
    parents: [FRAUD],
    attrs: { sensitivity: 'internal', allowedPurposes: [] },
  },
  {
    uid: ref('Dataset', 'transactions'),
    parents: [FRAUD],
    attrs: { sensitivity: 'confidential', allowedPurposes: ['fraud-detection'] },
  },
  {
    uid: ref('Dataset', 'card-holders'),
    parents: [FRAUD],
    attrs: { sensitivity: 'restricted', allowedPurposes: ['fraud-detection'] },
  },
  { uid: ref('Model', 'scorer'), parents: [FRAUD] },
  {
    uid: ref('ModelVersion', 'by-carol'),
    parents: [ref('Model', 'scorer'), FRAUD],
    attrs: { createdBy: { user: { type: 'User', id: 'carol' } }, stage: 'staging', signed: false },
  },
  {
    uid: ref('ModelVersion', 'by-ci'),
    parents: [ref('Model', 'scorer'), FRAUD],
    attrs: {
      createdBy: { serviceAccount: { type: 'ServiceAccount', id: 'ci' } },
      stage: 'production',
      signed: true,
    },
  },
  { uid: ref('Endpoint', 'prod'), parents: [FRAUD], attrs: { environment: 'production' } },
  { uid: ref('Endpoint', 'staging'), parents: [FRAUD], attrs: { environment: 'staging' } },
];

/** A request by `who` (an entity) for `action` on `what`, with the world's resources as entities. */
export function request(
  who: EntityData,
  action: string,
  what: EntityRef,
  ctx: Record<string, CedarValue> = context(),
): AuthorizationRequest {
  const others = resources.filter((e) => e.uid.type !== who.uid.type || e.uid.id !== who.uid.id);
  return { principal: who.uid, action, resource: what, context: ctx, entities: [who, ...others] };
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
}
