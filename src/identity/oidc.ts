import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { type Clock, systemClock, WardenError } from '../core/index.js';

/** One trusted OpenID provider: what its tokens must say, and how Warden signs in through it. */
export interface OidcIssuerConfig {
  /** Exactly the `iss` its tokens carry (and its discovery document names). */
  readonly issuer: string;
  /** Accepted `aud` of bearer tokens (Warden's API identifier at this provider). */
  readonly audience: string | readonly string[];
  /** JWKS location; discovered from `/.well-known/openid-configuration` when absent. */
  readonly jwksUri?: string;
  /** Accepted JWS algorithms; asymmetric only. */
  readonly algorithms?: readonly string[];
  /** Claim holding group names (default `groups`). */
  readonly groupsClaim?: string;
  /** Claim holding the username (default `preferred_username`, falling back to `sub`). */
  readonly usernameClaim?: string;
  /** Warden's client id for the code + PKCE login (also the `aud` of ID tokens). */
  readonly clientId: string;
  /** Absent for a public client, which then authenticates with PKCE alone. */
  readonly clientSecret?: string;
  readonly redirectUri?: string;
}

/** Who a verified OIDC token says the caller is. */
export interface OidcIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly username: string;
  readonly email?: string;
  readonly groups: readonly string[];
  /** Authentication methods (RFC 8176), e.g. `pwd`, `otp`. */
  readonly amr: readonly string[];
  /** True when `amr` names a method that is, or is part of, multi-factor authentication. */
  readonly mfa: boolean;
  /** Token expiry, milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** Why a token or login was refused; `unavailable` means the provider could not be reached (retry later). */
export type OidcErrorReason =
  | 'expired'
  | 'not-yet-valid'
  | 'audience'
  | 'issuer'
  | 'algorithm'
  | 'signature'
  | 'unknown-key'
  | 'malformed'
  | 'unknown-issuer'
  | 'nonce'
  | 'exchange'
  | 'unavailable';

/** A refused OIDC token or login: 401, or 503 when the provider was unreachable. */
export class OidcError extends WardenError {
  readonly reason: OidcErrorReason;

  constructor(reason: OidcErrorReason, message: string, cause?: unknown) {
    super(reason === 'unavailable' ? 'WARDEN_UNAVAILABLE' : 'WARDEN_UNAUTHENTICATED', message, { cause });
    this.name = 'OidcError';
    this.reason = reason;
  }
}

/** Algorithms accepted when an issuer configures none. */
export const DEFAULT_OIDC_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256', 'EdDSA']);

/** RFC 8176 `amr` values that are a second factor or say outright that several were used. */
export const MFA_AMR_VALUES: ReadonlySet<string> = new Set([
  'mfa',
  'mca',
  'otp',
  'hwk',
  'swk',
  'sc',
  'sms',
  'tel',
  'pin',
  'fpt',
  'face',
  'iris',
  'retina',
  'vbm',
]);

const CLOCK_TOLERANCE_S = 30;
const HTTP_TIMEOUT_MS = 5000;

interface ProviderMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly authorization_endpoint?: string;
  readonly token_endpoint?: string;
}

async function fetchJson(
  url: string,
  init: RequestInit,
  what: string,
): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  } catch (err) {
    throw new OidcError('unavailable', `${what} unreachable`, err);
  }
  const body: unknown = await res.json().catch(() => undefined);
  return { status: res.status, body };
}

/** A configured issuer with its discovered metadata and key set, fetched once and cached. */
class Issuer {
  readonly config: OidcIssuerConfig;
  readonly algorithms: string[];
  #metadata: Promise<ProviderMetadata> | undefined;
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(config: OidcIssuerConfig) {
    this.config = config;
    this.algorithms = [...(config.algorithms ?? DEFAULT_OIDC_ALGORITHMS)];
    const weak = this.algorithms.find((a) => a === 'none' || a.startsWith('HS'));
    if (weak)
      throw new WardenError(
        'WARDEN_CONFIG',
        `OIDC issuer ${config.issuer}: algorithm ${weak} is not allowed`,
      );
  }

  /** The discovery document; a failed fetch is not cached, so the next call retries. */
  metadata(): Promise<ProviderMetadata> {
    this.#metadata ??= this.#discover().catch((err: unknown) => {
      this.#metadata = undefined;
      throw err;
    });
    return this.#metadata;
  }

  /** The provider's signing keys (jose refetches them when an unknown `kid` appears). */
  keys(): Promise<JWTVerifyGetKey> {
    this.#keys ??= (async () => {
      const uri = this.config.jwksUri ?? (await this.metadata()).jwks_uri;
      return createRemoteJWKSet(new URL(uri), { timeoutDuration: HTTP_TIMEOUT_MS });
    })().catch((err: unknown) => {
      this.#keys = undefined;
      throw err;
    });
    return this.#keys;
  }

  async #discover(): Promise<ProviderMetadata> {
    const url = `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const { status, body } = await fetchJson(
      url,
      { headers: { accept: 'application/json' } },
      'OIDC discovery',
    );
    const meta = body as Partial<ProviderMetadata> | undefined;
    if (status !== 200 || typeof meta?.jwks_uri !== 'string') {
      throw new OidcError('unavailable', `OIDC discovery for ${this.config.issuer} failed (HTTP ${status})`);
    }
    if (meta.issuer !== this.config.issuer) {
      throw new OidcError('unavailable', `OIDC discovery for ${this.config.issuer} names another issuer`);
    }
    return meta as ProviderMetadata;
  }
}

function reasonOf(err: unknown): OidcErrorReason {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (err as { claim?: unknown }).claim;
      if (claim === 'aud') return 'audience';
      if (claim === 'iss') return 'issuer';
      if (claim === 'nbf') return 'not-yet-valid';
      return 'malformed';
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'algorithm';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'unknown-key';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return 'unavailable';
    default:
      // Other jose errors are about the token's form; anything else (a failed fetch) is the provider's.
      return typeof code === 'string' && code.startsWith('ERR_J') ? 'malformed' : 'unavailable';
  }
}

async function verifyJwt(
  token: string,
  issuer: Issuer,
  audience: string | readonly string[],
  clock: Clock,
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, await issuer.keys(), {
      issuer: issuer.config.issuer,
      audience: typeof audience === 'string' ? audience : [...audience],
      algorithms: issuer.algorithms,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(clock.now()),
    });
    return payload;
  } catch (err) {
    if (err instanceof OidcError) throw err;
    const reason = reasonOf(err);
    throw new OidcError(reason, `OIDC token rejected (${reason}): ${(err as Error).message}`, err);
  }
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function identityOf(config: OidcIssuerConfig, payload: JWTPayload): OidcIdentity {
  const subject = payload.sub as string;
  const name = payload[config.usernameClaim ?? 'preferred_username'];
  const amr = Object.freeze(strings(payload.amr));
  return Object.freeze({
    issuer: config.issuer,
    subject,
    username: typeof name === 'string' && name !== '' ? name : subject,
    email: typeof payload.email === 'string' ? payload.email : undefined,
    groups: Object.freeze(strings(payload[config.groupsClaim ?? 'groups'])),
    amr,
    mfa: amr.some((m) => MFA_AMR_VALUES.has(m)),
    expiresAt: (payload.exp as number) * 1000,
  });
}

/** Verifies bearer JWTs from any of the configured issuers against that issuer's published keys. */
export class OidcVerifier {
  readonly #issuers: ReadonlyMap<string, Issuer>;
  readonly #clock: Clock;

  constructor(issuers: readonly OidcIssuerConfig[], opts: { clock?: Clock } = {}) {
    this.#issuers = new Map(issuers.map((c) => [c.issuer, new Issuer(c)]));
    this.#clock = opts.clock ?? systemClock;
  }

  /** The identity in `token`; throws OidcError naming the reason when it is not acceptable. */
  async verify(token: string): Promise<OidcIdentity> {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch (err) {
      throw new OidcError('malformed', 'bearer token is not a JWT', err);
    }
    const issuer = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (issuer === undefined)
      throw new OidcError('unknown-issuer', 'token issuer is not a configured OIDC issuer');
    return identityOf(issuer.config, await verifyJwt(token, issuer, issuer.config.audience, this.#clock));
  }
}

/** A PKCE code verifier and its S256 challenge (RFC 7636). */
export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
  readonly method: 'S256';
}

/** A fresh PKCE pair: 256 random bits as the verifier, base64url(SHA-256(verifier)) as the challenge. */
export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return Object.freeze({ verifier, challenge, method: 'S256' });
}

/** The relying-party side of the authorization-code + PKCE login against one issuer. */
export class OidcClient {
  readonly #issuer: Issuer;
  readonly #clock: Clock;

  constructor(config: OidcIssuerConfig, opts: { clock?: Clock } = {}) {
    this.#issuer = new Issuer(config);
    this.#clock = opts.clock ?? systemClock;
  }

  /** Where to send the browser to sign in; the caller keeps `state`, `nonce` and the PKCE verifier. */
  async authorizationUrl(p: {
    state: string;
    nonce: string;
    codeChallenge: string;
    redirectUri?: string;
    scope?: string;
  }): Promise<string> {
    const endpoint = (await this.#issuer.metadata()).authorization_endpoint;
    if (endpoint === undefined) throw new OidcError('unavailable', 'provider has no authorization endpoint');
    const url = new URL(endpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: this.#issuer.config.clientId,
      redirect_uri: this.#redirectUri(p.redirectUri),
      scope: p.scope ?? 'openid profile email',
      state: p.state,
      nonce: p.nonce,
      code_challenge: p.codeChallenge,
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.href;
  }

  /** Redeems an authorization code at the token endpoint and verifies the ID token it returns. */
  async exchangeCode(p: {
    code: string;
    codeVerifier: string;
    nonce: string;
    redirectUri?: string;
  }): Promise<OidcIdentity> {
    const config = this.#issuer.config;
    const endpoint = (await this.#issuer.metadata()).token_endpoint;
    if (endpoint === undefined) throw new OidcError('unavailable', 'provider has no token endpoint');
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: p.code,
      redirect_uri: this.#redirectUri(p.redirectUri),
      code_verifier: p.codeVerifier,
    });
    const headers: Record<string, string> = { accept: 'application/json' };
    if (config.clientSecret === undefined) {
      form.set('client_id', config.clientId);
    } else {
      // client_secret_basic: each part form-urlencoded before base64 (RFC 6749 section 2.3.1).
      const pair = `${formEncode(config.clientId)}:${formEncode(config.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    }
    const { status, body } = await fetchJson(
      endpoint,
      { method: 'POST', headers, body: form },
      'token endpoint',
    );
    const answer = (body ?? {}) as { id_token?: unknown; error?: unknown };
    if (status !== 200 || typeof answer.id_token !== 'string') {
      const error = typeof answer.error === 'string' ? answer.error.slice(0, 64) : `HTTP ${status}`;
      throw new OidcError('exchange', `token endpoint refused the authorization code: ${error}`);
    }
    const payload = await verifyJwt(answer.id_token, this.#issuer, config.clientId, this.#clock);
    if (payload.nonce !== p.nonce)
      throw new OidcError('nonce', 'ID token nonce does not match the login request');
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== config.clientId) {
      throw new OidcError('audience', 'ID token was issued to another client (azp)');
    }
    return identityOf(config, payload);
  }

  #redirectUri(given: string | undefined): string {
    const uri = given ?? this.#issuer.config.redirectUri;
    if (uri === undefined) throw new WardenError('WARDEN_CONFIG', 'OIDC client has no redirect URI');
    return uri;
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
