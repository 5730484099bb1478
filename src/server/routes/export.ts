import { Readable } from 'node:stream';
import { z } from 'zod';
import { exportLines, type Ledger } from '../../ledger/index.js';
import type { Store } from '../../store/index.js';
import { route } from '../route.js';
import { index } from '../schemas.js';

/** Evidence export for offline verification (`warden audit export`). */
export function exportRoutes(deps: { store: Store; ledger: Ledger }) {
  return [
    route({
      method: 'GET',
      url: '/api/v1/audit/export',
      summary:
        'Stream entries [from, to) as NDJSON: a header (checkpoint, key, outside hashes), then one line per entry',
      access: { action: 'audit.export', resource: () => ({ type: 'Ledger', id: deps.ledger.origin }) },
      query: z.object({ from: index.optional(), to: index.optional() }),
      produces: 'application/x-ndjson',
      handler: async (ctx, { query }, _req, reply) => {
        const lines = exportLines(deps.store, deps.ledger, query);
        // Pull the header first so range errors become a clean 4xx before streaming starts.
        const first = await lines.next();
        await deps.ledger.recordAlone({
          actor: ctx!.actor,
          action: 'audit.export',
          resource: { type: 'Ledger', id: deps.ledger.origin },
          outcome: 'succeeded',
          details: { from: query.from ?? 0, to: query.to ?? null },
          request: { id: ctx!.requestId },
        });
        async function* ndjson() {
          if (!first.done) yield `${JSON.stringify(first.value)}\n`;
          for await (const line of lines) yield `${JSON.stringify(line)}\n`;
        }
        return reply.type('application/x-ndjson').send(Readable.from(ndjson()));
      },
    }),
  ];
}
