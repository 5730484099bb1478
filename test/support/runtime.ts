import { loadConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/core/index.js';
import { type Runtime, startRuntime } from '../../src/server/runtime.js';
import type { Dialect } from '../../src/store/index.js';
import { type Backend, freshBackend } from './backends.js';

/** A bootstrapped runtime on a fresh backend, with its admin token; `close` also drops the database. */
export interface TestServer {
  readonly rt: Runtime;
  readonly backend: Backend;
  readonly token: string;
  /** Injects a request with the admin token (or `token: null` for none). */
  inject(opts: {
    method: string;
    url: string;
    body?: unknown;
    headers?: Record<string, string>;
    token?: string | null;
  }): Promise<InjectResult>;
  close(): Promise<void>;
}

/** An injected response; `json()` is loosely typed so assertions can reach into it. */
export interface InjectResult {
  statusCode: number;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on response shapes directly.
  json(): any;
  headers: Record<string, unknown>;
}

export const TEST_TOKEN = 'wdn_test-admin-token-0123456789abcdefghijklmnop';

/** Starts Warden (not listening) on a fresh backend of `dialect`. */
export async function testServer(
  dialect: Dialect,
  settings: Record<string, string> = {},
  clock?: Clock,
): Promise<TestServer> {
  const backend = await freshBackend(dialect);
  const config = loadConfig(
    {
      dataDir: backend.dataDir,
      databaseUrl: backend.databaseUrl,
      bootstrapToken: TEST_TOKEN,
      logLevel: 'silent',
      idleMs: 5,
      // Sweeps make thousands of failed authentications from one source; brute-force tests set it low.
      authFailureLimit: '1000000',
      ...settings,
    },
    {},
    undefined,
  );
  const rt = await startRuntime(config, clock);
  return {
    rt,
    backend,
    token: TEST_TOKEN,
    inject: async ({ method, url, body, headers = {}, token }) => {
      const auth = token === null ? {} : { authorization: `Bearer ${token ?? TEST_TOKEN}` };
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const res = await rt.app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...auth,
          ...headers,
        },
        ...(payload !== undefined ? { payload } : {}),
      });
      return { statusCode: res.statusCode, body: res.body, json: () => res.json(), headers: res.headers };
    },
    close: async () => {
      await rt.close();
      await backend.drop();
    },
  };
}
