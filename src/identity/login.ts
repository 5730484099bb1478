import { type Clock, WardenError } from '../core/index.js';
import type { EventActor, Ledger } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import type { Credentials, SessionPolicy } from './credentials.js';
import type { Directory } from './directory.js';
import { verifyPassword } from './password.js';
import type { Principal } from './principal.js';
import type { SecretBox } from './secret-box.js';
import { generateTotpSecret, otpauthUri, verifyTotp } from './totp.js';

const PENDING = 'pending:';

/**
 * Local sign-in with a password (and TOTP when enrolled), TOTP enrolment, and MFA step-up for the
 * credential in use. Secrets never reach the ledger; failures are recorded with their reason.
 */
export class LocalLogin {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #directory: Directory;
  readonly #credentials: Credentials;
  readonly #box: SecretBox;
  readonly #sessions: SessionPolicy;
  readonly #issuer: string;

  constructor(deps: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    directory: Directory;
    credentials: Credentials;
    box: SecretBox;
    sessions: SessionPolicy;
    issuer: string;
  }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#directory = deps.directory;
    this.#credentials = deps.credentials;
    this.#box = deps.box;
    this.#sessions = deps.sessions;
    this.#issuer = deps.issuer;
  }

  /** Checks username, password and (when enrolled) the TOTP code; opens a session. Throws 401 on any mismatch. */
  async login(
    client: Omit<EventActor, 'type' | 'id'>,
    input: { username: string; password: string; totp?: string | undefined },
  ): Promise<{ token: string; sessionId: string; expiresAt: string; principalId: string; mfa: boolean }> {
    const row = await this.#store.db
      .selectFrom('principals')
      .select(['id', 'type', 'status', 'password_hash', 'totp_secret', 'totp_last_step'])
      .where('name', '=', input.username)
      .executeTakeFirst();
    const refuse = async (reason: string, id = 'anonymous'): Promise<never> => {
      await this.#ledger.recordAlone({
        actor: { type: id === 'anonymous' ? 'anonymous' : 'user', id, ...client },
        action: 'auth.login',
        resource: { type: 'User', id: row?.id ?? input.username },
        outcome: 'denied',
        decision: { policies: [], reason },
      });
      throw new WardenError('WARDEN_UNAUTHENTICATED', 'invalid username, password or one-time code');
    };
    if (row?.type !== 'user' || row.password_hash === null) return refuse('no local user with this name');
    const check = await verifyPassword(input.password, row.password_hash);
    if (!check.ok) return refuse('wrong password');
    if (row.status !== 'active') return refuse(`user is ${row.status}`, row.id);
    const enrolled = row.totp_secret !== null && !row.totp_secret.startsWith(PENDING);
    if (enrolled) {
      if (input.totp === undefined) return refuse('one-time code required', row.id);
      const ok = await this.#acceptTotp(row.id, row.totp_secret as string, row.totp_last_step, input.totp);
      if (!ok) return refuse('wrong or replayed one-time code', row.id);
    }
    const actor: EventActor = { type: 'user', id: row.id, ...client };
    const session = await this.#credentials.openSession(actor, row.id, 'password', enrolled, this.#sessions);
    return {
      token: session.token,
      sessionId: session.id,
      expiresAt: session.expiresAt,
      principalId: row.id,
      mfa: enrolled,
    };
  }

  /** Starts TOTP enrolment for the caller: returns the secret and otpauth URI, active once confirmed. */
  async enrollTotp(actor: EventActor, principal: Principal): Promise<{ secret: string; uri: string }> {
    if (principal.type !== 'user')
      throw new WardenError('WARDEN_INVALID_INPUT', 'only users enrol MFA', {
        issues: [{ field: 'principal', message: 'not a user' }],
      });
    const current = await this.#seed(principal.id);
    if (current !== null && !current.startsWith(PENDING))
      throw new WardenError('WARDEN_CONFLICT', 'MFA is already enrolled');
    const secret = generateTotpSecret();
    await this.#directory.setTotpSecret(actor, principal.id, PENDING + this.#box.seal(secret, principal.id));
    return { secret, uri: otpauthUri(this.#issuer, principal.name, secret) };
  }

  /** Confirms enrolment with a first code; the credential in use becomes MFA-fresh. */
  async confirmTotp(actor: EventActor, principal: Principal, code: string): Promise<void> {
    const seed = await this.#seed(principal.id);
    if (seed === null || !seed.startsWith(PENDING))
      throw new WardenError('WARDEN_CONFLICT', 'no MFA enrolment is pending');
    const sealed = seed.slice(PENDING.length);
    if (verifyTotp(this.#box.open(sealed, principal.id), code, this.#clock.now()) === undefined) {
      await this.#recordStepUp(actor, principal, false);
      throw new WardenError('WARDEN_UNAUTHENTICATED', 'wrong one-time code');
    }
    await this.#directory.setTotpSecret(actor, principal.id, sealed);
    await this.stepUp(actor, principal, code, { allowReuse: true });
  }

  /** Step-up: a valid, unused TOTP code makes the caller's credential MFA-fresh for a while. */
  async stepUp(
    actor: EventActor,
    principal: Principal,
    code: string,
    opts: { allowReuse?: boolean } = {},
  ): Promise<{ until: string }> {
    if (principal.credential.kind === 'oidc') {
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        'OIDC callers prove MFA through their identity provider (amr claim)',
        {
          issues: [{ field: 'code', message: 'not applicable to OIDC tokens' }],
        },
      );
    }
    const row = await this.#store.db
      .selectFrom('principals')
      .select(['totp_secret', 'totp_last_step'])
      .where('id', '=', principal.id)
      .executeTakeFirstOrThrow();
    if (row.totp_secret === null || row.totp_secret.startsWith(PENDING))
      throw new WardenError('WARDEN_CONFLICT', 'MFA is not enrolled; enrol first');
    const ok = await this.#acceptTotp(
      principal.id,
      row.totp_secret,
      opts.allowReuse ? null : row.totp_last_step,
      code,
    );
    if (!ok) {
      await this.#recordStepUp(actor, principal, false);
      throw new WardenError('WARDEN_UNAUTHENTICATED', 'wrong or replayed one-time code');
    }
    const credential = principal.credential as { kind: 'token' | 'session'; id: string };
    let until = 0;
    await this.#store.db.transaction().execute(async (trx) => {
      until = await this.#credentials.markMfa(trx, credential);
      await this.#ledger.record(trx, {
        actor,
        action: 'auth.mfa',
        resource: { type: 'User', id: principal.id },
        outcome: 'succeeded',
        details: { method: 'totp', credential: credential.kind },
      });
    });
    this.#ledger.committed();
    return { until: new Date(until).toISOString() };
  }

  async #recordStepUp(actor: EventActor, principal: Principal, ok: boolean): Promise<void> {
    await this.#ledger.recordAlone({
      actor,
      action: 'auth.mfa',
      resource: { type: 'User', id: principal.id },
      outcome: ok ? 'succeeded' : 'denied',
      decision: { policies: [], reason: 'wrong or replayed one-time code' },
    });
  }

  /** Verifies a code and, atomically, records its time step so the same code cannot be used twice. */
  async #acceptTotp(id: string, sealed: string, lastStep: number | null, code: string): Promise<boolean> {
    const step = verifyTotp(this.#box.open(sealed, id), code, this.#clock.now());
    if (step === undefined || (lastStep !== null && step <= Number(lastStep))) return false;
    const res = await this.#store.db
      .updateTable('principals')
      .set({ totp_last_step: step })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return res.numUpdatedRows > 0n || lastStep === null;
  }

  async #seed(id: string): Promise<string | null> {
    const row = await this.#store.db
      .selectFrom('principals')
      .select('totp_secret')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new WardenError('WARDEN_NOT_FOUND', `principal ${id} not found`);
    return row.totp_secret;
  }
}
