export { ALIAS_PATTERN, Aliases, type AliasView } from './aliases.js';
export {
  type DeploymentView,
  Endpoints,
  type EndpointView,
  PRODUCTION_ENVIRONMENT,
  PROTOCOLS,
} from './endpoints.js';
export { GATES, type GateResult } from './gates.js';
export { PROMOTION_FROM, Promotions, type PromotionTarget, type PromotionView } from './promotions.js';
export { type BlobRemover, Stages, type StageView } from './stages.js';
