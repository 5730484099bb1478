import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type InjectResult, type TestServer, testServer } from '../support/runtime.js';

const SCIM_TYPE = 'application/scim+json';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const OKTA_PASSWORD = 'okta-pushed-Secret-9431';

/** A user as Okta provisions it (including the password Okta pushes, which Warden must drop). */
function oktaUser(userName: string, externalId: string) {
  return {
    schemas: [USER],
    userName,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId,
    groups: [],
    password: OKTA_PASSWORD,
    active: true,
  };
}

/** A user as Azure AD (Entra ID) provisions it. */
function azureUser(userName: string) {
  return {
    schemas: [USER, ENTERPRISE],
    externalId: `aad-${userName}`,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: `${userName}@contoso.example` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'Ada Lovelace', familyName: 'Lovelace', givenName: 'Ada' },
    roles: [],
    [ENTERPRISE]: { department: 'Research', employeeNumber: '1815' },
  };
}

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

function assertScimError(res: InjectResult, status: number, scimType: string | undefined, detail?: RegExp) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/scim\+json/);
  const body = res.json();
  assert.deepEqual(body.schemas, [ERROR]);
  assert.equal(body.status, String(status));
  assert.equal(body.scimType, scimType, res.body);
  if (detail) assert.match(body.detail, detail);
}

function revocationSamples(metrics: string): number {
  const m = /^warden_revocation_seconds_count(?:\{[^}]*\})? (\d+)$/m.exec(metrics);
  return m ? Number(m[1]) : 0;
}

for (const dialect of await backends()) {
  describe(`SCIM 2.0 on ${dialect}`, () => {
    let s: TestServer;
    let scimToken: string;
    let scimAccount: string;

    /** A service account bound to platform-admin, with an API token limited to `scopes`. */
    async function serviceAccount(name: string, scopes: string[]): Promise<{ id: string; token: string }> {
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'service', name },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id;
      const binding = await s.inject({
        method: 'POST',
        url: '/api/v1/bindings',
        body: {
          role: 'platform-admin',
          principal: { type: 'ServiceAccount', id },
          resource: { type: 'Platform', id: 'root' },
        },
      });
      assert.equal(binding.statusCode, 201, binding.body);
      const token = await s.inject({
        method: 'POST',
        url: `/api/v1/principals/${id}/tokens`,
        body: { scopes, description: `${name} SCIM` },
      });
      assert.equal(token.statusCode, 201, token.body);
      return { id, token: token.json().token };
    }

    function scim(method: string, url: string, body?: unknown, token: string | null = scimToken) {
      return s.inject({
        method,
        url,
        body,
        token,
        headers: body === undefined ? {} : { 'content-type': SCIM_TYPE },
      });
    }

    async function createUser(body: unknown): Promise<{ id: string; [k: string]: unknown }> {
      const res = await scim('POST', '/scim/v2/Users', body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    }

    async function findUsers(filter: string) {
      const res = await scim('GET', `/scim/v2/Users?filter=${encodeURIComponent(filter)}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    }

    before(async () => {
      s = await testServer(dialect);
      ({ id: scimAccount, token: scimToken } = await serviceAccount('okta-scim', ['scim.provision']));
    });
    after(() => s.close());

    it('serves the discovery endpoints in application/scim+json', async () => {
      const config = await scim('GET', '/scim/v2/ServiceProviderConfig');
      assert.equal(config.statusCode, 200, config.body);
      assert.match(String(config.headers['content-type']), /^application\/scim\+json/);
      const c = config.json();
      assert.equal(c.patch.supported, true);
      assert.equal(c.bulk.supported, false);
      assert.equal(c.filter.supported, true);
      assert.equal(c.authenticationSchemes[0].type, 'oauthbearertoken');

      const types = (await scim('GET', '/scim/v2/ResourceTypes')).json();
      assert.deepEqual(types.schemas, [LIST]);
      assert.deepEqual(
        types.Resources.map((r: { id: string; endpoint: string; schema: string }) => [
          r.id,
          r.endpoint,
          r.schema,
        ]),
        [
          ['User', '/Users', USER],
          ['Group', '/Groups', GROUP],
        ],
      );
      assert.equal((await scim('GET', '/scim/v2/ResourceTypes/Group')).json().endpoint, '/Groups');

      const schemas = (await scim('GET', '/scim/v2/Schemas')).json();
      assert.deepEqual(
        schemas.Resources.map((r: { id: string }) => r.id),
        [USER, ENTERPRISE, GROUP],
      );
      const user = (await scim('GET', `/scim/v2/Schemas/${USER}`)).json();
      const userName = user.attributes.find((a: { name: string }) => a.name === 'userName');
      assert.equal(userName.caseExact, false);
      assert.equal(userName.uniqueness, 'server');
      assert.equal(userName.required, true);
      assertScimError(await scim('GET', '/scim/v2/Schemas/urn:nope'), 404, undefined);
      // RFC 7644 §4: a filter on discovery endpoints is refused rather than silently ignored.
      assertScimError(await scim('GET', '/scim/v2/Schemas?filter=id%20eq%20%22x%22'), 403, undefined);
    });

    it('creates, reads and filters users as Okta sends them, never keeping the pushed password', async () => {
      const created = await scim(
        'POST',
        '/scim/v2/Users',
        oktaUser('Test.User@okta.example', '00ujl29u0le5T6Aj10h7'),
      );
      assert.equal(created.statusCode, 201, created.body);
      assert.match(String(created.headers['content-type']), /^application\/scim\+json/);
      const u = created.json();
      assert.deepEqual(u.schemas, [USER]);
      assert.equal(u.userName, 'Test.User@okta.example');
      assert.equal(u.externalId, '00ujl29u0le5T6Aj10h7');
      assert.deepEqual(u.name, { familyName: 'User', givenName: 'Test' });
      assert.deepEqual(u.emails, [{ value: 'Test.User@okta.example', type: 'work', primary: true }]);
      assert.equal(u.active, true);
      assert.deepEqual(u.groups, []);
      assert.equal(u.meta.resourceType, 'User');
      assert.equal(created.headers.location, u.meta.location);
      assert.match(u.meta.location, new RegExp(`/scim/v2/Users/${u.id}$`));
      assert.ok(!created.body.includes(OKTA_PASSWORD));

      const got = await scim('GET', `/scim/v2/Users/${u.id}`);
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.json(), u);

      // userName is caseExact=false: any case finds it; externalId is caseExact=true.
      const byName = await findUsers('userName eq "test.user@OKTA.example"');
      assert.deepEqual(byName.schemas, [LIST]);
      assert.equal(byName.totalResults, 1);
      assert.equal(byName.startIndex, 1);
      assert.equal(byName.itemsPerPage, 1);
      assert.equal(byName.Resources[0].id, u.id);
      assert.equal(
        (await findUsers('UserName EQ "TEST.USER@okta.example"')).totalResults,
        1,
        'attribute names and operators are case-insensitive',
      );
      assert.equal((await findUsers('externalId eq "00ujl29u0le5T6Aj10h7"')).Resources[0].id, u.id);
      assert.equal((await findUsers('externalId eq "00UJL29U0LE5T6AJ10H7"')).totalResults, 0);
      const none = await findUsers('userName eq "nobody@okta.example"');
      assert.equal(none.totalResults, 0);
      assert.deepEqual(none.Resources, []);
      assert.equal((await findUsers('emails.value co "@okta.EXAMPLE" and active eq true')).totalResults, 1);

      const principal = (await s.inject({ method: 'GET', url: `/api/v1/principals/${u.id}` })).json();
      assert.equal(principal.name, 'Test.User@okta.example');
      assert.equal(principal.email, 'Test.User@okta.example');
      const events = await allEvents(s, 'action=scim.user.create');
      const mine = events.find((e) => e.event?.resource.id === u.id)?.event;
      assert.ok(mine, 'no scim.user.create event');
      assert.equal(mine.actor.id, scimAccount);
      assert.equal(mine.actor.via, 'api');
      assert.equal(mine.outcome, 'succeeded');
      assert.deepEqual(mine.details?.effects, ['principal.create']);
      assert.equal(mine.details?.operation, 'POST /Users');
      assert.ok(
        !JSON.stringify(await allEvents(s)).includes(OKTA_PASSWORD),
        'the pushed password reached the ledger',
      );
    });

    it('pages through users with 1-based startIndex and count', async () => {
      for (const n of [1, 2, 3]) await createUser({ schemas: [USER], userName: `page-${n}` });
      const all = await findUsers('userName sw "page-"');
      assert.equal(all.totalResults, 3);
      const page = (
        await scim(
          'GET',
          `/scim/v2/Users?filter=${encodeURIComponent('userName sw "page-"')}&startIndex=2&count=1`,
        )
      ).json();
      assert.equal(page.totalResults, 3);
      assert.equal(page.startIndex, 2);
      assert.equal(page.itemsPerPage, 1);
      assert.equal(page.Resources[0].userName, 'page-2');
      const unfiltered = (await scim('GET', '/scim/v2/Users?startIndex=1&count=2')).json();
      assert.equal(unfiltered.itemsPerPage, 2);
      assert.ok(unfiltered.totalResults >= 4);
      const empty = (await scim('GET', '/scim/v2/Users?count=0')).json();
      assert.equal(empty.itemsPerPage, 0);
      assert.equal(empty.totalResults, unfiltered.totalResults);
    });

    it('replaces and patches users as Azure AD sends them, keeping department as a policy attribute', async () => {
      const u = await createUser(azureUser('ada'));
      assert.deepEqual(u.schemas, [USER, ENTERPRISE]);
      assert.deepEqual(u[ENTERPRISE], { employeeNumber: '1815', department: 'Research' });
      const patched = await scim(
        'PATCH',
        `/scim/v2/Users/${u.id}`,
        patch(
          { op: 'Replace', path: 'displayName', value: 'Countess of Lovelace' },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'ada@analytical.example' },
          { op: 'Replace', path: 'name.familyName', value: 'King' },
          { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Mathematics' },
          { op: 'Add', path: 'title', value: 'Analyst' },
          { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+44 20 7946 0000' },
        ),
      );
      assert.equal(patched.statusCode, 200, patched.body);
      const p = patched.json();
      assert.equal(p.displayName, 'Countess of Lovelace');
      assert.deepEqual(p.emails, [{ value: 'ada@analytical.example', type: 'work', primary: true }]);
      assert.equal(p.name.familyName, 'King');
      assert.equal(p.name.givenName, 'Ada');
      assert.equal(p.title, 'Analyst');
      assert.equal(p[ENTERPRISE].department, 'Mathematics');
      assert.equal(p.phoneNumbers, undefined, 'attributes Warden does not keep are ignored');
      const principal = (await s.inject({ method: 'GET', url: `/api/v1/principals/${u.id}` })).json();
      assert.equal(principal.attributes.department, 'Mathematics');

      // PUT replaces what SCIM holds: title and the enterprise fields go, other attributes stay.
      await s.inject({
        method: 'PATCH',
        url: `/api/v1/principals/${u.id}`,
        body: { attributes: { ...principal.attributes, clearance: 'high' } },
      });
      const put = await scim('PUT', `/scim/v2/Users/${u.id}`, {
        schemas: [USER],
        userName: 'ada',
        externalId: 'aad-ada',
        name: { givenName: 'Ada' },
      });
      assert.equal(put.statusCode, 200, put.body);
      const r = put.json();
      assert.equal(r.title, undefined);
      assert.equal(r.displayName, undefined);
      assert.equal(r.emails, undefined);
      assert.equal(r[ENTERPRISE], undefined);
      assert.deepEqual(r.schemas, [USER]);
      assert.deepEqual(r.name, { givenName: 'Ada' });
      assert.equal(r.active, true, 'a PUT without active leaves the status alone');
      const stored = (await s.inject({ method: 'GET', url: `/api/v1/principals/${u.id}` })).json();
      assert.deepEqual(stored.attributes, { givenName: 'Ada', clearance: 'high' });

      const rename = await scim(
        'PATCH',
        `/scim/v2/Users/${u.id}`,
        patch({ op: 'replace', path: 'userName', value: 'ada.king' }),
      );
      assert.equal(rename.json().userName, 'ada.king');
      const events = await allEvents(s, 'action=scim.user.patch');
      const ops = events
        .map((e) => e.event?.details?.operations as { op: string; path: string }[] | undefined)
        .find((o) => o?.length === 6);
      assert.deepEqual(ops?.slice(0, 2), [
        { op: 'replace', path: 'displayName' },
        { op: 'replace', path: 'emails[type eq "work"].value' },
      ]);
    });

    it("deactivation through PATCH revokes the user's token and session at once, and the revoke time is measured", async () => {
      const u = await createUser(oktaUser('grace@okta.example', 'okta-grace'));
      const password = 'Correct-Horse-7-Battery';
      assert.equal(
        (await s.inject({ method: 'POST', url: `/api/v1/principals/${u.id}/password`, body: { password } }))
          .statusCode,
        204,
      );
      const login = await s.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        body: { username: 'grace@okta.example', password },
        token: null,
      });
      assert.equal(login.statusCode, 200, login.body);
      const session = login.json().token;
      const issued = await s.inject({
        method: 'POST',
        url: `/api/v1/principals/${u.id}/tokens`,
        body: { scopes: ['*'], description: 'notebook' },
      });
      const token = issued.json().token;
      for (const credential of [session, token]) {
        assert.equal(
          (await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token: credential })).statusCode,
          200,
        );
      }
      const before = revocationSamples((await s.inject({ method: 'GET', url: '/metrics' })).body);

      const deactivated = await scim(
        'PATCH',
        `/scim/v2/Users/${u.id}`,
        patch({ op: 'replace', value: { active: false } }),
      );
      assert.equal(deactivated.statusCode, 200, deactivated.body);
      assert.equal(deactivated.json().active, false);
      for (const credential of [token, session]) {
        const refused = await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token: credential });
        assert.equal(refused.statusCode, 401, refused.body);
      }
      const metrics = await s.inject({ method: 'GET', url: '/metrics' });
      assert.equal(metrics.statusCode, 200, metrics.body);
      assert.ok(revocationSamples(metrics.body) >= before + 2, metrics.body);

      const event = (await allEvents(s, 'action=scim.user.patch'))
        .map((e) => e.event)
        .find(
          (e) =>
            e?.resource.id === u.id &&
            ((e.details?.effects ?? []) as string[]).includes('principal.deactivate'),
        );
      assert.deepEqual(event?.details?.effects, ['principal.deactivate']);
      assert.equal(event?.details?.revoked, 2);
      assert.deepEqual(event?.details?.operations, [{ op: 'replace', attributes: ['active'] }]);
      assert.ok(event?.decision?.policies.includes('role:platform-admin'));

      // Azure AD's string boolean reactivates; revoked credentials stay revoked.
      const back = await scim(
        'PATCH',
        `/scim/v2/Users/${u.id}`,
        patch({ op: 'Replace', path: 'active', value: 'True' }),
      );
      assert.equal(back.json().active, true);
      assert.equal((await s.inject({ method: 'GET', url: '/api/v1/auth/whoami', token })).statusCode, 401);
      // PUT with active: false deactivates too.
      const put = await scim('PUT', `/scim/v2/Users/${u.id}`, {
        ...oktaUser('grace@okta.example', 'okta-grace'),
        active: false,
      });
      assert.equal(put.json().active, false);
      assert.equal(
        (await s.inject({ method: 'GET', url: `/api/v1/principals/${u.id}` })).json().status,
        'deactivated',
      );
    });

    it('deletes a user softly: 404 afterwards, out of every group, the name free again, the row kept', async () => {
      const u = await createUser(oktaUser('linus@okta.example', 'okta-linus'));
      const g = await scim('POST', '/scim/v2/Groups', {
        schemas: [GROUP],
        displayName: 'Kernel',
        members: [{ value: u.id }],
      });
      assert.equal(g.statusCode, 201, g.body);
      const del = await scim('DELETE', `/scim/v2/Users/${u.id}`);
      assert.equal(del.statusCode, 204, del.body);
      assertScimError(await scim('GET', `/scim/v2/Users/${u.id}`), 404, undefined, new RegExp(u.id));
      assertScimError(await scim('DELETE', `/scim/v2/Users/${u.id}`), 404, undefined);
      assert.equal((await findUsers('userName eq "linus@okta.example"')).totalResults, 0);
      assert.equal((await findUsers('externalId eq "okta-linus"')).totalResults, 0);
      assert.deepEqual((await scim('GET', `/scim/v2/Groups/${g.json().id}`)).json().members, []);
      const kept = (await s.inject({ method: 'GET', url: `/api/v1/principals/${u.id}` })).json();
      assert.equal(kept.status, 'deactivated');
      assert.equal(kept.attributes.scimDeleted, true);
      assert.deepEqual(kept.groups, []);
      const again = await createUser(oktaUser('linus@okta.example', 'okta-linus'));
      assert.notEqual(again.id, u.id);
    });

    it('manages groups and memberships as Okta and Azure AD send them', async () => {
      const [a, b, c] = await Promise.all(
        ['m-a', 'm-b', 'm-c'].map((n) => createUser({ schemas: [USER], userName: n })),
      );
      const ids = [a, b, c].map((x) => (x as { id: string }).id) as [string, string, string];
      const created = await scim('POST', '/scim/v2/Groups', {
        schemas: [GROUP],
        displayName: 'Fraud Analysts',
        externalId: 'okta-g1',
        members: [{ value: ids[0] }],
      });
      assert.equal(created.statusCode, 201, created.body);
      const g = created.json();
      assert.deepEqual(
        g.members.map((m: { value: string }) => m.value),
        [ids[0]],
      );
      assert.equal(g.members[0].display, 'm-a');
      assert.equal(created.headers.location, g.meta.location);
      const members = async () =>
        ((await scim('GET', `/scim/v2/Groups/${g.id}`)).json().members as { value: string }[])
          .map((m) => m.value)
          .sort();

      const add = await scim(
        'PATCH',
        `/scim/v2/Groups/${g.id}`,
        patch({ op: 'add', path: 'members', value: [{ value: ids[1] }, { value: ids[2] }] }),
      );
      assert.equal(add.statusCode, 200, add.body);
      assert.deepEqual(await members(), [...ids].sort());
      // Okta removes one member by a value filter; Azure AD lists the members to remove in `value`.
      await scim(
        'PATCH',
        `/scim/v2/Groups/${g.id}`,
        patch({ op: 'remove', path: `members[value eq "${ids[1]}"]` }),
      );
      assert.deepEqual(await members(), [ids[0], ids[2]].sort());
      await scim(
        'PATCH',
        `/scim/v2/Groups/${g.id}`,
        patch({ op: 'Remove', path: 'members', value: [{ value: ids[0] }] }),
      );
      assert.deepEqual(await members(), [ids[2]]);
      await scim(
        'PATCH',
        `/scim/v2/Groups/${g.id}`,
        patch({ op: 'replace', path: 'members', value: [{ value: ids[0] }, { value: ids[1] }] }),
      );
      assert.deepEqual(await members(), [ids[0], ids[1]].sort());
      const user = (await scim('GET', `/scim/v2/Users/${ids[0]}`)).json();
      assert.deepEqual(
        user.groups.map((x: { value: string; display: string }) => [x.value, x.display]),
        [[g.id, 'Fraud Analysts']],
      );

      // Okta renames with a path-less replace that echoes the id.
      const renamed = await scim(
        'PATCH',
        `/scim/v2/Groups/${g.id}`,
        patch({ op: 'replace', value: { id: g.id, displayName: 'Fraud Team' } }),
      );
      assert.equal(renamed.json().displayName, 'Fraud Team');
      const found = await scim(
        'GET',
        `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "fraud team"')}&excludedAttributes=members`,
      );
      assert.equal(found.json().totalResults, 1);
      assert.equal(found.json().Resources[0].members, undefined);
      const byMember = await scim(
        'GET',
        `/scim/v2/Groups?filter=${encodeURIComponent(`id eq "${g.id}" and members[value eq "${ids[1]}"]`)}`,
      );
      assert.equal(byMember.json().totalResults, 1);

      // PUT without members keeps them; with members: [] empties the group.
      const put = await scim('PUT', `/scim/v2/Groups/${g.id}`, {
        schemas: [GROUP],
        displayName: 'Fraud Team',
        externalId: 'okta-g1',
      });
      assert.equal(put.json().members.length, 2);
      const emptied = await scim('PUT', `/scim/v2/Groups/${g.id}`, {
        schemas: [GROUP],
        displayName: 'Fraud Team',
        members: [],
      });
      assert.deepEqual(emptied.json().members, []);
      assert.equal(emptied.json().externalId, undefined);

      assert.equal((await scim('DELETE', `/scim/v2/Groups/${g.id}`)).statusCode, 204);
      assertScimError(await scim('GET', `/scim/v2/Groups/${g.id}`), 404, undefined);
      const recreated = await scim('POST', '/scim/v2/Groups', {
        schemas: [GROUP],
        displayName: 'Fraud Team',
      });
      assert.equal(recreated.statusCode, 201, recreated.body);
    });

    it('refuses a duplicate userName or displayName, in any case, with 409 uniqueness', async () => {
      await createUser({ schemas: [USER], userName: 'Dup.User' });
      assertScimError(
        await scim('POST', '/scim/v2/Users', { schemas: [USER], userName: 'dup.USER' }),
        409,
        'uniqueness',
        /userName/,
      );
      const other = await createUser({ schemas: [USER], userName: 'other.user' });
      assertScimError(
        await scim(
          'PATCH',
          `/scim/v2/Users/${other.id}`,
          patch({ op: 'replace', path: 'userName', value: 'DUP.user' }),
        ),
        409,
        'uniqueness',
        /userName/,
      );
      await scim('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Dup Group' });
      assertScimError(
        await scim('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'dup group' }),
        409,
        'uniqueness',
        /displayName/,
      );
    });

    it('answers bad input with a 400 SCIM error naming the attribute', async () => {
      const u = await createUser({ schemas: [USER], userName: 'bad.input' });
      const cases: [Promise<InjectResult>, string, RegExp][] = [
        [
          scim('POST', '/scim/v2/Users', { schemas: [USER], name: { givenName: 'No' } }),
          'invalidValue',
          /^userName: /,
        ],
        [
          scim('POST', '/scim/v2/Users', { schemas: [USER], userName: 'x1', active: 'maybe' }),
          'invalidValue',
          /^active: /,
        ],
        [
          scim('POST', '/scim/v2/Users', { schemas: [USER], userName: 'x2', emails: [{ value: 42 }] }),
          'invalidValue',
          /^emails\[0\]\.value: /,
        ],
        [scim('POST', '/scim/v2/Users', { schemas: [GROUP], userName: 'x3' }), 'invalidSyntax', /^schemas: /],
        [scim('POST', '/scim/v2/Users', [{ userName: 'x4' }]), 'invalidSyntax', /^body: /],
        [
          scim('POST', '/scim/v2/Groups', {
            schemas: [GROUP],
            displayName: 'g',
            members: [{ value: 'no-such-user' }],
          }),
          'invalidValue',
          /^members\[0\]\.value: no User/,
        ],
        [
          scim('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq')}`),
          'invalidFilter',
          /^filter: /,
        ],
        [
          scim('GET', `/scim/v2/Users?filter=${encodeURIComponent('nickName eq "x"')}`),
          'invalidFilter',
          /^filter: unknown attribute nickName/,
        ],
        [
          scim('GET', `/scim/v2/Users?filter=${encodeURIComponent('active co "tr"')}`),
          'invalidFilter',
          /^filter: active is a boolean/,
        ],
        [
          scim(
            'PATCH',
            `/scim/v2/Users/${u.id}`,
            patch({ op: 'replace', path: 'emails[type eq "work"', value: 'x' }),
          ),
          'invalidPath',
          /^Operations\[0\]\.path: /,
        ],
        [
          scim('PATCH', `/scim/v2/Users/${u.id}`, patch({ op: 'remove' })),
          'noTarget',
          /^Operations\[0\]\.path: /,
        ],
        [
          scim(
            'PATCH',
            `/scim/v2/Users/${u.id}`,
            patch({ op: 'replace', path: 'emails[type eq "home"].value', value: 'x@y' }),
          ),
          'noTarget',
          /^Operations\[0\]\.path: /,
        ],
        [
          scim('PATCH', `/scim/v2/Users/${u.id}`, patch({ op: 'move', path: 'title' })),
          'invalidValue',
          /^Operations\[0\]\.op: /,
        ],
        [
          scim(
            'PATCH',
            `/scim/v2/Users/${u.id}`,
            patch({ op: 'add', path: 'groups', value: [{ value: 'x' }] }),
          ),
          'mutability',
          /^Operations\[0\]\.path: groups is read-only/,
        ],
        [
          scim('PATCH', `/scim/v2/Users/${u.id}`, patch({ op: 'remove', path: 'userName' })),
          'invalidValue',
          /^userName: is required/,
        ],
        [scim('PATCH', `/scim/v2/Users/${u.id}`, { schemas: [PATCH_OP] }), 'invalidSyntax', /^Operations: /],
      ];
      for (const [res, scimType, detail] of cases) assertScimError(await res, 400, scimType, detail);
      const malformed = await scim('POST', '/scim/v2/Users', '{"userName": ');
      assertScimError(malformed, 400, 'invalidSyntax');
      assert.equal(
        (await scim('GET', `/scim/v2/Users/${u.id}`)).json().userName,
        'bad.input',
        'a refused PATCH changed the user',
      );
    });

    it('answers 404 for unknown ids and for principals that are not SCIM resources', async () => {
      const admin = s.rt.bootstrap.principalId;
      for (const kind of ['Users', 'Groups']) {
        for (const id of ['01J0000000000000000000NOPE', admin]) {
          assertScimError(await scim('GET', `/scim/v2/${kind}/${id}`), 404, undefined);
          assertScimError(
            await scim('PUT', `/scim/v2/${kind}/${id}`, { schemas: [USER], userName: 'x', displayName: 'x' }),
            404,
            undefined,
          );
          assertScimError(
            await scim('PATCH', `/scim/v2/${kind}/${id}`, patch({ op: 'replace', value: { active: false } })),
            404,
            undefined,
          );
          assertScimError(await scim('DELETE', `/scim/v2/${kind}/${id}`), 404, undefined);
        }
      }
      const whoami = await s.inject({ method: 'GET', url: '/api/v1/auth/whoami' });
      assert.equal(whoami.statusCode, 200, 'the bootstrap admin was touched through SCIM');
    });

    it("needs a credential allowed scim.provision, and answers refusals in SCIM's format", async () => {
      const none = await scim('GET', '/scim/v2/Users', undefined, null);
      assertScimError(none, 401, undefined);
      assert.equal(none.json().error.code, 'WARDEN_UNAUTHENTICATED');
      const { token } = await serviceAccount('reader', ['principal.read']);
      const scoped = await scim('GET', '/scim/v2/Users', undefined, token);
      assertScimError(scoped, 403, undefined, /scim\.provision/);
      assert.equal(scoped.json().error.code, 'WARDEN_FORBIDDEN');
      const created = await s.inject({
        method: 'POST',
        url: '/api/v1/principals',
        body: { type: 'user', name: 'no-binding' },
      });
      const plain = await s.inject({
        method: 'POST',
        url: `/api/v1/principals/${created.json().id}/tokens`,
        body: { scopes: ['*'], description: 'x' },
      });
      assertScimError(
        await scim('POST', '/scim/v2/Users', { schemas: [USER], userName: 'sneaky' }, plain.json().token),
        403,
        undefined,
      );
      assert.equal((await findUsers('userName eq "sneaky"')).totalResults, 0);
    });
  });
}
