// The gateway against a plain reverse proxy: on loopback, one small model server (its own process), then
// autocannon at 50 connections against it directly, through nginx (a plain reverse proxy with upstream
// keepalive), through a bare Node.js proxy (bench/node-proxy.ts: the floor for Node) and through
// `warden serve` (SQLite; API token authentication, Cedar authorization, a rate limit set high and one
// ledger event per call). CPU per call comes from /proc/<pid>/stat.
// BENCH_GATEWAY_SECONDS sets the length of each loaded run (default 10); BENCH_PROFILE=1 writes a CPU
// profile of the Warden process (node --cpu-prof) into the directory it prints.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { openStore } from '../src/store/index.js';
import { addEndpoint, addProject } from '../test/gateway/fixtures.js';
import { freePort, newToken, type ServerProcess, spawnServer, waitReady } from '../test/support/process.js';
import { markdownTable, median, ms, progress, quantile, type Row } from './report.js';

const CONNECTIONS = 50;
const LATENCY_CALLS = 3000;
const BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
const PATH = '/v2/models/bench/infer';

// The model server: a fixed small JSON answer, in a process of its own so it never shares an event loop.
const UPSTREAM = `
const http = require('node:http');
const body = JSON.stringify({ model_name: 'bench', outputs: [{ name: 'score', datatype: 'FP32', shape: [1], data: [0.42] }] });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** One target's figures. */
interface Measured {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Unloaded (one call at a time) latency, ms. */
  readonly oneP50: number;
  readonly oneP99: number;
  readonly cpuUsPerCall: number | undefined;
  readonly errors: number;
}

function startUpstream(): Promise<{ port: number; child: ChildProcess }> {
  return startPrinting(['-e', UPSTREAM]);
}

/** The bare Node.js proxy (bench/node-proxy.ts) in front of the model server. */
function startNodeProxy(upstreamPort: number): Promise<{ port: number; child: ChildProcess }> {
  return startPrinting([fileURLToPath(new URL('./node-proxy.js', import.meta.url)), String(upstreamPort)]);
}

/** Starts a node process that prints the port it listens on. */
function startPrinting(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (b: Buffer) => resolve({ port: Number(b.toString().trim()), child }));
  });
}

function nginxBinary(): string {
  const find = () => {
    try {
      return execFileSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], {
        encoding: 'utf8',
      }).trim();
    } catch {
      return '';
    }
  };
  let bin = find();
  if (bin === '') {
    progress('nginx is not installed; installing it with apt-get');
    execFileSync('apt-get', ['install', '-y', '-q', 'nginx'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    bin = find();
  }
  if (bin === '') throw new Error('nginx could not be installed');
  return bin;
}

async function startNginx(upstreamPort: number): Promise<{ port: number; child: ChildProcess; dir: string }> {
  const bin = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-nginx-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  // One worker, like Warden's one event loop; upstream keepalive like Warden's undici pool.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream model { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://model;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs/error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port);
  return { port, child, dir };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await request(`http://127.0.0.1:${port}${PATH}`, { method: 'POST', body: BODY });
      await res.body.dump();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answers on port ${port}`);
}

/** User plus system CPU time (µs) of `pid` and its direct children (nginx's workers). */
function cpuMicros(pid: number): number {
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) };
  };
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = ticks(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (Number(entry) === pid || s.ppid === pid) total += s.cpu;
    } catch {
      // the process ended meanwhile
    }
  }
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return (total * 1e6) / hz;
}

function load(url: string, headers: Record<string, string>, seconds: number) {
  return autocannon({
    url: `${url}${PATH}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: BODY,
    connections: CONNECTIONS,
    duration: seconds,
  });
}

/** Latency of one call at a time, in ms, over a kept-alive connection. */
async function unloaded(url: string, headers: Record<string, string>): Promise<number[]> {
  const agent = new Agent({ connections: 1 });
  const out: number[] = [];
  try {
    for (let i = 0; i < LATENCY_CALLS + 200; i++) {
      const t = performance.now();
      const res = await request(`${url}${PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: BODY,
        dispatcher: agent,
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`);
      if (i >= 200) out.push(performance.now() - t);
    }
  } finally {
    await agent.close();
  }
  return out;
}

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  pid: number | undefined,
  seconds: number,
): Promise<Measured> {
  progress(`${name}: warm-up, then ${seconds} s at ${CONNECTIONS} connections`);
  await load(url, headers, 2);
  const cpu0 = pid === undefined ? 0 : cpuMicros(pid);
  const r = await load(url, headers, seconds);
  const cpu1 = pid === undefined ? 0 : cpuMicros(pid);
  const done = r.requests.total;
  const lat = await unloaded(url, headers);
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    oneP50: median(lat),
    oneP99: quantile(lat, 0.99),
    cpuUsPerCall: pid === undefined ? undefined : (cpu1 - cpu0) / done,
    errors: r.errors + r.non2xx + r.timeouts,
  };
}

async function startWarden(upstreamPort: number, profileDir: string | undefined) {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-gw-'));
  const token = newToken();
  const server = spawnServer(
    await freePort(),
    {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_BOOTSTRAP_TOKEN: token,
      WARDEN_LOG_LEVEL: 'warn',
      // A limit is taken on every call; it is set high enough never to refuse the benchmark.
      WARDEN_GATEWAY_RATE_PER_SECOND: '1000000',
      WARDEN_GATEWAY_BURST: '1000000',
    },
    profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  );
  await waitReady(server);
  const store = await openStore({ databaseUrl: '', sqlitePath: join(dataDir, 'warden.db'), poolSize: 1 });
  try {
    await addProject(store.db, 'bench', ['staging']);
    await addEndpoint(store.db, {
      project: 'bench',
      name: 'scorer',
      protocol: 'open-inference-v2',
      upstreamUrl: `http://127.0.0.1:${upstreamPort}`,
    });
  } finally {
    await store.close();
  }
  return { server, token, dataDir };
}

async function ledgerSize(server: ServerProcess, token: string): Promise<number> {
  const res = await request(`${server.url}/api/v1/ledger/info`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await res.body.json()) as { size: number }).size;
}

/** Runs the gateway benchmark; returns its result rows (targets included) and a table of the figures. */
export async function benchGateway(): Promise<{ rows: Row[]; table: string; notes: string[] }> {
  const seconds = Number(process.env.BENCH_GATEWAY_SECONDS ?? 10);
  const profileDir =
    process.env.BENCH_PROFILE === '1' ? mkdtempSync(join(tmpdir(), 'warden-prof-')) : undefined;
  const results: Measured[] = [];
  const notes: string[] = [];
  let upstream: Awaited<ReturnType<typeof startUpstream>> | undefined;
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  let nodeProxy: Awaited<ReturnType<typeof startNodeProxy>> | undefined;
  let warden: Awaited<ReturnType<typeof startWarden>> | undefined;
  try {
    upstream = await startUpstream();
    nginx = await startNginx(upstream.port);
    nodeProxy = await startNodeProxy(upstream.port);
    warden = await startWarden(upstream.port, profileDir);
    const direct = `http://127.0.0.1:${upstream.port}`;
    results.push(await measure('model server directly', direct, {}, upstream.child.pid, seconds));
    results.push(
      await measure('nginx reverse proxy', `http://127.0.0.1:${nginx.port}`, {}, nginx.child.pid, seconds),
    );
    results.push(
      await measure(
        'bare Node.js proxy (node:http + undici)',
        `http://127.0.0.1:${nodeProxy.port}`,
        {},
        nodeProxy.child.pid,
        seconds,
      ),
    );
    const before = await ledgerSize(warden.server, warden.token);
    const gw = await measure(
      'Warden gateway',
      `${warden.server.url}/gw/bench/scorer`,
      { authorization: `Bearer ${warden.token}` },
      warden.server.pid,
      seconds,
    );
    results.push(gw);
    await new Promise((r) => setTimeout(r, 2000));
    notes.push(
      `ledger grew by ${(await ledgerSize(warden.server, warden.token)) - before} events during the Warden runs (one per call)`,
    );
  } finally {
    await warden?.server.kill('SIGTERM');
    nginx?.child.kill('SIGQUIT');
    nodeProxy?.child.kill();
    upstream?.child.kill();
    if (nginx !== undefined) rmSync(nginx.dir, { recursive: true, force: true });
    if (warden !== undefined) rmSync(warden.dataDir, { recursive: true, force: true });
  }
  if (profileDir !== undefined) notes.push(`CPU profile of the Warden process written to ${profileDir}`);
  const [direct, proxy, bare, gw] = results as [Measured, Measured, Measured, Measured];
  const table = markdownTable(
    [
      'target',
      'req/s',
      'p50 (50 conns)',
      'p99 (50 conns)',
      'p50 one at a time',
      'p99 one at a time',
      'CPU µs/call',
      'errors',
    ],
    results.map((m) => [
      m.name,
      Math.round(m.rps).toLocaleString('en-US'),
      ms(m.p50),
      ms(m.p99),
      ms(m.oneP50),
      ms(m.oneP99),
      m.cpuUsPerCall === undefined ? '' : m.cpuUsPerCall.toFixed(1),
      String(m.errors),
    ]),
    [1, 2, 3, 4, 5, 6, 7],
  );
  const added = (m: Measured) => m.oneP50 - direct.oneP50;
  notes.push(
    `added latency one call at a time (p50 / p99 over direct): nginx ${ms(added(proxy))} / ${ms(proxy.oneP99 - direct.oneP99)}, ` +
      `bare Node.js proxy ${ms(added(bare))} / ${ms(bare.oneP99 - direct.oneP99)}, ` +
      `Warden ${ms(added(gw))} / ${ms(gw.oneP99 - direct.oneP99)}`,
    // The floor any Node.js gateway starts from, measured in the same run (no target of the issue).
    `bare Node.js proxy: throughput ${(bare.rps / direct.rps).toFixed(2)} of direct, CPU ${((bare.cpuUsPerCall ?? 0) / (proxy.cpuUsPerCall ?? 1)).toFixed(1)}× nginx's; ` +
      `Warden: CPU ${((gw.cpuUsPerCall ?? 0) / (bare.cpuUsPerCall ?? 1)).toFixed(1)}× the bare Node.js proxy's`,
  );
  const rows: Row[] = [
    {
      backend: 'gateway',
      measure: 'throughput at 50 connections (vs direct)',
      baseline: `${Math.round(direct.rps)} req/s`,
      warden: `${Math.round(gw.rps)} req/s`,
      ratio: gw.rps / direct.rps,
      target: 0.35,
    },
    {
      backend: 'gateway',
      measure: 'CPU per call (nginx ÷ Warden)',
      baseline: `${proxy.cpuUsPerCall?.toFixed(1)} µs`,
      warden: `${gw.cpuUsPerCall?.toFixed(1)} µs`,
      ratio: (proxy.cpuUsPerCall ?? 0) / (gw.cpuUsPerCall ?? 1),
      // CPU per call at most 3× nginx's.
      target: 0.33,
    },
    {
      backend: 'gateway',
      measure: 'added p50 latency, one call at a time (target ≤ 0.3 ms)',
      baseline: ms(direct.oneP50),
      warden: ms(gw.oneP50),
      ratio: 0.3 / Math.max(added(gw), 1e-6),
      target: 1,
    },
  ];
  return { rows, table, notes };
}
