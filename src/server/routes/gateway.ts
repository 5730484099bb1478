import { z } from 'zod';
import { WardenError } from '../../core/index.js';
import type { EndpointDirectory, Gateway, GatewayEndpoint } from '../../gateway/index.js';
import { PURPOSE_HEADER } from '../guard.js';
import { type AnyRoute, route } from '../route.js';

const params = z.object({
  project: z.string().min(1).max(128),
  endpoint: z.string().min(1).max(128),
  '*': z.string().max(8192),
});

// What follows /gw/{project}/{endpoint} in the raw URL, query included, as sent.
const BELOW = /^\/gw\/[^/]+\/[^/?]+(.*)$/s;

type Params = z.infer<typeof params>;

/** The gateway: `/gw/{project}/{endpoint}/...` forwarded to the endpoint's model server. */
export function gatewayRoutes(deps: {
  gateway: Gateway;
  endpointDirectory: Pick<EndpointDirectory, 'find'>;
}): AnyRoute[] {
  // One lookup per call, shared by authorization and forwarding (keyed by the call's parsed params):
  // the endpoint authorized is the one called, even if its cache entry is refreshed meanwhile.
  const lookups = new WeakMap<Params, Promise<GatewayEndpoint | undefined>>();
  const endpointOf = (p: Params): Promise<GatewayEndpoint | undefined> => {
    let found = lookups.get(p);
    if (found === undefined) {
      found = deps.endpointDirectory.find(p.project, p.endpoint);
      lookups.set(p, found);
    }
    return found;
  };
  return (['GET', 'POST'] as const).map((method) =>
    route({
      method,
      url: '/gw/:project/:endpoint/*',
      summary: `Call a model through its endpoint (${method}); authorized as endpoint.invoke and recorded`,
      raw: true,
      params,
      access: {
        action: 'endpoint.invoke',
        resource: async ({ params: p }) => {
          const ep = await endpointOf(p);
          return { type: 'Endpoint', id: ep?.id ?? `${p.project}/${p.endpoint}` };
        },
        // Cedar sees the endpoint's environment as context.environment.
        facts: async ({ params: p }) => {
          const ep = await endpointOf(p);
          return ep === undefined ? {} : { environment: ep.environment };
        },
      },
      handler: async (ctx, { params: p }, request, reply) => {
        const endpoint = await endpointOf(p);
        if (endpoint === undefined)
          throw new WardenError('WARDEN_NOT_FOUND', `project ${p.project} has no endpoint ${p.endpoint}`);
        const below = BELOW.exec(request.url)?.[1] ?? '';
        const purpose = request.headers[PURPOSE_HEADER];
        const call = ctx!;
        await deps.gateway.forward({
          endpoint,
          actor: call.actor,
          decision: {
            policies: call.decision.policies,
            reason: call.decision.reason,
            bundle: call.decision.bundle,
          },
          requestId: call.requestId,
          method,
          path: below.startsWith('/') ? below : `/${below}`,
          headers: request.headers,
          body: hasBody(request.headers) ? request.raw : undefined,
          clientIp: request.ip,
          purpose: typeof purpose === 'string' && purpose !== '' ? purpose : undefined,
          response: reply.raw,
          takeOver: () => reply.hijack(),
        });
        return reply;
      },
    }),
  );
}

function hasBody(headers: Record<string, unknown>): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}
