import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../core/index.js';
import type { Database } from '../store/index.js';
import type { Principal } from './principal.js';
import { tokenDigest } from './tokens.js';

/** Why a credential was refused; recorded in the ledger, never shown with the secret. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'inactive';

// last_used_ms is refreshed at most this often per token, so reads do not turn into writes.
const LAST_USED_GRANULARITY_MS = 60_000;

/** Resolves an `Authorization: Bearer` header to a principal, or says why it cannot. */
export async function authenticateBearer(
  db: Kysely<Database>,
  header: string | undefined,
  now: number,
): Promise<{ principal: Principal } | { failure: AuthFailure }> {
  if (header === undefined || header === '') return { failure: 'missing' };
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/.exec(header);
  if (!m?.[1]) return { failure: 'malformed' };
  const digest = tokenDigest(m[1]);
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('principals', 'principals.id', 'api_tokens.principal_id')
    .select([
      'api_tokens.id as token_id',
      'api_tokens.token_sha256',
      'api_tokens.scopes',
      'api_tokens.expires_ms',
      'api_tokens.revoked_ms',
      'api_tokens.last_used_ms',
      'principals.id as principal_id',
      'principals.type',
      'principals.name',
      'principals.status',
      'principals.is_admin',
    ])
    .where('api_tokens.token_sha256', '=', digest)
    .executeTakeFirst();
  // The lookup is by digest; compare again in constant time so equality never leaks by timing.
  if (row === undefined || !constantTimeEqual(Buffer.from(row.token_sha256), Buffer.from(digest))) {
    return { failure: 'unknown' };
  }
  if (row.revoked_ms !== null) return { failure: 'revoked' };
  if (row.expires_ms !== null && Number(row.expires_ms) <= now) return { failure: 'expired' };
  if (row.status !== 'active' || row.type === 'group') return { failure: 'inactive' };
  if (row.last_used_ms === null || now - Number(row.last_used_ms) > LAST_USED_GRANULARITY_MS) {
    await db.updateTable('api_tokens').set({ last_used_ms: now }).where('id', '=', row.token_id).execute();
  }
  return {
    principal: Object.freeze({
      id: row.principal_id,
      type: row.type,
      name: row.name,
      isAdmin: row.is_admin === 1,
      scopes: Object.freeze(JSON.parse(row.scopes) as string[]),
      tokenId: row.token_id,
    }),
  };
}
