import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, freshBackend } from './backends.js';
import {
  type CliResult,
  freePort,
  newToken,
  runCli,
  type ServerProcess,
  spawnServer,
  waitReady,
} from './process.js';

/** A `warden serve` child on a fresh SQLite backend, and the CLI pointed at it. */
export interface CliServer {
  readonly server: ServerProcess;
  /** A scratch directory removed on close (the CLI profile lives here). */
  readonly dir: string;
  /** The server's data directory (blobs, keys, SQLite file). */
  readonly dataDir: string;
  /** The bootstrap admin token. */
  readonly admin: string;
  /** Runs `warden args` as `token` (default the admin) and asserts its exit code. */
  cli(args: readonly string[], opts?: { code?: number; token?: string }): Promise<CliResult>;
  /** Runs `warden args` and parses its standard output as JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on response shapes directly.
  json(args: readonly string[], opts?: { token?: string }): Promise<any>;
  close(): Promise<void>;
}

/** Starts the server (with extra `WARDEN_*` settings) and waits until it is ready. */
export async function startCliServer(
  name: string,
  settings: Record<string, string> = {},
): Promise<CliServer> {
  const backend: Backend = await freshBackend('sqlite');
  const dir = await mkdtemp(join(tmpdir(), `warden-${name}-`));
  const admin = newToken();
  const server = spawnServer(await freePort(), {
    WARDEN_DATA_DIR: backend.dataDir,
    WARDEN_BOOTSTRAP_TOKEN: admin,
    WARDEN_LOG_LEVEL: 'warn',
    ...settings,
  });
  const close = async () => {
    await server.kill();
    await backend.drop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(server);
  } catch (err) {
    await close();
    throw err;
  }
  const cli = async (args: readonly string[], opts: { code?: number; token?: string } = {}) => {
    const res = await runCli(args, {
      WARDEN_URL: server.url,
      WARDEN_TOKEN: opts.token ?? admin,
      WARDEN_PROFILE: join(dir, 'profile.json'),
    });
    assert.equal(res.code, opts.code ?? 0, `warden ${args.join(' ')}: ${res.stderr}${res.stdout}`);
    return res;
  };
  return {
    server,
    dir,
    dataDir: backend.dataDir,
    admin,
    cli,
    json: async (args, opts = {}) => JSON.parse((await cli(args, opts)).stdout),
    close,
  };
}
