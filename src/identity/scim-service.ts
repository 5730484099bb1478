import type { Kysely } from 'kysely';
import { WardenError } from '../core/index.js';
import type { EventActor, EventInput, Ledger } from '../ledger/index.js';
import type { Database, PrincipalTable, Store } from '../store/index.js';
import { type Directory, type PrincipalPatch, type PrincipalView, toView } from './directory.js';
import {
  applyScimPatch,
  GROUP_RESOURCE,
  parseScimFilter,
  type ResourceDef,
  SCIM_PROFILE_KEYS,
  ScimError,
  type ScimGroupInput,
  type ScimObject,
  type ScimPatchOp,
  type ScimRef,
  type ScimUserInput,
  scimDocument,
  scimEquality,
  scimGroup,
  scimGroupInput,
  scimList,
  scimMatches,
  scimPatchOps,
  scimProject,
  scimUser,
  scimUserInput,
  USER_RESOURCE,
} from './scim.js';

/** SCIM resource kinds, named as Warden principal types. */
export type ScimKind = 'user' | 'group';

/** Who asks, and where the SCIM base URL is (for `meta.location`). */
export interface ScimCall {
  readonly actor: EventActor;
  readonly requestId: string;
  readonly decision?: EventInput['decision'];
  /** e.g. `https://warden.example/scim/v2`. */
  readonly baseUrl: string;
}

/** A list request: RFC 7644 §3.4.2 parameters, `startIndex` 1-based. */
export interface ScimListQuery {
  readonly filter?: string | undefined;
  readonly startIndex: number;
  readonly count: number;
  readonly attributes?: string | undefined;
  readonly excludedAttributes?: string | undefined;
}

/** `attributes` / `excludedAttributes` of a single-resource request. */
export interface ScimProjection {
  readonly attributes?: string | undefined;
  readonly excludedAttributes?: string | undefined;
}

// Marks a principal SCIM deleted. Deletion is soft: the principal is deactivated (credentials revoked),
// removed from every group, renamed so its name is free again, and kept with this attribute for the
// audit trail; SCIM answers 404 for it from then on (RFC 7644 §3.6).
const SCIM_DELETED_ATTRIBUTE = 'scimDeleted';

// A filter the store cannot narrow is evaluated over at most this many principals.
const MAX_SCAN = 10_000;
const IN_CHUNK = 500;
const DEF: Record<ScimKind, ResourceDef> = { user: USER_RESOURCE, group: GROUP_RESOURCE };
const LABEL: Record<ScimKind, 'User' | 'Group'> = { user: 'User', group: 'Group' };

/**
 * SCIM 2.0 provisioning over the Directory: every change goes through it (its events and epoch bumps),
 * and each SCIM operation is recorded once more as `scim.<kind>.<verb>` naming the operation, the
 * decision that allowed it and the Directory changes it made — never attribute values.
 */
export class ScimService {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #directory: Directory;

  constructor(deps: { store: Store; ledger: Ledger; directory: Directory }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#directory = deps.directory;
  }

  /** One page of Users or Groups matching `filter`, as a ListResponse. */
  async list(kind: ScimKind, q: ScimListQuery, baseUrl: string): Promise<ScimObject> {
    const filter =
      q.filter === undefined || q.filter.trim() === '' ? undefined : parseScimFilter(q.filter, DEF[kind]);
    const project = (r: ScimObject) => scimProject(r, q.attributes, q.excludedAttributes);
    if (filter === undefined) {
      const base = this.#live(this.#store.db, kind);
      const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const rows = await base
        .selectAll()
        .orderBy('created_ms')
        .orderBy('id')
        .limit(q.count)
        .offset(q.startIndex - 1)
        .execute();
      const page = await this.#resources(kind, rows.map(toView), baseUrl);
      return scimList(page.map(project), total, q.startIndex);
    }
    let candidates = this.#live(this.#store.db, kind);
    const hint = scimEquality(filter);
    if (hint?.attr === 'id') candidates = candidates.where('id', '=', hint.value);
    else if (hint?.attr === 'externalId') candidates = candidates.where('external_id', '=', hint.value);
    else if (
      (hint?.attr === 'userName' || hint?.attr === 'displayName') &&
      isAscii(hint.value) &&
      (kind === 'user') === (hint.attr === 'userName')
    ) {
      // userName and Group displayName are the principal name, compared case-insensitively.
      const lower = hint.value.toLowerCase();
      candidates = candidates.where((eb) => eb(eb.fn('lower', ['name']), '=', lower));
    }
    const rows = await candidates
      .selectAll()
      .orderBy('created_ms')
      .orderBy('id')
      .limit(MAX_SCAN + 1)
      .execute();
    if (rows.length > MAX_SCAN) {
      throw new ScimError(
        'WARDEN_INVALID_INPUT',
        'tooMany',
        'filter',
        `matches more than ${MAX_SCAN} resources; narrow it with an eq on userName, displayName, externalId or id`,
      );
    }
    const matched = (await this.#resources(kind, rows.map(toView), baseUrl)).filter((r) =>
      scimMatches(filter, r),
    );
    const page = matched.slice(q.startIndex - 1, q.startIndex - 1 + q.count);
    return scimList(page.map(project), matched.length, q.startIndex);
  }

  /** One User or Group; 404 when there is none (or it was deleted). */
  async get(
    kind: ScimKind,
    id: string,
    baseUrl: string,
    projection: ScimProjection = {},
  ): Promise<ScimObject> {
    const [resource] = await this.#resources(kind, [await this.#load(kind, id)], baseUrl);
    return scimProject(resource as ScimObject, projection.attributes, projection.excludedAttributes);
  }

  /** POST /Users. */
  async createUser(call: ScimCall, body: unknown): Promise<ScimObject> {
    const input = scimUserInput(scimDocument(USER_RESOURCE, body));
    const id = await this.#audited(call, 'user', 'create', undefined, {}, async (note) => {
      await this.#nameFree(input.userName, undefined, 'userName');
      const created = await uniqueAs('userName', () =>
        this.#directory.create(call.actor, {
          type: 'user',
          name: input.userName,
          displayName: input.displayName ?? undefined,
          email: input.email ?? undefined,
          externalId: input.externalId ?? undefined,
          attributes: input.profile,
          status: input.active === false ? 'deactivated' : 'active',
        }),
      );
      note.effects.push('principal.create');
      return created.id;
    });
    return this.get('user', id, call.baseUrl);
  }

  /** PUT /Users/{id}: replaces the SCIM-held fields; an omitted `active` leaves the status alone. */
  async replaceUser(call: ScimCall, id: string, body: unknown): Promise<ScimObject> {
    const view = await this.#load('user', id);
    const input = scimUserInput(scimDocument(USER_RESOURCE, body));
    await this.#audited(call, 'user', 'replace', id, {}, (note) =>
      this.#applyUser(call.actor, view, input, note),
    );
    return this.get('user', id, call.baseUrl);
  }

  /** PATCH /Users/{id}. */
  async patchUser(call: ScimCall, id: string, body: unknown): Promise<ScimObject> {
    const ops = scimPatchOps(body);
    const view = await this.#load('user', id);
    const [current] = await this.#resources('user', [view], call.baseUrl);
    const input = scimUserInput(applyScimPatch(USER_RESOURCE, current as ScimObject, ops));
    await this.#audited(call, 'user', 'patch', id, { operations: summary(ops) }, (note) =>
      this.#applyUser(call.actor, view, input, note),
    );
    return this.get('user', id, call.baseUrl);
  }

  /** POST /Groups. */
  async createGroup(call: ScimCall, body: unknown): Promise<ScimObject> {
    const input = scimGroupInput(scimDocument(GROUP_RESOURCE, body));
    const members = unique(input.members ?? []);
    const id = await this.#audited(call, 'group', 'create', undefined, {}, async (note) => {
      await this.#nameFree(input.displayName, undefined, 'displayName');
      await this.#checkUsers(input.members ?? [], members);
      const created = await uniqueAs('displayName', () =>
        this.#directory.create(call.actor, {
          type: 'group',
          name: input.displayName,
          externalId: input.externalId ?? undefined,
        }),
      );
      note.effects.push('principal.create');
      if (members.length > 0) {
        await this.#directory.changeMembers(call.actor, created.id, members, []);
        note.effects.push('group.change_members');
      }
      return created.id;
    });
    return this.get('group', id, call.baseUrl);
  }

  /** PUT /Groups/{id}: an omitted `members` leaves the membership alone; `members: []` empties it. */
  async replaceGroup(call: ScimCall, id: string, body: unknown): Promise<ScimObject> {
    const view = await this.#load('group', id);
    const input = scimGroupInput(scimDocument(GROUP_RESOURCE, body));
    const current = await this.#userMembers(id);
    await this.#audited(call, 'group', 'replace', id, {}, (note) =>
      this.#applyGroup(call.actor, view, input, current, note),
    );
    return this.get('group', id, call.baseUrl);
  }

  /** PATCH /Groups/{id}, including Okta's `members[value eq "…"]` and Azure AD's valued remove. */
  async patchGroup(call: ScimCall, id: string, body: unknown): Promise<ScimObject> {
    const ops = scimPatchOps(body);
    const view = await this.#load('group', id);
    const [current] = await this.#resources('group', [view], call.baseUrl);
    const input = scimGroupInput(applyScimPatch(GROUP_RESOURCE, current as ScimObject, ops));
    const patched = { ...input, members: input.members ?? [] };
    const members = await this.#userMembers(id);
    await this.#audited(call, 'group', 'patch', id, { operations: summary(ops) }, (note) =>
      this.#applyGroup(call.actor, view, patched, members, note),
    );
    return this.get('group', id, call.baseUrl);
  }

  /**
   * DELETE: deactivates the principal (revoking every token and session), empties or leaves its
   * groups, frees its name and marks it deleted; the row stays for the audit trail.
   */
  async remove(call: ScimCall, kind: ScimKind, id: string): Promise<void> {
    const view = await this.#load(kind, id);
    await this.#audited(call, kind, 'delete', id, {}, async (note) => {
      if (view.status !== 'deactivated') {
        const { revoked } = await this.#directory.setStatus(call.actor, id, 'deactivated', 'SCIM deletion');
        note.effects.push('principal.deactivate');
        note.revoked = revoked;
      }
      if (kind === 'user') {
        for (const group of await this.#directory.groupsOf(id)) {
          await this.#directory.changeMembers(call.actor, group, [], [id]);
          note.effects.push('group.change_members');
        }
      } else if ((await this.#directory.members(id)).length > 0) {
        await this.#directory.setMembers(call.actor, id, []);
        note.effects.push('group.set_members');
      }
      await this.#directory.update(call.actor, id, {
        name: `deleted:${id}:${view.name}`,
        attributes: { ...view.attributes, [SCIM_DELETED_ATTRIBUTE]: true },
      });
      note.effects.push('principal.update');
      return id;
    });
  }

  async #applyUser(
    actor: EventActor,
    view: PrincipalView,
    input: ScimUserInput,
    note: Note,
  ): Promise<string> {
    // Deactivation first, so credentials are revoked before anything else can fail.
    if (input.active === false && view.status === 'active') {
      const { revoked } = await this.#directory.setStatus(actor, view.id, 'deactivated', 'SCIM deactivation');
      note.effects.push('principal.deactivate');
      note.revoked = revoked;
    }
    const patch: { -readonly [K in keyof PrincipalPatch]: PrincipalPatch[K] } = {};
    if (input.userName !== view.name) {
      await this.#nameFree(input.userName, view.id, 'userName');
      patch.name = input.userName;
    }
    if (input.displayName !== view.displayName) patch.displayName = input.displayName;
    if (input.email !== view.email) patch.email = input.email;
    if (input.externalId !== view.externalId) patch.externalId = input.externalId;
    const attributes: Record<string, string | number | boolean> = { ...view.attributes };
    for (const key of SCIM_PROFILE_KEYS) delete attributes[key];
    Object.assign(attributes, input.profile);
    if (!sameRecord(attributes, view.attributes)) patch.attributes = attributes;
    if (Object.keys(patch).length > 0) {
      await uniqueAs('userName', () => this.#directory.update(actor, view.id, patch));
      note.effects.push('principal.update');
    }
    // SCIM moves principals between active and deactivated only: a Warden suspension stays in force.
    if (input.active === true && view.status === 'deactivated') {
      await this.#directory.setStatus(actor, view.id, 'active', 'SCIM reactivation');
      note.effects.push('principal.reactivate');
    }
    return view.id;
  }

  async #applyGroup(
    actor: EventActor,
    view: PrincipalView,
    input: ScimGroupInput,
    current: readonly string[],
    note: Note,
  ): Promise<string> {
    const patch: { -readonly [K in keyof PrincipalPatch]: PrincipalPatch[K] } = {};
    if (input.displayName !== view.name) {
      await this.#nameFree(input.displayName, view.id, 'displayName');
      patch.name = input.displayName;
    }
    if (input.externalId !== view.externalId) patch.externalId = input.externalId;
    const next = input.members === undefined ? undefined : unique(input.members);
    const add = next?.filter((m) => !current.includes(m)) ?? [];
    const remove = next === undefined ? [] : current.filter((m) => !next.includes(m));
    if (input.members !== undefined) await this.#checkUsers(input.members, add);
    if (Object.keys(patch).length > 0) {
      await uniqueAs('displayName', () => this.#directory.update(actor, view.id, patch));
      note.effects.push('principal.update');
    }
    if (add.length > 0 || remove.length > 0) {
      await this.#directory.changeMembers(actor, view.id, add, remove);
      note.effects.push('group.change_members');
    }
    return view.id;
  }

  // Runs a SCIM change and records it; a change that failed half-way is recorded as failed.
  async #audited(
    call: ScimCall,
    kind: ScimKind,
    verb: 'create' | 'replace' | 'patch' | 'delete',
    id: string | undefined,
    details: Record<string, unknown>,
    change: (note: Note) => Promise<string>,
  ): Promise<string> {
    const note: Note = { effects: [] };
    const operation = `${verb === 'create' ? 'POST' : verb === 'replace' ? 'PUT' : verb.toUpperCase()} /${LABEL[kind]}s${id === undefined ? '' : `/${id}`}`;
    const event = (
      outcome: 'succeeded' | 'failed',
      target: string,
      extra: Record<string, unknown>,
    ): EventInput => ({
      actor: call.actor,
      action: `scim.${kind}.${verb}`,
      resource: { type: LABEL[kind], id: target },
      outcome,
      ...(call.decision ? { decision: call.decision } : {}),
      details: {
        operation,
        ...details,
        effects: note.effects,
        ...(note.revoked !== undefined ? { revoked: note.revoked } : {}),
        ...extra,
      },
      request: { id: call.requestId },
    });
    let target: string;
    try {
      target = await change(note);
    } catch (err) {
      if (note.effects.length > 0) {
        const code = err instanceof WardenError ? err.code : 'WARDEN_INTERNAL';
        await this.#ledger.recordAlone(event('failed', id ?? 'unknown', { error: code }));
      }
      throw err;
    }
    await this.#ledger.recordAlone(event('succeeded', target, {}));
    return target;
  }

  #live(db: Kysely<Database>, kind: ScimKind) {
    return db
      .selectFrom('principals')
      .where('type', '=', kind)
      .where((eb) =>
        eb.or([
          eb('attributes', 'is', null),
          eb('attributes', 'not like', `%"${SCIM_DELETED_ATTRIBUTE}":true%`),
        ]),
      );
  }

  async #load(kind: ScimKind, id: string): Promise<PrincipalView> {
    const row = await this.#live(this.#store.db, kind).selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new WardenError('WARDEN_NOT_FOUND', `${LABEL[kind]} ${id} not found`);
    return toView(row);
  }

  // Users with their groups, or groups with their user members, in a few queries.
  async #resources(kind: ScimKind, views: readonly PrincipalView[], baseUrl: string): Promise<ScimObject[]> {
    const related = new Map<string, ScimRef[]>();
    for (const ids of chunks(views.map((v) => v.id))) {
      const rows =
        kind === 'user'
          ? await this.#store.db
              .selectFrom('group_members as m')
              .innerJoin('principals as g', 'g.id', 'm.group_id')
              .select(['m.member_id as owner', 'g.id as id', 'g.name as name'])
              .where('m.member_id', 'in', ids)
              .orderBy('g.name')
              .execute()
          : await this.#store.db
              .selectFrom('group_members as m')
              .innerJoin('principals as p', 'p.id', 'm.member_id')
              .select(['m.group_id as owner', 'p.id as id', 'p.name as name'])
              .where('m.group_id', 'in', ids)
              .where('p.type', '=', 'user')
              .orderBy('p.name')
              .execute();
      for (const r of rows)
        related.set(r.owner, [...(related.get(r.owner) ?? []), { id: r.id, name: r.name }]);
    }
    return views.map((v) => (kind === 'user' ? scimUser : scimGroup)(v, related.get(v.id) ?? [], baseUrl));
  }

  async #userMembers(groupId: string): Promise<string[]> {
    const rows = await this.#store.db
      .selectFrom('group_members as m')
      .innerJoin('principals as p', 'p.id', 'm.member_id')
      .select('p.id')
      .where('m.group_id', '=', groupId)
      .where('p.type', '=', 'user')
      .execute();
    return rows.map((r) => r.id);
  }

  // Every id in `check` must be a (not deleted) user; errors name the member by its place in `all`.
  async #checkUsers(all: readonly string[], check: readonly string[]): Promise<void> {
    const found = new Set<string>();
    for (const ids of chunks(check)) {
      const rows = await this.#live(this.#store.db, 'user').select('id').where('id', 'in', ids).execute();
      for (const r of rows) found.add(r.id);
    }
    const missing = check.find((m) => !found.has(m));
    if (missing !== undefined) {
      throw new ScimError(
        'WARDEN_INVALID_INPUT',
        'invalidValue',
        `members[${all.indexOf(missing)}].value`,
        `no User ${missing}`,
      );
    }
  }

  // userName and Group displayName are unique case-insensitively (RFC 7643 §4.1.1: caseExact false).
  async #nameFree(name: string, self: string | undefined, field: string): Promise<void> {
    const lower = name.toLowerCase();
    const rows: Pick<PrincipalTable, 'id' | 'name'>[] = isAscii(name)
      ? await this.#store.db
          .selectFrom('principals')
          .select(['id', 'name'])
          .where((eb) => eb(eb.fn('lower', ['name']), '=', lower))
          .execute()
      : await this.#store.db.selectFrom('principals').select(['id', 'name']).execute();
    if (rows.some((r) => r.id !== self && r.name.toLowerCase() === lower)) {
      throw new ScimError('WARDEN_CONFLICT', 'uniqueness', field, `${name} is already taken`);
    }
  }
}

interface Note {
  readonly effects: string[];
  revoked?: number;
}

// The Directory's own uniqueness check (exact names, racing writers) reported the SCIM way.
async function uniqueAs<T>(field: string, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (err instanceof WardenError && err.code === 'WARDEN_CONFLICT' && !(err instanceof ScimError)) {
      throw new ScimError('WARDEN_CONFLICT', 'uniqueness', field, err.message);
    }
    throw err;
  }
}

function summary(ops: readonly ScimPatchOp[]): { op: string; path?: string; attributes?: string[] }[] {
  return ops.map((o) => ({
    op: o.op,
    ...(o.path !== undefined ? { path: o.path.slice(0, 200) } : {}),
    ...(o.path === undefined && typeof o.value === 'object' && o.value !== null
      ? { attributes: Object.keys(o.value).slice(0, 50) }
      : {}),
  }));
}

function sameRecord(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

function* chunks(ids: readonly string[]): Generator<string[]> {
  for (let i = 0; i < ids.length; i += IN_CHUNK) yield ids.slice(i, i + IN_CHUNK);
}
