import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { addEndpoint, addProject } from '../gateway/fixtures.js';
import { startUpstream } from '../gateway/upstream.js';
import { recordedEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { OIDC_API_AUDIENCE, OIDC_CLIENT, OIDC_USER } from '../support/oidc-fixture.js';
import { startOidcProvider, type TestOidcProvider } from '../support/oidc-provider.js';
import { eventually } from '../support/process.js';
import { type TestServer, testServer } from '../support/runtime.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

for (const dialect of await backends()) {
  describe(`single sign-on through the API against a real OpenID provider on ${dialect}`, () => {
    let op: TestOidcProvider;
    let s: TestServer;
    let groupId: string;

    before(async () => {
      op = await startOidcProvider();
      const issuers = [
        {
          issuer: op.issuer,
          audience: OIDC_API_AUDIENCE,
          clientId: OIDC_CLIENT.id,
          clientSecret: OIDC_CLIENT.secret,
          redirectUri: OIDC_CLIENT.redirectUri,
          scopes: ['openid', 'profile', 'email', 'groups'],
        },
      ];
      s = await testServer(dialect, { oidcIssuers: JSON.stringify(issuers) });
      // The provider's group claim names this group; it exists before the user ever signs in.
      const group = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'group', name: 'warden-admins' },
      });
      assert.equal(group.statusCode, 201, group.body);
      groupId = group.json().id;
    });
    after(async () => {
      await s?.close();
      await op?.close();
    });

    const claims = (extra: JWTPayload = {}): JWTPayload => {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: op.issuer,
        aud: OIDC_API_AUDIENCE,
        sub: OIDC_USER.sub,
        preferred_username: OIDC_USER.login,
        email: OIDC_USER.email,
        groups: [...OIDC_USER.groups],
        amr: ['pwd'],
        iat: now,
        exp: now + 300,
        ...extra,
      };
    };
    /** Binds `role` on `resource` to the group the provider's users are in. */
    async function bindGroup(role: string, resource: { type: string; id: string }): Promise<void> {
      const bound = await s.inject({
        method: 'POST',
        url: '/api/v1/bindings',
        body: { role, principal: { type: 'Group', id: groupId }, resource },
      });
      assert.equal(bound.statusCode, 201, bound.body);
    }

    const call = (url: string, jwt: string, ua = 'oidc-api-test') =>
      s.inject({ method: 'GET', url, token: jwt, headers: { 'user-agent': ua } });
    const recorded = (query: string): Promise<LedgerEvent[]> => recordedEvents(s, query);

    it('accepts a provider-issued JWT as a bearer: provisions and records the user, maps the group claim to its binding', async () => {
      const jwt = await op.sign(claims());
      const who = await call('/api/v1/auth/whoami', jwt);
      assert.equal(who.statusCode, 200, who.body);
      const me = who.json();
      assert.equal(me.type, 'user');
      assert.equal(me.name, OIDC_USER.login);
      assert.deepEqual(me.credential, { kind: 'oidc', id: `${op.issuer}#${OIDC_USER.sub}` });
      assert.equal(me.mfa, false, 'amr pwd alone is one factor');
      assert.deepEqual(
        me.groups,
        [groupId],
        'warden-admins maps to the Warden group; ml-engineers to nothing',
      );

      const user = (await s.inject({ method: 'GET', url: `/api/v1/principals/${me.id}` })).json();
      assert.deepEqual([user.issuer, user.subject, user.email], [op.issuer, OIDC_USER.sub, OIDC_USER.email]);
      const [created] = await recorded(`action=principal.create&resourceId=${me.id}`);
      assert.ok(created, 'the provisioning was not recorded');
      assert.deepEqual(created.actor, { type: 'system', id: 'oidc', via: 'system' });
      assert.equal(created.details?.federated, true);

      // Only the group's binding lets the user read principals.
      assert.equal((await call('/api/v1/principals', jwt)).statusCode, 403);
      await bindGroup('security-auditor', { type: 'Platform', id: 'root' });
      assert.equal((await call('/api/v1/principals', jwt)).statusCode, 200);
      const withoutClaim = await op.sign(claims({ groups: ['ml-engineers'] }));
      assert.equal(
        (await call('/api/v1/principals', withoutClaim)).statusCode,
        403,
        'the group comes from the claim',
      );

      const again = await call('/api/v1/auth/whoami', await op.sign(claims()));
      assert.equal(again.json().id, me.id, 'the same subject is the same user');
      assert.equal((await recorded('action=principal.create&actor=oidc')).length, 1);
    });

    it('accepts the JWT access token the provider itself issued (client_credentials)', async () => {
      const who = await call('/api/v1/auth/whoami', await op.clientCredentialsToken());
      assert.equal(who.statusCode, 200, who.body);
      assert.equal(who.json().name, OIDC_CLIENT.id, 'no preferred_username: named by its subject');
    });

    it('reports MFA when amr names a second factor', async () => {
      const who = await call('/api/v1/auth/whoami', await op.sign(claims({ amr: ['pwd', 'otp'] })));
      assert.equal(who.statusCode, 200, who.body);
      assert.equal(who.json().mfa, true);
    });

    it('calls a model through the gateway with a provider-issued JWT, recorded under the federated user', async () => {
      const upstream = await startUpstream();
      try {
        await addProject(s.rt.store.db, 'sso', ['staging']);
        await addEndpoint(s.rt.store.db, {
          project: 'sso',
          name: 'sso',
          upstreamUrl: upstream.url,
          protocol: 'open-inference-v2',
        });
        await bindGroup('data-scientist', { type: 'Project', id: 'sso' });
        await s.rt.app.listen({ port: 0, host: '127.0.0.1' });
        const base = `http://127.0.0.1:${(s.rt.app.server.address() as AddressInfo).port}`;
        const jwt = await op.sign(claims());
        const res = await fetch(`${base}/gw/sso/sso/v2/models/m/infer`, {
          method: 'POST',
          headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ data: [2, 3] }] }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        assert.deepEqual(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data, [5]);
        assert.equal(upstream.seen.at(-1)?.headers.authorization, undefined, 'the JWT stays with Warden');
        const me = (await call('/api/v1/auth/whoami', jwt)).json();
        const [event] = await eventually('the gateway event', async () => {
          const found = await recorded('action=endpoint.invoke&resourceId=ep-sso');
          return found.length > 0 ? found : undefined;
        });
        assert.equal(event?.actor.id, me.id);
        assert.equal(event?.actor.session, `oidc:${op.issuer}#${OIDC_USER.sub}`);
        assert.equal(event?.outcome, 'succeeded');
      } finally {
        await upstream.close();
      }
    });

    it('refuses expired, wrong-audience, wrong-issuer, alg none, unknown-kid and tampered tokens with 401, and records each', async () => {
      const stranger = await generateKeyPair('RS256');
      const valid = await op.sign(claims());
      const [header, payload, signature] = valid.split('.') as [string, string, string];
      const flipped = Buffer.from(signature, 'base64url');
      flipped[10] = (flipped[10] as number) ^ 0x01;
      const now = Math.floor(Date.now() / 1000);
      const cases: [string, string, RegExp][] = [
        ['expired', await op.sign(claims({ iat: now - 600, exp: now - 120 })), /expired/],
        ['audience', await op.sign(claims({ aud: 'https://other.test/api' })), /audience/],
        ['issuer', await op.sign(claims({ iss: 'https://evil.example' })), /issuer/],
        ['alg-none', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`, /algorithm/],
        ['unknown-kid', await op.sign(claims(), { kid: 'no-such-kid' }), /unknown-key/],
        [
          'foreign-key',
          await new SignJWT(claims())
            .setProtectedHeader({ alg: 'RS256', kid: op.kids.RS256 })
            .sign(stranger.privateKey),
          /signature/,
        ],
        [
          'tampered-payload',
          `${header}.${b64(claims({ groups: ['platform-admin'], amr: ['otp'] }))}.${signature}`,
          /signature/,
        ],
        ['tampered-signature', `${header}.${payload}.${flipped.toString('base64url')}`, /signature/],
      ];
      for (const [name, jwt] of cases) {
        const res = await call('/api/v1/auth/whoami', jwt, `oidc-bad-${name}`);
        assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
        assert.equal(res.json().error.code, 'WARDEN_UNAUTHENTICATED', name);
      }
      assert.equal(
        (await call('/api/v1/auth/whoami', valid)).statusCode,
        200,
        'the untampered token is fine',
      );
      const events = await recorded('action=auth.authenticate&outcome=denied');
      for (const [name, jwt, why] of cases) {
        const ev = events.find((e) => e.actor.userAgent === `oidc-bad-${name}`);
        assert.ok(ev, `${name} was not recorded`);
        assert.equal(ev.actor.type, 'anonymous');
        assert.equal(ev.decision?.reason, 'the JWT was not accepted', name);
        assert.match(String(ev.details?.detail), why, name);
        assert.ok(!JSON.stringify(ev).includes(jwt), `${name}: the token was recorded`);
      }
    });

    it('signs in with authorization code + PKCE: redirect to the provider, then a working session; a tampered state is refused', async () => {
      const start = await s.inject({
        method: 'GET',
        url: `/api/v1/auth/oidc/login?issuer=${encodeURIComponent(op.issuer)}`,
        token: null,
      });
      assert.equal(start.statusCode, 302, start.body);
      const location = new URL(String(start.headers.location));
      assert.equal(location.origin, op.issuer);
      const params = location.searchParams;
      assert.equal(params.get('client_id'), OIDC_CLIENT.id);
      assert.equal(params.get('redirect_uri'), OIDC_CLIENT.redirectUri);
      assert.equal(params.get('response_type'), 'code');
      assert.equal(params.get('code_challenge_method'), 'S256');
      assert.match(params.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.ok(params.get('state') && params.get('nonce'));

      const back = await op.login(location.href);
      assert.equal(`${back.url.origin}${back.url.pathname}`, OIDC_CLIENT.redirectUri);
      assert.ok(back.code && back.state, back.url.href);
      const callback = (state: string) =>
        s.inject({
          method: 'GET',
          url: `/api/v1/auth/oidc/callback?code=${encodeURIComponent(back.code as string)}&state=${encodeURIComponent(state)}`,
          token: null,
        });

      const chars = [...back.state];
      const i = Math.floor(chars.length / 2);
      chars[i] = chars[i] === 'A' ? 'B' : 'A';
      const tampered = await callback(chars.join(''));
      assert.equal(tampered.statusCode, 401, tampered.body);
      assert.match(tampered.json().error.message, /login state is invalid/);

      const done = await callback(back.state);
      assert.equal(done.statusCode, 200, done.body);
      const session = done.json();
      assert.match(session.token, /^wds_/);
      assert.equal(session.mfa, true, 'the provider reported amr pwd + otp');
      const who = await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token: session.token });
      assert.equal(who.statusCode, 200, who.body);
      assert.equal(who.json().id, session.principalId);
      assert.equal(who.json().name, OIDC_USER.login);
      assert.deepEqual(who.json().credential, { kind: 'session', id: session.sessionId });
      assert.equal(who.json().mfa, true);
      assert.deepEqual(
        who.json().groups,
        [groupId],
        "the ID token's group claim maps to the Warden group in the session",
      );

      const replay = await callback(back.state);
      assert.equal(replay.statusCode, 401, `a code is redeemed once: ${replay.body}`);
      const [opened] = await recorded(`action=session.create&resourceId=${session.sessionId}`);
      assert.equal(opened?.actor.id, session.principalId);
      assert.deepEqual(opened?.details, {
        principal: session.principalId,
        method: 'oidc',
        mfa: true,
        claimGroups: [...OIDC_USER.groups],
      });
    });
  });
}
