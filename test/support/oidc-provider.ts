import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { OIDC_API_AUDIENCE, OIDC_CLIENT, OIDC_USER } from './oidc-fixture.js';

const SERVER = fileURLToPath(new URL('./oidc-provider-server.js', import.meta.url));

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The signing algorithms of the provider's two keys. */
export type ProviderAlg = 'RS256' | 'ES256';

/** Where a finished login sent the browser: the client's redirect URI with `code` and `state` (or `error`). */
export interface LoginRedirect {
  readonly url: URL;
  readonly code: string | null;
  readonly state: string | null;
}

/** A running oidc-provider child process; see `startOidcProvider`. */
export interface TestOidcProvider {
  readonly issuer: string;
  /** The `kid` of the provider's key for each algorithm (as published in its JWKS). */
  readonly kids: Readonly<Record<ProviderAlg, string>>;
  /** Signs `claims` with the provider's own private key, so the result verifies against its JWKS. */
  sign(claims: JWTPayload, opts?: { alg?: ProviderAlg; kid?: string }): Promise<string>;
  /** A JWT access token for Warden's API from the provider's token endpoint (client_credentials). */
  clientCredentialsToken(): Promise<string>;
  /** Signs in as the test user at `authorizationUrl` (login, then consent), as a browser would. */
  login(authorizationUrl: string, password?: string): Promise<LoginRedirect>;
  /** Stops the provider process. */
  close(): Promise<void>;
}

/** Cookies by name, as a browser keeps them for one host (paths ignored: names never clash here). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now(),
      );
      if (value === '' || expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function signingKeys() {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const kids = { RS256: 'test-rsa-1', ES256: 'test-ec-1' } as const;
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.privateKey)), kid: kids.RS256, alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.privateKey)), kid: kids.ES256, alg: 'ES256', use: 'sig' },
    ],
  };
  return { kids, jwks, privateKeys: { RS256: rsa.privateKey, ES256: ec.privateKey } };
}

function waitForIssuer(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let line = '';
    const timer = setTimeout(() => reject(new Error(`OIDC provider did not start:\n${output()}`)), 20_000);
    child.stdout?.on('data', (b: Buffer) => {
      line += b.toString();
      const end = line.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      resolve((JSON.parse(line.slice(0, end)) as { issuer: string }).issuer);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`OIDC provider exited (${code}):\n${output()}`));
    });
  });
}

/** Starts oidc-provider in a child process on a loopback port, with freshly generated signing keys. */
export async function startOidcProvider(): Promise<TestOidcProvider> {
  const { kids, jwks, privateKeys } = await signingKeys();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, OIDC_TEST_JWKS: JSON.stringify(jwks) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const issuer = await waitForIssuer(child, () => stderr);

  const sign: TestOidcProvider['sign'] = (claims, opts = {}) => {
    const alg = opts.alg ?? 'RS256';
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid: opts.kid ?? kids[alg], typ: 'JWT' })
      .sign(privateKeys[alg]);
  };

  const clientCredentialsToken = async () => {
    const basic = Buffer.from(`${OIDC_CLIENT.id}:${OIDC_CLIENT.secret}`).toString('base64');
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}` },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        resource: OIDC_API_AUDIENCE,
        scope: 'warden:api',
      }),
    });
    const body = (await res.json()) as { access_token?: string };
    if (res.status !== 200 || body.access_token === undefined) {
      throw new Error(`client_credentials failed: ${res.status} ${JSON.stringify(body)}`);
    }
    return body.access_token;
  };

  const login = async (authorizationUrl: string, password: string = OIDC_USER.password) => {
    const jar = new CookieJar();
    let url = new URL(authorizationUrl);
    let init: RequestInit = {};
    for (let hop = 0; hop < 20; hop++) {
      const res = await fetch(url, { ...init, redirect: 'manual', headers: { cookie: jar.header() } });
      jar.store(res);
      init = {};
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        url = new URL(location, url);
        if (url.origin !== issuer) {
          return { url, code: url.searchParams.get('code'), state: url.searchParams.get('state') };
        }
        continue;
      }
      const body = (await res.json()) as { prompt?: string; error?: string };
      if (res.status !== 200 || !url.pathname.startsWith('/interaction/')) {
        throw new Error(`login stopped at ${url.pathname}: ${res.status} ${JSON.stringify(body)}`);
      }
      const form: Record<string, string> =
        body.prompt === 'login' ? { login: OIDC_USER.login, password } : {};
      init = { method: 'POST', body: new URLSearchParams(form) };
      url = new URL(`${url.pathname}/${body.prompt}`, url);
    }
    throw new Error('login did not finish within 20 redirects');
  };

  return {
    issuer,
    kids,
    sign,
    clientCredentialsToken,
    login,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      live.delete(child);
    },
  };
}
