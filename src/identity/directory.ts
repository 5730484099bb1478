import type { Kysely } from 'kysely';
import { type Clock, newId, WardenError } from '../core/index.js';
import type { EventActor, EventInput, Ledger } from '../ledger/index.js';
import { bumpAuthzEpoch, type Database, type PrincipalTable, type Store } from '../store/index.js';

/** The kinds of principal the directory holds. */
export type PrincipalKind = 'user' | 'service' | 'group';

/** Lifecycle states: only `active` principals authenticate. */
export type PrincipalStatus = 'active' | 'suspended' | 'deactivated';

/** A principal as the API shows it: never a secret. */
export interface PrincipalView {
  readonly id: string;
  readonly type: PrincipalKind;
  readonly name: string;
  readonly displayName: string | null;
  readonly email: string | null;
  readonly status: PrincipalStatus;
  readonly externalId: string | null;
  readonly issuer: string | null;
  readonly subject: string | null;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly mfaEnrolled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string | null;
}

/** Fields a caller may set when creating a principal. */
export interface NewPrincipal {
  readonly type: PrincipalKind;
  readonly name: string;
  readonly displayName?: string | undefined;
  readonly email?: string | undefined;
  readonly externalId?: string | undefined;
  readonly issuer?: string | undefined;
  readonly subject?: string | undefined;
  readonly passwordHash?: string | undefined;
  readonly attributes?: Readonly<Record<string, string | number | boolean>> | undefined;
  readonly status?: PrincipalStatus | undefined;
}

/** Fields that may change after creation. */
export interface PrincipalPatch {
  readonly name?: string | undefined;
  readonly displayName?: string | null | undefined;
  readonly email?: string | null | undefined;
  readonly externalId?: string | null | undefined;
  readonly attributes?: Readonly<Record<string, string | number | boolean>> | undefined;
}

const CEDAR_TYPE: Record<PrincipalKind, string> = { user: 'User', service: 'ServiceAccount', group: 'Group' };

/** The Cedar entity type of a principal kind. */
export function cedarTypeOf(kind: PrincipalKind): string {
  return CEDAR_TYPE[kind];
}

/**
 * Users, service accounts and groups. Every change commits with its ledger event and an authorization
 * epoch bump, so every replica sees it on its next request; suspension and deactivation revoke every
 * token and session of the principal in the same transaction.
 */
export class Directory {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  async create(actor: EventActor, p: NewPrincipal): Promise<PrincipalView> {
    const now = this.#clock.now();
    const row: PrincipalTable = {
      id: newId(now),
      type: p.type,
      name: p.name,
      status: p.status ?? 'active',
      is_admin: 0,
      created_ms: now,
      display_name: p.displayName ?? null,
      email: p.email ?? null,
      external_id: p.externalId ?? null,
      issuer: p.issuer ?? null,
      subject: p.subject ?? null,
      password_hash: p.passwordHash ?? null,
      totp_secret: null,
      totp_last_step: null,
      attributes: JSON.stringify(p.attributes ?? {}),
      updated_ms: null,
    };
    await this.#change(
      actor,
      'principal.create',
      row.id,
      p.type,
      { name: p.name, status: row.status, federated: p.issuer !== undefined },
      async (trx) => {
        await this.#unique(trx, p.name);
        await trx.insertInto('principals').values(row).execute();
      },
    );
    return toView(row);
  }

  async get(id: string): Promise<PrincipalView> {
    return toView(await this.#row(this.#store.db, id));
  }

  /** Principals of a kind, optionally filtered by exact name or external id. */
  async list(q: {
    type?: PrincipalKind;
    name?: string;
    externalId?: string;
    limit?: number;
    offset?: number;
  }): Promise<{ items: PrincipalView[]; total: number }> {
    let base = this.#store.db.selectFrom('principals');
    if (q.type) base = base.where('type', '=', q.type);
    if (q.name !== undefined) base = base.where('name', '=', q.name);
    if (q.externalId !== undefined) base = base.where('external_id', '=', q.externalId);
    const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await base
      .selectAll()
      .orderBy('created_ms')
      .orderBy('id')
      .limit(q.limit ?? 100)
      .offset(q.offset ?? 0)
      .execute();
    return { items: rows.map(toView), total };
  }

  async update(actor: EventActor, id: string, patch: PrincipalPatch): Promise<PrincipalView> {
    const existing = await this.#row(this.#store.db, id);
    const set: Partial<PrincipalTable> = { updated_ms: this.#clock.now() };
    if (patch.name !== undefined && patch.name !== existing.name) set.name = patch.name;
    if (patch.displayName !== undefined) set.display_name = patch.displayName;
    if (patch.email !== undefined) set.email = patch.email;
    if (patch.externalId !== undefined) set.external_id = patch.externalId;
    if (patch.attributes !== undefined) set.attributes = JSON.stringify(patch.attributes);
    await this.#change(
      actor,
      'principal.update',
      id,
      existing.type,
      { fields: Object.keys(patch).filter((k) => k !== 'attributes'), attributes: patch.attributes },
      async (trx) => {
        if (set.name !== undefined) await this.#unique(trx, set.name);
        await trx.updateTable('principals').set(set).where('id', '=', id).execute();
      },
    );
    return this.get(id);
  }

  /**
   * Moves a principal to `status`. Leaving `active` revokes all its tokens and sessions at once;
   * returns how many credentials were revoked.
   */
  async setStatus(
    actor: EventActor,
    id: string,
    status: PrincipalStatus,
    reason: string,
  ): Promise<{ principal: PrincipalView; revoked: number }> {
    const existing = await this.#row(this.#store.db, id);
    let revoked = 0;
    const action =
      status === 'active'
        ? 'principal.reactivate'
        : status === 'suspended'
          ? 'principal.suspend'
          : 'principal.deactivate';
    await this.#change(
      actor,
      action,
      id,
      existing.type,
      { from: existing.status, to: status, reason },
      async (trx) => {
        await trx
          .updateTable('principals')
          .set({ status, updated_ms: this.#clock.now() })
          .where('id', '=', id)
          .execute();
        if (status !== 'active') revoked = await this.#revokeAll(trx, id);
      },
    );
    return { principal: await this.get(id), revoked };
  }

  /** Replaces a group's members (SCIM PUT semantics). */
  async setMembers(actor: EventActor, groupId: string, memberIds: readonly string[]): Promise<void> {
    const group = await this.#row(this.#store.db, groupId);
    if (group.type !== 'group')
      throw new WardenError('WARDEN_INVALID_INPUT', `${groupId} is not a group`, {
        issues: [{ field: 'id', message: 'not a group' }],
      });
    const unique = [...new Set(memberIds)];
    await this.#change(actor, 'group.set_members', groupId, 'group', { members: unique }, async (trx) => {
      await this.#checkMembers(trx, unique);
      await trx.deleteFrom('group_members').where('group_id', '=', groupId).execute();
      if (unique.length > 0)
        await trx
          .insertInto('group_members')
          .values(unique.map((m) => ({ group_id: groupId, member_id: m })))
          .execute();
    });
  }

  /** Adds and removes members of a group (SCIM PATCH semantics). */
  async changeMembers(
    actor: EventActor,
    groupId: string,
    add: readonly string[],
    remove: readonly string[],
  ): Promise<void> {
    const group = await this.#row(this.#store.db, groupId);
    if (group.type !== 'group')
      throw new WardenError('WARDEN_INVALID_INPUT', `${groupId} is not a group`, {
        issues: [{ field: 'id', message: 'not a group' }],
      });
    await this.#change(actor, 'group.change_members', groupId, 'group', { add, remove }, async (trx) => {
      await this.#checkMembers(trx, add);
      const current = new Set(
        (
          await trx.selectFrom('group_members').select('member_id').where('group_id', '=', groupId).execute()
        ).map((r) => r.member_id),
      );
      const toAdd = [...new Set(add)].filter((m) => !current.has(m));
      if (toAdd.length > 0)
        await trx
          .insertInto('group_members')
          .values(toAdd.map((m) => ({ group_id: groupId, member_id: m })))
          .execute();
      if (remove.length > 0)
        await trx
          .deleteFrom('group_members')
          .where('group_id', '=', groupId)
          .where('member_id', 'in', [...remove])
          .execute();
    });
  }

  /** Member ids of a group. */
  async members(groupId: string): Promise<string[]> {
    return (
      await this.#store.db
        .selectFrom('group_members')
        .select('member_id')
        .where('group_id', '=', groupId)
        .orderBy('member_id')
        .execute()
    ).map((r) => r.member_id);
  }

  /** Group ids a principal belongs to. */
  async groupsOf(memberId: string): Promise<string[]> {
    return (
      await this.#store.db
        .selectFrom('group_members')
        .select('group_id')
        .where('member_id', '=', memberId)
        .execute()
    ).map((r) => r.group_id);
  }

  /** Sets (or clears) a local user's password hash. */
  async setPasswordHash(actor: EventActor, id: string, hash: string | null): Promise<void> {
    const existing = await this.#row(this.#store.db, id);
    if (existing.type !== 'user')
      throw new WardenError('WARDEN_INVALID_INPUT', 'only users have passwords', {
        issues: [{ field: 'id', message: 'not a user' }],
      });
    await this.#change(
      actor,
      'principal.set_password',
      id,
      'user',
      { cleared: hash === null },
      async (trx) => {
        await trx
          .updateTable('principals')
          .set({ password_hash: hash, updated_ms: this.#clock.now() })
          .where('id', '=', id)
          .execute();
      },
    );
  }

  /** Stores a sealed TOTP seed (enrolment) or clears it. */
  async setTotpSecret(actor: EventActor, id: string, sealed: string | null): Promise<void> {
    await this.#row(this.#store.db, id);
    await this.#change(
      actor,
      sealed ? 'principal.enroll_mfa' : 'principal.remove_mfa',
      id,
      'user',
      { method: 'totp' },
      async (trx) => {
        await trx
          .updateTable('principals')
          .set({ totp_secret: sealed, totp_last_step: null, updated_ms: this.#clock.now() })
          .where('id', '=', id)
          .execute();
      },
    );
  }

  async #checkMembers(trx: Kysely<Database>, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const found = await trx
      .selectFrom('principals')
      .select(['id', 'type'])
      .where('id', 'in', [...ids])
      .execute();
    const known = new Map(found.map((r) => [r.id, r.type]));
    const issues = ids.flatMap((m, i) =>
      !known.has(m)
        ? [{ field: `members[${i}]`, message: `no principal ${m}` }]
        : known.get(m) === 'group'
          ? [{ field: `members[${i}]`, message: 'groups cannot be members of groups' }]
          : [],
    );
    if (issues.length > 0)
      throw new WardenError('WARDEN_INVALID_INPUT', `invalid members: ${issues[0]?.message}`, { issues });
  }

  async #revokeAll(trx: Kysely<Database>, id: string): Promise<number> {
    const now = this.#clock.now();
    const t = await trx
      .updateTable('api_tokens')
      .set({ revoked_ms: now })
      .where('principal_id', '=', id)
      .where('revoked_ms', 'is', null)
      .executeTakeFirst();
    const s = await trx
      .updateTable('sessions')
      .set({ revoked_ms: now })
      .where('principal_id', '=', id)
      .where('revoked_ms', 'is', null)
      .executeTakeFirst();
    return Number(t.numUpdatedRows) + Number(s.numUpdatedRows);
  }

  async #unique(trx: Kysely<Database>, name: string): Promise<void> {
    const clash = await trx.selectFrom('principals').select('id').where('name', '=', name).executeTakeFirst();
    if (clash)
      throw new WardenError('WARDEN_CONFLICT', `a principal named ${name} already exists`, {
        issues: [{ field: 'name', message: 'already taken' }],
      });
  }

  async #row(db: Kysely<Database>, id: string): Promise<PrincipalTable> {
    const row = await db.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new WardenError('WARDEN_NOT_FOUND', `principal ${id} not found`);
    return row;
  }

  async #change(
    actor: EventActor,
    action: string,
    id: string,
    kind: PrincipalKind,
    details: Record<string, unknown>,
    apply: (trx: Kysely<Database>) => Promise<void>,
  ): Promise<void> {
    const event: EventInput = {
      actor,
      action,
      resource: { type: cedarTypeOf(kind), id },
      outcome: 'succeeded',
      details,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      await apply(trx);
      await bumpAuthzEpoch(trx);
      await this.#ledger.record(trx, event);
    });
    this.#ledger.committed();
  }
}

/** A principal row as the API shows it. */
export function toView(r: PrincipalTable): PrincipalView {
  return Object.freeze({
    id: r.id,
    type: r.type,
    name: r.name,
    displayName: r.display_name,
    email: r.email,
    status: r.status,
    externalId: r.external_id,
    issuer: r.issuer,
    subject: r.subject,
    attributes: Object.freeze(
      r.attributes ? (JSON.parse(r.attributes) as Record<string, string | number | boolean>) : {},
    ),
    mfaEnrolled: r.totp_secret !== null && !r.totp_secret.startsWith('pending:'),
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    updatedAt: r.updated_ms === null ? null : new Date(Number(r.updated_ms)).toISOString(),
  });
}
