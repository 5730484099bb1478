import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import {
  createPkce,
  OidcClient,
  OidcError,
  type OidcErrorReason,
  type OidcIssuerConfig,
  OidcVerifier,
} from '../../src/identity/oidc.js';
import { OIDC_API_AUDIENCE, OIDC_CLIENT, OIDC_PUBLIC_CLIENT, OIDC_USER } from '../support/oidc-fixture.js';
import { startOidcProvider, type TestOidcProvider } from '../support/oidc-provider.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function rejectsWith(promise: Promise<unknown>, reason: OidcErrorReason): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof OidcError, `expected OidcError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    return true;
  });
}

describe('OIDC against a real provider (oidc-provider on loopback)', () => {
  let op: TestOidcProvider;
  let config: OidcIssuerConfig;
  let verifier: OidcVerifier;
  // A fixed clock, so expiry cases do not depend on when the test runs.
  const now = Math.floor(Date.now() / 1000);
  const clock = { now: () => now * 1000 };

  before(async () => {
    op = await startOidcProvider();
    config = { issuer: op.issuer, audience: OIDC_API_AUDIENCE, clientId: OIDC_CLIENT.id };
    verifier = new OidcVerifier([config], { clock });
  });
  after(() => op.close());

  const claims = (extra: JWTPayload = {}): JWTPayload => ({
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
  });

  describe('bearer tokens', () => {
    it('accepts a JWT access token the provider issued (client_credentials, ES256)', async () => {
      const real = new OidcVerifier([config]);
      const id = await real.verify(await op.clientCredentialsToken());
      assert.equal(id.issuer, op.issuer);
      assert.equal(id.subject, OIDC_CLIENT.id);
      assert.equal(id.username, OIDC_CLIENT.id, 'falls back to sub without preferred_username');
      assert.ok(id.expiresAt > Date.now());
    });

    it('accepts a token signed with the provider key and maps its claims and groups', async () => {
      const id = await verifier.verify(await op.sign(claims()));
      assert.deepEqual(id, {
        issuer: op.issuer,
        subject: OIDC_USER.sub,
        username: OIDC_USER.login,
        email: OIDC_USER.email,
        groups: ['ml-engineers', 'warden-admins'],
        amr: ['pwd'],
        mfa: false,
        expiresAt: (now + 300) * 1000,
      });
      assert.ok(Object.isFrozen(id) && Object.isFrozen(id.groups));
    });

    it('reads groups and the username from configured claims', async () => {
      const custom = new OidcVerifier(
        [{ ...config, groupsClaim: 'https://warden.test/groups', usernameClaim: 'email' }],
        { clock },
      );
      const token = await op.sign(claims({ 'https://warden.test/groups': ['fraud-team', 7, 'risk'] }));
      const id = await custom.verify(token);
      assert.deepEqual(id.groups, ['fraud-team', 'risk']);
      assert.equal(id.username, OIDC_USER.email);
      const none = await verifier.verify(await op.sign(claims({ groups: undefined })));
      assert.deepEqual(none.groups, []);
    });

    it('sets mfa only when amr names a multi-factor method (RFC 8176)', async () => {
      const cases: [unknown, boolean][] = [
        [['pwd', 'otp'], true],
        [['pwd', 'mfa'], true],
        [['hwk'], true],
        [['pwd'], false],
        [['pwd', 'kba'], false],
        [undefined, false],
        ['mfa', true],
      ];
      for (const [amr, mfa] of cases) {
        const id = await verifier.verify(await op.sign(claims({ amr })));
        assert.equal(id.mfa, mfa, `amr ${JSON.stringify(amr)}`);
      }
    });

    it('rejects an expired token, allowing 30 s of clock skew', async () => {
      await rejectsWith(verifier.verify(await op.sign(claims({ exp: now - 120 }))), 'expired');
      assert.equal((await verifier.verify(await op.sign(claims({ exp: now - 10 })))).subject, OIDC_USER.sub);
    });

    it('rejects a token that is not valid yet', async () => {
      await rejectsWith(verifier.verify(await op.sign(claims({ nbf: now + 600 }))), 'not-yet-valid');
    });

    it('rejects a token for another audience', async () => {
      await rejectsWith(
        verifier.verify(await op.sign(claims({ aud: 'https://other.test/api' }))),
        'audience',
      );
      await rejectsWith(verifier.verify(await op.sign(claims({ aud: undefined }))), 'audience');
    });

    it('rejects a token from an issuer that is not configured, even if signed by a trusted key', async () => {
      await rejectsWith(
        verifier.verify(await op.sign(claims({ iss: 'https://evil.example' }))),
        'unknown-issuer',
      );
      await rejectsWith(verifier.verify(await op.sign(claims({ iss: undefined }))), 'unknown-issuer');
    });

    it('rejects alg none, HMAC keyed with the public key, and algorithms outside the allow-list', async () => {
      await rejectsWith(
        verifier.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`),
        'algorithm',
      );
      const publicJwk = await (await fetch(`${op.issuer}/jwks`)).text();
      const hs = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', kid: op.kids.RS256 })
        .sign(new TextEncoder().encode(publicJwk));
      await rejectsWith(verifier.verify(hs), 'algorithm');
      const rsaOnly = new OidcVerifier([{ ...config, algorithms: ['RS256'] }], { clock });
      await rejectsWith(rsaOnly.verify(await op.sign(claims(), { alg: 'ES256' })), 'algorithm');
      assert.equal((await verifier.verify(await op.sign(claims(), { alg: 'ES256' }))).subject, OIDC_USER.sub);
    });

    it('refuses to be configured with none or HMAC algorithms', () => {
      assert.throws(
        () => new OidcVerifier([{ ...config, algorithms: ['RS256', 'HS256'] }]),
        /HS256 is not allowed/,
      );
      assert.throws(() => new OidcVerifier([{ ...config, algorithms: ['none'] }]), /none is not allowed/);
    });

    it('rejects a token signed by a key the provider does not publish', async () => {
      const stranger = await generateKeyPair('RS256');
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'RS256', kid: 'rotated-away' })
        .sign(stranger.privateKey);
      await rejectsWith(verifier.verify(forged), 'unknown-key');
      await rejectsWith(verifier.verify(await op.sign(claims(), { kid: 'no-such-kid' })), 'unknown-key');
    });

    it('rejects a token whose payload or signature was tampered with', async () => {
      const [header, , signature] = (await op.sign(claims())).split('.');
      const promoted = b64(claims({ groups: ['platform-admin'] }));
      await rejectsWith(verifier.verify(`${header}.${promoted}.${signature}`), 'signature');
      const bytes = Buffer.from(signature!, 'base64url');
      bytes[10]! ^= 0x01;
      await rejectsWith(
        verifier.verify(`${header}.${b64(claims())}.${bytes.toString('base64url')}`),
        'signature',
      );
      // A stranger's key under the provider's kid: the kid matches, the signature does not.
      const stranger = await generateKeyPair('RS256');
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'RS256', kid: op.kids.RS256 })
        .sign(stranger.privateKey);
      await rejectsWith(verifier.verify(forged), 'signature');
    });

    it('rejects malformed tokens and tokens without exp or sub', async () => {
      await rejectsWith(verifier.verify('not-a-jwt'), 'malformed');
      await rejectsWith(verifier.verify(`${b64({ alg: 'RS256' })}.bm90IGpzb24.c2ln`), 'malformed');
      await rejectsWith(verifier.verify(await op.sign(claims({ exp: undefined }))), 'malformed');
      await rejectsWith(verifier.verify(await op.sign(claims({ sub: undefined }))), 'malformed');
    });

    it('reports an unreachable issuer as unavailable (503), not as a bad token (401)', async () => {
      const down = 'http://127.0.0.1:1';
      const v = new OidcVerifier([{ ...config, issuer: down }], { clock });
      const err = await v.verify(await op.sign(claims({ iss: down }))).catch((e: unknown) => e);
      assert.ok(err instanceof OidcError);
      assert.equal(err.reason, 'unavailable');
      assert.equal(err.status, 503);
      const bad = await verifier.verify(await op.sign(claims({ exp: now - 120 }))).catch((e: unknown) => e);
      assert.ok(bad instanceof OidcError);
      assert.equal(bad.status, 401);
      assert.equal(bad.code, 'WARDEN_UNAUTHENTICATED');
    });

    it('uses a configured jwksUri without discovery', async () => {
      // This issuer has no discovery document (the host does not resolve): only jwksUri can work.
      const iss = 'https://idp.invalid';
      const direct = new OidcVerifier([{ ...config, issuer: iss, jwksUri: `${op.issuer}/jwks` }], { clock });
      assert.equal((await direct.verify(await op.sign(claims({ iss })))).issuer, iss);
    });
  });

  describe('authorization code + PKCE login', () => {
    const dashboard = (): OidcClient =>
      new OidcClient({ ...config, clientSecret: OIDC_CLIENT.secret, redirectUri: OIDC_CLIENT.redirectUri });

    it('creates S256 PKCE pairs', () => {
      const a = createPkce();
      assert.match(a.verifier, /^[\w-]{43}$/);
      assert.equal(a.challenge, createHash('sha256').update(a.verifier).digest('base64url'));
      assert.equal(a.method, 'S256');
      assert.notEqual(createPkce().verifier, a.verifier);
    });

    it('builds the authorization URL from discovery', async () => {
      const url = new URL(
        await dashboard().authorizationUrl({
          state: 'st',
          nonce: 'nn',
          codeChallenge: 'cc',
          scope: 'openid',
        }),
      );
      assert.equal(`${url.origin}${url.pathname}`, `${op.issuer}/auth`);
      assert.deepEqual(Object.fromEntries(url.searchParams), {
        response_type: 'code',
        client_id: OIDC_CLIENT.id,
        redirect_uri: OIDC_CLIENT.redirectUri,
        scope: 'openid',
        state: 'st',
        nonce: 'nn',
        code_challenge: 'cc',
        code_challenge_method: 'S256',
      });
    });

    it('signs in end to end with a confidential client (client_secret_basic)', async () => {
      const client = dashboard();
      const pkce = createPkce();
      const url = await client.authorizationUrl({
        state: 'state-1',
        nonce: 'nonce-1',
        codeChallenge: pkce.challenge,
        scope: 'openid profile email groups',
      });
      const back = await op.login(url);
      assert.equal(back.state, 'state-1');
      assert.ok(back.code, `no code in ${back.url.href}`);
      const id = await client.exchangeCode({
        code: back.code,
        codeVerifier: pkce.verifier,
        nonce: 'nonce-1',
      });
      assert.equal(id.issuer, op.issuer);
      assert.equal(id.subject, OIDC_USER.sub);
      assert.equal(id.username, OIDC_USER.login);
      assert.equal(id.email, OIDC_USER.email);
      assert.deepEqual(id.groups, OIDC_USER.groups);
      assert.deepEqual(id.amr, OIDC_USER.amr);
      assert.equal(id.mfa, true);
      await rejectsWith(
        client.exchangeCode({ code: back.code, codeVerifier: pkce.verifier, nonce: 'nonce-1' }),
        'exchange',
      );
    });

    it('signs in end to end with a public client (PKCE only, no secret)', async () => {
      const cli = new OidcClient({
        ...config,
        clientId: OIDC_PUBLIC_CLIENT.id,
        redirectUri: OIDC_PUBLIC_CLIENT.redirectUri,
      });
      const pkce = createPkce();
      const url = await cli.authorizationUrl({ state: 's', nonce: 'n', codeChallenge: pkce.challenge });
      const back = await op.login(url);
      const id = await cli.exchangeCode({ code: back.code!, codeVerifier: pkce.verifier, nonce: 'n' });
      assert.equal(id.subject, OIDC_USER.sub);
      assert.deepEqual(id.groups, [], 'groups scope was not requested');
    });

    it('fails the exchange with the wrong code verifier', async () => {
      const client = dashboard();
      const pkce = createPkce();
      const url = await client.authorizationUrl({ state: 's', nonce: 'n', codeChallenge: pkce.challenge });
      const { code } = await op.login(url);
      await rejectsWith(
        client.exchangeCode({ code: code!, codeVerifier: createPkce().verifier, nonce: 'n' }),
        'exchange',
      );
    });

    it('rejects an ID token whose nonce is not the one sent', async () => {
      const client = dashboard();
      const pkce = createPkce();
      const url = await client.authorizationUrl({ state: 's', nonce: 'mine', codeChallenge: pkce.challenge });
      const { code } = await op.login(url);
      await rejectsWith(
        client.exchangeCode({ code: code!, codeVerifier: pkce.verifier, nonce: 'theirs' }),
        'nonce',
      );
    });

    it('fails the exchange with a wrong client secret', async () => {
      const client = new OidcClient({
        ...config,
        clientSecret: 'not-the-secret',
        redirectUri: OIDC_CLIENT.redirectUri,
      });
      const pkce = createPkce();
      const url = await client.authorizationUrl({ state: 's', nonce: 'n', codeChallenge: pkce.challenge });
      const { code } = await op.login(url);
      await rejectsWith(
        client.exchangeCode({ code: code!, codeVerifier: pkce.verifier, nonce: 'n' }),
        'exchange',
      );
    });
  });
});
