import { Redis } from 'ioredis';
import { WardenError } from '../core/index.js';
import type { RateLimit, Take, TokenBuckets } from './token-buckets.js';

// One atomic step per take: refill from the elapsed time (Redis's clock, so replicas' clocks never
// matter), take if the bucket holds enough, say when to retry, and let an idle bucket expire once it
// would be full again anyway. Tokens are stored as text: Lua numbers returned to clients are truncated.
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.max(1, math.ceil((cost - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, retry}
`;

// Seconds a caller refused because Redis is unreachable is told to wait.
const UNAVAILABLE_RETRY_AFTER = 1;

type WithTake = Redis & {
  wardenTake(key: string, perSecond: number, burst: number, cost: number): Promise<[number, number]>;
};

/**
 * Token buckets in Redis, shared by every replica pointed at the same server and key prefix. Each
 * take is one Lua script (EVALSHA). When Redis cannot be reached the take fails quickly (no retries,
 * a short command timeout) with a 503, so the gateway refuses the call rather than serve it
 * unlimited (fail closed).
 */
export class RedisTokenBuckets implements TokenBuckets {
  readonly #redis: WithTake;
  readonly #prefix: string;

  constructor(opts: { url: string; prefix: string; commandTimeoutMs?: number }) {
    const redis = new Redis(opts.url, {
      // A take waits for a connection being made (e.g. at start) at most the command timeout; once a
      // connection attempt fails, waiting takes fail at once (no retries per request).
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 500,
      // Keep trying to reconnect in the background, at most every 2 s.
      retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)),
    });
    // Connection errors surface through the takes that fail; the client reconnects by itself.
    redis.on('error', () => {});
    redis.defineCommand('wardenTake', { numberOfKeys: 1, lua: TAKE });
    this.#redis = redis as WithTake;
    this.#prefix = opts.prefix;
  }

  async take(key: string, limit: RateLimit, cost = 1): Promise<Take> {
    let reply: [number, number];
    try {
      reply = await this.#redis.wardenTake(`${this.#prefix}${key}`, limit.perSecond, limit.burst, cost);
    } catch (err) {
      throw new WardenError('WARDEN_UNAVAILABLE', 'the shared rate limiter (Redis) cannot be reached', {
        retryAfter: UNAVAILABLE_RETRY_AFTER,
        cause: err,
      });
    }
    return reply[0] === 1 ? { allowed: true, retryAfter: 0 } : { allowed: false, retryAfter: reply[1] };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
