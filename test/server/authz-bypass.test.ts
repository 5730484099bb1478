import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/core/index.js';
import { generateToken, tokenDigest } from '../../src/identity/index.js';
import { totpCode } from '../../src/identity/totp.js';
import { registeredRoutes } from '../../src/server/app.js';
import type { AnyRoute } from '../../src/server/route.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { routeKey, SAMPLES } from '../support/route-samples.js';
import { type TestServer, testServer } from '../support/runtime.js';

/** The only routes that answer without credentials. */
const PUBLIC = [
  'GET /healthz',
  'GET /readyz',
  'GET /api/v1/openapi.json',
  'GET /ledger/checkpoint',
  'GET /ledger/tile/*',
  'POST /api/v1/auth/login',
  'GET /api/v1/auth/oidc/login',
  'GET /api/v1/auth/oidc/callback',
];

/** Routes every principal may use on itself (policies/default/roles/self-service.cedar): their resource is the caller. */
const SELF_ROUTES = [
  'GET /api/v1/auth/whoami',
  'POST /api/v1/auth/logout',
  'POST /api/v1/auth/mfa/enroll',
  'POST /api/v1/auth/mfa/confirm',
  'POST /api/v1/auth/mfa/verify',
  // Lists only the projects the caller may read: empty for a principal without bindings.
  'GET /api/v1/projects',
];
const SELF_ACTIONS = ['self.read', 'session.close', 'mfa.manage'];

// Input no route accepts: it must not matter, because 401 comes before validation.
const BAD_QUERY = 'index=-1&from=x&limit=0&cursor=zz&wait=never&released=maybe&resource=nope';
const BAD_BODIES = [
  '{"truncated": ',
  JSON.stringify({ specversion: 7, reason: '', olderThanDays: -1, code: 'x' }),
];

const hasBody = (method: string) => method === 'POST' || method === 'PUT' || method === 'PATCH';
const actionOf = (r: AnyRoute) => ('action' in r.access ? r.access.action : '');

function fillPath(url: string, value: string): string {
  return url.replace(/:[A-Za-z]+/g, encodeURIComponent(value));
}

function sampleUrl(r: AnyRoute, id: string): string {
  const sample = SAMPLES[routeKey(r)];
  assert.ok(sample, `add a valid sample request for ${routeKey(r)} to SAMPLES`);
  return `${fillPath(sample.url ?? r.url, id)}${sample.query ? `?${sample.query}` : ''}`;
}

interface Credential {
  readonly name: string;
  readonly header: string | undefined;
  /** A fragment of the reason the guard records. */
  readonly reason: string;
}

for (const dialect of await backends()) {
  describe(`authorization bypass sweep on ${dialect}`, () => {
    let s: TestServer;
    let table: readonly AnyRoute[];
    let guarded: AnyRoute[];
    let adminId: string;
    let userId: string;
    let otherId: string;
    const secrets: Record<string, string> = {};

    async function createUser(name: string): Promise<string> {
      const res = await s.inject({ method: 'POST', url: '/api/v1/principals', body: { type: 'user', name } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id;
    }

    async function issueToken(principalId: string, scopes: string[]): Promise<{ id: string; token: string }> {
      const res = await s.inject({
        method: 'POST',
        url: `/api/v1/principals/${principalId}/tokens`,
        body: { description: 'sweep', scopes },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    }

    /** A token written straight to the store, for states the API never issues (expired, of an inactive principal). */
    async function storeToken(principalId: string, expires?: number): Promise<string> {
      const secret = generateToken();
      await s.rt.store.db
        .insertInto('api_tokens')
        .values({
          id: newId(),
          principal_id: principalId,
          token_sha256: tokenDigest(secret),
          description: 'sweep',
          scopes: JSON.stringify(['*']),
          created_ms: Date.now(),
          expires_ms: expires ?? null,
          last_used_ms: null,
          revoked_ms: null,
        })
        .execute();
      return secret;
    }

    async function inactiveUser(status: 'suspended' | 'deactivated'): Promise<string> {
      const actor = { type: 'system', id: 'sweep', via: 'system' } as const;
      return (await s.rt.directory.create(actor, { type: 'user', name: `sweep-${status}`, status })).id;
    }

    before(async () => {
      s = await testServer(dialect);
      table = s.rt.routes;
      guarded = table.filter((r) => !('public' in r.access));
      adminId = s.rt.bootstrap.principalId;
      userId = await createUser('sweep-nobody');
      otherId = await createUser('sweep-other');
      secrets.user = (await issueToken(userId, ['*'])).token;
      secrets.other = (await issueToken(otherId, ['*'])).token;
      secrets.scoped = (await issueToken(adminId, ['audit.query'])).token;
      const revoked = await issueToken(adminId, ['*']);
      const r = await s.inject({ method: 'POST', url: `/api/v1/tokens/${revoked.id}/revoke` });
      assert.equal(r.statusCode, 200, r.body);
      secrets.revoked = revoked.token;
      secrets.expired = await storeToken(adminId, Date.now() - 1000);
      secrets.suspended = await storeToken(await inactiveUser('suspended'));
      secrets.deactivated = await storeToken(await inactiveUser('deactivated'));
    });
    after(() => s.close());

    it('Fastify holds exactly the routes of the table (each GET with its HEAD twin), so none skips the guard', () => {
      const expected = table.flatMap((r) =>
        r.method === 'GET' ? [routeKey(r), `HEAD ${r.url}`] : [routeKey(r)],
      );
      assert.deepEqual([...registeredRoutes(s.rt.app)].sort(), expected.sort());
    });

    it('exposes exactly the eight public routes, which answer without credentials', async () => {
      const publicIds = table.filter((r) => 'public' in r.access).map(routeKey);
      assert.deepEqual(publicIds.sort(), [...PUBLIC].sort());
      for (const url of [
        '/healthz',
        '/readyz',
        '/api/v1/openapi.json',
        '/ledger/checkpoint',
        '/ledger/tile/0/000.p/1',
      ]) {
        const res = await s.inject({ method: 'GET', url, token: null });
        assert.ok(![401, 403].includes(res.statusCode), `${url}: ${res.statusCode} ${res.body}`);
      }
      // The sign-in routes are reachable without a credential; they refuse what they are given, not the caller.
      const login = await s.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        body: { username: 'sweep-nobody', password: 'not the password at all' },
        token: null,
      });
      assert.equal(login.statusCode, 401, login.body);
      assert.match(login.json().error.message, /invalid username, password or one-time code/);
      const sso = await s.inject({
        method: 'GET',
        url: `/api/v1/auth/oidc/login?issuer=${encodeURIComponent('https://idp.example')}`,
        token: null,
      });
      assert.equal(sso.statusCode, 400, `no provider is configured: ${sso.body}`);
    });

    it('answers 401 on every guarded route to every bad credential, before reading input, and records each attempt', async () => {
      const credentials: Credential[] = [
        { name: 'none', header: undefined, reason: 'authentication required' },
        { name: 'basic', header: 'Basic YWRtaW46YWRtaW4=', reason: 'not a bearer token' },
        { name: 'unknown', header: `Bearer ${generateToken()}`, reason: 'not recognised' },
        {
          name: 'unknown session',
          header: `Bearer wds_${generateToken().slice(4)}`,
          reason: 'not recognised',
        },
        { name: 'revoked', header: `Bearer ${secrets.revoked}`, reason: 'revoked' },
        { name: 'expired', header: `Bearer ${secrets.expired}`, reason: 'expired' },
        { name: 'suspended', header: `Bearer ${secrets.suspended}`, reason: 'not active' },
        { name: 'deactivated', header: `Bearer ${secrets.deactivated}`, reason: 'not active' },
      ];
      const expected = new Map<string, { routeId: string; reason: string }>();
      let n = 0;
      for (const r of guarded) {
        const methods = r.method === 'GET' ? ['GET', 'HEAD'] : [r.method];
        const sample = SAMPLES[routeKey(r)] ?? {};
        const inputs = [
          {
            url: `${fillPath(r.url, newId())}${sample.query ? `?${sample.query}` : ''}`,
            body: sample.body === undefined ? undefined : JSON.stringify(sample.body),
          },
          ...(hasBody(r.method)
            ? BAD_BODIES.map((body) => ({ url: fillPath(r.url, 'x'.repeat(100)), body }))
            : [{ url: `${fillPath(r.url, 'x'.repeat(100))}?${BAD_QUERY}`, body: undefined }]),
        ];
        for (const method of methods) {
          for (const cred of credentials) {
            for (const input of inputs) {
              const marker = `sweep-401-${n++}`;
              const res = await s.rt.app.inject({
                method: method as 'GET',
                url: input.url,
                headers: {
                  'user-agent': marker,
                  ...(cred.header ? { authorization: cred.header } : {}),
                  ...(input.body !== undefined ? { 'content-type': 'application/json' } : {}),
                },
                ...(input.body !== undefined ? { payload: input.body } : {}),
              });
              const what = `${method} ${input.url} with ${cred.name}`;
              assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
              assert.equal(res.headers['www-authenticate'], 'Bearer realm="warden"', what);
              if (method !== 'HEAD') assert.equal(res.json().error.code, 'WARDEN_UNAUTHENTICATED', what);
              expected.set(marker, { routeId: routeKey(r), reason: cred.reason });
            }
          }
        }
      }
      const events = await allEvents(s, 'action=auth.authenticate&outcome=denied');
      const byMarker = new Map(events.map((e) => [e.event?.actor.userAgent, e.event]));
      for (const [marker, want] of expected) {
        const ev = byMarker.get(marker);
        assert.ok(ev, `no denied auth.authenticate event for ${marker}`);
        assert.equal(ev.actor.type, 'anonymous');
        assert.deepEqual(ev.resource, { type: 'Route', id: want.routeId });
        assert.ok(ev.decision?.reason.includes(want.reason), `${marker}: ${ev.decision?.reason}`);
      }
      const recorded = JSON.stringify(events);
      for (const secret of Object.values(secrets))
        assert.ok(!recorded.includes(secret), 'a secret was recorded');
    });

    it('lets a principal without bindings use exactly the self-service routes, and nothing else', async () => {
      const selfRoutes = guarded.filter((r) => SELF_ACTIONS.includes(actionOf(r))).map(routeKey);
      assert.deepEqual(
        selfRoutes.sort(),
        [...SELF_ROUTES].sort(),
        'a route authorizes a self-service action',
      );
      const bindings = await s.inject({
        method: 'GET',
        url: `/api/v1/bindings?principal=${userId}&all=true`,
      });
      assert.deepEqual(bindings.json().bindings, [], 'the principal has no role bindings');
    });

    it('answers 403 on every other guarded route to a principal without bindings, records the denial, changes nothing', async () => {
      // Token lists without lastUsedAt, which the admin's own reads here move on.
      const tokens = async (id: string) =>
        (await s.inject({ method: 'GET', url: `/api/v1/principals/${id}/tokens` }))
          .json()
          .tokens.map(({ lastUsedAt: _l, ...t }: { lastUsedAt: unknown }) => t);
      const snapshot = async () => [
        ...(await Promise.all(
          [
            '/api/v1/legal-holds?released=include',
            '/api/v1/principals?limit=1000',
            '/api/v1/bindings?all=true',
            '/api/v1/policy',
          ].map(async (url) => (await s.inject({ method: 'GET', url })).json()),
        )),
        await tokens(otherId),
        await tokens(adminId),
      ];
      const stateBefore = await snapshot();
      const bundle = (await s.inject({ method: 'GET', url: '/api/v1/policy' })).json().hash;
      const expected = new Map<string, AnyRoute>();
      let n = 0;
      for (const r of guarded) {
        if (SELF_ACTIONS.includes(actionOf(r))) continue;
        // Ids of nothing, and ids of another principal: neither is the caller's own.
        for (const id of [newId(), otherId]) {
          const marker = `sweep-403-${n++}`;
          const url = sampleUrl(r, id);
          const res = await s.inject({
            method: r.method,
            url,
            body: SAMPLES[routeKey(r)]?.body,
            token: secrets.user,
            headers: { 'user-agent': marker },
          });
          assert.equal(res.statusCode, 403, `${r.method} ${url}: ${res.body}`);
          assert.equal(res.json().error.code, 'WARDEN_FORBIDDEN');
          expected.set(marker, r);
        }
      }
      const events = await allEvents(s, `actor=${userId}&outcome=denied`);
      const byMarker = new Map(events.map((e) => [e.event?.actor.userAgent, e.event]));
      for (const [marker, r] of expected) {
        const ev = byMarker.get(marker);
        assert.ok(ev, `no denied event for ${routeKey(r)}`);
        assert.equal(ev.action, actionOf(r), routeKey(r));
        assert.equal(ev.actor.id, userId);
        assert.equal(ev.actor.type, 'user');
        assert.equal(ev.outcome, 'denied');
        // Nothing permits; for privileged actions a guardrail (MFA) forbids first and is named.
        const policies = ev.decision?.policies ?? [];
        assert.ok(
          policies.every((p) => p.startsWith('guardrail:')),
          `${routeKey(r)}: ${policies}`,
        );
        assert.match(
          ev.decision?.reason ?? '',
          policies.length === 0 ? /^no policy permits / : /^forbidden by guardrail:/,
          routeKey(r),
        );
        assert.equal(ev.decision?.bundle, bundle, routeKey(r));
      }
      assert.deepEqual(await snapshot(), stateBefore, 'a refused request changed something');
      assert.equal(
        (await allEvents(s, 'action=external.com.example.sweep')).length,
        0,
        'a refused request ingested',
      );
    });

    it('serves the self-service routes to a principal without bindings on itself, and refuses them on another', async () => {
      const as = (token: string, method: string, url: string, body?: unknown) =>
        s.inject({ method, url, body, token, headers: { 'user-agent': 'sweep-self' } });
      const whoami = await as(secrets.user as string, 'GET', '/api/v1/auth/whoami');
      assert.equal(whoami.statusCode, 200, whoami.body);
      assert.equal(whoami.json().id, userId);
      const logout = await as(secrets.user as string, 'POST', '/api/v1/auth/logout');
      assert.equal(logout.statusCode, 400, `an API token is not a session: ${logout.body}`);
      const enroll = await as(secrets.user as string, 'POST', '/api/v1/auth/mfa/enroll');
      assert.equal(enroll.statusCode, 200, enroll.body);
      const { secret } = enroll.json();
      const confirm = await as(secrets.user as string, 'POST', '/api/v1/auth/mfa/confirm', {
        code: totpCode(secret, Date.now()),
      });
      assert.equal(confirm.statusCode, 204, confirm.body);
      // The next time step's code: within the verification window, and never used before.
      const verify = await as(secrets.user as string, 'POST', '/api/v1/auth/mfa/verify', {
        code: totpCode(secret, Date.now() + 30_000),
      });
      assert.equal(verify.statusCode, 200, verify.body);

      const own = await as(secrets.user as string, 'POST', `/api/v1/principals/${userId}/tokens`, {
        description: 'my laptop',
        scopes: ['self.read'],
      });
      assert.equal(own.statusCode, 201, own.body);
      const list = await as(secrets.user as string, 'GET', `/api/v1/principals/${userId}/tokens`);
      assert.equal(list.statusCode, 200, list.body);
      assert.ok(list.json().tokens.some((t: { id: string }) => t.id === own.json().id));
      const revoke = await as(secrets.user as string, 'POST', `/api/v1/tokens/${own.json().id}/revoke`);
      assert.equal(revoke.statusCode, 200, revoke.body);

      const others = await as(secrets.other as string, 'GET', `/api/v1/principals/${otherId}/tokens`);
      const otherToken: string = others.json().tokens[0].id;
      const adminTokens = (
        await s.inject({ method: 'GET', url: `/api/v1/principals/${adminId}/tokens` })
      ).json();
      for (const [target, tokenId] of [
        [otherId, otherToken],
        [adminId, adminTokens.tokens[0].id as string],
      ] as const) {
        for (const [method, url, body] of [
          ['POST', `/api/v1/principals/${target}/tokens`, { description: 'theirs', scopes: ['*'] }],
          ['GET', `/api/v1/principals/${target}/tokens`, undefined],
          ['POST', `/api/v1/tokens/${tokenId}/revoke`, undefined],
        ] as const) {
          const res = await as(secrets.user as string, method, url, body);
          assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        }
      }
      const still = await as(secrets.other as string, 'GET', '/api/v1/auth/whoami');
      assert.equal(still.statusCode, 200, "the other principal's token still works");
    });

    it('answers 403 to an admin token scoped to audit.query on every other action, and serves audit.query', async () => {
      let n = 0;
      const expected = new Map<string, string>();
      for (const r of guarded) {
        const action = actionOf(r);
        const marker = `sweep-scope-${n++}`;
        const url = sampleUrl(r, newId());
        const res = await s.inject({
          method: r.method,
          url,
          body: SAMPLES[routeKey(r)]?.body,
          token: secrets.scoped,
          headers: { 'user-agent': marker },
        });
        if (action === 'audit.query') {
          assert.ok([200, 404].includes(res.statusCode), `${r.method} ${url}: ${res.statusCode} ${res.body}`);
        } else {
          assert.equal(res.statusCode, 403, `${r.method} ${url}: ${res.body}`);
          assert.match(
            res.json().error.message,
            new RegExp(`scopes do not include ${action.replace('.', '\\.')}`),
          );
          expected.set(marker, action);
        }
      }
      assert.ok(expected.size > 0);
      const events = await allEvents(s, `actor=${adminId}&outcome=denied`);
      const byMarker = new Map(events.map((e) => [e.event?.actor.userAgent, e.event]));
      for (const [marker, action] of expected) {
        const ev = byMarker.get(marker);
        assert.ok(ev, `no denied event for ${action}`);
        assert.equal(ev.action, action);
        assert.deepEqual(ev.decision?.policies, ['token-scope']);
      }
    });
  });

  describe(`brute force on ${dialect}`, () => {
    let s: TestServer;
    const clock = {
      t: Date.now(),
      now() {
        return this.t;
      },
    };
    const attacker = '203.0.113.7';
    const from = (
      remoteAddress: string,
      opts: { url: string; method?: 'GET' | 'POST'; token?: string; body?: unknown; ua?: string },
    ) =>
      s.rt.app.inject({
        method: opts.method ?? 'GET',
        url: opts.url,
        remoteAddress,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.ua ? { 'user-agent': opts.ua } : {}),
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
      });

    before(async () => {
      s = await testServer(dialect, { authFailureLimit: '3' }, clock);
    });
    after(() => s.close());

    it('slows a source after repeated failed authentications (429 with Retry-After), records it, and lets it retry later', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await from(attacker, { url: '/api/v1/auth/whoami', token: generateToken() });
        assert.equal(res.statusCode, 401, res.body);
      }
      // Even a valid credential waits: the source is slowed, whatever it sends next.
      const slowed = await from(attacker, { url: '/api/v1/auth/whoami', token: s.token, ua: 'brute-429' });
      assert.equal(slowed.statusCode, 429, slowed.body);
      assert.equal(slowed.json().error.code, 'WARDEN_RATE_LIMITED');
      const retryAfter = Number(slowed.headers['retry-after']);
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 300,
        `Retry-After ${retryAfter}`,
      );
      const elsewhere = await from('198.51.100.9', { url: '/api/v1/auth/whoami', token: s.token });
      assert.equal(elsewhere.statusCode, 200, 'another source is not slowed');

      const refusals = await allEvents(s, 'action=auth.authenticate&outcome=denied&actorType=anonymous');
      const refusal = refusals.find((e) => e.event?.actor.userAgent === 'brute-429')?.event;
      assert.ok(refusal, 'the 429 refusal was not recorded');
      assert.equal(refusal.actor.ip, attacker);
      assert.match(refusal.decision?.reason ?? '', /too many failed authentications/);
      assert.ok(!JSON.stringify(refusals).includes(s.token), 'a token was recorded');

      clock.t += retryAfter * 1000;
      const later = await from(attacker, { url: '/api/v1/auth/whoami', token: s.token });
      assert.equal(later.statusCode, 200, `after Retry-After the source may try again: ${later.body}`);
    });

    it('slows password guessing against one account from many sources, even with the right password', async () => {
      const password = 'the right passphrase 2024';
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'user', name: 'victim', password },
      });
      assert.equal(created.statusCode, 201, created.body);
      for (let i = 0; i < 5; i++) {
        const res = await from(`192.0.2.${i + 1}`, {
          method: 'POST',
          url: '/api/v1/auth/login',
          body: { username: 'victim', password: `guess number ${i} of many` },
        });
        assert.equal(res.statusCode, 401, res.body);
      }
      const slowed = await from('192.0.2.100', {
        method: 'POST',
        url: '/api/v1/auth/login',
        body: { username: 'victim', password },
        ua: 'brute-login-429',
      });
      assert.equal(slowed.statusCode, 429, slowed.body);
      const retryAfter = Number(slowed.headers['retry-after']);
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 900,
        `Retry-After ${retryAfter}`,
      );
      const otherAccount = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'user', name: 'bystander', password },
      });
      assert.equal(otherAccount.statusCode, 201, otherAccount.body);
      const bystander = await from('192.0.2.100', {
        method: 'POST',
        url: '/api/v1/auth/login',
        body: { username: 'bystander', password },
      });
      assert.equal(bystander.statusCode, 200, `another account is not slowed: ${bystander.body}`);

      const denied = await allEvents(s, 'action=auth.login&outcome=denied');
      assert.equal(denied.filter((e) => e.event?.decision?.reason === 'wrong password').length, 5);
      const refusal = denied.find((e) => e.event?.actor.userAgent === 'brute-login-429')?.event;
      assert.ok(refusal, 'the throttled sign-in was not recorded');
      assert.equal(refusal.actor.ip, '192.0.2.100');
      assert.match(refusal.decision?.reason ?? '', /too many failed/);
      assert.ok(!JSON.stringify(denied).includes(password), 'a password was recorded');

      clock.t += retryAfter * 1000;
      const later = await from('192.0.2.100', {
        method: 'POST',
        url: '/api/v1/auth/login',
        body: { username: 'victim', password },
      });
      assert.equal(later.statusCode, 200, `after Retry-After the account may sign in: ${later.body}`);
    });
  });
}
