import { DEFAULT_BUNDLE_DIR, loadBundleDir } from '../../src/policy/index.js';

/** A request to one route: a query string, a JSON body, and a path to use instead of the route's own. */
export interface RouteSample {
  readonly query?: string;
  readonly body?: unknown;
  readonly url?: string;
}

/** A route's key in SAMPLES (and in reports): `METHOD /url` as registered. */
export const routeKey = (r: { readonly method: string; readonly url: string }): string =>
  `${r.method} ${r.url}`;

const defaultFiles = (await loadBundleDir(DEFAULT_BUNDLE_DIR)).files;
const fraud = { type: 'Project', id: 'fraud' };
const question = { principal: { type: 'User', id: 'someone' }, action: 'model.register', resource: fraud };

const scimUser = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: 'sweep-scim',
  active: true,
};
const scimGroup = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  displayName: 'sweep-scim-group',
};
const scimPatch = {
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [{ op: 'replace', path: 'active', value: false }],
};

const dataset = {
  name: 'sweep-transactions',
  versionDigest: `sha256:${'0'.repeat(64)}`,
  sensitivity: 'restricted',
  allowedPurposes: ['fraud-detection'],
  piiFields: ['card_number'],
  locationUri: 's3://sweep/transactions/v1',
};

/**
 * A valid request for every guarded route, so that a refusal can only come from the guard. `url`
 * replaces the route's path when a path parameter cannot take an arbitrary id (it is an enum).
 */
export const SAMPLES: Readonly<Record<string, RouteSample>> = {
  'POST /api/v1/events': {
    body: { specversion: '1.0', id: 'sweep-1', source: 'https://ci.example/p/1', type: 'com.example.sweep' },
  },
  'GET /api/v1/audit/events': {},
  'GET /gw/:project/:endpoint/*': {},
  'POST /gw/:project/:endpoint/*': { body: { inputs: [] } },
  'GET /api/v1/endpoints/:id/gateway': {},
  'PUT /api/v1/endpoints/:id/gateway': { body: { settings: { timeoutMs: 1000 } } },
  'GET /api/v1/audit/events/:id': {},
  'GET /api/v1/audit/events/:id/proof': {},
  'GET /api/v1/audit/export': {},
  'GET /api/v1/ledger/info': {},
  'GET /api/v1/ledger/proof/inclusion': { query: 'index=0' },
  'GET /api/v1/ledger/proof/consistency': { query: 'from=1' },
  'POST /api/v1/legal-holds': { body: { project: 'fraud', reason: 'litigation 42' } },
  'GET /api/v1/legal-holds': {},
  'POST /api/v1/legal-holds/:id/release': { body: { reason: 'case closed' } },
  'POST /api/v1/ledger/retention/run': { body: { olderThanDays: 0 } },
  'GET /api/v1/auth/whoami': {},
  'POST /api/v1/auth/logout': {},
  'POST /api/v1/auth/mfa/enroll': {},
  'POST /api/v1/auth/mfa/confirm': { body: { code: '123456' } },
  'POST /api/v1/auth/mfa/verify': { body: { code: '123456' } },
  'POST /api/v1/principals': {
    body: { type: 'user', name: 'sweep-new-user', password: 'a sufficiently long passphrase 42' },
  },
  'GET /api/v1/principals': {},
  'GET /api/v1/principals/:id': {},
  'PATCH /api/v1/principals/:id': { body: { displayName: 'Mallory' } },
  'POST /api/v1/principals/:id/password': { body: { password: 'another long passphrase 42' } },
  'POST /api/v1/principals/:id/suspend': { body: { reason: 'sweep test' } },
  'POST /api/v1/principals/:id/reactivate': { body: { reason: 'sweep test' } },
  'GET /api/v1/alerts': { query: 'status=open' },
  'GET /api/v1/alerts/deliveries': { query: 'status=dead' },
  'POST /api/v1/alerts/deliveries/:id/retry': {},
  'GET /api/v1/alerts/:id': {},
  'POST /api/v1/alerts/:id/acknowledge': { body: { note: 'looking' } },
  'POST /api/v1/alerts/:id/resolve': { body: { note: 'benign' } },
  'POST /api/v1/alerts/:id/lift-suspension': { body: { note: 'cleared' } },
  'PUT /api/v1/groups/:id/members': { body: { members: [] } },
  'GET /api/v1/groups/:id/members': {},
  'POST /api/v1/principals/:id/tokens': { body: { description: 'sweep', scopes: ['*'] } },
  'GET /api/v1/principals/:id/tokens': {},
  'POST /api/v1/tokens/:id/revoke': {},
  'POST /api/v1/bindings': {
    body: {
      role: 'platform-admin',
      principal: { type: 'User', id: 'someone' },
      resource: { type: 'Platform', id: 'root' },
    },
  },
  'GET /api/v1/bindings': {},
  'POST /api/v1/bindings/:id/revoke': { body: { reason: 'sweep' } },
  'POST /api/v1/authorize': { body: question },
  'POST /api/v1/authorize/explain': { body: question },
  'GET /api/v1/principals/:id/permissions': { query: `resource=${encodeURIComponent('Project::"fraud"')}` },
  'GET /api/v1/policy': {},
  'GET /api/v1/policy/files': {},
  'POST /api/v1/policy/bundles': { body: { files: defaultFiles } },
  'GET /metrics': {},
  'GET /scim/v2/ServiceProviderConfig': {},
  'GET /scim/v2/ResourceTypes': {},
  'GET /scim/v2/ResourceTypes/:id': {},
  'GET /scim/v2/Schemas': {},
  'GET /scim/v2/Schemas/:id': {},
  'GET /scim/v2/Users': { query: `filter=${encodeURIComponent('userName eq "sweep-nobody"')}` },
  'POST /scim/v2/Users': { body: scimUser },
  'GET /scim/v2/Users/:id': {},
  'PUT /scim/v2/Users/:id': { body: scimUser },
  'PATCH /scim/v2/Users/:id': { body: scimPatch },
  'DELETE /scim/v2/Users/:id': {},
  'GET /scim/v2/Groups': {},
  'POST /scim/v2/Groups': { body: scimGroup },
  'GET /scim/v2/Groups/:id': {},
  'PUT /scim/v2/Groups/:id': { body: scimGroup },
  'PATCH /scim/v2/Groups/:id': { body: scimPatch },
  'DELETE /scim/v2/Groups/:id': {},
  'POST /api/v1/projects': { body: { id: 'sweep-project' } },
  'GET /api/v1/projects': {},
  'GET /api/v1/projects/:project': {},
  'PATCH /api/v1/projects/:project': { body: { description: 'sweep' } },
  'POST /api/v1/projects/:project/signers': {
    body: { name: 'sweep', kind: 'key', pem: '-----BEGIN PUBLIC KEY-----' },
  },
  'GET /api/v1/projects/:project/signers': {},
  'POST /api/v1/projects/:project/signers/:id/revoke': { body: {} },
  'POST /api/v1/projects/:project/datasets': { body: dataset },
  'GET /api/v1/projects/:project/datasets': {},
  'GET /api/v1/datasets/:id': {},
  'POST /api/v1/datasets/:id/access-requests': { body: { purpose: 'fraud-detection' } },
  'POST /api/v1/datasets/:id/reads': { body: { grant: 'sweep-grant' } },
  'GET /api/v1/lineage/:kind/:id': { url: '/api/v1/lineage/dataset/:id', query: 'direction=down' },
  'POST /api/v1/projects/:project/models': { body: { name: 'sweep-model' } },
  'GET /api/v1/projects/:project/models': {},
  'GET /api/v1/models/:id': {},
  'POST /api/v1/models/:id/versions': {},
  'GET /api/v1/model-versions/:id': {},
  'GET /api/v1/projects/:project/models/:name/versions/:ref': {},
  'GET /api/v1/model-versions/:id/files/*': { url: '/api/v1/model-versions/:id/files/weights/model.bin' },
  'POST /api/v1/model-versions/:id/signatures': {
    body: { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' },
  },
  'PUT /api/v1/model-versions/:id/provenance': { body: { _type: 'https://in-toto.io/Statement/v1' } },
  'GET /api/v1/model-versions/:id/provenance': {},
  'POST /api/v1/model-versions/:id/promotions': { body: { target: 'staging', rationale: 'sweep test' } },
  'GET /api/v1/model-versions/:id/promotions': {},
  'GET /api/v1/promotions/:id': {},
  'POST /api/v1/promotions/:id/approvals': { body: { decision: 'approve' } },
  'POST /api/v1/promotions/:id/cancel': { body: { reason: 'sweep test' } },
  'POST /api/v1/model-versions/:id/rollback': { body: { rationale: 'sweep test' } },
  'POST /api/v1/model-versions/:id/retire': { body: { rationale: 'sweep test' } },
  'POST /api/v1/model-versions/:id/purge-artifacts': { body: { rationale: 'sweep test' } },
  'PUT /api/v1/models/:id/aliases/:alias': {
    url: '/api/v1/models/:id/aliases/champion',
    body: { version: '01JSWEEPVERSION00000000000' },
  },
  'DELETE /api/v1/models/:id/aliases/:alias': { url: '/api/v1/models/:id/aliases/champion' },
  'POST /api/v1/projects/:project/endpoints': {
    body: { name: 'sweep', environment: 'production', upstreamUrl: 'http://127.0.0.1:9', protocol: 'http' },
  },
  'GET /api/v1/projects/:project/endpoints': {},
  'GET /api/v1/endpoints/:id': {},
  'POST /api/v1/endpoints/:id/deployments': { body: { version: '01JSWEEPVERSION00000000000' } },
  'POST /api/v1/endpoints/:id/rollback': { body: { rationale: 'sweep test' } },
  'GET /api/v1/endpoints/:id/deployments': {},
};
