import { sql } from 'kysely';
import type { Integrator } from '../../ledger/index.js';
import type { Store } from '../../store/index.js';
import { route } from '../route.js';

/** Liveness, readiness and nothing else: public by design. */
export function healthRoutes(deps: { store: Store; integrator: Integrator }) {
  return [
    route({
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the process answers',
      access: { public: true },
      handler: async () => ({ status: 'ok' }),
    }),
    route({
      method: 'GET',
      url: '/readyz',
      summary: 'Readiness: the database answers',
      access: { public: true },
      handler: async (_ctx, _input, _req, reply) => {
        try {
          await sql`SELECT 1`.execute(deps.store.db);
          return { status: 'ready', integrator: deps.integrator.isLeader ? 'leader' : 'follower' };
        } catch {
          return reply
            .status(503)
            .header('retry-after', '5')
            .send({ status: 'unavailable', reason: 'database' });
        }
      },
    }),
  ];
}
