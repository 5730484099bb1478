import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PrincipalView } from '../../src/identity/index.js';
import {
  applyScimPatch,
  GROUP_RESOURCE,
  parseScimFilter,
  ScimError,
  scimEquality,
  scimGroup,
  scimMatches,
  scimPatchOps,
  scimProject,
  scimUser,
  scimUserInput,
  USER_RESOURCE,
} from '../../src/identity/scim.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const BASE = 'https://warden.example/scim/v2';

function view(over: Partial<PrincipalView>): PrincipalView {
  return {
    id: 'U1',
    type: 'user',
    name: 'bjensen',
    displayName: 'Babs Jensen',
    email: 'bjensen@example.com',
    status: 'active',
    externalId: 'ext-1',
    issuer: null,
    subject: null,
    attributes: { givenName: 'Barbara', familyName: 'Jensen', department: 'Tour Operations' },
    mfaEnrolled: false,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: null,
    ...over,
  };
}

const user = scimUser(view({}), [{ id: 'G1', name: 'Tour Guides' }], BASE);
const matches = (filter: string) => scimMatches(parseScimFilter(filter, USER_RESOURCE), user);

function refused(fn: () => unknown, scimType: string, detail: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ScimError, String(err));
    assert.equal(err.scimType, scimType);
    assert.match(err.message, detail);
    return true;
  });
}

describe('SCIM filters (RFC 7644 §3.4.2.2)', () => {
  it('compares userName case-insensitively and externalId and id exactly', () => {
    assert.equal(matches('userName eq "BJENSEN"'), true);
    assert.equal(matches('externalId eq "ext-1"'), true);
    assert.equal(matches('externalId eq "EXT-1"'), false);
    assert.equal(matches('id eq "u1"'), false);
    assert.equal(matches('USERNAME Sw "bj" AND Active EQ true'), true);
    assert.equal(matches('emails.value ew "@EXAMPLE.com"'), true);
    assert.equal(matches(`${ENTERPRISE}:department co "tour"`), true);
    assert.equal(matches('meta.created gt "2024-12-31T23:59:59Z"'), true);
  });

  it('binds not tighter than and, and tighter than or, with parentheses overriding', () => {
    assert.equal(matches('userName eq "bjensen" or userName eq "x" and active eq false'), true);
    assert.equal(matches('(userName eq "x" or userName eq "bjensen") and active eq true'), true);
    assert.equal(matches('not (userName eq "bjensen") or title pr'), false);
    assert.equal(matches('groups[value eq "G1" and display sw "tour"]'), true);
    assert.equal(matches('groups[value eq "G2"]'), false);
  });

  it('refuses malformed filters and comparisons the attribute type does not allow', () => {
    refused(
      () => parseScimFilter('userName eq "open', USER_RESOURCE),
      'invalidFilter',
      /^filter: unterminated string/,
    );
    refused(
      () => parseScimFilter('userName like "x"', USER_RESOURCE),
      'invalidFilter',
      /^filter: unknown operator like/,
    );
    refused(() => parseScimFilter('(userName eq "x"', USER_RESOURCE), 'invalidFilter', /^filter: /);
    refused(() => parseScimFilter('userName eq 5', USER_RESOURCE), 'invalidFilter', /userName is a string/);
    refused(() => parseScimFilter('name eq "x"', USER_RESOURCE), 'invalidFilter', /name is complex/);
    refused(() => parseScimFilter('members pr', USER_RESOURCE), 'invalidFilter', /unknown attribute members/);
  });

  it('finds the equality a query can be narrowed by, and none under or', () => {
    assert.deepEqual(scimEquality(parseScimFilter('active eq true and userName eq "a"', USER_RESOURCE)), {
      attr: 'userName',
      value: 'a',
    });
    assert.equal(
      scimEquality(parseScimFilter('userName eq "a" or userName eq "b"', USER_RESOURCE)),
      undefined,
    );
  });
});

describe('SCIM PATCH (RFC 7644 §3.5.2)', () => {
  const ops = (...Operations: unknown[]) =>
    scimPatchOps({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });

  it('merges path-less values, including extension URNs as keys and as prefixes', () => {
    const doc = applyScimPatch(
      USER_RESOURCE,
      user,
      ops(
        { op: 'replace', value: { active: false, name: { givenName: 'Babs' } } },
        { op: 'add', value: { [`${ENTERPRISE}:division`]: 'North', [ENTERPRISE]: { costCenter: '42' } } },
      ),
    );
    const input = scimUserInput(doc);
    assert.equal(input.active, false);
    assert.deepEqual(input.profile, {
      givenName: 'Babs',
      familyName: 'Jensen',
      costCenter: '42',
      division: 'North',
      department: 'Tour Operations',
    });
    assert.equal(user.active, true, 'the original resource is untouched');
  });

  it('adds, filters, replaces and removes values of multi-valued attributes', () => {
    const group = scimGroup(
      view({ id: 'G1', type: 'group', name: 'g' }),
      [
        { id: 'A', name: 'a' },
        { id: 'B', name: 'b' },
      ],
      BASE,
    );
    const members = (d: Record<string, unknown>) => (d.members as { value: string }[]).map((m) => m.value);
    assert.deepEqual(
      members(
        applyScimPatch(
          GROUP_RESOURCE,
          group,
          ops({ op: 'add', path: 'members', value: [{ value: 'B' }, { value: 'C' }] }),
        ),
      ),
      ['A', 'B', 'C'],
    );
    assert.deepEqual(
      members(applyScimPatch(GROUP_RESOURCE, group, ops({ op: 'remove', path: 'members[value eq "A"]' }))),
      ['B'],
    );
    assert.deepEqual(
      members(
        applyScimPatch(
          GROUP_RESOURCE,
          group,
          ops({ op: 'remove', path: 'members', value: [{ value: 'B' }] }),
        ),
      ),
      ['A'],
    );
    assert.deepEqual(
      members(applyScimPatch(GROUP_RESOURCE, group, ops({ op: 'remove', path: 'members' }))),
      [],
    );
    assert.deepEqual(
      members(
        applyScimPatch(
          GROUP_RESOURCE,
          group,
          ops({ op: 'replace', path: 'members', value: [{ value: 'Z' }] }),
        ),
      ),
      ['Z'],
    );
    // "a" with caseExact=true is not "A".
    assert.deepEqual(
      members(applyScimPatch(GROUP_RESOURCE, group, ops({ op: 'remove', path: 'members[value eq "a"]' }))),
      ['A', 'B'],
    );

    const home = applyScimPatch(
      USER_RESOURCE,
      user,
      ops({ op: 'add', path: 'emails[type eq "home"].value', value: 'babs@home.example' }),
    );
    assert.deepEqual(home.emails, [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { type: 'home', value: 'babs@home.example' },
    ]);
    refused(
      () =>
        applyScimPatch(
          USER_RESOURCE,
          user,
          ops({ op: 'replace', path: 'emails[type eq "home"].value', value: 'x' }),
        ),
      'noTarget',
      /^Operations\[0\]\.path: /,
    );
  });

  it('refuses read-only attributes, a changed id and malformed operations, naming them', () => {
    refused(
      () => applyScimPatch(USER_RESOURCE, user, ops({ op: 'replace', path: 'id', value: 'U2' })),
      'mutability',
      /^Operations\[0\]\.path: id is read-only/,
    );
    refused(
      () => applyScimPatch(USER_RESOURCE, user, ops({ op: 'replace', value: { id: 'U2' } })),
      'mutability',
      /^Operations\[0\]\.value\.id: /,
    );
    refused(
      () => applyScimPatch(USER_RESOURCE, user, ops({ op: 'add', path: 'active', value: 7 })),
      'invalidValue',
      /^Operations\[0\]\.value: must be a boolean/,
    );
    refused(
      () => applyScimPatch(USER_RESOURCE, user, ops({ op: 'add', path: 'title extra', value: 'x' })),
      'invalidPath',
      /^Operations\[0\]\.path: /,
    );
    refused(
      () => ops({ op: 'add', path: 'title' }),
      'invalidValue',
      /^Operations\[0\]\.value: is required for add/,
    );
    refused(
      () => scimPatchOps({ schemas: ['urn:wrong'], Operations: [{ op: 'add', value: {} }] }),
      'invalidSyntax',
      /^schemas: /,
    );
  });
});

describe('SCIM projection (RFC 7644 §3.9)', () => {
  it('keeps id and schemas, and narrows or removes sub-attributes', () => {
    assert.deepEqual(Object.keys(scimProject(user, 'userName,name.givenName')).sort(), [
      'id',
      'name',
      'schemas',
      'userName',
    ]);
    assert.deepEqual(scimProject(user, 'name.givenName').name, { givenName: 'Barbara' });
    const without = scimProject(user, undefined, 'groups,emails.type,id');
    assert.equal(without.groups, undefined);
    assert.equal(without.id, 'U1');
    assert.deepEqual(without.emails, [{ value: 'bjensen@example.com', primary: true }]);
  });
});
