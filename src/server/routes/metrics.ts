import { PLATFORM } from '../../policy/index.js';
import type { Metrics } from '../metrics.js';
import { route } from '../route.js';

/** Prometheus metrics; authenticated like every other non-public route. */
export function metricsRoutes(deps: { metrics: Metrics }) {
  return [
    route({
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      access: { action: 'metrics.read', resource: () => PLATFORM },
      produces: 'text/plain',
      handler: async (_ctx, _input, _req, reply) =>
        reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
    }),
  ];
}
