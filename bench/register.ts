// Registering a model folder through the HTTP upload path on loopback, and verifying its OMS signature,
// each against `sha256sum` of the same files in the same run.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uploadFolder } from '../src/cli/commands/model.js';
import { loadConfig } from '../src/config/index.js';
import { signOms, verifyOmsBundle } from '../src/registry/oms/index.js';
import { startRuntime } from '../src/server/runtime.js';
import { freshBackend } from '../test/support/backends.js';
import { count, progress, type Row, since } from './report.js';

const GiB = 1024 ** 3;
const FILES = 4;
const ROUNDS = 3;
/** Upload-and-hash throughput ÷ sha256sum throughput must reach this. */
export const REGISTER_TARGET = 0.7;
const TOKEN = 'wdn_bench-admin-token-0123456789abcdefghijklmnop';

/** Best of `ROUNDS` timings of `fn`, in ms (the page cache is warm for every side after the first). */
async function best(fn: () => Promise<unknown> | unknown): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await fn();
    min = Math.min(min, since(start));
  }
  return min;
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
    progress('register: sha256sum baseline');
    const baselineMs = await best(sha256sum);

    const config = loadConfig(
      { dataDir: backend.dataDir, bootstrapToken: TOKEN, logLevel: 'silent', maxBodyBytes: 1 << 20 },
      {},
      '',
    );
    const rt = await startRuntime(config);
    let uploadMs: number;
    try {
      await rt.app.listen({ host: '127.0.0.1', port: 0 });
      const address = rt.app.server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const client = { url: `http://127.0.0.1:${address.port}`, token: TOKEN };
      const inject = async (url: string, body: unknown) => {
        const res = await rt.app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        if (res.statusCode !== 201) throw new Error(`${url}: ${res.body}`);
        return res.json() as { id: string };
      };
      await inject('/api/v1/projects', { id: 'bench' });
      // The CLI's upload (a tar stream built from the folder) in this process; a fresh model and an
      // emptied blob store each round, so every round writes and fsyncs every blob.
      progress(`register: ${ROUNDS} uploads over loopback`);
      let round = 0;
      uploadMs = await best(async () => {
        const model = await inject('/api/v1/projects/bench/models', { name: `m${round++}` });
        await uploadFolder(client, model.id, dir, undefined);
        rmSync(join(backend.dataDir, 'blobs', 'sha256'), { recursive: true, force: true });
      });
    } finally {
      await rt.close();
    }

    progress('register: OMS signature verification');
    const key = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const bundle = await signOms({
      modelDir: dir,
      privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const verifyMs = await best(async () => {
      const result = await verifyOmsBundle({ bundle, modelDir: dir, trust: { publicKeys: [key.publicKey] } });
      if (!result.ok) throw new Error(`verification failed: ${result.reason}`);
    });
    const size = `${count(total / 1024 ** 2)} MiB, ${FILES} files`;
    return [
      {
        backend: 'sqlite',
        measure: `register over HTTP: stream, hash, store, commit (${size})`,
        baseline: mbps(total, baselineMs),
        warden: mbps(total, uploadMs),
        ratio: baselineMs / uploadMs,
        target: REGISTER_TARGET,
      },
      {
        backend: '—',
        measure: `OMS signature verification (${size})`,
        baseline: mbps(total, baselineMs),
        warden: mbps(total, verifyMs),
        ratio: baselineMs / verifyMs,
        target: undefined,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await backend.drop();
  }
}
