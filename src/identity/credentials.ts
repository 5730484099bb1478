import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Clock, newId, WardenError } from '../core/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import { bumpAuthzEpoch, type Database, endOnce, type Store } from '../store/index.js';
import { generateToken, tokenDigest } from './tokens.js';

/** Prefix of session secrets, distinct from API tokens. */
export const SESSION_PREFIX = 'wds_';

/** An API token as listed: never its secret. */
export interface TokenView {
  readonly id: string;
  readonly principalId: string;
  readonly description: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

/** Session lifetimes. */
export interface SessionPolicy {
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
}

/** How long a fresh MFA proof counts for privileged actions. */
export const MFA_FRESH_MS = 15 * 60_000;

/**
 * API tokens and interactive sessions: random secrets shown once and stored as SHA-256, scoped,
 * expiring, revocable at once; every issue and revocation recorded.
 */
export class Credentials {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /** Issues an API token; the secret is returned once and never stored. */
  async issueToken(
    actor: EventActor,
    principalId: string,
    opts: { scopes: readonly string[]; expiresInSeconds?: number | undefined; description: string },
  ): Promise<{ token: string; view: TokenView }> {
    const now = this.#clock.now();
    const secret = generateToken();
    const row = {
      id: newId(now),
      principal_id: principalId,
      token_sha256: tokenDigest(secret),
      description: opts.description,
      scopes: JSON.stringify(opts.scopes),
      created_ms: now,
      expires_ms: opts.expiresInSeconds === undefined ? null : now + opts.expiresInSeconds * 1000,
      last_used_ms: null,
      revoked_ms: null,
      mfa_until_ms: null,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      const p = await trx
        .selectFrom('principals')
        .select(['type', 'status'])
        .where('id', '=', principalId)
        .executeTakeFirst();
      if (!p) throw new WardenError('WARDEN_NOT_FOUND', `principal ${principalId} not found`);
      if (p.type === 'group') throw invalid('principalId', 'groups cannot hold tokens');
      if (p.status !== 'active')
        throw new WardenError('WARDEN_CONFLICT', `principal ${principalId} is ${p.status}`);
      await trx.insertInto('api_tokens').values(row).execute();
      await this.#ledger.record(trx, {
        actor,
        action: 'token.create',
        resource: { type: 'ApiToken', id: row.id },
        outcome: 'succeeded',
        details: {
          principal: principalId,
          scopes: opts.scopes,
          expiresAt: row.expires_ms === null ? null : new Date(row.expires_ms).toISOString(),
          description: opts.description,
        },
      });
    });
    this.#ledger.committed();
    return { token: secret, view: toTokenView(row) };
  }

  async listTokens(principalId: string): Promise<TokenView[]> {
    const rows = await this.#store.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('principal_id', '=', principalId)
      .orderBy('created_ms')
      .execute();
    return rows.map(toTokenView);
  }

  async getToken(id: string): Promise<TokenView> {
    const row = await this.#store.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new WardenError('WARDEN_NOT_FOUND', `token ${id} not found`);
    return toTokenView(row);
  }

  /** Revokes one token at once (the next request with it is refused). */
  async revokeToken(actor: EventActor, id: string): Promise<TokenView> {
    await this.#store.db.transaction().execute(async (trx) => {
      await endOnce(
        trx,
        'api_tokens',
        id,
        { revoked_ms: this.#clock.now() },
        { noun: 'token', ended: 'revoked' },
      );
      await bumpAuthzEpoch(trx); // drops the token from every replica's cache
      await this.#ledger.record(trx, {
        actor,
        action: 'token.revoke',
        resource: { type: 'ApiToken', id },
        outcome: 'succeeded',
      });
    });
    this.#ledger.committed();
    return this.getToken(id);
  }

  /** Opens a session for an authenticated user; `mfa` marks it freshly MFA-verified. */
  async openSession(
    actor: EventActor,
    principalId: string,
    method: 'password' | 'oidc',
    mfa: boolean,
    policy: SessionPolicy,
    claimGroups: readonly string[] = [],
  ): Promise<{ token: string; id: string; expiresAt: string }> {
    const now = this.#clock.now();
    const secret = SESSION_PREFIX + randomBytes(32).toString('base64url');
    const row = {
      id: newId(now),
      principal_id: principalId,
      token_sha256: tokenDigest(secret),
      method,
      created_ms: now,
      last_seen_ms: now,
      idle_timeout_ms: policy.idleTimeoutMs,
      expires_ms: now + policy.absoluteTimeoutMs,
      mfa_until_ms: mfa ? now + MFA_FRESH_MS : null,
      revoked_ms: null,
      claim_groups: claimGroups.length > 0 ? JSON.stringify(claimGroups) : null,
    };
    await this.#store.db.transaction().execute(async (trx) => {
      await trx.insertInto('sessions').values(row).execute();
      await this.#ledger.record(trx, {
        actor,
        action: 'session.create',
        resource: { type: 'Session', id: row.id },
        outcome: 'succeeded',
        details: { principal: principalId, method, mfa, ...(claimGroups.length > 0 ? { claimGroups } : {}) },
      });
    });
    this.#ledger.committed();
    return { token: secret, id: row.id, expiresAt: new Date(row.expires_ms).toISOString() };
  }

  /** Ends a session. */
  async closeSession(actor: EventActor, id: string): Promise<void> {
    await this.#store.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('sessions')
        .set({ revoked_ms: this.#clock.now() })
        .where('id', '=', id)
        .where('revoked_ms', 'is', null)
        .execute();
      await this.#ledger.record(trx, {
        actor,
        action: 'session.close',
        resource: { type: 'Session', id },
        outcome: 'succeeded',
      });
    });
    this.#ledger.committed();
  }

  /** Marks the credential in use as freshly MFA-verified (step-up). */
  async markMfa(
    trx: Kysely<Database>,
    credential: { kind: 'token' | 'session'; id: string },
  ): Promise<number> {
    const until = this.#clock.now() + MFA_FRESH_MS;
    await bumpAuthzEpoch(trx); // cached credentials re-read their MFA window
    if (credential.kind === 'token')
      await trx
        .updateTable('api_tokens')
        .set({ mfa_until_ms: until })
        .where('id', '=', credential.id)
        .execute();
    else
      await trx
        .updateTable('sessions')
        .set({ mfa_until_ms: until })
        .where('id', '=', credential.id)
        .execute();
    return until;
  }
}

function invalid(field: string, message: string): WardenError {
  return new WardenError('WARDEN_INVALID_INPUT', `${field}: ${message}`, { issues: [{ field, message }] });
}

function toTokenView(r: {
  id: string;
  principal_id: string;
  description: string;
  scopes: string;
  created_ms: number;
  expires_ms: number | null;
  last_used_ms: number | null;
  revoked_ms: number | null;
}): TokenView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
  return Object.freeze({
    id: r.id,
    principalId: r.principal_id,
    description: r.description,
    scopes: Object.freeze(JSON.parse(r.scopes) as string[]),
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    expiresAt: iso(r.expires_ms),
    lastUsedAt: iso(r.last_used_ms),
    revokedAt: iso(r.revoked_ms),
  });
}
