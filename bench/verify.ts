import { createHash } from 'node:crypto';
import type { Config } from '../src/config/index.js';
import {
  exportLines,
  exportSource,
  readSignerKeyFile,
  storedLeafPages,
  type VerifyResult,
  verifyLog,
  verifyStore,
  writeExportDir,
} from '../src/ledger/index.js';
import type { Runtime } from '../src/server/runtime.js';
import { openStore } from '../src/store/index.js';
import { median, since } from './report.js';

/** Verification rates over one log, medians of the rounds. */
export interface VerifyBench {
  readonly leaves: number;
  /** SHA-256(0x00 ‖ body) over the same bodies in a tight loop, leaves/s. */
  readonly hashRate: number;
  /** `audit verify` over the live store, leaves/s. */
  readonly liveRate: number;
  /** `audit verify --export` over an export directory of the whole log, leaves/s. */
  readonly exportRate: number;
  /** Only reading the live store's leaves and bodies as verify does (storedLeaves), leaves/s. */
  readonly liveReadRate: number;
  /** Only reading the export directory's entries as verify does, leaves/s. */
  readonly exportReadRate: number;
}

/** Writes an export of the whole log to `dir`, as `warden audit export` does from the API stream. */
export async function writeExport(rt: Runtime, dir: string): Promise<void> {
  await writeExportDir(dir, exportLines(rt.store, rt.ledger, {}));
}

function storeOptions(config: Config) {
  return { databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath, poolSize: 1 };
}

/** Every integrated event body as bytes, in sequence order. */
async function integratedBodies(config: Config): Promise<Buffer[]> {
  const store = await openStore(storeOptions(config));
  try {
    const rows = await store.db
      .selectFrom('ledger_leaves as l')
      .innerJoin('ledger_events as e', 'e.pos', 'l.pos')
      .select('e.body')
      .orderBy('l.seq')
      .execute();
    return rows.map((r) => Buffer.from(r.body ?? '', 'utf8'));
  } finally {
    await store.close();
  }
}

/** Leaf hashes per second of node:crypto alone: repeated passes over the bodies for at least 300 ms. */
function hashRate(bodies: readonly Buffer[]): number {
  const prefix = Buffer.from([0x00]);
  const start = performance.now();
  let done = 0;
  do {
    for (const body of bodies) createHash('sha256').update(prefix).update(body).digest();
    done += bodies.length;
  } while (since(start) < 300);
  return (done * 1000) / since(start);
}

function checked(result: VerifyResult): number {
  if (!result.ok) throw new Error(`verification failed at ${result.index}: ${result.message}`);
  return result.size;
}

/** `warden audit verify` on the live store, as src/cli/commands/audit.ts runs it (verifyStore with its store, so reader threads over connections of their own); returns leaves/s. */
async function verifyLive(config: Config): Promise<number> {
  const key = await readSignerKeyFile(config.signingKeyFile);
  const store = await openStore(storeOptions(config));
  try {
    const start = performance.now();
    const result = await verifyStore(store.db, key, undefined, { store });
    return (checked(result) * 1000) / since(start);
  } finally {
    await store.close();
  }
}

/** Iterates the live store's leaves as verify reads them, without checking anything; returns leaves/s. */
async function readLive(config: Config): Promise<number> {
  const store = await openStore(storeOptions(config));
  try {
    const start = performance.now();
    const n = await store.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => countLeaves(storedLeafPages(trx)));
    return (n * 1000) / since(start);
  } finally {
    await store.close();
  }
}

/** Iterates the export's entries as verify reads them, without checking anything; returns leaves/s. */
async function readExport(dir: string, vkey: string): Promise<number> {
  const start = performance.now();
  const n = await countLeaves((await exportSource(dir, vkey)).leaves);
  return (n * 1000) / since(start);
}

async function countLeaves(leaves: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const item of leaves) n += Array.isArray(item) ? item.length : 1;
  return n;
}

/** `warden audit verify --export <dir> --vkey <key>`; returns leaves/s. */
async function verifyExport(dir: string, vkey: string): Promise<number> {
  const start = performance.now();
  const result = await verifyLog(await exportSource(dir, vkey));
  return (checked(result) * 1000) / since(start);
}

/** Runs the hash baseline, live and export verification and their reads alone `rounds` times, interleaved. */
export async function measureVerify(
  config: Config,
  exportDir: string,
  vkey: string,
  rounds: number,
): Promise<VerifyBench> {
  const bodies = await integratedBodies(config);
  const hash: number[] = [];
  const live: number[] = [];
  const exported: number[] = [];
  const liveRead: number[] = [];
  const exportRead: number[] = [];
  for (let i = 0; i < rounds; i++) {
    hash.push(hashRate(bodies));
    live.push(await verifyLive(config));
    exported.push(await verifyExport(exportDir, vkey));
    liveRead.push(await readLive(config));
    exportRead.push(await readExport(exportDir, vkey));
  }
  return {
    leaves: bodies.length,
    hashRate: median(hash),
    liveRate: median(live),
    exportRate: median(exported),
    liveReadRate: median(liveRead),
    exportReadRate: median(exportRead),
  };
}
