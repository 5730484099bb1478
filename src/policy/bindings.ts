import { type Clock, newId, WardenError } from '../core/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import { bumpAuthzEpoch, endOnce, type RoleBindingTable, type Store } from '../store/index.js';

/** Entity types a role can be granted to. */
export const BINDABLE_PRINCIPALS = ['User', 'ServiceAccount', 'Group'] as const;

/** A role granted to a principal or group on a resource (the link of a role template). */
export interface RoleBinding {
  readonly id: string;
  readonly role: string;
  readonly principal: { readonly type: (typeof BINDABLE_PRINCIPALS)[number]; readonly id: string };
  readonly resource: { readonly type: string; readonly id: string };
  readonly expiresAt: string | null;
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** A binding request. */
export interface NewBinding {
  readonly role: string;
  readonly principal: RoleBinding['principal'];
  readonly resource: RoleBinding['resource'];
  readonly expiresAtMs?: number | undefined;
  readonly reason?: string | undefined;
}

const KIND_OF: Record<RoleBinding['principal']['type'], string> = {
  User: 'user',
  ServiceAccount: 'service',
  Group: 'group',
};

/** Role bindings in the store; every change is recorded and bumps the authorization epoch. */
export class Bindings {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /** Grants a role; `knownRoles` are the role names of the active bundle. */
  async create(actor: EventActor, b: NewBinding, knownRoles: readonly string[]): Promise<RoleBinding> {
    if (!knownRoles.includes(b.role)) {
      throw new WardenError('WARDEN_INVALID_INPUT', `unknown role ${b.role}`, {
        issues: [{ field: 'role', message: `one of ${knownRoles.join(', ')}` }],
      });
    }
    const now = this.#clock.now();
    if (b.expiresAtMs !== undefined && b.expiresAtMs <= now) {
      throw new WardenError('WARDEN_INVALID_INPUT', 'expiresAt is in the past', {
        issues: [{ field: 'expiresAt', message: 'must be in the future' }],
      });
    }
    const row: RoleBindingTable = {
      id: newId(now),
      principal_type: b.principal.type,
      principal_id: b.principal.id,
      role: b.role,
      resource_type: b.resource.type,
      resource_id: b.resource.id,
      expires_ms: b.expiresAtMs ?? null,
      reason: b.reason ?? null,
      created_by: actor.id,
      created_ms: now,
      revoked_ms: null,
      revoked_by: null,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      const p = await trx
        .selectFrom('principals')
        .select(['type'])
        .where('id', '=', b.principal.id)
        .executeTakeFirst();
      if (!p || p.type !== KIND_OF[b.principal.type]) {
        throw new WardenError('WARDEN_INVALID_INPUT', `no ${b.principal.type} ${b.principal.id}`, {
          issues: [{ field: 'principal.id', message: `no ${b.principal.type} with this id` }],
        });
      }
      await trx.insertInto('role_bindings').values(row).execute();
      await bumpAuthzEpoch(trx);
      await this.#ledger.record(trx, {
        actor,
        action: 'binding.create',
        resource: { type: 'RoleBinding', id: row.id },
        outcome: 'succeeded',
        ...(b.resource.type === 'Project' ? { context: { project: b.resource.id } } : {}),
        details: {
          role: b.role,
          principal: b.principal,
          resource: b.resource,
          expiresAt: iso(row.expires_ms),
          reason: row.reason,
        },
      });
    });
    this.#ledger.committed();
    return toBinding(row);
  }

  /** Revokes a binding at once. */
  async revoke(actor: EventActor, id: string, reason: string | undefined): Promise<RoleBinding> {
    const now = this.#clock.now();
    await this.#store.db.transaction().execute(async (trx) => {
      await endOnce(
        trx,
        'role_bindings',
        id,
        { revoked_ms: now, revoked_by: actor.id },
        { noun: 'binding', ended: 'revoked' },
      );
      await bumpAuthzEpoch(trx);
      await this.#ledger.record(trx, {
        actor,
        action: 'binding.revoke',
        resource: { type: 'RoleBinding', id },
        outcome: 'succeeded',
        details: { reason: reason ?? null },
      });
    });
    this.#ledger.committed();
    return this.get(id);
  }

  async get(id: string): Promise<RoleBinding> {
    const row = await this.#store.db
      .selectFrom('role_bindings')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new WardenError('WARDEN_NOT_FOUND', `binding ${id} not found`);
    return toBinding(row);
  }

  /** Bindings, newest last; by default only those in force now. */
  async list(q: {
    principalId?: string | undefined;
    resource?: { type: string; id: string } | undefined;
    all?: boolean;
  }): Promise<RoleBinding[]> {
    let query = this.#store.db.selectFrom('role_bindings').selectAll().orderBy('created_ms').orderBy('id');
    if (q.principalId) query = query.where('principal_id', '=', q.principalId);
    if (q.resource)
      query = query.where('resource_type', '=', q.resource.type).where('resource_id', '=', q.resource.id);
    if (!q.all) {
      const now = this.#clock.now();
      query = query
        .where('revoked_ms', 'is', null)
        .where((eb) => eb.or([eb('expires_ms', 'is', null), eb('expires_ms', '>', now)]));
    }
    return (await query.execute()).map(toBinding);
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString();
}

function toBinding(r: RoleBindingTable): RoleBinding {
  return Object.freeze({
    id: r.id,
    role: r.role,
    principal: Object.freeze({
      type: r.principal_type as RoleBinding['principal']['type'],
      id: r.principal_id,
    }),
    resource: Object.freeze({ type: r.resource_type, id: r.resource_id }),
    expiresAt: iso(r.expires_ms),
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    revokedAt: iso(r.revoked_ms),
  });
}
