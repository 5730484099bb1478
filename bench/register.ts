// Registering a model folder through the HTTP upload path on loopback, and verifying its OMS signature,
// each against `sha256sum` of the same files in the same run.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uploadFolder } from '../src/cli/commands/model.js';
import { signOms, verifyOmsBundle } from '../src/registry/oms/index.js';
import { freshBackend } from '../test/support/backends.js';
import { freePort, spawnServer, waitReady } from '../test/support/process.js';
import { count, progress, type Row, since } from './report.js';

const GiB = 1024 ** 3;
const FILES = 4;
const ROUNDS = 3;
/** Upload-and-hash throughput ÷ sha256sum throughput must reach this. */
export const REGISTER_TARGET = 0.7;
const TOKEN = 'wdn_bench-admin-token-0123456789abcdefghijklmnop';

/**
 * Best of `ROUNDS` timings, in ms, of `baseline` and of `fn`, alternated round by round so both see
 * the same machine load (the page cache is warm for both after the first); `setup` runs untimed
 * before each `fn`.
 */
async function bestOfAlternating(
  baseline: () => unknown,
  fn: () => Promise<unknown> | unknown,
  setup?: () => void,
): Promise<{ baselineMs: number; ms: number }> {
  let baselineMs = Number.POSITIVE_INFINITY;
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) {
    let start = performance.now();
    baseline();
    baselineMs = Math.min(baselineMs, since(start));
    setup?.();
    start = performance.now();
    await fn();
    ms = Math.min(ms, since(start));
  }
  return { baselineMs, ms };
}

const mbps = (bytes: number, ms: number) => `${count(bytes / 1024 ** 2 / (ms / 1000))} MiB/s`;

/** Registers a `scale` GiB folder of random files over HTTP (SQLite store) and verifies its signature. */
export async function benchRegister(scale: number): Promise<Row[]> {
  const total = Math.max(FILES * 1024 * 1024, Math.round((GiB * scale) / FILES) * FILES);
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-model-'));
  const backend = await freshBackend('sqlite');
  try {
    progress(`register: writing ${FILES} files, ${count(total / 1024 ** 2)} MiB in all`);
    const paths: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const path = join(dir, `shard-${i}.bin`);
      writeFileSync(path, randomBytes(total / FILES));
      paths.push(path);
    }
    const sha256sum = () => execFileSync('sha256sum', paths, { maxBuffer: 1 << 20 });

    // The server in a process of its own, as users run it; the CLI's upload (a tar stream built from
    // the folder) in this one. A fresh model and an emptied blob store each round (emptied untimed),
    // so every round writes and fsyncs every blob.
    const server = spawnServer(await freePort(), {
      WARDEN_DATA_DIR: backend.dataDir,
      WARDEN_BOOTSTRAP_TOKEN: TOKEN,
      WARDEN_LOG_LEVEL: 'warn',
    });
    let upload: { baselineMs: number; ms: number };
    try {
      await waitReady(server);
      const client = { url: server.url, token: TOKEN };
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (res.status !== 201) throw new Error(`${path}: ${await res.text()}`);
        return (await res.json()) as { id: string };
      };
      await post('/api/v1/projects', { id: 'bench' });
      const models: string[] = [];
      for (let i = 0; i < ROUNDS; i++)
        models.push((await post('/api/v1/projects/bench/models', { name: `m${i}` })).id);
      progress(`register: ${ROUNDS} uploads over loopback, alternating with sha256sum`);
      let round = 0;
      upload = await bestOfAlternating(
        sha256sum,
        () => uploadFolder(client, models[round++] as string, dir, undefined),
        () => rmSync(join(backend.dataDir, 'blobs', 'sha256'), { recursive: true, force: true }),
      );
    } finally {
      await server.kill('SIGTERM');
    }

    progress('register: OMS signature verification');
    const key = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const bundle = await signOms({
      modelDir: dir,
      privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const verify = await bestOfAlternating(sha256sum, async () => {
      const result = await verifyOmsBundle({ bundle, modelDir: dir, trust: { publicKeys: [key.publicKey] } });
      if (!result.ok) throw new Error(`verification failed: ${result.reason}`);
    });
    const size = `${count(total / 1024 ** 2)} MiB, ${FILES} files`;
    return [
      {
        backend: 'sqlite',
        measure: `register over HTTP: stream, hash, store, commit (${size})`,
        baseline: mbps(total, upload.baselineMs),
        warden: mbps(total, upload.ms),
        ratio: upload.baselineMs / upload.ms,
        target: REGISTER_TARGET,
      },
      {
        backend: '—',
        measure: `OMS signature verification (${size})`,
        baseline: mbps(total, verify.baselineMs),
        warden: mbps(total, verify.ms),
        ratio: verify.baselineMs / verify.ms,
        target: undefined,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await backend.drop();
  }
}
