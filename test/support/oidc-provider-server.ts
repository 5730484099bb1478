// A real OpenID provider (oidc-provider) on a loopback port, run as a child process by oidc-provider.ts.
// The parent passes the signing keys (private JWKS) in OIDC_TEST_JWKS; once listening, this prints
// one JSON line `{"issuer": ...}` on stdout. Sign-in is scripted (devInteractions off):
//   GET  /interaction/:uid          → {"prompt": "login" | "consent"}
//   POST /interaction/:uid/login    form login=&password= → 303 back to the provider
//   POST /interaction/:uid/consent  → grants what was asked, 303 back to the provider
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors } from 'oidc-provider';
import { OIDC_API_AUDIENCE, OIDC_CLIENT, OIDC_PUBLIC_CLIENT, OIDC_USER } from './oidc-fixture.js';

const jwks = JSON.parse(process.env.OIDC_TEST_JWKS ?? '{}') as { keys: object[] };

const configuration = {
  clients: [
    {
      client_id: OIDC_CLIENT.id,
      client_secret: OIDC_CLIENT.secret,
      redirect_uris: [OIDC_CLIENT.redirectUri],
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: OIDC_PUBLIC_CLIENT.id,
      redirect_uris: [OIDC_PUBLIC_CLIENT.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    },
  ],
  jwks,
  cookies: { keys: ['oidc-test-cookie-signing-key'] },
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    iss: null,
    sid: null,
    // amr rides along with openid, as at most real providers.
    openid: ['sub', 'amr'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Put the granted scopes' claims in the ID token itself (not only at userinfo).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      getResourceServerInfo: (_ctx: unknown, indicator: string) => {
        if (indicator !== OIDC_API_AUDIENCE) throw new errors.InvalidTarget();
        return {
          scope: 'warden:api',
          audience: OIDC_API_AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  findAccount: (_ctx: unknown, id: string) =>
    id !== OIDC_USER.sub
      ? undefined
      : {
          accountId: id,
          claims: () => ({
            sub: id,
            preferred_username: OIDC_USER.login,
            name: 'Alice Example',
            email: OIDC_USER.email,
            email_verified: true,
            groups: OIDC_USER.groups,
          }),
        },
};

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const action = new URL(req.url ?? '/', 'http://x').pathname.split('/')[3];
  const prompt = details.prompt.name;
  let result: Record<string, unknown>;
  if (req.method === 'GET' && action === undefined) {
    return json(res, 200, { uid: details.uid, prompt });
  } else if (req.method === 'POST' && action === 'login' && prompt === 'login') {
    const form = await readForm(req);
    if (form.get('login') !== OIDC_USER.login || form.get('password') !== OIDC_USER.password) {
      return json(res, 401, { error: 'wrong login or password' });
    }
    result = { login: { accountId: OIDC_USER.sub, amr: OIDC_USER.amr } };
  } else if (req.method === 'POST' && action === 'consent' && prompt === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({
          accountId: details.session?.accountId ?? '',
          clientId: String(details.params.client_id),
        });
    if (grant === undefined) return json(res, 400, { error: 'grant not found' });
    const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    result = { consent: { grantId: await grant.save() } };
  } else {
    return json(res, 400, { error: `cannot ${req.method} ${action ?? 'details'} during ${prompt}` });
  }
  const returnTo = await provider.interactionResult(req, res, result);
  res.writeHead(303, { location: returnTo }).end();
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, configuration);
  const handle = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) return handle(req, res);
    interaction(provider, req, res).catch((err: Error) => json(res, 400, { error: err.message }));
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
