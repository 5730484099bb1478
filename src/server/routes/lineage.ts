import { z } from 'zod';
import { LINEAGE_LIMITS, type Lineage } from '../../catalog/index.js';
import type { Authorizer } from '../../policy/index.js';
import { route } from '../route.js';

/** Lineage: datasets → derived datasets → model versions → deployments, walked either way. */
export function lineageRoutes(deps: { lineage: Lineage; authorizer: Authorizer }) {
  const { lineage, authorizer } = deps;
  return [
    route({
      method: 'GET',
      url: '/api/v1/lineage/:kind/:id',
      summary:
        'Walk lineage from a dataset, model version or deployment: up (what it came from) or down (what was made from it)',
      access: {
        action: 'project.read',
        resource: ({ params }) => lineage.resourceOf(params.kind, params.id),
      },
      params: z.object({
        kind: z.enum(['dataset', 'model_version', 'deployment']),
        id: z.string().min(1).max(64),
      }),
      query: z.object({
        direction: z.enum(['up', 'down']).default('up'),
        depth: z.coerce.number().int().min(1).max(LINEAGE_LIMITS.maxDepth).default(LINEAGE_LIMITS.maxDepth),
      }),
      handler: async (ctx, { params, query }, req) =>
        lineage.walk(params, query.direction, {
          depth: query.depth,
          visible: async (kind, id) =>
            (
              await authorizer.decide(ctx!.principal, 'project.read', await lineage.resourceOf(kind, id), {
                sourceIp: req.ip,
              })
            ).allowed,
        }),
    }),
  ];
}
