import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../core/index.js';
import { type Database, type PrincipalTable, readAuthzEpoch } from '../store/index.js';
import type { CredentialRef, Principal } from './principal.js';
import type { CachedToken, TokenCache } from './token-cache.js';
import { tokenDigest } from './tokens.js';

/** Why a credential was refused; recorded in the ledger, never shown with the secret. */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'unknown'
  | 'revoked'
  | 'expired'
  | 'inactive'
  | 'suspended'
  | 'invalid-jwt';

/** A principal, or why not; `revoked` says which principal or credential was cut off and when. */
export type AuthResult =
  | { principal: Principal }
  | { failure: AuthFailure; detail?: string; revoked?: { subject: string; at: number } };

/** A verified OIDC identity (from an ID or access token). */
export interface FederatedIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly username: string;
  readonly email?: string | undefined;
  readonly groups: readonly string[];
  readonly mfa: boolean;
}

/** Resolves a verified OIDC identity to a principal id (provisioning it if so configured), or undefined. */
export type FederatedResolver = (identity: FederatedIdentity) => Promise<string | undefined>;

/** Verifies a JWT bearer; throws when it is not acceptable. */
export type JwtVerifier = (jwt: string) => Promise<FederatedIdentity>;

/** What authentication needs beyond the database. */
export interface AuthenticateDeps {
  readonly db: Kysely<Database>;
  readonly now: number;
  readonly verifyJwt?: JwtVerifier | undefined;
  readonly resolveFederated?: FederatedResolver | undefined;
  /** API tokens already authenticated under the current epoch (one epoch read then replaces the lookup). */
  readonly tokenCache?: TokenCache | undefined;
}

// last_used_ms / last_seen_ms are refreshed at most this often, so reads do not all turn into writes.
const TOUCH_GRANULARITY_MS = 30_000;

/** Resolves an `Authorization: Bearer` header (API token, session, or OIDC JWT) to a principal, or says why not. */
export async function authenticateBearer(
  deps: AuthenticateDeps,
  header: string | undefined,
): Promise<AuthResult> {
  if (header === undefined || header === '') return { failure: 'missing' };
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,8192})$/.exec(header);
  if (!m?.[1]) return { failure: 'malformed' };
  const secret = m[1];
  if (secret.startsWith('wdn_')) return tokenPrincipal(deps, secret);
  if (secret.startsWith('wds_')) return sessionPrincipal(deps, secret);
  if (secret.split('.').length === 3 && deps.verifyJwt && deps.resolveFederated)
    return jwtPrincipal(deps, secret);
  return { failure: 'unknown' };
}

async function tokenPrincipal(deps: AuthenticateDeps, secret: string): Promise<AuthResult> {
  const { db, now, tokenCache } = deps;
  const digest = tokenDigest(secret);
  if (tokenCache !== undefined) {
    const hit = tokenCache.get(digest, await readAuthzEpoch(db));
    if (hit !== undefined && stillValid(hit, now)) return { principal: await touched(db, hit, now) };
    // Expired, or read under another epoch: the full lookup says why (and refreshes the entry).
  }
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('principals as p', 'p.id', 't.principal_id')
    .select([
      't.id',
      't.token_sha256',
      't.scopes',
      't.expires_ms',
      't.revoked_ms',
      't.last_used_ms',
      't.mfa_until_ms',
      't.suspended_until_ms',
      'p.id as pid',
      'p.type',
      'p.name',
      'p.status',
      'p.attributes',
      'p.updated_ms',
      'p.suspended_until_ms as p_suspended_until_ms',
    ])
    .select((eb) => eb.selectFrom('authz_epoch').select('epoch').where('id', '=', 1).as('epoch'))
    .where('t.token_sha256', '=', digest)
    .executeTakeFirst();
  const refusal = refused(row, digest, 'token');
  if (refusal !== undefined || row === undefined) return refusal ?? { failure: 'unknown' };
  if (row.expires_ms !== null && Number(row.expires_ms) <= now) return { failure: 'expired' as const };
  if (suspendedAt(row.suspended_until_ms, now))
    return { failure: 'suspended' as const, detail: `token ${row.id} is suspended until ${until(row)}` };
  if (row.last_used_ms === null || now - Number(row.last_used_ms) > TOUCH_GRANULARITY_MS) {
    await db.updateTable('api_tokens').set({ last_used_ms: now }).where('id', '=', row.id).execute();
  }
  const mfa = row.mfa_until_ms !== null && Number(row.mfa_until_ms) > now;
  const owner = {
    id: row.pid,
    type: row.type,
    name: row.name,
    status: row.status,
    attributes: row.attributes,
    updated_ms: row.updated_ms,
    suspended_until_ms: row.p_suspended_until_ms,
  };
  const result = await principalOf(
    db,
    now,
    owner,
    { kind: 'token', id: row.id },
    JSON.parse(row.scopes) as string[],
    mfa,
    Number(row.epoch),
    [],
  );
  if (tokenCache !== undefined && 'principal' in result) {
    tokenCache.set({
      digest,
      epoch: Number(row.epoch),
      tokenId: row.id,
      expiresMs: row.expires_ms === null ? null : Number(row.expires_ms),
      mfaUntilMs: row.mfa_until_ms === null ? null : Number(row.mfa_until_ms),
      lastUsedMs:
        row.last_used_ms === null || now - Number(row.last_used_ms) > TOUCH_GRANULARITY_MS
          ? now
          : Number(row.last_used_ms),
      principal: result.principal,
    });
  }
  return result;
}

/** Whether a cached token is still unexpired at `now` (suspensions and revocations move the epoch on). */
function stillValid(hit: CachedToken, now: number): boolean {
  return hit.expiresMs === null || hit.expiresMs > now;
}

/** The cached principal, its MFA flag brought up to `now` and its last use refreshed when due. */
async function touched(db: Kysely<Database>, hit: CachedToken, now: number): Promise<Principal> {
  if (now - hit.lastUsedMs > TOUCH_GRANULARITY_MS) {
    hit.lastUsedMs = now;
    await db.updateTable('api_tokens').set({ last_used_ms: now }).where('id', '=', hit.tokenId).execute();
  }
  const mfa = hit.mfaUntilMs !== null && hit.mfaUntilMs > now;
  if (mfa !== hit.principal.mfa) hit.principal = Object.freeze({ ...hit.principal, mfa });
  return hit.principal;
}

async function sessionPrincipal(deps: AuthenticateDeps, secret: string) {
  const { db, now } = deps;
  const digest = tokenDigest(secret);
  const row = await db
    .selectFrom('sessions as s')
    .select([
      's.id',
      's.token_sha256',
      's.principal_id',
      's.expires_ms',
      's.revoked_ms',
      's.last_seen_ms',
      's.idle_timeout_ms',
      's.mfa_until_ms',
      's.claim_groups',
    ])
    .select((eb) => eb.selectFrom('authz_epoch').select('epoch').where('id', '=', 1).as('epoch'))
    .where('s.token_sha256', '=', digest)
    .executeTakeFirst();
  const refusal = refused(row, digest, 'session');
  if (refusal !== undefined || row === undefined) return refusal ?? { failure: 'unknown' };
  if (Number(row.expires_ms) <= now || now - Number(row.last_seen_ms) >= Number(row.idle_timeout_ms))
    return { failure: 'expired' as const };
  if (now - Number(row.last_seen_ms) > TOUCH_GRANULARITY_MS) {
    await db.updateTable('sessions').set({ last_seen_ms: now }).where('id', '=', row.id).execute();
  }
  const mfa = row.mfa_until_ms !== null && Number(row.mfa_until_ms) > now;
  const claimed = row.claim_groups ? await groupIdsNamed(db, JSON.parse(row.claim_groups) as string[]) : [];
  return principalOf(
    db,
    now,
    row.principal_id,
    { kind: 'session', id: row.id },
    ['*'],
    mfa,
    Number(row.epoch),
    claimed,
  );
}

async function jwtPrincipal(deps: AuthenticateDeps, jwt: string) {
  let identity: FederatedIdentity;
  try {
    identity = await (deps.verifyJwt as JwtVerifier)(jwt);
  } catch (err) {
    return { failure: 'invalid-jwt' as const, detail: (err as Error).message };
  }
  const id = await (deps.resolveFederated as FederatedResolver)(identity);
  if (id === undefined)
    return {
      failure: 'unknown' as const,
      detail: `no Warden user for ${identity.issuer} subject ${identity.subject}`,
    };
  const claimGroups = await groupIdsNamed(deps.db, identity.groups);
  const epoch = Number(
    (await deps.db.selectFrom('authz_epoch').select('epoch').where('id', '=', 1).executeTakeFirstOrThrow())
      .epoch,
  );
  return principalOf(
    deps.db,
    deps.now,
    id,
    { kind: 'oidc', id: `${identity.issuer}#${identity.subject}` },
    ['*'],
    identity.mfa,
    epoch,
    claimGroups,
  );
}

type PrincipalRow = Pick<PrincipalTable, 'id' | 'type' | 'name' | 'status' | 'attributes' | 'updated_ms'> & {
  suspended_until_ms?: number | null | undefined;
};

/** The principal behind a credential (its row already read, or read here by id) with its active groups. */
async function principalOf(
  db: Kysely<Database>,
  now: number,
  who: string | PrincipalRow,
  credential: CredentialRef,
  scopes: string[],
  mfa: boolean,
  epoch: number,
  extraGroups: readonly string[],
): Promise<AuthResult> {
  const p =
    typeof who !== 'string'
      ? who
      : await db
          .selectFrom('principals')
          .select(['id', 'type', 'name', 'status', 'attributes', 'updated_ms', 'suspended_until_ms'])
          .where('id', '=', who)
          .executeTakeFirst();
  if (!p || p.type === 'group') return { failure: 'inactive' };
  if (p.status !== 'active')
    return { failure: 'inactive', revoked: { subject: `principal:${p.id}`, at: Number(p.updated_ms ?? 0) } };
  if (suspendedAt(p.suspended_until_ms, now))
    return {
      failure: 'suspended',
      detail: `principal ${p.id} is suspended until ${new Date(Number(p.suspended_until_ms)).toISOString()}`,
    };
  const stored = await db
    .selectFrom('group_members as m')
    .innerJoin('principals as g', 'g.id', 'm.group_id')
    .select('m.group_id')
    .where('m.member_id', '=', p.id)
    .where('g.status', '=', 'active')
    .execute();
  const groups = [...new Set([...stored.map((r) => r.group_id), ...extraGroups])].sort();
  return {
    principal: Object.freeze({
      id: p.id,
      type: p.type,
      name: p.name,
      scopes: Object.freeze(scopes),
      credential: Object.freeze(credential),
      mfa,
      groups: Object.freeze(groups),
      attributes: Object.freeze(p.attributes ? JSON.parse(p.attributes) : {}),
      epoch,
    }),
  };
}

/** Why a secret's row (looked up by its digest) refuses it, if it does: not found, or revoked. */
function refused(
  row: { id: string; token_sha256: string; revoked_ms: number | null } | undefined,
  digest: string,
  kind: 'token' | 'session',
): AuthResult | undefined {
  // The lookup is by digest; compare again in constant time so equality never leaks by timing.
  if (row === undefined || !constantTimeEqual(Buffer.from(row.token_sha256), Buffer.from(digest)))
    return { failure: 'unknown' };
  if (row.revoked_ms !== null)
    return { failure: 'revoked', revoked: { subject: `${kind}:${row.id}`, at: Number(row.revoked_ms) } };
  return undefined;
}

/** Whether a detector's time-limited suspension (an until-time, migration 008) is still in force at `now`. */
function suspendedAt(untilMs: number | null | undefined, now: number): boolean {
  return untilMs !== null && untilMs !== undefined && Number(untilMs) > now;
}

function until(row: { suspended_until_ms: number | null }): string {
  return new Date(Number(row.suspended_until_ms)).toISOString();
}

/** Ids of the active Warden groups with these names (how identity-provider group claims map to groups). */
async function groupIdsNamed(db: Kysely<Database>, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom('principals')
    .select('id')
    .where('type', '=', 'group')
    .where('status', '=', 'active')
    .where('name', 'in', [...names])
    .execute();
  return rows.map((r) => r.id);
}
