export { callerResponseHeaders, upstreamRequestHeaders } from './headers.js';
export { type CallShape, classifyCall, type GatewayProtocol, modelFromOpenAiBody } from './protocol.js';
export { REDACTED, redactJson } from './redact.js';
export { type RateLimit, type Take, TokenBuckets } from './token-bucket.js';
export { SseUsageScanner, type TokenUsage, usageFromJson } from './usage.js';
