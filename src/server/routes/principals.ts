import { z } from 'zod';
import { invalidInput, WardenError } from '../../core/index.js';
import { type Credentials, checkPasswordPolicy, type Directory, hashPassword } from '../../identity/index.js';
import { PLATFORM } from '../../policy/index.js';
import { route } from '../route.js';

const name = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^\s]+$/, 'must not contain spaces');
const attributes = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'attribute names are identifiers'),
  z.union([z.string().max(1000), z.number(), z.boolean()]),
);
const reason = z.string().trim().min(3, 'give a reason of at least 3 characters').max(2000);
const idParam = z.object({ id: z.string().min(1).max(64) });
const platform = () => PLATFORM;

/** Users, service accounts and groups; their tokens. */
export function principalRoutes(deps: { directory: Directory; credentials: Credentials }) {
  const { directory, credentials } = deps;
  return [
    route({
      method: 'POST',
      url: '/api/v1/principals',
      summary: 'Create a user (local with a password, or federated), a service account or a group',
      access: { action: 'principal.create', resource: platform },
      body: z
        .object({
          type: z.enum(['user', 'service', 'group']),
          name,
          displayName: z.string().max(200).optional(),
          email: z.string().email().optional(),
          password: z.string().optional(),
          issuer: z.string().url().optional(),
          subject: z.string().min(1).optional(),
          attributes: attributes.optional(),
        })
        .strict(),
      handler: async (ctx, { body }, _req, reply) => {
        if (body.password !== undefined) {
          if (body.type !== 'user') throw invalid('password', 'only users have passwords');
          const problem = checkPasswordPolicy(body.password, { username: body.name });
          if (problem) throw invalidInput([problem]);
        }
        if ((body.issuer === undefined) !== (body.subject === undefined))
          throw invalid('subject', 'issuer and subject go together');
        const { password, ...rest } = body;
        const created = await directory.create(ctx!.actor, {
          ...rest,
          ...(password !== undefined ? { passwordHash: await hashPassword(password) } : {}),
        });
        return reply.status(201).send(created);
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/principals',
      summary: 'List principals',
      access: { action: 'principal.read', resource: platform },
      query: z.object({
        type: z.enum(['user', 'service', 'group']).optional(),
        name: z.string().optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        offset: z.coerce.number().int().min(0).default(0),
      }),
      handler: async (_ctx, { query }) => directory.list(query),
    }),
    route({
      method: 'GET',
      url: '/api/v1/principals/:id',
      summary: 'One principal',
      access: { action: 'principal.read', resource: platform },
      params: idParam,
      handler: async (_ctx, { params }) => ({
        ...(await directory.get(params.id)),
        groups: await directory.groupsOf(params.id),
      }),
    }),
    route({
      method: 'PATCH',
      url: '/api/v1/principals/:id',
      summary: 'Change a principal (name, display name, email, attributes)',
      access: { action: 'principal.update', resource: platform },
      params: idParam,
      body: z
        .object({
          name: name.optional(),
          displayName: z.string().max(200).nullable().optional(),
          email: z.string().email().nullable().optional(),
          attributes: attributes.optional(),
        })
        .strict(),
      handler: async (ctx, { params, body }) => directory.update(ctx!.actor, params.id, body),
    }),
    route({
      method: 'POST',
      url: '/api/v1/principals/:id/password',
      summary: "Set a local user's password",
      access: { action: 'principal.update', resource: platform },
      params: idParam,
      body: z.object({ password: z.string() }).strict(),
      handler: async (ctx, { params, body }, _req, reply) => {
        const problem = checkPasswordPolicy(body.password);
        if (problem) throw invalidInput([problem]);
        await directory.setPasswordHash(ctx!.actor, params.id, await hashPassword(body.password));
        return reply.status(204).send();
      },
    }),
    ...(['suspend', 'reactivate'] as const).map((verb) =>
      route({
        method: 'POST',
        url: `/api/v1/principals/:id/${verb}`,
        summary:
          verb === 'suspend'
            ? 'Suspend a principal: every token and session is revoked at once'
            : 'Reactivate a suspended principal',
        access: { action: 'principal.suspend', resource: platform },
        params: idParam,
        body: z.object({ reason }).strict(),
        handler: async (ctx, { params, body }) =>
          directory.setStatus(
            ctx!.actor,
            params.id,
            verb === 'suspend' ? 'suspended' : 'active',
            body.reason,
          ),
      }),
    ),
    route({
      method: 'PUT',
      url: '/api/v1/groups/:id/members',
      summary: 'Replace the members of a group',
      access: { action: 'group.manage', resource: platform },
      params: idParam,
      body: z.object({ members: z.array(z.string().min(1)).max(10_000) }).strict(),
      handler: async (ctx, { params, body }) => {
        await directory.setMembers(ctx!.actor, params.id, body.members);
        return { members: await directory.members(params.id) };
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/groups/:id/members',
      summary: 'Members of a group',
      access: { action: 'principal.read', resource: platform },
      params: idParam,
      handler: async (_ctx, { params }) => ({ members: await directory.members(params.id) }),
    }),
    route({
      method: 'POST',
      url: '/api/v1/principals/:id/tokens',
      summary: 'Issue an API token (shown once) with scopes and an expiry',
      access: { action: 'token.create', resource: ({ params }) => ({ type: 'Principal', id: params.id }) },
      params: idParam,
      body: z
        .object({
          scopes: z
            .array(z.string().regex(/^(\*|[a-z_]+\.[a-z_]+)$/, 'an action such as audit.query, or *'))
            .min(1)
            .default(['*']),
          expiresInSeconds: z
            .number()
            .int()
            .min(60)
            .max(366 * 86_400)
            .optional(),
          description: z.string().trim().min(1).max(200),
        })
        .strict(),
      handler: async (ctx, { params, body }, _req, reply) => {
        const issued = await credentials.issueToken(ctx!.actor, params.id, body);
        return reply.status(201).send({ ...issued.view, token: issued.token });
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/principals/:id/tokens',
      summary: "A principal's tokens (never their secrets)",
      access: { action: 'token.read', resource: ({ params }) => ({ type: 'Principal', id: params.id }) },
      params: idParam,
      handler: async (_ctx, { params }) => ({ tokens: await credentials.listTokens(params.id) }),
    }),
    route({
      method: 'POST',
      url: '/api/v1/tokens/:id/revoke',
      summary: 'Revoke a token; the next request with it is refused',
      access: { action: 'token.revoke', resource: ({ params }) => ({ type: 'Token', id: params.id }) },
      params: idParam,
      handler: async (ctx, { params }) => credentials.revokeToken(ctx!.actor, params.id),
    }),
  ];
}

function invalid(field: string, message: string): WardenError {
  return new WardenError('WARDEN_INVALID_INPUT', `${field}: ${message}`, { issues: [{ field, message }] });
}
