export { type AliasView, ALIAS_PATTERN, Aliases } from './aliases.js';
export {
  type DeploymentView,
  type EndpointView,
  Endpoints,
  PRODUCTION_ENVIRONMENT,
  PROTOCOLS,
} from './endpoints.js';
export { GATES, type GateResult } from './gates.js';
export { PROMOTION_FROM, type PromotionTarget, type PromotionView, Promotions } from './promotions.js';
export { type BlobRemover, type StageView, Stages } from './stages.js';
