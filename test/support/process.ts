import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freshBackend } from './backends.js';

/** The compiled CLI entry point (`warden`), as the tests run it. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const live = new Set<ChildProcess>();
const killLive = () => {
  for (const child of live) child.kill('SIGKILL');
};
// Last resort when the test process ends before its after hooks ran: no child outlives it.
process.once('exit', killLive);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killLive();
    process.kill(process.pid, signal);
  });
}

/** A fresh admin token for WARDEN_BOOTSTRAP_TOKEN. */
export function newToken(): string {
  return `wdn_${randomBytes(24).toString('hex')}`;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr !== null && typeof addr === 'object' ? resolve(addr.port) : reject(addr)));
    });
  });
}

/** The environment for a `warden` child: the parent's, minus its WARDEN_* settings, plus `settings`. */
function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WARDEN_')) env[k] = v;
  return { ...env, ...settings };
}

/** A `warden serve` child process listening on `url`. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Exit code (or signal name) once the process has ended, else undefined. */
  readonly exit: number | string | undefined;
  /** Everything the process wrote so far, stdout and stderr interleaved (for failure messages). */
  output(): string;
  /** Sends `signal` (default SIGKILL) and resolves when the process has exited; a no-op once it has. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `warden serve` on `port` with `WARDEN_*` settings in `env` (and `nodeArgs` for node); see `waitReady`. */
export function spawnServer(
  port: number,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve'], {
    env: childEnv({ WARDEN_HOST: '127.0.0.1', WARDEN_PORT: String(port), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  let exit: number | string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      live.delete(child);
      resolve();
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    get exit() {
      return exit;
    },
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (exit === undefined) child.kill(signal);
      await exited;
    },
  };
}

/** The body of GET /readyz once it answers 200 (`integrator` is 'leader' or 'follower'). */
export interface Readiness {
  readonly status: string;
  readonly integrator: 'leader' | 'follower';
}

/** Asks a server for /readyz once; undefined when it does not answer 200. */
export async function readiness(server: ServerProcess): Promise<Readiness | undefined> {
  try {
    const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200 ? ((await res.json()) as Readiness) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls /readyz until it answers 200; throws with the server's output if it exits or `timeoutMs` passes. */
export async function waitReady(server: ServerProcess, timeoutMs = 30_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exit !== undefined) {
      throw new Error(`warden serve exited (${server.exit}) before it was ready:\n${server.output()}`);
    }
    const ready = await readiness(server);
    if (ready !== undefined) return ready;
    if (Date.now() > deadline) {
      throw new Error(`warden serve was not ready within ${timeoutMs} ms:\n${server.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `probe` every 100 ms until it returns a value other than undefined; throws `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The outcome of a finished CLI run. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `warden <args>` to completion with `WARDEN_*` settings in `env`. */
export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      live.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The answer to one CloudEvents POST: the HTTP status and the ledger ids (with seqs once integrated). */
export interface IngestResult {
  readonly status: number;
  readonly events: readonly { id: string; seq: number | null }[];
  /** The response body of a non-2xx answer. */
  readonly error?: string;
}

/** A small structured CloudEvent of type `com.example.load`. */
export function loadEvent(n: number): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: `load-${n}`,
    source: 'https://load.example/drill',
    type: 'com.example.load',
    data: { n },
  };
}

/** POSTs a batch of `count` CloudEvents to a server, optionally with `?wait=integrated`. */
export async function ingest(
  server: ServerProcess,
  token: string,
  count: number,
  opts: { wait?: boolean } = {},
): Promise<IngestResult> {
  const body = Array.from({ length: count }, (_, i) => loadEvent(i));
  const res = await fetch(`${server.url}/api/v1/events${opts.wait ? '?wait=integrated' : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status >= 300) return { status: res.status, events: [], error: text };
  return { status: res.status, events: (JSON.parse(text) as IngestResult).events };
}

/** Ingest load running against one server; see `startLoad`. */
export interface Load {
  /** Ledger ids of every event the server acknowledged with a 2xx answer. */
  readonly acked: ReadonlySet<string>;
  /** Non-2xx answers received, as `status body` (a dead server gives no answer and is not counted). */
  readonly rejected: readonly string[];
  /** Stops the loops and waits for them; they also end by themselves once the server stops answering. */
  stop(): Promise<void>;
}

/** Runs `loops` concurrent loops POSTing CloudEvents batches of 1-20 events to `server`. */
export function startLoad(server: ServerProcess, token: string, loops = 8): Load {
  const acked = new Set<string>();
  const rejected: string[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      let res: IngestResult;
      try {
        res = await ingest(server, token, 1 + Math.floor(Math.random() * 20));
      } catch {
        return; // connection refused or reset: the server is gone, and this batch was not acknowledged
      }
      if (res.status >= 300) rejected.push(`${res.status} ${res.error}`);
      for (const e of res.events) acked.add(e.id);
    }
  };
  const all = Promise.all(Array.from({ length: loops }, loop));
  return {
    acked,
    rejected,
    stop: async () => {
      running = false;
      await all;
    },
  };
}

/** An HTTP answer from a server process, with its body parsed when it is JSON. */
export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on response shapes directly.
  readonly body: any;
  readonly text: string;
}

/** Calls `server` with a bearer token and an optional JSON (or `type`) body. */
export async function call(
  server: ServerProcess,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  type = 'application/json',
): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/** Two `warden serve` replicas on one fresh PostgreSQL database, sharing a data directory and an admin token. */
export interface Replicas {
  readonly a: ServerProcess;
  readonly b: ServerProcess;
  readonly admin: string;
  /** The database both replicas use. */
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts replica A (it bootstraps and creates the keys), then replica B, which shares them through the
 * data dir; both get the extra `WARDEN_*` settings in `settings`.
 */
export async function startReplicas(settings: Record<string, string> = {}): Promise<Replicas> {
  const backend = await freshBackend('postgres');
  const admin = newToken();
  const env = {
    WARDEN_DATA_DIR: backend.dataDir,
    WARDEN_DATABASE_URL: backend.databaseUrl,
    WARDEN_BOOTSTRAP_TOKEN: admin,
    WARDEN_LOG_LEVEL: 'warn',
    ...settings,
  };
  const a = spawnServer(await freePort(), env);
  await waitReady(a);
  const b = spawnServer(await freePort(), env);
  await waitReady(b);
  return {
    a,
    b,
    admin,
    databaseUrl: backend.databaseUrl,
    stop: async () => {
      await Promise.all([a.kill(), b.kill()]);
      await backend.drop();
    },
  };
}
