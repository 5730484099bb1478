export { AuditQueue, type QueueHealth } from './audit-queue.js';
export { EndpointDirectory, type GatewayEndpoint } from './endpoint-directory.js';
export {
  Gateway,
  type GatewayCall,
  type GatewayLimits,
  type GatewayObserver,
  type GatewayResponse,
} from './gateway.js';
export { callerResponseHeaders, upstreamRequestHeaders } from './headers.js';
export { type CallShape, classifyCall, type GatewayProtocol, modelFromOpenAiBody } from './protocol.js';
export { REDACTED, redactJson } from './redact.js';
export { type GatewaySettings, gatewaySettingsSchema } from './settings.js';
export { type RateLimit, type Take, TokenBuckets } from './token-bucket.js';
export { SseUsageScanner, type TokenUsage, usageFromJson } from './usage.js';
