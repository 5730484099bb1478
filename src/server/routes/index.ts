import type { Datasets, Lineage, Projects } from '../../catalog/index.js';
import type { EndpointDirectory, EndpointSettings, Gateway } from '../../gateway/index.js';
import type {
  Credentials,
  Directory,
  Federation,
  LocalLogin,
  SessionPolicy,
  Throttle,
} from '../../identity/index.js';
import type { Integrator, Ledger, Retention } from '../../ledger/index.js';
import type { Alerts } from '../../monitor/index.js';
import type { Authorizer, Bindings } from '../../policy/index.js';
import type { Models, Provenances, Signatures, Versions } from '../../registry/index.js';
import type { Store } from '../../store/index.js';
import type { Aliases, Endpoints, Promotions, Stages } from '../../workflow/index.js';
import type { Metrics } from '../metrics.js';
import type { AnyRoute } from '../route.js';
import { accessRoutes } from './access.js';
import { alertRoutes } from './alerts.js';
import { auditRoutes } from './audit.js';
import { authRoutes } from './auth.js';
import { datasetRoutes } from './datasets.js';
import { endpointRoutes } from './endpoints.js';
import { eventRoutes } from './events.js';
import { exportRoutes } from './export.js';
import { gatewayRoutes } from './gateway.js';
import { gatewaySettingsRoutes } from './gateway-settings.js';
import { healthRoutes } from './health.js';
import { holdRoutes } from './holds.js';
import { ledgerRoutes } from './ledger.js';
import { lineageRoutes } from './lineage.js';
import { metricsRoutes } from './metrics.js';
import { modelRoutes } from './models.js';
import { openApiRoutes } from './openapi.js';
import { policyRoutes } from './policy.js';
import { principalRoutes } from './principals.js';
import { projectRoutes } from './projects.js';
import { promotionRoutes } from './promotions.js';
import { scimRoutes } from './scim.js';

/** Every route Warden serves. Public ones say `access: {public: true}`; all others pass the guard. */
export function allRoutes(deps: {
  store: Store;
  ledger: Ledger;
  integrator: Integrator;
  retention: Retention;
  retentionDays: number;
  directory: Directory;
  credentials: Credentials;
  authorizer: Authorizer;
  bindings: Bindings;
  login: LocalLogin;
  federation: Federation;
  sessions: SessionPolicy;
  throttle: { ip: Throttle; account: Throttle };
  metrics: Metrics;
  projects: Projects;
  datasets: Datasets;
  lineage: Lineage;
  gateway: Gateway;
  endpointDirectory: EndpointDirectory;
  models: Models;
  versions: Versions;
  signatures: Signatures;
  provenances: Provenances;
  promotions: Promotions;
  stages: Stages;
  aliases: Aliases;
  endpoints: Endpoints;
  endpointSettings: EndpointSettings;
  alerts: Alerts;
}): AnyRoute[] {
  return [
    ...healthRoutes(deps),
    ...openApiRoutes(),
    ...eventRoutes(deps),
    ...auditRoutes(deps),
    ...exportRoutes(deps),
    ...ledgerRoutes(deps),
    ...holdRoutes(deps),
    ...authRoutes(deps),
    ...principalRoutes(deps),
    ...scimRoutes(deps),
    ...accessRoutes(deps),
    ...policyRoutes(deps),
    ...metricsRoutes(deps),
    ...projectRoutes(deps),
    ...datasetRoutes(deps),
    ...lineageRoutes(deps),
    ...gatewayRoutes(deps),
    ...modelRoutes(deps),
    ...promotionRoutes(deps),
    ...endpointRoutes(deps),
    ...gatewaySettingsRoutes(deps),
    ...alertRoutes(deps),
  ];
}
