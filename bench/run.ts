// `npm run bench`: Warden's ledger against the raw speed of its database and of node:crypto, on SQLite and
// PostgreSQL, in one run. Everything it writes goes to temporary directories and databases it drops.
// BENCH_SCALE multiplies every size (e.g. 0.1 for a quick look); BENCH_BACKENDS=sqlite limits the backends;
// BENCH_ONLY=gateway runs only the gateway benchmark (bench/gateway.ts); BENCH_ONLY=ledger only the ledger
// tables (ingest, verify, proofs).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { type Config, loadConfig } from '../src/config/index.js';
import { startRuntime } from '../src/server/runtime.js';
import type { Dialect, Store } from '../src/store/index.js';
import { type Backend, freshBackend, PG_ADMIN_URL, postgresAvailable } from '../test/support/backends.js';
import { benchAuth } from './auth.js';
import { benchGateway } from './gateway.js';
import { INGEST_ROUNDS, type IngestResult, measureIngest } from './ingest.js';
import { benchPolicy } from './policy.js';
import { buildTree, measureProofs, type ProofBench } from './proofs.js';
import { benchRegister } from './register.js';
import { count, markdownTable, ms, progress, type Row, rate, resultTable, since } from './report.js';
import { measureVerify, type VerifyBench, writeExport } from './verify.js';
import { BATCH, benchScale, scaled } from './workload.js';

const EVENTS: Record<Dialect, number> = { sqlite: 50_000, postgres: 20_000 };
const PROOF_TREE = 1_000_000;
const PROOFS = 200;
const PROOF_WARMUP = 20;
const VERIFY_ROUNDS = 3;
const INGEST_TARGET = 0.5;
const VERIFY_TARGET = 0.5;

/** A runtime configuration on `backend` with the shipped defaults (environment and config files ignored). */
function benchConfig(backend: Backend): Config {
  return loadConfig(
    {
      dataDir: backend.dataDir,
      databaseUrl: backend.databaseUrl,
      bootstrapToken: 'wdn_bench-admin-token-0123456789abcdefghijklmnop',
      logLevel: 'silent',
    },
    {},
    '',
  );
}

async function chosenBackends(): Promise<Dialect[]> {
  const wanted = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres').split(',').map((s) => s.trim());
  const out: Dialect[] = [];
  if (wanted.includes('sqlite')) out.push('sqlite');
  if (!wanted.includes('postgres')) return out;
  let up = false;
  try {
    up = await postgresAvailable();
  } catch {
    // Under CI=true the test helper throws rather than skip; a benchmark only notes it.
  }
  if (up) out.push('postgres');
  else
    console.log(`note: PostgreSQL at ${PG_ADMIN_URL} is unreachable; skipping it (set WARDEN_TEST_PG_URL)\n`);
  return out;
}

async function durability(store: Store): Promise<string> {
  if (store.dialect === 'sqlite') return 'journal_mode=WAL, synchronous=NORMAL (the store defaults)';
  const setting = async (name: string) =>
    (await sql<{ v: string }>`SELECT current_setting(${name}) AS v`.execute(store.db)).rows[0]?.v;
  return `synchronous_commit=${await setting('synchronous_commit')}, fsync=${await setting('fsync')}`;
}

interface BackendResult {
  readonly dialect: Dialect;
  readonly settings: string;
  readonly batchSize: number;
  readonly ingest: IngestResult;
  readonly verify: VerifyBench;
  readonly proof: ProofBench;
}

async function ingestAndVerify(dialect: Dialect, n: number): Promise<Omit<BackendResult, 'proof'>> {
  const backend = await freshBackend(dialect);
  const exportDir = mkdtempSync(join(tmpdir(), 'warden-bench-export-'));
  try {
    const config = benchConfig(backend);
    const rt = await startRuntime(config);
    let ingest: IngestResult;
    let settings: string;
    try {
      settings = await durability(rt.store);
      progress(
        `${dialect}: ingest, ${count(n)} events each side in ${INGEST_ROUNDS} rounds, then step by step`,
      );
      ingest = await measureIngest(rt, n, scaled(n / 10, 1));
      await writeExport(rt, exportDir);
    } finally {
      await rt.close();
    }
    progress(`${dialect}: verify, ${VERIFY_ROUNDS} rounds`);
    const verify = await measureVerify(config, exportDir, rt.ledger.verifierKey, VERIFY_ROUNDS);
    return { dialect, settings, batchSize: config.batchSize, ingest, verify };
  } finally {
    rmSync(exportDir, { recursive: true, force: true });
    await backend.drop();
  }
}

async function proofs(dialect: Dialect, size: number): Promise<ProofBench> {
  const backend = await freshBackend(dialect);
  try {
    const config = benchConfig(backend);
    progress(`${dialect}: building a ${count(size)}-leaf tree`);
    const start = performance.now();
    const root = await buildTree(config, size);
    const buildMs = since(start);
    // The runtime's bootstrap events land after the built tree; proofs name the built size explicitly.
    const rt = await startRuntime(config);
    try {
      await rt.ledger.waitIntegrated(60_000);
      progress(`${dialect}: ${PROOFS} inclusion proofs`);
      return { ...(await measureProofs(rt, size, root, PROOFS, PROOF_WARMUP)), buildMs };
    } finally {
      await rt.close();
    }
  } finally {
    await backend.drop();
  }
}

function resultRows({ dialect, ingest, verify, proof }: BackendResult): Row[] {
  const at = `${count(proof.size)} leaves`;
  return [
    {
      backend: dialect,
      measure: `ingest → integrated (${count(ingest.events)} events, ${BATCH}/txn)`,
      baseline: rate(ingest.baselineRate, 'rows'),
      warden: rate(ingest.wardenRate, 'ev'),
      ratio: ingest.wardenRate / ingest.baselineRate,
      target: INGEST_TARGET,
    },
    {
      backend: dialect,
      measure: `audit verify, live store (${count(verify.leaves)} leaves)`,
      baseline: rate(verify.hashRate, 'leaves'),
      warden: rate(verify.liveRate, 'leaves'),
      ratio: verify.liveRate / verify.hashRate,
      target: VERIFY_TARGET,
    },
    {
      backend: dialect,
      measure: 'audit verify, export directory',
      baseline: rate(verify.hashRate, 'leaves'),
      warden: rate(verify.exportRate, 'leaves'),
      ratio: verify.exportRate / verify.hashRate,
      target: undefined,
    },
    {
      backend: dialect,
      measure: `inclusion proof at ${at}, median`,
      baseline: ms(proof.leafRead.median),
      warden: ms(proof.ledgerProof.median),
      ratio: proof.leafRead.median / proof.ledgerProof.median,
      target: undefined,
    },
    {
      backend: dialect,
      measure: `inclusion proof at ${at}, p99`,
      baseline: ms(proof.leafRead.p99),
      warden: ms(proof.ledgerProof.p99),
      ratio: proof.leafRead.p99 / proof.ledgerProof.p99,
      target: undefined,
    },
  ];
}

const us = (perSecond: number): string => (1e6 / perSecond).toFixed(1);

/** Each step on its own, in µs per event or leaf, to show where Warden's time goes. */
function breakdownRows({ dialect, batchSize, ingest, verify, proof }: BackendResult): string[][] {
  const b = ingest.breakdown;
  return [
    [dialect, 'ingest', 'baseline: plain-table insert, committed', us(ingest.baselineRate)],
    [
      dialect,
      'ingest',
      "prebuilt rows through the recorder's SQL (event rows + queue)",
      b.directInsertUs.toFixed(1),
    ],
    [dialect, 'ingest', 'Recorder alone (integrator stopped)', b.recorderUs.toFixed(1)],
    [
      dialect,
      'ingest',
      `Integrator alone on that backlog (batches of ${count(batchSize)})`,
      b.integratorUs.toFixed(1),
    ],
    [dialect, 'ingest', 'Warden end to end (both running)', us(ingest.wardenRate)],
    [dialect, 'verify', 'baseline: SHA-256(0x00 ‖ body) in memory', us(verify.hashRate)],
    [dialect, 'verify', 'reading the live store alone (storedLeaves)', us(verify.liveReadRate)],
    [dialect, 'verify', 'audit verify, live store', us(verify.liveRate)],
    [dialect, 'verify', 'reading the export directory alone', us(verify.exportReadRate)],
    [dialect, 'verify', 'audit verify, export directory', us(verify.exportRate)],
    [
      dialect,
      'proof',
      `bare proveInclusion: ${proof.queriesPerProof.toFixed(1)} range reads, ${count(proof.hashesPerProof)} stored hashes`,
      `${(proof.storeProof.median * 1000).toFixed(0)} (median)`,
    ],
  ];
}

async function gateway(): Promise<void> {
  const { rows, table, notes } = await benchGateway();
  console.log('\nGateway (loopback, 50 connections, POST of a small JSON body):\n');
  console.log(table);
  console.log('');
  console.log(resultTable(rows));
  for (const note of notes) console.log(`- ${note}`);
}

async function main(): Promise<void> {
  const scale = benchScale();
  const cpu = cpus();
  console.log(
    `Warden ledger benchmark — Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ` +
      `load average ${loadavg()[0]?.toFixed(2)}, BENCH_SCALE=${scale}\n`,
  );
  if (process.env.BENCH_ONLY === 'gateway') {
    await gateway();
    return;
  }
  const results: BackendResult[] = [];
  const dialects = await chosenBackends();
  for (const dialect of dialects) {
    const n = scaled(EVENTS[dialect], scale, BATCH * INGEST_ROUNDS);
    const measured = await ingestAndVerify(dialect, n);
    const proof = await proofs(dialect, Math.round(PROOF_TREE * scale));
    results.push({ ...measured, proof });
  }
  const ledgerOnly = process.env.BENCH_ONLY === 'ledger';
  const authRows: Row[] = ledgerOnly ? [] : [...(await benchPolicy())];
  if (!ledgerOnly) for (const dialect of dialects) authRows.push(...(await benchAuth(dialect)));
  const registerRows = ledgerOnly ? [] : await benchRegister(scale);
  console.log(resultTable(results.flatMap(resultRows)));
  if (!ledgerOnly) {
    console.log('\nIdentity and authorization:\n');
    console.log(resultTable(authRows));
    console.log('\nModel registry (baseline: sha256sum of the same files):\n');
    console.log(resultTable(registerRows));
  }
  console.log(
    '\nratio = Warden rate ÷ baseline rate (for proofs: primary-key read time ÷ proof time); higher is better.\n',
  );
  console.log(markdownTable(['backend', 'part', 'step', 'µs each'], results.flatMap(breakdownRows), [3]));
  console.log('');
  for (const { dialect, settings, ingest, proof } of results) {
    const ratios = ingest.roundRatios;
    console.log(
      `- ${dialect}: ${settings}; ingest ratio per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; ` +
        `${count(proof.size)}-leaf tree built in ${ms(proof.buildMs)}`,
    );
  }
  if (!ledgerOnly) await gateway();
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

await main();
