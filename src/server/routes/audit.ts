import { z } from 'zod';
import type { Ledger } from '../../ledger/index.js';
import { route } from '../route.js';
import { timestamp, wait } from '../schemas.js';

const WAIT_MS = 10_000;
const ledgerResource = (ledger: Ledger) => () => ({ type: 'Ledger', id: ledger.origin });

const cursor = z
  .string()
  .regex(/^[0-9]{1,15}$/, 'must be a cursor returned by a previous page')
  .transform((s) => Number(s));

/** Audit queries and per-event proofs; every query is itself recorded. */
export function auditRoutes(deps: { ledger: Ledger }) {
  const { ledger } = deps;
  return [
    route({
      method: 'GET',
      url: '/api/v1/audit/events',
      summary: 'Query ledger events (filters combine with AND; cursor pagination in recording order)',
      access: { action: 'audit.query', resource: ledgerResource(ledger) },
      query: z.object({
        actor: z.string().min(1).optional(),
        actorType: z.enum(['user', 'service', 'system', 'anonymous']).optional(),
        action: z.string().min(1).optional(),
        resourceType: z.string().min(1).optional(),
        resourceId: z.string().min(1).optional(),
        outcome: z.enum(['allowed', 'denied', 'succeeded', 'failed']).optional(),
        project: z.string().min(1).optional(),
        since: timestamp.optional(),
        until: timestamp.optional(),
        cursor: cursor.optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        wait,
      }),
      handler: async (ctx, { query }) => {
        if (query.wait === 'integrated') await ledger.waitIntegrated(WAIT_MS);
        const { wait: _w, cursor: after, ...filters } = query;
        const page = await ledger.queryEvents({ ...filters, after });
        await ledger.recordAlone({
          actor: ctx!.actor,
          action: 'audit.query',
          resource: { type: 'Ledger', id: ledger.origin },
          outcome: 'succeeded',
          details: {
            filters: { ...filters, ...(after !== undefined ? { cursor: after } : {}) },
            returned: page.events.length,
          },
          request: { id: ctx!.requestId },
        });
        return { events: page.events, next: page.next === null ? null : String(page.next) };
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/audit/events/:id',
      summary: 'One ledger event with its sequence number once integrated',
      access: { action: 'audit.query', resource: ({ params }) => ({ type: 'LedgerEvent', id: params.id }) },
      params: z.object({ id: z.string().min(1).max(64) }),
      handler: async (ctx, { params }) => {
        const event = await ledger.event(params.id);
        await ledger.recordAlone({
          actor: ctx!.actor,
          action: 'audit.read',
          resource: { type: 'LedgerEvent', id: params.id },
          outcome: 'succeeded',
          request: { id: ctx!.requestId },
        });
        return event;
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/audit/events/:id/proof',
      summary: 'Inclusion proof of one event in the C2SP tlog-proof text format',
      access: { action: 'audit.query', resource: ({ params }) => ({ type: 'LedgerEvent', id: params.id }) },
      params: z.object({ id: z.string().min(1).max(64) }),
      query: z.object({ wait }),
      produces: 'text/plain',
      handler: async (_ctx, { params, query }, _req, reply) => {
        if (query.wait === 'integrated') await ledger.waitIntegrated(WAIT_MS);
        const text = await ledger.eventProof(params.id);
        return reply.type('text/plain; charset=utf-8').send(text);
      },
    }),
  ];
}
