import type { Integrator, Ledger, Retention } from '../../ledger/index.js';
import type { Store } from '../../store/index.js';
import type { AnyRoute } from '../route.js';
import { auditRoutes } from './audit.js';
import { eventRoutes } from './events.js';
import { exportRoutes } from './export.js';
import { healthRoutes } from './health.js';
import { holdRoutes } from './holds.js';
import { ledgerRoutes } from './ledger.js';
import { openApiRoutes } from './openapi.js';

/** Every route Warden serves. Public ones say `access: {public: true}`; all others pass the guard. */
export function allRoutes(deps: {
  store: Store;
  ledger: Ledger;
  integrator: Integrator;
  retention: Retention;
  retentionDays: number;
}): AnyRoute[] {
  return [
    ...healthRoutes(deps),
    ...openApiRoutes(),
    ...eventRoutes(deps),
    ...auditRoutes(deps),
    ...exportRoutes(deps),
    ...ledgerRoutes(deps),
    ...holdRoutes(deps),
  ];
}
