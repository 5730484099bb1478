import { type Clock, newId, systemClock } from '../core/index.js';
import type { Ledger } from '../ledger/index.js';
import { bumpAuthzEpoch, type Store } from '../store/index.js';
import { generateToken, tokenDigest } from './tokens.js';

/** The outcome of first-run bootstrap. `token` is set only when it was generated here (print it once). */
export interface BootstrapResult {
  readonly bootstrapped: boolean;
  readonly principalId: string;
  readonly token: string | undefined;
}

const ADMIN_NAME = 'bootstrap-admin';

/**
 * On first start creates the `bootstrap-admin` service account, its token (generated, or `presetToken`
 * for automation) and its platform-admin binding, recording all of it in the ledger in the same transaction.
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
      const bindingId = newId(now);
      await trx
        .insertInto('role_bindings')
        .values({
          id: bindingId,
          principal_type: 'ServiceAccount',
          principal_id: principalId,
          role: 'platform-admin',
          resource_type: 'Platform',
          resource_id: 'root',
          expires_ms: null,
          reason: 'bootstrap',
          created_by: 'warden',
          created_ms: now,
          revoked_ms: null,
          revoked_by: null,
        })
        .execute();
      await bumpAuthzEpoch(trx);
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
        {
          actor,
          action: 'binding.create',
          resource: { type: 'RoleBinding', id: bindingId },
          outcome: 'succeeded',
          details: {
            role: 'platform-admin',
            principal: { type: 'ServiceAccount', id: principalId },
            resource: { type: 'Platform', id: 'root' },
            reason: 'bootstrap',
          },
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
