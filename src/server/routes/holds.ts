import { z } from 'zod';
import { type Ledger, MAX_RETENTION_DAYS, type Retention } from '../../ledger/index.js';
import { route } from '../route.js';
import { timestamp } from '../schemas.js';

const reason = z.string().trim().min(3, 'give a reason of at least 3 characters').max(2000);

/** Legal holds, and an on-demand retention run. */
export function holdRoutes(deps: { ledger: Ledger; retention: Retention; retentionDays: number }) {
  const { retention } = deps;
  return [
    route({
      method: 'POST',
      url: '/api/v1/legal-holds',
      summary: 'Place a legal hold (by project, resource and/or time range) that blocks retention purges',
      access: { action: 'legal_hold.create', resource: () => ({ type: 'Ledger', id: deps.ledger.origin }) },
      body: z
        .object({
          project: z.string().min(1).optional(),
          resourceType: z.string().min(1).optional(),
          resourceId: z.string().min(1).optional(),
          from: timestamp.optional(),
          to: timestamp.optional(),
          reason,
        })
        .strict(),
      handler: async (ctx, { body }, _req, reply) => {
        const { from, to, reason: why, ...scope } = body;
        const hold = await retention.createHold(ctx!.actor, { ...scope, fromMs: from, toMs: to }, why);
        return reply.status(201).send(hold);
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/legal-holds',
      summary: 'List legal holds',
      access: { action: 'legal_hold.list', resource: () => ({ type: 'Ledger', id: deps.ledger.origin }) },
      query: z.object({ released: z.enum(['include', 'exclude']).default('exclude') }),
      handler: async (_ctx, { query }) => ({
        holds: await retention.listHolds(query.released === 'include'),
      }),
    }),
    route({
      method: 'POST',
      url: '/api/v1/legal-holds/:id/release',
      summary: 'Release a legal hold',
      access: {
        action: 'legal_hold.release',
        resource: ({ params }) => ({ type: 'LegalHold', id: params.id }),
      },
      params: z.object({ id: z.string().min(1).max(64) }),
      body: z.object({ reason }).strict(),
      handler: async (ctx, { params, body }) => retention.releaseHold(ctx!.actor, params.id, body.reason),
    }),
    route({
      method: 'POST',
      url: '/api/v1/ledger/retention/run',
      summary: 'Purge event bodies past the retention period now (leaf hashes stay; held events are kept)',
      access: { action: 'ledger.purge', resource: () => ({ type: 'Ledger', id: deps.ledger.origin }) },
      body: z
        .object({
          olderThanDays: z
            .number()
            .min(0)
            .max(MAX_RETENTION_DAYS, `at most ${MAX_RETENTION_DAYS} days`)
            .optional(),
        })
        .strict()
        .default({}),
      handler: async (ctx, { body }) => {
        const days = body.olderThanDays ?? deps.retentionDays;
        if (days <= 0 && body.olderThanDays === undefined)
          return { purged: 0, reason: 'retention is not configured' };
        return { purged: await retention.purge(ctx!.actor, days * 86_400_000) };
      },
    }),
  ];
}
