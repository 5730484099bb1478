import { z } from 'zod';
import type { Alerts } from '../../monitor/index.js';
import { PLATFORM } from '../../policy/index.js';
import { route } from '../route.js';

const platform = () => PLATFORM;
const idParam = z.object({ id: z.string().min(1).max(64) });
const note = z
  .object({ note: z.string().trim().min(1).max(2000).optional() })
  .strict()
  .default({});
const severity = z.enum(['info', 'warning', 'critical']);

/** Misuse alerts: list, acknowledge, resolve, lift the suspension they imposed; webhook deliveries. */
export function alertRoutes(deps: { alerts: Alerts }) {
  const { alerts } = deps;
  return [
    route({
      method: 'GET',
      url: '/api/v1/alerts',
      summary: 'List alerts, newest first (filters: status, kind, severity, project; paginated by `after`)',
      access: { action: 'alert.read', resource: platform },
      query: z.object({
        status: z.enum(['open', 'acknowledged', 'resolved']).optional(),
        kind: z.string().min(1).max(64).optional(),
        severity: severity.optional(),
        project: z.string().min(1).max(128).optional(),
        after: z.string().min(1).max(64).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      handler: async (_ctx, { query }) => alerts.list(query),
    }),
    route({
      method: 'GET',
      url: '/api/v1/alerts/deliveries',
      summary: 'List webhook deliveries of alerts (status=dead for the dead-letter list)',
      access: { action: 'alert.read', resource: platform },
      query: z.object({
        status: z.enum(['pending', 'delivered', 'dead']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      handler: async (_ctx, { query }) => ({
        deliveries: await alerts.deliveries(query.status, query.limit),
      }),
    }),
    route({
      method: 'POST',
      url: '/api/v1/alerts/deliveries/:id/retry',
      summary: 'Queue a dead (or delivered) webhook delivery again with fresh attempts',
      access: { action: 'alert.manage', resource: platform },
      params: idParam,
      handler: async (ctx, { params }) => alerts.retryDelivery(ctx!.actor, params.id),
    }),
    route({
      method: 'GET',
      url: '/api/v1/alerts/:id',
      summary: 'One alert',
      access: { action: 'alert.read', resource: platform },
      params: idParam,
      handler: async (_ctx, { params }) => alerts.get(params.id),
    }),
    ...(['acknowledge', 'resolve'] as const).map((verb) =>
      route({
        method: 'POST',
        url: `/api/v1/alerts/:id/${verb}`,
        summary: verb === 'acknowledge' ? 'Acknowledge an open alert' : 'Resolve an alert',
        access: { action: 'alert.manage', resource: platform },
        params: idParam,
        body: note,
        handler: async (ctx, { params, body }) =>
          alerts.setStatus(
            ctx!.actor,
            params.id,
            verb === 'acknowledge' ? 'acknowledged' : 'resolved',
            body.note,
          ),
      }),
    ),
    route({
      method: 'POST',
      url: '/api/v1/alerts/:id/lift-suspension',
      summary: 'End now the suspension an alert imposed on a token or principal',
      access: { action: 'alert.manage', resource: platform },
      params: idParam,
      body: note,
      handler: async (ctx, { params, body }) => alerts.liftSuspension(ctx!.actor, params.id, body.note),
    }),
  ];
}
