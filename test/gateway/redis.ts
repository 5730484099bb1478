import { Redis } from 'ioredis';

/** The Redis server the shared rate-limit tests use. */
export const REDIS_URL = process.env.WARDEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let up: Promise<boolean> | undefined;

/** Whether Redis answers; under CI=true a missing server is an error, never a skip (like PostgreSQL). */
export function redisAvailable(): Promise<boolean> {
  up ??= (async () => {
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch (err) {
      if (process.env.CI === 'true') {
        throw new Error(
          `Redis tests are mandatory in CI, but ${REDIS_URL} is unreachable: ${(err as Error).message}`,
        );
      }
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return up;
}
