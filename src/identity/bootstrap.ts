import { type Clock, newId, systemClock } from '../core/index.js';
import type { Ledger } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import { generateToken, tokenDigest } from './tokens.js';

/** The outcome of first-run bootstrap. `token` is set only when it was generated here (print it once). */
export interface BootstrapResult {
  readonly bootstrapped: boolean;
  readonly principalId: string;
  readonly token: string | undefined;
}

const ADMIN_NAME = 'bootstrap-admin';

/**
 * On first start creates the `bootstrap-admin` service account and its token (generated, or
 * `presetToken` for automation), recording both in the ledger in the same transaction.
 */
export async function bootstrap(
  store: Store,
  ledger: Ledger,
  presetToken: string,
  clock: Clock = systemClock,
): Promise<BootstrapResult> {
  const existing = await store.db
    .selectFrom('principals')
    .select('id')
    .where('name', '=', ADMIN_NAME)
    .executeTakeFirst();
  if (existing !== undefined) return { bootstrapped: false, principalId: existing.id, token: undefined };
  const token = presetToken || generateToken();
  const now = clock.now();
  const principalId = newId(now);
  const tokenId = newId(now);
  const actor = { type: 'system', id: 'warden', via: 'system' } as const;
  try {
    await store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('principals')
        .values({
          id: principalId,
          type: 'service',
          name: ADMIN_NAME,
          status: 'active',
          is_admin: 1,
          created_ms: now,
        })
        .execute();
      await trx
        .insertInto('api_tokens')
        .values({
          id: tokenId,
          principal_id: principalId,
          token_sha256: tokenDigest(token),
          description: 'bootstrap admin token',
          scopes: JSON.stringify(['*']),
          created_ms: now,
          expires_ms: null,
          last_used_ms: null,
          revoked_ms: null,
        })
        .execute();
      await ledger.recordMany(trx, [
        {
          actor,
          action: 'ledger.init',
          resource: { type: 'Ledger', id: ledger.origin },
          outcome: 'succeeded',
          details: { origin: ledger.origin, verifierKey: ledger.verifierKey },
        },
        {
          actor,
          action: 'principal.create',
          resource: { type: 'ServiceAccount', id: principalId },
          outcome: 'succeeded',
          details: { name: ADMIN_NAME, admin: true },
        },
        {
          actor,
          action: 'token.create',
          resource: { type: 'ApiToken', id: tokenId },
          outcome: 'succeeded',
          details: { principal: principalId, scopes: ['*'], preset: presetToken !== '' },
        },
      ]);
    });
  } catch (err) {
    // Another replica bootstrapped at the same moment: theirs stands.
    const winner = await store.db
      .selectFrom('principals')
      .select('id')
      .where('name', '=', ADMIN_NAME)
      .executeTakeFirst();
    if (winner !== undefined) return { bootstrapped: false, principalId: winner.id, token: undefined };
    throw err;
  }
  ledger.committed();
  return { bootstrapped: true, principalId, token: presetToken ? undefined : token };
}
