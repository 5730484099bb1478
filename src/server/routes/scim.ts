import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { WardenError } from '../../core/index.js';
import {
  type Directory,
  SCIM_DEFAULT_COUNT,
  SCIM_MAX_COUNT,
  SCIM_MEDIA_TYPE,
  type ScimCall,
  type ScimKind,
  ScimService,
  scimList,
  scimResourceTypes,
  scimSchemas,
  scimServiceProviderConfig,
} from '../../identity/index.js';
import type { Ledger } from '../../ledger/index.js';
import { PLATFORM } from '../../policy/index.js';
import type { Store } from '../../store/index.js';
import { type CallContext, route } from '../route.js';

/** Where SCIM lives; errors under it are answered in SCIM's format (see errors.ts). */
export const SCIM_BASE_PATH = '/scim/v2';

// Every SCIM route, discovery included, needs scim.provision on the platform.
const access = { action: 'scim.provision', resource: () => PLATFORM };
const idParam = z.object({ id: z.string().min(1).max(200) });
const projection = {
  attributes: z.string().max(2000).optional(),
  excludedAttributes: z.string().max(2000).optional(),
};
const listQuery = z.object({
  filter: z.string().max(4096).optional(),
  // RFC 7644 §3.4.2.4: startIndex below 1 counts as 1, a negative count as 0.
  startIndex: z.coerce
    .number()
    .int()
    .default(1)
    .transform((n) => Math.max(1, n)),
  count: z.coerce
    .number()
    .int()
    .default(SCIM_DEFAULT_COUNT)
    .transform((n) => Math.min(Math.max(0, n), SCIM_MAX_COUNT)),
  ...projection,
});
const discoveryQuery = z.object({ filter: z.string().optional() });
const resourceBody = z.unknown().describe('A SCIM resource (RFC 7643), as application/scim+json');
const patchBody = z.unknown().describe('A PatchOp message (RFC 7644 §3.5.2), as application/scim+json');

/** SCIM 2.0 provisioning (RFC 7644): Users, Groups and the discovery endpoints. */
export function scimRoutes(deps: { store: Store; ledger: Ledger; directory: Directory }) {
  const scim = new ScimService(deps);
  const resources = (kind: ScimKind) => {
    const path = `${SCIM_BASE_PATH}/${kind === 'user' ? 'Users' : 'Groups'}`;
    const label = kind === 'user' ? 'user' : 'group';
    return [
      route({
        method: 'GET',
        url: path,
        summary: `SCIM: list or filter ${label}s (filter, startIndex, count)`,
        access,
        produces: SCIM_MEDIA_TYPE,
        query: listQuery,
        handler: async (_ctx, { query }, req, reply) =>
          send(reply, 200, await scim.list(kind, query, baseUrl(req))),
      }),
      route({
        method: 'POST',
        url: path,
        summary: `SCIM: create a ${label}`,
        access,
        produces: SCIM_MEDIA_TYPE,
        body: resourceBody,
        handler: async (ctx, { body }, req, reply) => {
          const call = callOf(ctx, req);
          const created = await (kind === 'user'
            ? scim.createUser(call, body)
            : scim.createGroup(call, body));
          reply.header('location', (created.meta as { location: string }).location);
          return send(reply, 201, created);
        },
      }),
      route({
        method: 'GET',
        url: `${path}/:id`,
        summary: `SCIM: one ${label}`,
        access,
        produces: SCIM_MEDIA_TYPE,
        params: idParam,
        query: z.object(projection),
        handler: async (_ctx, { params, query }, req, reply) =>
          send(reply, 200, await scim.get(kind, params.id, baseUrl(req), query)),
      }),
      route({
        method: 'PUT',
        url: `${path}/:id`,
        summary: `SCIM: replace a ${label}${kind === 'user' ? ' (active: false deactivates it and revokes its credentials)' : ''}`,
        access,
        produces: SCIM_MEDIA_TYPE,
        params: idParam,
        body: resourceBody,
        handler: async (ctx, { params, body }, req, reply) => {
          const call = callOf(ctx, req);
          return send(
            reply,
            200,
            await (kind === 'user'
              ? scim.replaceUser(call, params.id, body)
              : scim.replaceGroup(call, params.id, body)),
          );
        },
      }),
      route({
        method: 'PATCH',
        url: `${path}/:id`,
        summary: `SCIM: change a ${label} with add, remove and replace operations`,
        access,
        produces: SCIM_MEDIA_TYPE,
        params: idParam,
        body: patchBody,
        handler: async (ctx, { params, body }, req, reply) => {
          const call = callOf(ctx, req);
          return send(
            reply,
            200,
            await (kind === 'user'
              ? scim.patchUser(call, params.id, body)
              : scim.patchGroup(call, params.id, body)),
          );
        },
      }),
      route({
        method: 'DELETE',
        url: `${path}/:id`,
        summary: `SCIM: delete a ${label} (deactivated and kept for the audit trail; 404 from then on)`,
        access,
        produces: SCIM_MEDIA_TYPE,
        params: idParam,
        handler: async (ctx, { params }, req, reply) => {
          await scim.remove(callOf(ctx, req), kind, params.id);
          return reply.status(204).send();
        },
      }),
    ];
  };
  return [
    route({
      method: 'GET',
      url: `${SCIM_BASE_PATH}/ServiceProviderConfig`,
      summary: 'SCIM: the features this service provider supports',
      access,
      produces: SCIM_MEDIA_TYPE,
      query: discoveryQuery,
      handler: async (_ctx, { query }, req, reply) => {
        noFilter(query.filter);
        return send(reply, 200, scimServiceProviderConfig(baseUrl(req)));
      },
    }),
    ...discovery('ResourceTypes', 'resource types (User, Group)', scimResourceTypes),
    ...discovery('Schemas', 'schemas of the attributes Warden keeps', scimSchemas),
    ...resources('user'),
    ...resources('group'),
  ];
}

function discovery(name: string, what: string, documents: (baseUrl: string) => Record<string, unknown>[]) {
  return [
    route({
      method: 'GET',
      url: `${SCIM_BASE_PATH}/${name}`,
      summary: `SCIM: the ${what}`,
      access,
      produces: SCIM_MEDIA_TYPE,
      query: discoveryQuery,
      handler: async (_ctx, { query }, req, reply) => {
        noFilter(query.filter);
        const all = documents(baseUrl(req));
        return send(reply, 200, scimList(all, all.length, 1));
      },
    }),
    route({
      method: 'GET',
      url: `${SCIM_BASE_PATH}/${name}/:id`,
      summary: `SCIM: one of the ${what}`,
      access,
      produces: SCIM_MEDIA_TYPE,
      params: idParam,
      handler: async (_ctx, { params }, req, reply) => {
        const found = documents(baseUrl(req)).find((d) => d.id === params.id);
        if (found === undefined) throw new WardenError('WARDEN_NOT_FOUND', `no ${name} ${params.id}`);
        return send(reply, 200, found);
      },
    }),
  ];
}

// RFC 7644 §4: a filter on a discovery endpoint is refused, so no client believes it was applied.
function noFilter(filter: string | undefined): void {
  if (filter !== undefined)
    throw new WardenError('WARDEN_FORBIDDEN', 'filter: discovery endpoints do not filter');
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.status(status).type(`${SCIM_MEDIA_TYPE}; charset=utf-8`).send(body);
}

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}${SCIM_BASE_PATH}`;
}

function callOf(ctx: CallContext | undefined, req: FastifyRequest): ScimCall {
  const c = ctx as CallContext;
  return {
    actor: c.actor,
    requestId: c.requestId,
    decision: { policies: c.decision.policies, reason: c.decision.reason, bundle: c.decision.bundle },
    baseUrl: baseUrl(req),
  };
}
