import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { WardenError } from '../../core/index.js';
import type { Credentials, Federation, LocalLogin, SessionPolicy, Throttle } from '../../identity/index.js';
import type { Ledger } from '../../ledger/index.js';
import { route } from '../route.js';

const code = z.string().regex(/^\d{6}$/, 'a 6-digit one-time code');

/** Local sign-in, sign-out, TOTP enrolment and MFA step-up. */
export function authRoutes(deps: {
  login: LocalLogin;
  credentials: Credentials;
  federation: Federation;
  sessions: SessionPolicy;
  throttle: { ip: Throttle; account: Throttle };
  ledger: Ledger;
}) {
  const { login, credentials, federation, throttle, ledger } = deps;
  return [
    route({
      method: 'GET',
      url: '/api/v1/auth/oidc/login',
      summary: 'Start single sign-on (authorization code + PKCE): redirects to the OpenID provider',
      // Public by necessity: this is how a caller without a credential gets one.
      access: { public: true },
      query: z.object({ issuer: z.string().url() }),
      handler: async (_ctx, { query }, _req, reply) => {
        const redirectUri = federation.redirectUri(query.issuer);
        return reply.redirect(await federation.startLogin(query.issuer, redirectUri), 302);
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/auth/oidc/callback',
      summary: 'Finish single sign-on: exchanges the code and returns a session token',
      access: { public: true },
      query: z.object({ code: z.string().min(1).max(4096), state: z.string().min(1).max(8192) }),
      handler: async (_ctx, { query }, request) => {
        const identity = await federation.finishLogin(query.code, query.state);
        const id = await federation.resolve(identity);
        if (id === undefined)
          throw new WardenError(
            'WARDEN_UNAUTHENTICATED',
            `no Warden user for ${identity.username} at ${identity.issuer}; ask an administrator`,
          );
        const actor = { type: 'user' as const, id, ...clientOf(request) };
        const session = await credentials.openSession(
          actor,
          id,
          'oidc',
          identity.mfa,
          deps.sessions,
          identity.groups,
        );
        return {
          token: session.token,
          sessionId: session.id,
          expiresAt: session.expiresAt,
          principalId: id,
          mfa: identity.mfa,
        };
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/auth/login',
      summary: 'Sign in with a username, password and (when enrolled) a TOTP code; returns a session token',
      // Public by necessity: the password is the credential. Slowed per source and per account.
      access: { public: true },
      body: z
        .object({
          username: z.string().min(1).max(200),
          password: z.string().min(1).max(1024),
          totp: code.optional(),
        })
        .strict(),
      handler: async (_ctx, { body }, request) => {
        const keys = [`ip:${request.ip}`, `user:${body.username}`];
        const wait = Math.max(
          throttle.ip.retryAfter(keys[0] as string),
          throttle.account.retryAfter(keys[1] as string),
        );
        if (wait > 0) {
          // Recorded like every refused sign-in, so a guessing campaign stays visible once slowed.
          await ledger.recordAlone({
            actor: { type: 'anonymous', id: 'anonymous', ...clientOf(request) },
            action: 'auth.login',
            resource: { type: 'User', id: body.username },
            outcome: 'denied',
            decision: {
              policies: [],
              reason: 'too many failed sign-ins from this source or for this account',
            },
          });
          throw new WardenError('WARDEN_RATE_LIMITED', 'too many failed sign-ins; try again later', {
            retryAfter: wait,
          });
        }
        try {
          const session = await login.login(clientOf(request), body);
          throttle.account.reset(keys[1] as string);
          return session;
        } catch (err) {
          if (err instanceof WardenError && err.status === 401) {
            throttle.ip.fail(keys[0] as string);
            throttle.account.fail(keys[1] as string);
          }
          throw err;
        }
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/auth/logout',
      summary: 'End the calling session',
      access: { action: 'session.close', resource: ({ params: _p }) => ({ type: 'Self', id: 'self' }) },
      handler: async (ctx, _input, _req, reply) => {
        if (ctx!.principal.credential.kind !== 'session')
          throw new WardenError('WARDEN_INVALID_INPUT', 'not a session token', {
            issues: [{ field: 'authorization', message: 'sign out works on session tokens' }],
          });
        await credentials.closeSession(ctx!.actor, ctx!.principal.credential.id);
        return reply.status(204).send();
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/auth/mfa/enroll',
      summary: 'Start TOTP enrolment for the caller: returns the secret and an otpauth:// URI',
      access: { action: 'mfa.manage', resource: () => ({ type: 'Self', id: 'self' }) },
      handler: async (ctx) => login.enrollTotp(ctx!.actor, ctx!.principal),
    }),
    route({
      method: 'POST',
      url: '/api/v1/auth/mfa/confirm',
      summary: 'Confirm TOTP enrolment with a first code',
      access: { action: 'mfa.manage', resource: () => ({ type: 'Self', id: 'self' }) },
      body: z.object({ code }).strict(),
      handler: async (ctx, { body }, _req, reply) => {
        await login.confirmTotp(ctx!.actor, ctx!.principal, body.code);
        return reply.status(204).send();
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/auth/mfa/verify',
      summary: 'MFA step-up: a TOTP code makes the calling token or session MFA-fresh for 15 minutes',
      access: { action: 'mfa.manage', resource: () => ({ type: 'Self', id: 'self' }) },
      body: z.object({ code }).strict(),
      handler: async (ctx, { body }) => login.stepUp(ctx!.actor, ctx!.principal, body.code),
    }),
    route({
      method: 'GET',
      url: '/api/v1/auth/whoami',
      summary: 'The calling principal, its credential and MFA state',
      access: { action: 'self.read', resource: () => ({ type: 'Self', id: 'self' }) },
      handler: async (ctx) => {
        const { epoch: _e, ...p } = ctx!.principal;
        return p;
      },
    }),
  ];
}

function clientOf(request: FastifyRequest) {
  const ua = request.headers['user-agent'];
  return {
    ip: request.ip,
    ...(ua ? { userAgent: ua.slice(0, 256) } : {}),
    via: request.headers['x-warden-client'] === 'cli' ? ('cli' as const) : ('api' as const),
  };
}
