import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { type Clock, canonicalJson, WardenError } from '../core/index.js';
import type { Principal } from '../identity/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import { bumpAuthzEpoch, type Database, readAuthzEpoch, type Store } from '../store/index.js';
import { bundleFromFiles, bundleHash, loadBundleDir, type PolicyBundle } from './bundle.js';
import { type Explanation, PolicyEngine } from './engine.js';
import type { EntityData, EntityRef, PolicyDecision, RoleBinding } from './types.js';

/** The default bundle shipped with Warden. */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../../../policies/default', import.meta.url));

/** The platform: root of every resource hierarchy. */
export const PLATFORM: EntityRef = Object.freeze({ type: 'Platform', id: 'root' });

/** Request facts the policies see besides who and what. */
export interface RequestFacts {
  readonly mfa?: boolean | undefined;
  readonly purpose?: string | undefined;
  readonly environment?: string | undefined;
  readonly sourceIp?: string | undefined;
}

/** Adds the entities (with ancestors and attributes) of resource types other domains own. */
export type ResourceResolver = (
  ref: EntityRef,
  db: Kysely<Database>,
) => Promise<readonly EntityData[] | undefined>;

/** The active bundle, as the API shows it. */
export interface ActiveBundle {
  readonly version: number;
  readonly hash: string;
  readonly source: 'default' | 'applied';
  readonly policies: readonly string[];
  readonly roles: readonly string[];
}

const CACHE_LIMIT = 100_000;

/**
 * The one authorization path: compiles the active bundle with the bindings in force (once per
 * authorization epoch), builds only the entities a request touches, and caches decisions until any
 * change to policies, bindings, principals or attributes moves the epoch.
 */
export class Authorizer {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #resolvers: ResourceResolver[] = [];
  #engine: PolicyEngine | undefined;
  #version = 0;
  #epoch = -1;
  // The earliest binding expiry of the loaded engine, read at load time: the engine's own getter
  // already looks past an expiry (it recompiles), which would leave this cache's decisions standing.
  #expiry: number | undefined;
  #loading: Promise<void> | undefined;
  readonly #cache = new Map<string, PolicyDecision>();

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /** Lets a domain (registry, catalog…) describe its resource types to the policies. */
  addResolver(resolver: ResourceResolver): void {
    this.#resolvers.push(resolver);
  }

  /** Decides for an authenticated caller (the request path); cached per epoch. */
  async decide(
    principal: Principal,
    action: string,
    resource: EntityRef,
    facts: RequestFacts,
  ): Promise<PolicyDecision> {
    const engine = await this.#current(principal.epoch);
    if (!principal.scopes.includes('*') && !principal.scopes.includes(action)) {
      return Object.freeze({
        allowed: false,
        policies: ['token-scope'],
        bindings: [],
        reason: `the credential's scopes do not include ${action}`,
        errors: [],
        bundle: engine.bundleHash,
      });
    }
    const target = await this.#resourceRef(resource, principal);
    const key = [
      principal.type,
      principal.id,
      principal.groups.join(','),
      facts.mfa ?? principal.mfa,
      action,
      target.type,
      target.id,
      facts.purpose ?? '',
      facts.environment ?? '',
      facts.sourceIp ?? '',
    ].join('\u0000');
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const entities = mergeEntities([
      ...this.#principalEntities(principal),
      ...(await this.#resourceEntities(target)),
    ]);
    const decision = engine.decide({
      principal: principalEntity(principal),
      action,
      resource: target,
      context: contextOf({ mfa: principal.mfa, ...facts }),
      entities,
    });
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(key, decision);
    return decision;
  }

  /** Decides for any principal named by reference (the authorize API); not cached. */
  async decideFor(
    principal: EntityRef,
    action: string,
    resource: EntityRef,
    facts: RequestFacts,
  ): Promise<PolicyDecision> {
    return (await this.explainFor(principal, action, resource, facts)).decision;
  }

  /** The decision with the bindings and policies that were weighed. */
  async explainFor(
    principal: EntityRef,
    action: string,
    resource: EntityRef,
    facts: RequestFacts,
  ): Promise<Explanation> {
    const engine = await this.#current(await readAuthzEpoch(this.#store.db));
    const entities = mergeEntities([
      ...(await this.#storedPrincipalEntities(principal)),
      ...(await this.#resourceEntities(resource)),
    ]);
    return engine.explain({ principal, action, resource, context: contextOf(facts), entities });
  }

  /** The actions a stored principal may take on a resource. */
  async permissionsFor(
    principalId: string,
    resource: EntityRef,
    facts: RequestFacts,
  ): Promise<readonly string[]> {
    const row = await this.#store.db
      .selectFrom('principals')
      .select(['id', 'type'])
      .where('id', '=', principalId)
      .executeTakeFirst();
    if (!row || row.type === 'group')
      throw new WardenError('WARDEN_NOT_FOUND', `no user or service account ${principalId}`);
    const engine = await this.#current(await readAuthzEpoch(this.#store.db));
    const principal = { type: row.type === 'user' ? 'User' : 'ServiceAccount', id: row.id };
    const entities = mergeEntities([
      ...(await this.#storedPrincipalEntities(principal)),
      ...(await this.#resourceEntities(resource)),
    ]);
    return engine.permissions(principal, resource, entities, contextOf(facts));
  }

  /** Role names of the active bundle. */
  async roles(): Promise<string[]> {
    const engine = await this.#current(await readAuthzEpoch(this.#store.db));
    return roleNames(engine.bundle);
  }

  async activeBundle(): Promise<ActiveBundle> {
    const engine = await this.#current(await readAuthzEpoch(this.#store.db));
    return {
      version: this.#version,
      hash: engine.bundleHash,
      source: this.#version === 0 ? 'default' : 'applied',
      policies: engine.bundle.policies.map((p) => p.id),
      roles: roleNames(engine.bundle),
    };
  }

  /** The active bundle itself (for diffs). */
  async bundle(): Promise<PolicyBundle> {
    return (await this.#current(await readAuthzEpoch(this.#store.db))).bundle;
  }

  /**
   * Applies a bundle: validated by compiling it with the bindings in force (a refused bundle changes
   * nothing), stored as the next version with its hash, recorded, and made active on every replica.
   */
  async apply(actor: EventActor, files: Readonly<Record<string, string>>): Promise<ActiveBundle> {
    const bundle = bundleFromFiles(files);
    const bindings = await this.#bindings(this.#store.db);
    new PolicyEngine(bundle, bindings, { clock: this.#clock });
    const hash = bundleHash(bundle);
    await this.#store.db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom('policy_bundles')
        .select((eb) => eb.fn.max('version').as('v'))
        .executeTakeFirst();
      const version = Number(last?.v ?? 0) + 1;
      await trx
        .insertInto('policy_bundles')
        .values({
          version,
          hash,
          files: canonicalJson(files),
          applied_by: actor.id,
          applied_ms: this.#clock.now(),
        })
        .execute();
      await bumpAuthzEpoch(trx);
      await this.#ledger.record(trx, {
        actor,
        action: 'policy.apply',
        resource: { type: 'PolicyBundle', id: hash },
        outcome: 'succeeded',
        details: { version, hash, policies: bundle.policies.map((p) => p.id) },
      });
    });
    this.#ledger.committed();
    return this.activeBundle();
  }

  /** The compiled engine for `epoch`, reloading bundle and bindings when the epoch moved or a binding expired. */
  async #current(epoch: number): Promise<PolicyEngine> {
    const expired = this.#expiry !== undefined && this.#expiry <= this.#clock.now();
    if (this.#engine === undefined || epoch > this.#epoch || expired) {
      this.#loading ??= this.#reload().finally(() => {
        this.#loading = undefined;
      });
      await this.#loading;
    }
    return this.#engine as PolicyEngine;
  }

  async #reload(): Promise<void> {
    const db = this.#store.db;
    const epoch = await readAuthzEpoch(db);
    const row = await db
      .selectFrom('policy_bundles')
      .select(['version', 'hash', 'files'])
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    const bundle = row
      ? bundleFromFiles(JSON.parse(row.files) as Record<string, string>)
      : await loadBundleDir(DEFAULT_BUNDLE_DIR);
    const bindings = await this.#bindings(db);
    if (this.#engine === undefined) this.#engine = new PolicyEngine(bundle, bindings, { clock: this.#clock });
    else if (this.#engine.bundleHash !== bundleHash(bundle)) this.#engine.load(bundle, bindings);
    else this.#engine.setBindings(bindings);
    this.#version = row ? Number(row.version) : 0;
    this.#epoch = epoch;
    this.#expiry = this.#engine.nextExpiry;
    this.#cache.clear();
  }

  async #bindings(db: Kysely<Database>): Promise<RoleBinding[]> {
    const now = this.#clock.now();
    const rows = await db
      .selectFrom('role_bindings')
      .selectAll()
      .where('revoked_ms', 'is', null)
      .where((eb) => eb.or([eb('expires_ms', 'is', null), eb('expires_ms', '>', now)]))
      .execute();
    return rows.map((r) => ({
      id: r.id,
      role: r.role,
      principal: { type: r.principal_type, id: r.principal_id },
      resource: { type: r.resource_type, id: r.resource_id },
      ...(r.expires_ms !== null ? { expiresAt: Number(r.expires_ms) } : {}),
    }));
  }

  /** Turns the route's resource into a Cedar entity: `Self`, `Principal` and `Token` name principals. */
  async #resourceRef(resource: EntityRef, caller: Principal): Promise<EntityRef> {
    const db = this.#store.db;
    if (resource.type === 'Self') return principalEntity(caller);
    if (resource.type === 'Principal' || resource.type === 'Token') {
      const owner =
        resource.type === 'Principal'
          ? await db
              .selectFrom('principals')
              .select(['id', 'type'])
              .where('id', '=', resource.id)
              .executeTakeFirst()
          : await db
              .selectFrom('api_tokens as t')
              .innerJoin('principals as p', 'p.id', 't.principal_id')
              .select(['p.id', 'p.type'])
              .where('t.id', '=', resource.id)
              .executeTakeFirst();
      // Unknown or group targets are decided against the platform, so a caller without rights sees 403, never 404.
      if (!owner || owner.type === 'group') return PLATFORM;
      return { type: owner.type === 'user' ? 'User' : 'ServiceAccount', id: owner.id };
    }
    if (resource.type === 'RoleBinding') {
      const b = await db
        .selectFrom('role_bindings')
        .select(['resource_type', 'resource_id'])
        .where('id', '=', resource.id)
        .executeTakeFirst();
      return b ? { type: b.resource_type, id: b.resource_id } : PLATFORM;
    }
    return resource;
  }

  #principalEntities(p: Principal): EntityData[] {
    const groups = p.groups.map((id) => ({ type: 'Group', id }));
    return [
      { uid: principalEntity(p), attrs: principalAttrs(p.attributes, 'active'), parents: groups },
      ...groups.map((uid) => ({ uid, attrs: {}, parents: [] })),
    ];
  }

  async #storedPrincipalEntities(ref: EntityRef): Promise<EntityData[]> {
    const row = await this.#store.db
      .selectFrom('principals')
      .select(['id', 'type', 'status', 'attributes'])
      .where('id', '=', ref.id)
      .executeTakeFirst();
    const kind = ref.type === 'User' ? 'user' : ref.type === 'ServiceAccount' ? 'service' : 'group';
    if (!row || row.type !== kind)
      throw new WardenError('WARDEN_NOT_FOUND', `no ${ref.type} ${ref.id}`, {
        issues: [{ field: 'principal.id', message: 'unknown principal' }],
      });
    const groups = (
      await this.#store.db
        .selectFrom('group_members')
        .select('group_id')
        .where('member_id', '=', row.id)
        .execute()
    ).map((g) => ({ type: 'Group', id: g.group_id }));
    const attrs =
      row.type === 'group'
        ? {}
        : principalAttrs(row.attributes ? JSON.parse(row.attributes) : {}, row.status);
    return [{ uid: ref, attrs, parents: groups }, ...groups.map((uid) => ({ uid, attrs: {}, parents: [] }))];
  }

  /** The resource entity and its ancestors up to the platform. */
  async #resourceEntities(ref: EntityRef): Promise<EntityData[]> {
    const db = this.#store.db;
    for (const resolve of this.#resolvers) {
      const found = await resolve(ref, db);
      if (found) return [...found];
    }
    const platform: EntityData = { uid: PLATFORM, attrs: {}, parents: [] };
    switch (ref.type) {
      case 'Platform':
        return [platform];
      case 'User':
      case 'ServiceAccount': {
        const row = await db
          .selectFrom('principals')
          .select(['status', 'attributes'])
          .where('id', '=', ref.id)
          .executeTakeFirst();
        return [
          {
            uid: ref,
            attrs: principalAttrs(
              row?.attributes ? JSON.parse(row.attributes) : {},
              row?.status ?? 'deactivated',
            ),
            parents: [PLATFORM],
          },
          platform,
        ];
      }
      case 'Ledger':
        return [{ uid: ref, attrs: {}, parents: [PLATFORM] }, platform];
      case 'LedgerEvent':
      case 'LegalHold': {
        const ledger = { type: 'Ledger', id: this.#ledger.origin };
        return [
          { uid: ref, attrs: {}, parents: [ledger] },
          { uid: ledger, attrs: {}, parents: [PLATFORM] },
          platform,
        ];
      }
      case 'Project':
        return [{ uid: ref, attrs: { environments: [] }, parents: [PLATFORM] }, platform];
      default:
        return [{ uid: ref, attrs: {}, parents: [PLATFORM] }, platform];
    }
  }
}

/**
 * One entry per entity: when the resource is the principal itself (its own tokens, `Self`), both
 * lists hold it, and Cedar refuses duplicate entities. Parents are united; the first attributes win.
 */
function mergeEntities(entities: readonly EntityData[]): EntityData[] {
  const byUid = new Map<string, EntityData>();
  for (const e of entities) {
    const key = `${e.uid.type}\u0000${e.uid.id}`;
    const seen = byUid.get(key);
    if (seen === undefined) {
      byUid.set(key, e);
      continue;
    }
    const parents = [...(seen.parents ?? []), ...(e.parents ?? [])];
    const unique = parents.filter(
      (p, i) => parents.findIndex((q) => q.type === p.type && q.id === p.id) === i,
    );
    byUid.set(key, { uid: seen.uid, attrs: { ...e.attrs, ...seen.attrs }, parents: unique });
  }
  return [...byUid.values()];
}

function principalEntity(p: Pick<Principal, 'type' | 'id'>): EntityRef {
  return { type: p.type === 'user' ? 'User' : 'ServiceAccount', id: p.id };
}

/** The schema's principal attributes: `suspended`, plus `department`/`email` when set as strings. */
function principalAttrs(
  attributes: Readonly<Record<string, unknown>>,
  status: string,
): Record<string, string | boolean> {
  const attrs: Record<string, string | boolean> = { suspended: status !== 'active' };
  for (const k of ['department', 'email'])
    if (typeof attributes[k] === 'string') attrs[k] = attributes[k] as string;
  return attrs;
}

function contextOf(f: RequestFacts): Record<string, string | boolean> {
  return {
    mfa: f.mfa ?? false,
    environment: f.environment ?? '',
    sourceIp: f.sourceIp ?? '',
    ...(f.purpose !== undefined ? { purpose: f.purpose } : {}),
  };
}

function roleNames(bundle: PolicyBundle): string[] {
  return bundle.policies
    .filter((p) => p.kind === 'template' && p.id.startsWith('role:'))
    .map((p) => p.id.slice('role:'.length));
}
