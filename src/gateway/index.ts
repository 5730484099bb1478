export { AuditQueue, type QueueHealth } from './audit-queue.js';
export { EndpointDirectory, type GatewayEndpoint } from './endpoint-directory.js';
export { EndpointSettings, type GatewaySettingsView } from './endpoint-settings.js';
export {
  Gateway,
  type GatewayCall,
  type GatewayLimits,
  type GatewayObserver,
} from './gateway.js';
export { callerResponseHeaders, upstreamRequestHeaders } from './headers.js';
export { MemoryTokenBuckets } from './memory-token-buckets.js';
export { type CallShape, classifyCall, type GatewayProtocol, modelFromOpenAiBody } from './protocol.js';
export { REDACTED, redactJson } from './redact.js';
export { RedisTokenBuckets } from './redis-token-buckets.js';
export {
  type GatewaySettings,
  type GatewaySettingsInput,
  gatewaySettingsInput,
  gatewaySettingsSchema,
} from './settings.js';
export type { RateLimit, Take, TokenBuckets } from './token-buckets.js';
export { SseUsageScanner, type TokenUsage, usageFromJson } from './usage.js';
