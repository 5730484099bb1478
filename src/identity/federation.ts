import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type Clock, invalidInput, WardenError } from '../core/index.js';
import type { EventActor } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import type { FederatedIdentity } from './authenticate.js';
import type { Directory } from './directory.js';
import { createPkce, OidcClient, type OidcIdentity, type OidcIssuerConfig, OidcVerifier } from './oidc.js';
import type { SecretBox } from './secret-box.js';

/** One trusted OpenID provider as configured (`WARDEN_OIDC_ISSUERS`). */
export const issuerConfigSchema = z
  .object({
    issuer: z.string().url(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    redirectUri: z.string().url().optional(),
    jwksUri: z.string().url().optional(),
    algorithms: z.array(z.string()).min(1).optional(),
    groupsClaim: z.string().min(1).optional(),
    usernameClaim: z.string().min(1).optional(),
    /** Scopes the login asks for; add the provider's groups scope (e.g. `groups`) to receive group claims. */
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope token'))
      .min(1)
      .default(['openid', 'profile', 'email']),
    /** Create a Warden user on first sight of a subject (default true); otherwise an admin creates it. */
    autoProvision: z.boolean().default(true),
  })
  .strict();

/** A configured provider. */
export type IssuerConfig = z.infer<typeof issuerConfigSchema>;

/** Parses the configured providers, naming the bad field (e.g. `oidcIssuers[0].issuer`). */
export function parseIssuers(value: unknown[]): IssuerConfig[] {
  return value.map((v, i) => {
    const r = issuerConfigSchema.safeParse(v);
    if (!r.success)
      throw invalidInput(
        r.error.issues.map((x) => ({ field: `oidcIssuers[${i}].${x.path.join('.')}`, message: x.message })),
      );
    return r.data;
  });
}

const STATE_TTL_MS = 10 * 60_000;
const SYSTEM: EventActor = { type: 'system', id: 'oidc', via: 'system' };

/**
 * Single sign-on: verifies bearer JWTs of configured providers, maps their subjects to Warden users
 * (provisioning them when allowed), and runs the authorization-code + PKCE login. The login state
 * travels sealed inside `state`, so any replica can finish a login another one started.
 */
export class Federation {
  readonly #issuers: ReadonlyMap<string, IssuerConfig>;
  readonly #verifier: OidcVerifier;
  readonly #clients = new Map<string, OidcClient>();
  readonly #store: Store;
  readonly #directory: Directory;
  readonly #box: SecretBox;
  readonly #clock: Clock;

  constructor(deps: {
    issuers: readonly IssuerConfig[];
    store: Store;
    directory: Directory;
    box: SecretBox;
    clock: Clock;
  }) {
    this.#issuers = new Map(deps.issuers.map((i) => [i.issuer, i]));
    this.#verifier = new OidcVerifier(deps.issuers as unknown as OidcIssuerConfig[], { clock: deps.clock });
    for (const i of deps.issuers)
      this.#clients.set(i.issuer, new OidcClient(i as unknown as OidcIssuerConfig, { clock: deps.clock }));
    this.#store = deps.store;
    this.#directory = deps.directory;
    this.#box = deps.box;
    this.#clock = deps.clock;
  }

  /** Whether any provider is configured. */
  get enabled(): boolean {
    return this.#issuers.size > 0;
  }

  /** Verifies a bearer JWT. */
  readonly verifyJwt = async (jwt: string): Promise<FederatedIdentity> => this.#verifier.verify(jwt);

  /** The Warden user of a verified identity, provisioned on first sight when the provider allows it. */
  readonly resolve = async (identity: FederatedIdentity): Promise<string | undefined> => {
    const found = await this.#store.db
      .selectFrom('principals')
      .select('id')
      .where('issuer', '=', identity.issuer)
      .where('subject', '=', identity.subject)
      .executeTakeFirst();
    if (found) return found.id;
    if (!this.#issuers.get(identity.issuer)?.autoProvision) return undefined;
    const taken = await this.#store.db
      .selectFrom('principals')
      .select('id')
      .where('name', '=', identity.username)
      .executeTakeFirst();
    const name = taken ? `${identity.username}@${new URL(identity.issuer).host}` : identity.username;
    try {
      const created = await this.#directory.create(SYSTEM, {
        type: 'user',
        name,
        email: identity.email,
        issuer: identity.issuer,
        subject: identity.subject,
      });
      return created.id;
    } catch (err) {
      // A concurrent first request provisioned the same subject.
      const again = await this.#store.db
        .selectFrom('principals')
        .select('id')
        .where('issuer', '=', identity.issuer)
        .where('subject', '=', identity.subject)
        .executeTakeFirst();
      if (again) return again.id;
      throw err;
    }
  };

  /** The redirect URI configured for `issuer` (logins return only there, never to a caller-given URL). */
  redirectUri(issuer: string): string {
    const uri = this.#issuers.get(issuer)?.redirectUri;
    this.#client(issuer);
    if (!uri)
      throw new WardenError('WARDEN_INVALID_INPUT', `no redirectUri is configured for ${issuer}`, {
        issues: [{ field: 'issuer', message: 'login needs redirectUri in its configuration' }],
      });
    return uri;
  }

  /** Starts a code + PKCE login at `issuer`: the URL to send the browser to. */
  async startLogin(issuer: string, redirectUri: string): Promise<string> {
    const client = this.#client(issuer);
    const pkce = createPkce();
    const nonce = randomBytes(16).toString('base64url');
    const state = this.#box.seal(
      JSON.stringify({
        issuer,
        nonce,
        verifier: pkce.verifier,
        redirectUri,
        exp: this.#clock.now() + STATE_TTL_MS,
      }),
      'oidc-state',
    );
    const scope = (this.#issuers.get(issuer)?.scopes ?? ['openid']).join(' ');
    return client.authorizationUrl({ state, nonce, codeChallenge: pkce.challenge, redirectUri, scope });
  }

  /** Finishes a login: checks the sealed state, exchanges the code, verifies the ID token. */
  async finishLogin(code: string, state: string): Promise<OidcIdentity> {
    let s: { issuer: string; nonce: string; verifier: string; redirectUri: string; exp: number };
    try {
      s = JSON.parse(this.#box.open(state, 'oidc-state'));
    } catch {
      throw new WardenError('WARDEN_UNAUTHENTICATED', 'the login state is invalid; start the login again');
    }
    if (s.exp < this.#clock.now())
      throw new WardenError('WARDEN_UNAUTHENTICATED', 'the login took too long; start it again');
    return this.#client(s.issuer).exchangeCode({
      code,
      codeVerifier: s.verifier,
      nonce: s.nonce,
      redirectUri: s.redirectUri,
    });
  }

  #client(issuer: string): OidcClient {
    const client = this.#clients.get(issuer);
    if (!client)
      throw new WardenError('WARDEN_INVALID_INPUT', `no configured OpenID provider ${issuer}`, {
        issues: [
          {
            field: 'issuer',
            message: `one of ${[...this.#issuers.keys()].join(', ') || '(none configured)'}`,
          },
        ],
      });
    return client;
  }
}
