import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCode } from '../../src/identity/totp.js';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { readAuthzEpoch } from '../../src/store/index.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type InjectResult, type TestServer, testServer } from '../support/runtime.js';

const PASSWORD = 'Correct-Horse-42-battery';
const fraud = { type: 'Project', id: 'fraud' };
const platform = { type: 'Platform', id: 'root' };
const MINUTE = 60_000;

/** A code for `secret` that is valid at no time step within the window around `at`. */
function wrongCode(secret: string, at: number): string {
  const valid = new Set([-1, 0, 1].map((d) => totpCode(secret, at + d * 30_000)));
  let n = Number(totpCode(secret, at));
  do n = (n + 1) % 1_000_000;
  while (valid.has(String(n).padStart(6, '0')));
  return String(n).padStart(6, '0');
}

// The broken guardrail of the refused bundle: an attribute the schema does not declare.
const BROKEN_FILE = 'guardrails/broken.cedar';
const BROKEN = [
  '// A typo: Dataset has no attribute "sensitivty".',
  '@id("guardrail:broken-attribute")',
  'forbid (principal, action == Action::"dataset.read", resource is Dataset)',
  'when { resource.sensitivty == "secret" };',
  '',
].join('\n');

for (const dialect of await backends()) {
  describe(`identity and authorization API on ${dialect}`, () => {
    let s: TestServer;
    let adminId: string;
    // A test clock: sessions, tokens, bindings, MFA freshness and TOTP steps all follow it.
    const clock = {
      t: Date.now(),
      now() {
        return this.t;
      },
    };
    /** Every secret the tests see; none may reach the ledger. */
    const secrets: string[] = [PASSWORD];

    const api = (
      method: string,
      url: string,
      opts: { body?: unknown; token?: string | null; ua?: string } = {},
    ): Promise<InjectResult> =>
      s.inject({
        method,
        url,
        body: opts.body,
        ...(opts.token !== undefined ? { token: opts.token } : {}),
        headers: { 'user-agent': opts.ua ?? 'identity-api-test' },
      });

    async function createUser(name: string, password?: string): Promise<string> {
      const res = await api('POST', '/api/v1/principals', {
        body: { type: 'user', name, ...(password ? { password } : {}) },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id;
    }

    async function issueToken(
      principalId: string,
      scopes = ['*'],
      token?: string,
    ): Promise<{ id: string; token: string }> {
      const res = await api('POST', `/api/v1/principals/${principalId}/tokens`, {
        body: { description: 'test', scopes },
        ...(token ? { token } : {}),
      });
      assert.equal(res.statusCode, 201, res.body);
      secrets.push(res.json().token);
      return res.json();
    }

    async function login(username: string, password = PASSWORD, totp?: string) {
      const res = await api('POST', '/api/v1/auth/login', {
        body: { username, password, ...(totp ? { totp } : {}) },
        token: null,
      });
      if (res.statusCode === 200) secrets.push(res.json().token);
      return res;
    }

    async function bind(
      role: string,
      principal: { type: string; id: string },
      resource = platform,
      expiresAt?: number,
    ) {
      const res = await api('POST', '/api/v1/bindings', {
        body: {
          role,
          principal,
          resource,
          ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
        },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    }

    /** Integrated ledger events matching `query`. */
    async function recorded(query: string): Promise<LedgerEvent[]> {
      return (await allEvents(s, `wait=integrated&${query}`)).flatMap((e) => (e.event ? [e.event] : []));
    }

    /** The one event of `action` on `resourceId`, asserting it was recorded as done by `actorId`. */
    async function recordedChange(action: string, resourceId: string, actorId: string): Promise<LedgerEvent> {
      const events = await recorded(
        `action=${action}&resourceId=${encodeURIComponent(resourceId)}&outcome=succeeded`,
      );
      assert.equal(events.length, 1, `${action} on ${resourceId}: ${events.length} events`);
      const ev = events[0] as LedgerEvent;
      assert.equal(ev.actor.id, actorId, `${action} actor`);
      return ev;
    }

    /** The denied event a request marked with user agent `ua` left. */
    async function denial(ua: string, query = 'outcome=denied'): Promise<LedgerEvent> {
      const ev = (await recorded(query)).find((e) => e.actor.userAgent === ua);
      assert.ok(ev, `no denied event for ${ua}`);
      return ev;
    }

    const bundleHash = async (): Promise<string> => (await api('GET', '/api/v1/policy')).json().hash;

    before(async () => {
      s = await testServer(dialect, { sessionIdleMinutes: '30', sessionMaxHours: '1' }, clock);
      adminId = s.rt.bootstrap.principalId;
    });
    after(() => s.close());

    it('creates a local user with a password, refusing a weak password with 400 naming password', async () => {
      const weak = await api('POST', '/api/v1/principals', {
        body: { type: 'user', name: 'wendy', password: 'password' },
      });
      assert.equal(weak.statusCode, 400, weak.body);
      assert.equal(weak.json().error.code, 'WARDEN_INVALID_INPUT');
      assert.deepEqual(
        weak.json().error.issues.map((i: { field: string }) => i.field),
        ['password'],
      );
      assert.equal(
        (await api('GET', '/api/v1/principals?name=wendy')).json().total,
        0,
        'nothing was created',
      );
      const containsName = await api('POST', '/api/v1/principals', {
        body: { type: 'user', name: 'wendy', password: 'Wendy-wendy-2024' },
      });
      assert.equal(containsName.statusCode, 400, containsName.body);

      const id = await createUser('wendy', PASSWORD);
      const shown = await api('GET', `/api/v1/principals/${id}`);
      assert.equal(shown.statusCode, 200);
      assert.equal(shown.json().type, 'user');
      assert.equal(shown.json().status, 'active');
      assert.equal(shown.json().mfaEnrolled, false);
      assert.ok(
        !shown.body.includes('scrypt') && !shown.body.includes(PASSWORD),
        'no password or hash is shown',
      );
      const ev = await recordedChange('principal.create', id, adminId);
      assert.equal(ev.resource.type, 'User');
    });

    it('signs in with a password to a session; whoami; sessions end after idle and absolute timeouts, and on logout', async () => {
      const id = await createUser('lena', PASSWORD);
      const wrong = await login('lena', 'Wrong-passphrase-99');
      assert.equal(wrong.statusCode, 401, wrong.body);
      assert.equal(wrong.json().error.code, 'WARDEN_UNAUTHENTICATED');

      const first = await login('lena');
      assert.equal(first.statusCode, 200, first.body);
      const session = first.json();
      assert.match(session.token, /^wds_/);
      assert.equal(session.principalId, id);
      assert.equal(session.mfa, false);
      assert.equal(session.expiresAt, new Date(clock.t + 60 * MINUTE).toISOString());
      const who = await api('GET', '/api/v1/auth/whoami', { token: session.token });
      assert.equal(who.statusCode, 200, who.body);
      assert.deepEqual(
        {
          id: who.json().id,
          type: who.json().type,
          name: who.json().name,
          credential: who.json().credential,
          mfa: who.json().mfa,
        },
        {
          id,
          type: 'user',
          name: 'lena',
          credential: { kind: 'session', id: session.sessionId },
          mfa: false,
        },
      );

      // Idle timeout (30 minutes): each use moves it on; 30 minutes unused ends the session.
      for (const step of [29, 29]) {
        clock.t += step * MINUTE;
        const res = await api('GET', '/api/v1/auth/whoami', { token: session.token });
        assert.equal(res.statusCode, 200, `after ${step} idle minutes: ${res.body}`);
      }
      clock.t += 30 * MINUTE;
      const idle = await api('GET', '/api/v1/auth/whoami', { token: session.token, ua: 'session-idle' });
      assert.equal(idle.statusCode, 401, idle.body);
      assert.match((await denial('session-idle')).decision?.reason ?? '', /expired/);

      // Absolute timeout (1 hour): however busy the session.
      const busy = (await login('lena')).json();
      for (let i = 0; i < 3; i++) {
        clock.t += 19 * MINUTE;
        const res = await api('GET', '/api/v1/auth/whoami', { token: busy.token });
        assert.equal(res.statusCode, 200, res.body);
      }
      clock.t += 3 * MINUTE;
      const old = await api('GET', '/api/v1/auth/whoami', { token: busy.token, ua: 'session-absolute' });
      assert.equal(old.statusCode, 401, old.body);
      assert.match((await denial('session-absolute')).decision?.reason ?? '', /expired/);

      const third = (await login('lena')).json();
      const out = await api('POST', '/api/v1/auth/logout', { token: third.token });
      assert.equal(out.statusCode, 204, out.body);
      const gone = await api('GET', '/api/v1/auth/whoami', { token: third.token, ua: 'session-closed' });
      assert.equal(gone.statusCode, 401);
      assert.match((await denial('session-closed')).decision?.reason ?? '', /revoked/);

      for (const opened of [session, busy, third]) {
        const ev = await recordedChange('session.create', opened.sessionId, id);
        assert.equal(ev.actor.type, 'user');
      }
      await recordedChange('session.close', third.sessionId, id);
      const refused = await recorded(`action=auth.login&outcome=denied&resourceId=${id}`);
      assert.ok(refused.some((e) => e.decision?.reason === 'wrong password'));
    });

    it('issues, lists and revokes self-service tokens; scopes limit them; they expire', async () => {
      const id = await createUser('tomas', PASSWORD);
      const session = (await login('tomas')).json().token;
      const created = await api('POST', `/api/v1/principals/${id}/tokens`, {
        token: session,
        body: { description: 'ci', scopes: ['self.read', 'token.read'], expiresInSeconds: 3600 },
      });
      assert.equal(created.statusCode, 201, created.body);
      const t1 = created.json();
      secrets.push(t1.token);
      assert.match(t1.token, /^wdn_/);
      assert.deepEqual(t1.scopes, ['self.read', 'token.read']);
      assert.equal(t1.expiresAt, new Date(clock.t + 3_600_000).toISOString());

      const who = await api('GET', '/api/v1/auth/whoami', { token: t1.token });
      assert.equal(who.statusCode, 200, who.body);
      assert.deepEqual(who.json().credential, { kind: 'token', id: t1.id });
      assert.deepEqual(who.json().scopes, ['self.read', 'token.read']);
      const list = await api('GET', `/api/v1/principals/${id}/tokens`, { token: t1.token });
      assert.equal(list.statusCode, 200, list.body);
      const [listed] = list.json().tokens;
      assert.equal(listed.id, t1.id);
      assert.equal(listed.description, 'ci');
      assert.equal(listed.revokedAt, null);
      assert.ok(listed.lastUsedAt !== null, 'last use is kept');
      assert.ok(!list.body.includes(t1.token) && !list.body.includes('sha256'), 'no secret is listed');

      // The scope is the limit, not the principal: the session may do what the token may not.
      const scoped = await api('POST', `/api/v1/principals/${id}/tokens`, {
        token: t1.token,
        body: { description: 'more', scopes: ['*'] },
        ua: 'token-scope',
      });
      assert.equal(scoped.statusCode, 403, scoped.body);
      assert.match(scoped.json().error.message, /scopes do not include token\.create/);
      const ev = await denial('token-scope');
      assert.deepEqual(ev.decision?.policies, ['token-scope']);
      assert.equal(ev.decision?.bundle, await bundleHash());
      const t2 = (
        await api('POST', `/api/v1/principals/${id}/tokens`, {
          token: session,
          body: { description: 'short-lived', expiresInSeconds: 120 },
        })
      ).json();
      secrets.push(t2.token);

      const revoked = await api('POST', `/api/v1/tokens/${t1.id}/revoke`, { token: session });
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.equal(revoked.json().revokedAt, new Date(clock.t).toISOString());
      const refused = await api('GET', '/api/v1/auth/whoami', { token: t1.token, ua: 'token-revoked' });
      assert.equal(refused.statusCode, 401, refused.body);
      assert.match((await denial('token-revoked')).decision?.reason ?? '', /revoked/);

      assert.equal((await api('GET', '/api/v1/auth/whoami', { token: t2.token })).statusCode, 200);
      clock.t += 121_000;
      const expired = await api('GET', '/api/v1/auth/whoami', { token: t2.token, ua: 'token-expired' });
      assert.equal(expired.statusCode, 401, expired.body);
      assert.match((await denial('token-expired')).decision?.reason ?? '', /expired/);

      await recordedChange('token.create', t1.id, id);
      await recordedChange('token.create', t2.id, id);
      await recordedChange('token.revoke', t1.id, id);
    });

    it('binds a role on a project until a time; authorize, explain and permissions say what and why; expiry ends it alone', async () => {
      const dana = await createUser('dana');
      const who = { type: 'User', id: dana };
      const until = clock.t + 60 * MINUTE;
      const binding = await bind('data-scientist', who, fraud, until);
      assert.equal(binding.expiresAt, new Date(until).toISOString());
      const ask = (action: string, resource = fraud) => ({ principal: who, action, resource });

      const yes = await api('POST', '/api/v1/authorize', { body: ask('model.register') });
      assert.equal(yes.statusCode, 200, yes.body);
      assert.equal(yes.json().allowed, true);
      assert.deepEqual(yes.json().policies, ['role:data-scientist']);
      assert.match(
        yes.json().reason,
        new RegExp(`^permitted by role:data-scientist \\(binding ${binding.id}`),
      );

      const explained = (
        await api('POST', '/api/v1/authorize/explain', { body: ask('model.register') })
      ).json();
      assert.equal(explained.decision.allowed, true);
      assert.deepEqual(explained.decision.policies, ['role:data-scientist']);
      assert.deepEqual(explained.decision.bindings, [binding.id]);
      assert.equal(explained.decision.bundle, await bundleHash());
      assert.deepEqual(
        explained.bindings.map((b: { binding: { id: string }; status: string }) => [b.binding.id, b.status]),
        [[binding.id, 'permitted']],
      );

      const no = (await api('POST', '/api/v1/authorize/explain', { body: ask('dataset.register') })).json();
      assert.equal(no.decision.allowed, false);
      assert.deepEqual(no.decision.policies, []);
      assert.equal(
        no.decision.reason,
        `no policy permits dataset.register on Project::"fraud" for User::"${dana}"`,
      );
      assert.equal(no.bindings[0].status, 'action-not-in-role');
      const elsewhere = (
        await api('POST', '/api/v1/authorize', {
          body: ask('model.register', { type: 'Project', id: 'churn' }),
        })
      ).json();
      assert.equal(elsewhere.allowed, false, 'the binding is scoped to its project');
      assert.match(elsewhere.reason, /^no policy permits/);

      const permissions = async () => {
        const res = await api(
          'GET',
          `/api/v1/principals/${dana}/permissions?resource=${encodeURIComponent('Project::"fraud"')}`,
        );
        assert.equal(res.statusCode, 200, res.body);
        return res.json().actions;
      };
      assert.deepEqual(await permissions(), ['endpoint.create', 'model.register', 'project.read']);

      const epoch = await readAuthzEpoch(s.rt.store.db);
      clock.t = until + 1;
      const expired = (await api('POST', '/api/v1/authorize', { body: ask('model.register') })).json();
      assert.equal(expired.allowed, false);
      assert.match(expired.reason, /^no policy permits/);
      assert.deepEqual(await permissions(), []);
      assert.equal(await readAuthzEpoch(s.rt.store.db), epoch, 'nothing but time changed');
      assert.deepEqual((await api('GET', `/api/v1/bindings?principal=${dana}`)).json().bindings, []);
      assert.equal(
        (await api('GET', `/api/v1/bindings?principal=${dana}&all=true`)).json().bindings.length,
        1,
      );

      const ev = await recordedChange('binding.create', binding.id, adminId);
      assert.equal(ev.details?.role, 'data-scientist');
      assert.equal(ev.details?.expiresAt, new Date(until).toISOString());
    });

    it("refuses the principal's next request once its binding is revoked or has expired", async () => {
      const paul = await createUser('paul');
      const token = (await issueToken(paul)).token;
      const read = (ua = 'paul') => api('GET', '/api/v1/policy', { token, ua });
      assert.equal((await read()).statusCode, 403);
      const binding = await bind('security-auditor', { type: 'User', id: paul });
      assert.equal((await read()).statusCode, 200);
      assert.equal((await read()).statusCode, 200, 'and again, from the decision cache');
      const revoked = await api('POST', `/api/v1/bindings/${binding.id}/revoke`, {
        body: { reason: 'moved team' },
      });
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.ok(revoked.json().revokedAt);
      const refused = await read('paul-after-revoke');
      assert.equal(refused.statusCode, 403, refused.body);
      const ev = await denial('paul-after-revoke');
      assert.equal(ev.action, 'policy.read');
      assert.deepEqual(ev.decision?.policies, []);
      assert.match(ev.decision?.reason ?? '', /^no policy permits policy\.read/);
      assert.equal(ev.decision?.bundle, await bundleHash());
      const change = await recordedChange('binding.revoke', binding.id, adminId);
      assert.equal(change.details?.reason, 'moved team');

      await bind('security-auditor', { type: 'User', id: paul }, platform, clock.t + 10 * MINUTE);
      assert.equal((await read()).statusCode, 200);
      clock.t += 10 * MINUTE + 1;
      assert.equal((await read()).statusCode, 403, 'the expired binding no longer permits');
    });

    it('authorizes the members of a bound group, and only while they are members', async () => {
      const group = await api('POST', '/api/v1/principals', { body: { type: 'group', name: 'auditors' } });
      assert.equal(group.statusCode, 201, group.body);
      const gid: string = group.json().id;
      const gina = await createUser('gina');
      const token = (await issueToken(gina)).token;
      await bind('security-auditor', { type: 'Group', id: gid });
      const read = () => api('GET', '/api/v1/principals', { token });
      assert.equal((await read()).statusCode, 403, 'not a member yet');
      const joined = await api('PUT', `/api/v1/groups/${gid}/members`, { body: { members: [gina] } });
      assert.equal(joined.statusCode, 200, joined.body);
      assert.deepEqual(joined.json().members, [gina]);
      assert.equal((await read()).statusCode, 200);
      assert.deepEqual((await api('GET', '/api/v1/auth/whoami', { token })).json().groups, [gid]);
      const left = await api('PUT', `/api/v1/groups/${gid}/members`, { body: { members: [] } });
      assert.equal(left.statusCode, 200, left.body);
      assert.equal((await read()).statusCode, 403, 'no longer a member');
      const changes = await recorded(`action=group.set_members&resourceId=${gid}`);
      assert.equal(changes.length, 2);
      assert.ok(changes.every((e) => e.actor.id === adminId));
    });

    it('asks a platform admin for a fresh TOTP step-up before privileged actions, refuses replayed codes, and at sign-in', async () => {
      const mona = await createUser('mona', PASSWORD);
      await bind('platform-admin', { type: 'User', id: mona });
      const target = await createUser('target');
      const session = (await login('mona')).json().token;
      const grant = (project: string, ua: string) =>
        api('POST', '/api/v1/bindings', {
          token: session,
          ua,
          body: {
            role: 'data-scientist',
            principal: { type: 'User', id: target },
            resource: { type: 'Project', id: project },
          },
        });
      const hash = await bundleHash();
      const checkRefusal = async (ua: string) => {
        const ev = await denial(ua);
        assert.equal(ev.action, 'binding.create');
        assert.equal(ev.actor.id, mona);
        assert.equal(ev.actor.mfa, false);
        assert.deepEqual(ev.decision?.policies, ['guardrail:mfa-privileged']);
        assert.match(ev.decision?.reason ?? '', /privileged actions need a fresh MFA/);
        assert.equal(ev.decision?.bundle, hash);
      };
      const noMfa = await grant('fraud', 'mfa-none');
      assert.equal(noMfa.statusCode, 403, noMfa.body);
      assert.match(noMfa.json().error.message, /guardrail:mfa-privileged/);
      await checkRefusal('mfa-none');

      const enrolled = await api('POST', '/api/v1/auth/mfa/enroll', { token: session });
      assert.equal(enrolled.statusCode, 200, enrolled.body);
      const secret: string = enrolled.json().secret;
      secrets.push(secret);
      assert.match(enrolled.json().uri, /^otpauth:\/\/totp\//);
      const bad = await api('POST', '/api/v1/auth/mfa/confirm', {
        token: session,
        body: { code: wrongCode(secret, clock.t) },
      });
      assert.equal(bad.statusCode, 401, bad.body);
      const firstCode = totpCode(secret, clock.t);
      secrets.push(firstCode);
      const confirmed = await api('POST', '/api/v1/auth/mfa/confirm', {
        token: session,
        body: { code: firstCode },
      });
      assert.equal(confirmed.statusCode, 204, confirmed.body);
      assert.equal((await api('GET', '/api/v1/auth/whoami', { token: session })).json().mfa, true);
      assert.equal(
        (await grant('fraud', 'mfa-confirmed')).statusCode,
        201,
        'confirming proved a second factor',
      );

      clock.t += 16 * MINUTE;
      assert.equal(
        (await api('GET', '/api/v1/auth/whoami', { token: session })).json().mfa,
        false,
        'no longer fresh',
      );
      const stale = await grant('churn', 'mfa-stale');
      assert.equal(stale.statusCode, 403, stale.body);
      await checkRefusal('mfa-stale');
      const code = totpCode(secret, clock.t);
      secrets.push(code);
      const stepUp = await api('POST', '/api/v1/auth/mfa/verify', { token: session, body: { code } });
      assert.equal(stepUp.statusCode, 200, stepUp.body);
      assert.equal(stepUp.json().until, new Date(clock.t + 15 * MINUTE).toISOString());
      const granted = await grant('churn', 'mfa-fresh');
      assert.equal(granted.statusCode, 201, granted.body);
      const ev = await recordedChange('binding.create', granted.json().id, mona);
      assert.equal(ev.actor.mfa, true);
      const replay = await api('POST', '/api/v1/auth/mfa/verify', {
        token: session,
        body: { code },
        ua: 'mfa-replay',
      });
      assert.equal(replay.statusCode, 401, `a used code is refused: ${replay.body}`);
      assert.equal((await denial('mfa-replay', 'action=auth.mfa&outcome=denied')).actor.id, mona);

      // Signing in now takes the code too, once per code.
      const without = await login('mona');
      assert.equal(without.statusCode, 401, without.body);
      const wrong = await login('mona', PASSWORD, wrongCode(secret, clock.t));
      assert.equal(wrong.statusCode, 401, wrong.body);
      clock.t += 30_000;
      const loginCode = totpCode(secret, clock.t);
      secrets.push(loginCode);
      const signedIn = await login('mona', PASSWORD, loginCode);
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.equal(signedIn.json().mfa, true);
      assert.equal(
        (await api('GET', '/api/v1/auth/whoami', { token: signedIn.json().token })).json().mfa,
        true,
      );
      const again = await login('mona', PASSWORD, loginCode);
      assert.equal(again.statusCode, 401, `a used code does not sign in twice: ${again.body}`);

      const reasons = (await recorded(`action=auth.login&outcome=denied&resourceId=${mona}`)).map(
        (e) => e.decision?.reason,
      );
      assert.ok(reasons.includes('one-time code required'), String(reasons));
      assert.equal(reasons.filter((r) => r === 'wrong or replayed one-time code').length, 2, String(reasons));
      assert.equal(
        (await recorded(`action=principal.enroll_mfa&resourceId=${mona}&actor=${mona}`)).length,
        2,
        'enrolment and confirmation',
      );
      assert.ok((await recorded(`action=auth.mfa&outcome=succeeded&actor=${mona}`)).length >= 2);
    });

    it('suspending a user refuses every token and session at once; reactivation lets them sign in again', async () => {
      const sam = await createUser('sam', PASSWORD);
      const credentials = [
        (await login('sam')).json().token,
        (await login('sam')).json().token,
        (await issueToken(sam)).token,
      ];
      for (const token of credentials)
        assert.equal((await api('GET', '/api/v1/auth/whoami', { token })).statusCode, 200);
      const suspended = await api('POST', `/api/v1/principals/${sam}/suspend`, {
        body: { reason: 'left the company' },
      });
      assert.equal(suspended.statusCode, 200, suspended.body);
      assert.equal(suspended.json().principal.status, 'suspended');
      assert.equal(suspended.json().revoked, 3);
      for (const [i, token] of credentials.entries()) {
        const res = await api('GET', '/api/v1/auth/whoami', { token, ua: `suspended-${i}` });
        assert.equal(res.statusCode, 401, res.body);
        const ev = await denial(`suspended-${i}`);
        assert.equal(ev.action, 'auth.authenticate');
        assert.match(ev.decision?.reason ?? '', /revoked/);
      }
      const refused = await login('sam');
      assert.equal(refused.statusCode, 401, refused.body);
      const noToken = await api('POST', `/api/v1/principals/${sam}/tokens`, { body: { description: 'x' } });
      assert.equal(noToken.statusCode, 409, noToken.body);

      const back = await api('POST', `/api/v1/principals/${sam}/reactivate`, { body: { reason: 'rehired' } });
      assert.equal(back.statusCode, 200, back.body);
      assert.equal(back.json().principal.status, 'active');
      for (const token of credentials) {
        assert.equal(
          (await api('GET', '/api/v1/auth/whoami', { token })).statusCode,
          401,
          'revoked credentials stay revoked',
        );
      }
      const fresh = await login('sam');
      assert.equal(fresh.statusCode, 200, fresh.body);
      assert.equal((await api('GET', '/api/v1/auth/whoami', { token: fresh.json().token })).statusCode, 200);

      const ev = await recordedChange('principal.suspend', sam, adminId);
      assert.deepEqual(ev.details, { from: 'active', to: 'suspended', reason: 'left the company' });
      await recordedChange('principal.reactivate', sam, adminId);
      const reasons = (await recorded(`action=auth.login&outcome=denied&resourceId=${sam}`)).map(
        (e) => e.decision?.reason,
      );
      assert.deepEqual(reasons, ['user is suspended']);
    });

    it('applies policy as code: refuses a bundle with a type error by policy id and position, and a valid one decides the next request', async () => {
      const active = (await api('GET', '/api/v1/policy')).json();
      assert.equal(active.version, 0);
      assert.equal(active.source, 'default');
      const files: Record<string, string> = (await api('GET', '/api/v1/policy/files')).json().files;
      assert.ok(files['schema.cedarschema'] && files['roles/security-auditor.cedar']);

      const broken = await api('POST', '/api/v1/policy/bundles', {
        body: { files: { ...files, [BROKEN_FILE]: BROKEN } },
      });
      assert.equal(broken.statusCode, 400, broken.body);
      const issues: { field: string; message: string }[] = broken.json().error.issues;
      const issue = issues.find((i) => i.message.startsWith('guardrail:broken-attribute:'));
      assert.ok(issue, JSON.stringify(issues));
      // Line and column of the offending expression in its file.
      const lines = BROKEN.split('\n');
      const line = lines.findIndex((l) => l.startsWith('when')) + 1;
      const column = (lines[line - 1] as string).indexOf('resource.sensitivty') + 1;
      assert.equal(issue.field, `${BROKEN_FILE}:${line}:${column}`);
      assert.match(issue.message, /sensitivty/);
      assert.deepEqual(
        (await api('GET', '/api/v1/policy')).json(),
        active,
        'a refused bundle changes nothing',
      );
      assert.equal((await recorded('action=policy.apply')).length, 0);

      const auditor = await createUser('audrey');
      const token = (await issueToken(auditor)).token;
      await bind('security-auditor', { type: 'User', id: auditor });
      const metrics = () => api('GET', '/metrics', { token, ua: 'audrey-metrics' });
      const earlier = await metrics();
      assert.equal(earlier.statusCode, 403, earlier.body);
      assert.equal((await denial('audrey-metrics')).decision?.bundle, active.hash);

      const role = files['roles/security-auditor.cedar'] as string;
      const widened = role.replace(
        'Action::"audit.query",',
        'Action::"audit.query",\n    Action::"metrics.read",',
      );
      assert.notEqual(widened, role);
      const applied = await api('POST', '/api/v1/policy/bundles', {
        body: { files: { ...files, 'roles/security-auditor.cedar': widened } },
      });
      assert.equal(applied.statusCode, 201, applied.body);
      assert.equal(applied.json().version, 1);
      assert.equal(applied.json().source, 'applied');
      assert.notEqual(applied.json().hash, active.hash);
      assert.deepEqual((await api('GET', '/api/v1/policy')).json(), applied.json());
      const now = await metrics();
      assert.equal(now.statusCode, 200, `the very next request sees the new bundle: ${now.body}`);

      const ev = await recordedChange('policy.apply', applied.json().hash, adminId);
      assert.equal(ev.details?.hash, applied.json().hash);
      assert.equal(ev.details?.version, 1);
    });

    it('never writes a password, token, session, TOTP secret or code into the ledger', async () => {
      await s.rt.ledger.waitIntegrated(10_000);
      const bodies = (await s.rt.store.db.selectFrom('ledger_events').select('body').execute())
        .map((r) => r.body ?? '')
        .join('\n');
      const stored = await s.rt.store.db
        .selectFrom('principals')
        .select(['password_hash', 'totp_secret'])
        .execute();
      const kept = stored
        .flatMap((r) => [r.password_hash, r.totp_secret])
        .filter((v): v is string => v !== null);
      assert.ok(secrets.length > 10 && kept.length > 5, 'the tests above ran');
      for (const secret of [...secrets, ...kept]) {
        // One-time codes are six digits: look for them as JSON strings, not inside other numbers.
        const needle = /^\d{6}$/.test(secret) ? `"${secret}"` : secret;
        assert.ok(!bodies.includes(needle), `a secret reached the ledger: ${secret.slice(0, 6)}…`);
      }
      assert.ok(!bodies.includes('scrypt$'), 'a password hash reached the ledger');
    });
  });
}
