import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ZodObject, type ZodType } from 'zod';
import { newId } from '../../src/core/index.js';
import type { AnyRoute } from '../../src/server/route.js';
import { backends } from '../support/backends.js';
import {
  ecKeyPair,
  projectWithSigner,
  raiseCriticalAlert,
  seedModel,
  seedVersion,
} from '../support/lifecycle-fixtures.js';
import { routeKey, SAMPLES } from '../support/route-samples.js';
import { type TestServer, testServer } from '../support/runtime.js';
import { tarFiles, tarMember, tarOf } from '../support/tar.js';

/**
 * "Bad input gets a clear 4xx error naming the field, never a 500": every route the app registers (but
 * the gateway's, which proxy to an upstream and rightly answer 502 without one) is sent malformed
 * paths, queries, bodies and content types as the bootstrap admin, around real resources so that input
 * passing a schema reaches the handler and the store. Every answer must come below 500 and in time,
 * and every 400 must name a field in error.issues. (That a refusal writes nothing is left to each
 * route's own tests.)
 */

/** How long one request may take before it counts as a hang (far above any answer, even on a loaded machine). */
const HANG_MS = 15_000;

/** Path parameter values no route should choke on (already percent-encoded where needed). */
const BAD_SEGMENTS = [
  'x'.repeat(300),
  '%F0%9F%92%A9',
  'a%00b',
  '%E2%80%AE',
  '%C3%28',
  '..',
  '%25',
  '__proto__',
  "'%20OR%201=1--",
  newId(),
];

/** Query values for every key a route reads (already percent-encoded). */
const BAD_QUERY_VALUES = [
  '-1',
  'abc',
  '',
  'NaN',
  '1e309',
  '99999999999999999999',
  '1.5',
  'a%00b',
  'x'.repeat(3000),
  '2024-13-45T99:99:99Z',
  '2024-02-30T12:00:00Z',
  '%F0%9F%92%A9',
  '%FF',
];

/** Keys some routes read, sent to every route (a route that does not read one ignores it). */
const COMMON_QUERY_KEYS = ['limit', 'cursor', 'from', 'to'];

/** Whole bodies sent as application/json. */
const BAD_JSON: (string | Buffer)[] = [
  '',
  '{',
  'nul',
  '[]',
  '"text"',
  '42',
  'null',
  '1e999',
  '{}{}',
  '\uFEFF{}',
  '{"__proto__":{"admin":true}}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  `${'{"a":'.repeat(20_000)}{}${'}'.repeat(20_000)}`,
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
];

/** Content types a JSON route does not take (each sent with the route's valid body). */
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/x-tar',
  'application/json; charset=utf-16',
  'application/scim+json',
  'application/cloudevents-batch+json',
  '',
];

/** Stands for an object nested 10,000 deep, too deep for JSON.stringify: `json` writes it out. */
const DEEP = 'fuzz:nested-10000-deep';
const DEEP_TEXT = `${'{"a":'.repeat(10_000)}{}${'}'.repeat(10_000)}`;

/** JSON text of a value, with DEEP written out as the nesting it stands for. */
const json = (value: unknown) => JSON.stringify(value).replaceAll(`"${DEEP}"`, DEEP_TEXT);

/** Values put in place of each field of a route's valid body. */
const BAD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.23456789,
  1e308,
  2 ** 53 + 1,
  '',
  'x'.repeat(100_000),
  'a\u0000b',
  '\uD800',
  '🦀'.repeat(300),
  '2024-13-45T99:99:99Z',
  '2024-02-30T12:00:00Z',
  [],
  {},
  DEEP,
];

const hasBody = (method: string) => method !== 'GET';

/** The fields of an object schema, through optional, default and pipe wrappers (none if not an object). */
function shapeOf(schema: unknown): Record<string, unknown> {
  let s = schema;
  for (let i = 0; i < 8 && s !== undefined; i++) {
    if (s instanceof ZodObject) return s.shape;
    const def = (s as { def?: { innerType?: unknown; in?: unknown } }).def;
    s = def?.innerType ?? def?.in;
  }
  return {};
}

const schemaKeys = (schema: ZodType | undefined) => Object.keys(shapeOf(schema));

/** One request of the sweep. */
interface Probe {
  readonly what: string;
  readonly method: string;
  readonly url: string;
  readonly contentType?: string;
  readonly payload?: string | Buffer;
}

type Outcome = { statusCode: number; body: string } | 'hang';

/** Why an answer breaks the rule, or undefined when it keeps it. */
function breach(probe: Probe, res: Outcome): string | undefined {
  const what = `${probe.what}: ${probe.method} ${probe.url.slice(0, 160)}`;
  if (res === 'hang') return `${what}: no answer in ${HANG_MS} ms`;
  if (res.statusCode >= 500) return `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (res.statusCode === 400) {
    let issues: unknown;
    try {
      issues = JSON.parse(res.body).error?.issues;
    } catch {
      return `${what}: 400 without a JSON error: ${res.body.slice(0, 200)}`;
    }
    const named =
      Array.isArray(issues) &&
      issues.length > 0 &&
      issues.every((i) => typeof i?.field === 'string' && i.field !== '' && typeof i?.message === 'string');
    if (!named) return `${what}: 400 naming no field: ${res.body.slice(0, 300)}`;
  }
  return undefined;
}

for (const dialect of await backends()) {
  describe(`malformed input sweep on ${dialect}`, () => {
    let s: TestServer;
    let routes: AnyRoute[];
    /** Ids of real resources, by the collection segment that precedes `:id` in a route's path. */
    const ids: Record<string, string> = {};
    let versionId: string;
    const signerPem = ecKeyPair().publicKey;

    async function created(method: string, url: string, body?: unknown): Promise<string> {
      const res = await s.inject({ method, url, body });
      assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
      return res.json().id;
    }

    before(async () => {
      s = await testServer(dialect);
      // The policy bundle goes last: a bundle the sweep applied must not change what the admin may do earlier.
      routes = s.rt.routes
        .filter((r) => !r.url.startsWith('/gw/'))
        .sort(
          (a, b) => Number(a.url.includes('/policy/bundles')) - Number(b.url.includes('/policy/bundles')),
        );
      const admin = s.rt.bootstrap.principalId;
      const { key, signer } = await projectWithSigner(s, 'fuzz');
      ids.signers = signer;
      ids.models = await seedModel(s, 'fuzz', 'fuzz-model', admin);
      versionId = (
        await seedVersion(s, {
          project: 'fuzz',
          model: ids.models,
          createdBy: admin,
          sign: { privateKey: key.privateKey, signer },
          provenance: {},
        })
      ).id;
      ids['model-versions'] = versionId;
      const second = await seedVersion(s, {
        project: 'fuzz',
        model: ids.models,
        createdBy: admin,
        sign: { privateKey: key.privateKey, signer },
        provenance: {},
      });
      ids.promotions = await created('POST', `/api/v1/model-versions/${second.id}/promotions`, {
        target: 'staging',
        rationale: 'the sweep needs a request',
      });
      ids.datasets = await created(
        'POST',
        '/api/v1/projects/fuzz/datasets',
        SAMPLES['POST /api/v1/projects/:project/datasets']?.body,
      );
      ids.endpoints = await created('POST', '/api/v1/projects/fuzz/endpoints', {
        name: 'fuzz-endpoint',
        environment: 'dev',
        upstreamUrl: 'http://127.0.0.1:9',
        protocol: 'http',
      });
      ids['legal-holds'] = await created('POST', '/api/v1/legal-holds', {
        project: 'elsewhere',
        reason: 'the sweep',
      });
      ids.alerts = await raiseCriticalAlert(s, { type: 'ModelVersion', id: versionId }, 'fuzz');
      ids.principals = await created('POST', '/api/v1/principals', { type: 'user', name: 'fuzz-user' });
      ids.groups = await created('POST', '/api/v1/principals', { type: 'group', name: 'fuzz-group' });
      ids.tokens = await created('POST', `/api/v1/principals/${ids.principals}/tokens`, {
        description: 'fuzz',
      });
      ids.bindings = await created('POST', '/api/v1/bindings', {
        role: 'data-scientist',
        principal: { type: 'User', id: ids.principals },
        resource: { type: 'Project', id: 'fuzz' },
      });
      ids.Users = await created('POST', '/scim/v2/Users', SAMPLES['POST /scim/v2/Users']?.body);
      ids.Groups = await created('POST', '/scim/v2/Groups', SAMPLES['POST /scim/v2/Groups']?.body);
      ids.ResourceTypes = 'User';
      ids.Schemas = 'urn:ietf:params:scim:schemas:core:2.0:User';
      const events = await s.inject({ method: 'GET', url: '/api/v1/audit/events?limit=1' });
      ids.events = events.json().events[0].id;
      ids.deliveries = newId();
    });
    after(() => s.close());

    /** The value of path parameter `name` that names a real resource. */
    function realParam(url: string, name: string): string {
      switch (name) {
        case 'project':
          return 'fuzz';
        case 'name':
          return 'fuzz-model';
        case 'ref':
          return '1';
        case 'alias':
          return 'champion';
        case 'kind':
          return 'dataset';
        case '*':
          return url.startsWith('/ledger/tile/') ? '0/000.p/1' : 'weights.bin';
      }
      const segments = url.split('/');
      const before = segments[segments.indexOf(`:${name}`) - 1] ?? '';
      return (before === ':kind' ? ids.datasets : ids[before]) ?? newId();
    }

    /** The route's path with every parameter real, but `name` (if given) set to `value`. */
    function path(r: AnyRoute, name?: string, value?: string): string {
      return r.url
        .split('/')
        .map((seg) => {
          const param = seg === '*' ? '*' : seg.startsWith(':') ? seg.slice(1) : undefined;
          if (param === undefined) return seg;
          return param === name ? (value as string) : encodeURIComponent(realParam(r.url, param));
        })
        .join('/');
    }

    /** The route's valid body, pointing at real resources. */
    function validBody(r: AnyRoute): unknown {
      const body = SAMPLES[routeKey(r)]?.body;
      switch (routeKey(r)) {
        // Without a password, which would be hashed (slowly) on every request.
        case 'POST /api/v1/principals':
          return { type: 'user', name: 'fuzz-someone' };
        // With data, for the sweep to put anything there.
        case 'POST /api/v1/events':
          return { ...(body as object), data: { score: 1 } };
        // A principal, a project and a key that exist, so that a change the schema lets through reaches the store.
        case 'POST /api/v1/bindings':
        case 'POST /api/v1/authorize':
        case 'POST /api/v1/authorize/explain':
          return {
            ...(body as object),
            principal: { type: 'User', id: ids.principals },
            resource: { type: 'Project', id: 'fuzz' },
            ...(routeKey(r) === 'POST /api/v1/bindings' ? { role: 'data-scientist' } : {}),
          };
        case 'POST /api/v1/projects/:project/signers':
          return { name: 'fuzz-signer', kind: 'key', pem: signerPem };
      }
      if (body !== undefined && typeof body === 'object' && body !== null && 'version' in body)
        return { ...body, version: versionId };
      return body;
    }

    const validQuery = (r: AnyRoute) => SAMPLES[routeKey(r)]?.query ?? '';

    async function send(p: Probe): Promise<Outcome> {
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<'hang'>((resolve) => {
        timer = setTimeout(() => resolve('hang'), HANG_MS);
      });
      try {
        return await Promise.race([
          s.rt.app.inject({
            method: p.method as 'GET',
            url: p.url,
            headers: {
              authorization: `Bearer ${s.token}`,
              ...(p.contentType !== undefined && p.contentType !== ''
                ? { 'content-type': p.contentType }
                : {}),
            },
            ...(p.payload !== undefined ? { payload: p.payload } : {}),
          }),
          hang,
        ]);
      } finally {
        clearTimeout(timer);
      }
    }

    /** Sends every probe, one at a time, and asserts that every answer keeps the rule. */
    async function sweep(probes: Iterable<Probe>): Promise<void> {
      const breaches: string[] = [];
      let sent = 0;
      for (const p of probes) {
        sent++;
        const why = breach(p, await send(p));
        if (why !== undefined) breaches.push(why);
      }
      assert.ok(sent > 100, `only ${sent} requests`);
      assert.equal(
        breaches.length,
        0,
        `${breaches.length} of ${sent} answers break the rule:\n${breaches.join('\n')}`,
      );
    }

    /** A request to `r` with its valid query and body, changed as given. */
    function probe(
      r: AnyRoute,
      what: string,
      change: { url?: string; query?: string; payload?: string | Buffer | null; contentType?: string } = {},
    ): Probe {
      const body = validBody(r);
      const query = change.query ?? validQuery(r);
      // `payload: null` sends no body at all.
      const payload =
        change.payload === null
          ? undefined
          : (change.payload ?? (body === undefined ? undefined : JSON.stringify(body)));
      return {
        what,
        method: r.method,
        url: `${change.url ?? path(r)}${query ? `?${query}` : ''}`,
        ...(payload !== undefined
          ? { payload, contentType: change.contentType ?? 'application/json' }
          : change.contentType !== undefined
            ? { contentType: change.contentType }
            : {}),
      };
    }

    it('answers below 500, in time, naming the field, to malformed path parameters on every route', async () => {
      const probes = function* () {
        for (const r of routes) {
          const params = r.url
            .split('/')
            .filter((seg) => seg.startsWith(':') || seg === '*')
            .map((seg) => (seg === '*' ? '*' : seg.slice(1)));
          for (const name of params)
            for (const value of BAD_SEGMENTS)
              yield probe(r, `path ${name}=${value.slice(0, 20)}`, { url: path(r, name, value) });
        }
      };
      await sweep(probes());
    });

    it('answers below 500, in time, naming the field, to malformed query parameters on every route', async () => {
      const probes = function* () {
        for (const r of routes) {
          const base = new URLSearchParams(validQuery(r));
          // Keys a route does not read are ignored, or refused with a named field when they hold a NUL.
          for (const value of ['-1', 'abc', '%00'])
            yield probe(r, `unread query keys =${value}`, {
              query: `${base.toString()}&${COMMON_QUERY_KEYS.map((k) => `${k}=${value}`).join('&')}`,
            });
          for (const key of schemaKeys(r.query)) {
            for (const value of BAD_QUERY_VALUES) {
              const q = new URLSearchParams(base);
              q.delete(key);
              yield probe(r, `query ${key}=${value.slice(0, 20)}`, {
                query: `${q.toString()}${q.size > 0 ? '&' : ''}${key}=${value}`,
              });
            }
            // A key given twice reaches the schema as an array.
            yield probe(r, `query ${key} twice`, { query: `${base.toString()}&${key}=1&${key}=2` });
          }
        }
      };
      await sweep(probes());
    });

    it('answers below 500, in time, naming the field, to malformed JSON and foreign content types', async () => {
      const probes = function* () {
        for (const r of routes.filter((x) => hasBody(x.method))) {
          for (const payload of BAD_JSON)
            yield probe(r, `body ${String(payload).slice(0, 20)}`, {
              payload,
              contentType: 'application/json',
            });
          const body = JSON.stringify(validBody(r) ?? {});
          for (const contentType of OTHER_TYPES)
            yield probe(r, `content-type ${contentType}`, { payload: body, contentType });
          yield probe(r, 'empty body with a JSON type', { payload: '', contentType: 'application/json' });
          yield probe(r, 'no body, no type', { payload: null });
        }
        // The one streamed upload: archives that are not what they say.
        const upload = routes.find((x) => routeKey(x) === 'POST /api/v1/models/:id/versions');
        assert.ok(upload);
        for (const [what, payload, contentType] of [
          ['garbage tar', Buffer.from('not a tar archive at all'), 'application/x-tar'],
          ['garbage gzip', Buffer.from('not gzip at all'), 'application/gzip'],
          ['empty tar', tarOf(), 'application/x-tar'],
          ['truncated tar', tarFiles({ 'w.bin': 'x'.repeat(2000) }).subarray(0, 700), 'application/x-tar'],
          ['escaping tar', tarFiles({ '../escape.bin': 'x' }), 'application/x-tar'],
          ['absolute tar', tarFiles({ '/etc/passwd': 'x' }), 'application/x-tar'],
          ['NUL name tar', tarOf(tarMember('a\u0000b', 'x')), 'application/x-tar'],
          ['symlink tar', tarOf(tarMember('link', '', '2', '/etc/passwd')), 'application/x-tar'],
          ['empty body', Buffer.alloc(0), 'application/x-tar'],
        ] as const) {
          yield probe(upload, what, { payload, contentType });
        }
      };
      await sweep(probes());
    });

    it('answers below 500, in time, naming the field, to each field of a valid body made wrong', async () => {
      const probes = function* () {
        for (const r of routes.filter((x) => hasBody(x.method))) {
          const body = validBody(r);
          if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body))
            continue;
          const shape = shapeOf(r.body);
          const fields = [...new Set([...Object.keys(body), ...Object.keys(shape)])];
          for (const field of [...fields, 'unexpected']) {
            for (const value of BAD_VALUES)
              yield probe(r, `body ${field}=${JSON.stringify(value)?.slice(0, 20)}`, {
                payload: json({ ...body, [field]: value }),
              });
            const { [field]: _dropped, ...rest } = body as Record<string, unknown>;
            yield probe(r, `body without ${field}`, { payload: JSON.stringify(rest) });
          }
          // One level down: each field of a nested object (the policy bundle's files excepted: a file made
          // empty is a valid bundle that would take the admin's rights away).
          for (const field of fields) {
            const inner = (body as Record<string, unknown>)[field];
            if (field === 'files' || inner === null || typeof inner !== 'object') continue;
            const innerObject = Array.isArray(inner) ? inner[0] : inner;
            if (innerObject === null || typeof innerObject !== 'object') continue;
            const keys = new Set([...Object.keys(innerObject), ...Object.keys(shapeOf(shape[field]))]);
            for (const key of keys) {
              for (const value of BAD_VALUES) {
                const changed = { ...innerObject, [key]: value };
                yield probe(r, `body ${field}.${key}=${JSON.stringify(value)?.slice(0, 20)}`, {
                  payload: json({ ...body, [field]: Array.isArray(inner) ? [changed] : changed }),
                });
              }
            }
          }
        }
      };
      await sweep(probes());
    });

    it('answers below 500, in time, naming the field, to arbitrary JSON in any field or query key (fast-check, fixed seed)', async () => {
      const bodyRoutes = routes.filter((r) => {
        const b = validBody(r);
        return hasBody(r.method) && typeof b === 'object' && b !== null && !Array.isArray(b);
      });
      const queryRoutes = routes.filter((r) => schemaKeys(r.query).length > 0);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.record({
              kind: fc.constant('body' as const),
              route: fc.constantFrom(...bodyRoutes),
              field: fc.oneof(fc.string({ maxLength: 8, unit: 'binary' }), fc.nat()),
              value: fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }),
            }),
            fc.record({
              kind: fc.constant('query' as const),
              route: fc.constantFrom(...queryRoutes),
              field: fc.nat(),
              value: fc.string({ unit: 'binary', maxLength: 40 }),
            }),
          ),
          async ({ kind, route: r, field, value }) => {
            let p: Probe;
            if (kind === 'body') {
              const body = validBody(r) as Record<string, unknown>;
              const keys = Object.keys(body);
              const key = typeof field === 'number' ? (keys[field % keys.length] ?? 'x') : field;
              if (key === 'files') return;
              p = probe(r, `fast-check body ${key}=${JSON.stringify(value).slice(0, 40)}`, {
                payload: JSON.stringify({ ...body, [key]: value }),
              });
            } else {
              const keys = schemaKeys(r.query);
              const key = keys[(field as number) % keys.length] as string;
              const q = new URLSearchParams(validQuery(r));
              q.set(key, value as string);
              p = probe(r, `fast-check query ${key}`, { query: q.toString() });
            }
            const why = breach(p, await send(p));
            // Thrown, so fast-check shrinks the input and reports the smallest that breaks the rule.
            if (why !== undefined) throw new Error(why);
          },
        ),
        // A fixed seed: the same 400 requests on every run; a breach is reported as found, unshrunk.
        { seed: 20250601, numRuns: 400, endOnFailure: true },
      );
    });

    it('refuses a path parameter over the router limit with a 400 naming the path', async () => {
      const res = await send({
        what: 'long id',
        method: 'GET',
        url: `/api/v1/principals/${'x'.repeat(300)}`,
      });
      assert.ok(res !== 'hang');
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(JSON.parse(res.body).error.issues[0].field, 'path');
    });

    it('still serves the admin after the sweep (the answers above were not refusals of access)', async () => {
      const res = await s.inject({ method: 'GET', url: '/api/v1/principals' });
      assert.equal(res.statusCode, 200, res.body);
    });
  });
}
