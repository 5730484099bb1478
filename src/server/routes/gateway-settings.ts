import { z } from 'zod';
import { type EndpointSettings, gatewaySettingsInput } from '../../gateway/index.js';
import { route } from '../route.js';

const params = z.object({ id: z.string().min(1).max(128) });
const ref = ({ params: p }: { params: { id: string } }) => ({ type: 'Endpoint', id: p.id });

/** An endpoint's gateway settings: rate limits, payload cap, timeout, redaction, ledger failure mode, upstream credential. */
export function gatewaySettingsRoutes(deps: { endpointSettings: EndpointSettings }) {
  const { endpointSettings } = deps;
  return [
    route({
      method: 'GET',
      url: '/api/v1/endpoints/:id/gateway',
      summary: "Show an endpoint's gateway settings (the upstream credential only as set or unset)",
      access: { action: 'endpoint.configure', resource: ref },
      params,
      handler: async (_ctx, { params: p }) => endpointSettings.get(p.id),
    }),
    route({
      method: 'PUT',
      url: '/api/v1/endpoints/:id/gateway',
      summary: "Replace an endpoint's gateway settings; recorded (endpoint.configure)",
      access: { action: 'endpoint.configure', resource: ref },
      params,
      body: z.object({ settings: gatewaySettingsInput }).strict(),
      handler: async (ctx, { params: p, body }) => endpointSettings.put(ctx!.actor, p.id, body.settings),
    }),
  ];
}
