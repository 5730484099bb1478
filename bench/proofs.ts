import type { Config } from '../src/config/index.js';
import { signCheckpoint } from '../src/ledger/checkpoint.js';
import { loadOrCreateLedgerKeys } from '../src/ledger/index.js';
import { CompactRange, leafHash, proveInclusion, verifyInclusion } from '../src/ledger/merkle.js';
import { storedHashReader } from '../src/ledger/repository.js';
import { readNodesFrom } from '../src/ledger/stored-nodes.js';
import { TILE_HEIGHT } from '../src/ledger/tiles.js';
import type { Runtime } from '../src/server/runtime.js';
import { openStore } from '../src/store/index.js';
import { median, progress, quantile, since } from './report.js';

const LEAVES_PER_TRANSACTION = 100_000;
const ROWS_PER_INSERT = 5_000;

/** Median and p99 of a set of timings, ms. */
export interface Timing {
  readonly median: number;
  readonly p99: number;
}

/** Inclusion-proof timings on a large tree next to a primary-key read of one leaf. */
export interface ProofBench {
  readonly size: number;
  readonly proofs: number;
  /** Time to build the tree directly in the store, ms. */
  readonly buildMs: number;
  readonly leafRead: Timing;
  /** `Ledger.inclusionProof(index, size)`: the checkpoint lookup plus the proof, as the API serves it. */
  readonly ledgerProof: Timing;
  /** `proveInclusion` over `readNodesFrom(storedHashReader(db))` alone. */
  readonly storeProof: Timing;
  /** Range queries and stored hashes one proof reads, on average. */
  readonly queriesPerProof: number;
  readonly hashesPerProof: number;
}

const leafData = (i: number): Buffer => Buffer.from(`bench leaf ${i}`, 'utf8');

/**
 * Fills an empty store with a tree of `size` leaves the quick way: leaf hashes and tile-level subtree
 * hashes computed with a CompactRange and inserted directly (no event bodies, no recorder), exactly the
 * rows the integrator would have stored, plus one signed checkpoint of that size. Returns the root.
 */
export async function buildTree(config: Config, size: number): Promise<Buffer> {
  const keys = await loadOrCreateLedgerKeys({
    signingKeyFile: config.signingKeyFile,
    hmacKeyFile: config.hmacKeyFile,
    origin: config.origin,
  });
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
  try {
    const range = new CompactRange();
    while (range.size < size) {
      const leaves: { seq: number; hash: Buffer }[] = [];
      const tiles: { tile_level: number; idx: number; hash: Buffer }[] = [];
      const end = Math.min(size, range.size + LEAVES_PER_TRANSACTION);
      while (range.size < end) {
        const seq = range.size;
        const hash = leafHash(leafData(seq));
        leaves.push({ seq, hash });
        for (const node of range.append(hash)) {
          if (node.level % TILE_HEIGHT === 0) {
            tiles.push({ tile_level: node.level / TILE_HEIGHT, idx: node.index, hash: node.hash });
          }
        }
      }
      await store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < leaves.length; i += ROWS_PER_INSERT) {
          await trx
            .insertInto('ledger_leaves')
            .values(leaves.slice(i, i + ROWS_PER_INSERT))
            .execute();
        }
        if (tiles.length > 0) await trx.insertInto('ledger_tile_hashes').values(tiles).execute();
      });
      progress(`stored ${range.size.toLocaleString('en-US')} of ${size.toLocaleString('en-US')} leaves`);
    }
    const root = range.root();
    const note = signCheckpoint({ origin: keys.signer.name, size, root, extensions: [] }, keys.signer);
    await store.db.insertInto('ledger_checkpoints').values({ size, note, created_ms: Date.now() }).execute();
    return root;
  } finally {
    await store.close();
  }
}

/** A small seeded PRNG (mulberry32), so every run proves the same indexes. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function timed<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const value = await fn();
  samples.push(since(start));
  return value;
}

const timing = (samples: readonly number[]): Timing => ({
  median: median(samples),
  p99: quantile(samples, 0.99),
});

/**
 * Times, interleaved per random index: a primary-key read of the leaf row, `Ledger.inclusionProof` and
 * bare `proveInclusion`; checks every proof against the tree's root. The first `warmup` rounds are not kept.
 */
export async function measureProofs(
  rt: Runtime,
  size: number,
  root: Buffer,
  proofs: number,
  warmup: number,
): Promise<Omit<ProofBench, 'buildMs'>> {
  const db = rt.store.db;
  const read = storedHashReader(db);
  let queries = 0;
  let hashes = 0;
  const readNodes = readNodesFrom(async (tileLevel, from, to) => {
    queries++;
    hashes += to - from;
    return read(tileLevel, from, to);
  });
  const next = random(0x5741_5244);
  const leafRead: number[] = [];
  const ledgerProof: number[] = [];
  const storeProof: number[] = [];
  for (let i = 0; i < warmup + proofs; i++) {
    const index = Math.floor(next() * size);
    const keep = i >= warmup;
    const sink = (samples: number[]) => (keep ? samples : []);
    const row = await timed(sink(leafRead), () =>
      db
        .selectFrom('ledger_leaves')
        .select(['seq', 'hash'])
        .where('seq', '=', index)
        .executeTakeFirstOrThrow(),
    );
    const viaLedger = await timed(sink(ledgerProof), () => rt.ledger.inclusionProof(index, size));
    const viaStore = await timed(sink(storeProof), () => proveInclusion(index, size, readNodes));
    verifyInclusion(row.hash, index, size, viaLedger.proof, root);
    verifyInclusion(leafHash(leafData(index)), index, size, viaStore, root);
  }
  const rounds = warmup + proofs;
  return {
    size,
    proofs,
    queriesPerProof: queries / rounds,
    hashesPerProof: hashes / rounds,
    leafRead: timing(leafRead),
    ledgerProof: timing(ledgerProof),
    storeProof: timing(storeProof),
  };
}
