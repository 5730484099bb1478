import { z } from 'zod';
import type { Authorizer, Bindings } from '../../policy/index.js';
import { PLATFORM } from '../../policy/index.js';
import { route } from '../route.js';
import { timestamp } from '../schemas.js';

const ref = z
  .object({
    type: z.string().regex(/^[A-Z][A-Za-z]{0,40}$/, 'a Cedar entity type such as Project'),
    id: z.string().min(1).max(200),
  })
  .strict();
const principalRef = z
  .object({ type: z.enum(['User', 'ServiceAccount', 'Group']), id: z.string().min(1).max(64) })
  .strict();
const context = z
  .object({
    mfa: z.boolean().optional(),
    purpose: z.string().max(200).optional(),
    environment: z.string().max(100).optional(),
    sourceIp: z.string().max(100).optional(),
  })
  .strict()
  .default({});
const question = z
  .object({
    principal: principalRef,
    action: z.string().regex(/^[a-z_]+\.[a-z_]+$/, 'an action such as dataset.read'),
    resource: ref,
    context,
  })
  .strict();

/** Role bindings, and the questions "may P do A on R, and why" and "what may P do on R". */
export function accessRoutes(deps: { bindings: Bindings; authorizer: Authorizer }) {
  const { bindings, authorizer } = deps;
  return [
    route({
      method: 'POST',
      url: '/api/v1/bindings',
      summary:
        'Bind a principal or group to a role on the platform, a project or one resource, optionally until a time',
      access: { action: 'binding.create', resource: ({ body }) => body.resource },
      body: z
        .object({
          role: z.string().min(1),
          principal: principalRef,
          resource: ref,
          expiresAt: timestamp.optional(),
          reason: z.string().max(2000).optional(),
        })
        .strict(),
      handler: async (ctx, { body }, _req, reply) => {
        const { expiresAt, ...rest } = body;
        const created = await bindings.create(
          ctx!.actor,
          { ...rest, expiresAtMs: expiresAt },
          await authorizer.roles(),
        );
        return reply.status(201).send(created);
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/bindings',
      summary: 'List role bindings (in force now, or all with all=true)',
      access: { action: 'binding.read', resource: () => PLATFORM },
      query: z.object({
        principal: z.string().optional(),
        resourceType: z.string().optional(),
        resourceId: z.string().optional(),
        all: z.enum(['true', 'false']).default('false'),
      }),
      handler: async (_ctx, { query }) => ({
        bindings: await bindings.list({
          principalId: query.principal,
          resource:
            query.resourceType && query.resourceId
              ? { type: query.resourceType, id: query.resourceId }
              : undefined,
          all: query.all === 'true',
        }),
      }),
    }),
    route({
      method: 'POST',
      url: '/api/v1/bindings/:id/revoke',
      summary: 'Revoke a role binding at once',
      access: {
        action: 'binding.revoke',
        resource: ({ params }) => ({ type: 'RoleBinding', id: params.id }),
      },
      params: z.object({ id: z.string().min(1).max(64) }),
      body: z
        .object({ reason: z.string().max(2000).optional() })
        .strict()
        .default({}),
      handler: async (ctx, { params, body }) => bindings.revoke(ctx!.actor, params.id, body.reason),
    }),
    route({
      method: 'POST',
      url: '/api/v1/authorize',
      summary:
        'Decide whether a principal may take an action on a resource: the decision and the deciding policies',
      access: { action: 'authorize.explain', resource: ({ body }) => body.resource },
      body: question,
      handler: async (_ctx, { body }) => {
        const d = await authorizer.decideFor(body.principal, body.action, body.resource, body.context);
        return { allowed: d.allowed, policies: d.policies, reason: d.reason };
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/authorize/explain',
      summary:
        'The same decision explained: deciding policies and bindings, the reason in words, errors, the bundle',
      access: { action: 'authorize.explain', resource: ({ body }) => body.resource },
      body: question,
      handler: async (_ctx, { body }) =>
        authorizer.explainFor(body.principal, body.action, body.resource, body.context),
    }),
    route({
      method: 'GET',
      url: '/api/v1/principals/:id/permissions',
      summary: 'What a principal may do on a resource (`resource=Type::"id"` or `Type:id`)',
      access: { action: 'authorize.explain', resource: ({ query }) => query.resource },
      params: z.object({ id: z.string().min(1).max(64) }),
      query: z.object({
        resource: z.string().transform((s, c) => {
          const m = /^([A-Z][A-Za-z]*)(?:::"(.+)"|:(.+))$/.exec(s);
          if (!m?.[1]) {
            c.addIssue({ code: 'custom', message: 'expected Type::"id" or Type:id' });
            return z.NEVER;
          }
          return { type: m[1], id: (m[2] ?? m[3]) as string };
        }),
        mfa: z.enum(['true', 'false']).default('false'),
        purpose: z.string().optional(),
      }),
      handler: async (_ctx, { params, query }) => ({
        principal: params.id,
        resource: query.resource,
        actions: await authorizer.permissionsFor(params.id, query.resource, {
          mfa: query.mfa === 'true',
          ...(query.purpose ? { purpose: query.purpose } : {}),
        }),
      }),
    }),
  ];
}
