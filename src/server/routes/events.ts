import { z } from 'zod';
import { cloudEventToInput, type Ledger, parseCloudEvents } from '../../ledger/index.js';
import type { Store } from '../../store/index.js';
import { route } from '../route.js';
import { wait } from '../schemas.js';

const WAIT_MS = 10_000;

/** CloudEvents ingest: external events enter the ledger, attributed to the caller. */
export function eventRoutes(deps: { store: Store; ledger: Ledger }) {
  return [
    route({
      method: 'POST',
      url: '/api/v1/events',
      summary: 'Ingest CloudEvents 1.0 (structured JSON, one or a batch of up to 1,000) into the ledger',
      access: { action: 'event.ingest', resource: () => ({ type: 'Ledger', id: deps.ledger.origin }) },
      query: z.object({ wait }),
      body: z.unknown(),
      handler: async (ctx, { query, body }, _req, reply) => {
        const events = parseCloudEvents(body);
        const actor = ctx!.actor;
        const recorded = await deps.store.db.transaction().execute((trx) =>
          deps.ledger.recordMany(
            trx,
            events.map((ce) => cloudEventToInput(ce, actor)),
          ),
        );
        deps.ledger.committed();
        const ids = recorded.map((r) => r.event.id);
        if (query.wait === 'integrated') {
          await deps.ledger.waitIntegrated(WAIT_MS);
          const seqs = await deps.ledger.sequenceNumbers(ids);
          return reply
            .status(201)
            .send({ accepted: ids.length, events: ids.map((id) => ({ id, seq: seqs.get(id) ?? null })) });
        }
        return reply.status(202).send({ accepted: ids.length, events: ids.map((id) => ({ id, seq: null })) });
      },
    }),
  ];
}
