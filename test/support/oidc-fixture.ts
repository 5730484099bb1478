// Clients, user and API audience shared by the test OpenID provider (child process) and the tests.

/** The confidential client: client_secret_basic, code + PKCE, and client_credentials for API tokens. */
export const OIDC_CLIENT = Object.freeze({
  id: 'warden-dashboard',
  secret: 'dashboard-secret-for-tests-only',
  redirectUri: 'http://127.0.0.1:7011/auth/callback',
});

/** The public client (as the CLI would be): no secret, PKCE only. */
export const OIDC_PUBLIC_CLIENT = Object.freeze({
  id: 'warden-cli',
  redirectUri: 'http://127.0.0.1:7012/callback',
});

/** The resource indicator of Warden's API: the `aud` of JWT access tokens. */
export const OIDC_API_AUDIENCE = 'https://warden.test/api';

/** The one account at the provider; it signs in with a password and a one-time code. */
export const OIDC_USER = Object.freeze({
  login: 'alice',
  password: 'correct horse battery staple',
  sub: 'acct-7f3a9c',
  email: 'alice@example.test',
  groups: Object.freeze(['ml-engineers', 'warden-admins']),
  amr: Object.freeze(['pwd', 'otp']),
});
