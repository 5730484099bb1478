import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  CompactRange,
  consistencyRanges,
  EMPTY_ROOT,
  hashFold,
  inclusionRanges,
  leafHash,
  leafHashOfText,
  type NodeId,
  nodeHash,
  ProofError,
  proveConsistency,
  proveInclusion,
  type ReadNodes,
  rangeSubtrees,
  rootAt,
  rootFromLeaves,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/merkle.js';
import { type ReadStored, readNodesFrom, storedLevel } from '../../src/ledger/stored-nodes.js';

interface InclusionProbe {
  readonly file: string;
  readonly leafIdx: number;
  readonly treeSize: number;
  readonly root: string;
  readonly leafHash: string;
  readonly proof: string[] | null;
  readonly wantErr: boolean;
}

interface ConsistencyProbe {
  readonly file: string;
  readonly size1: number;
  readonly size2: number;
  readonly root1: string;
  readonly root2: string;
  readonly proof: string[] | null;
  readonly wantErr: boolean;
}

interface Vectors {
  readonly rfc6962: {
    readonly leavesHex: string[];
    readonly leafHashes: string[];
    readonly rootsBySize: Record<string, string>;
    readonly inclusionProofs: {
      readonly vectors: {
        leafIndex: number;
        treeSize: number;
        proof: string[];
        leafHash: string;
        root: string;
      }[];
    };
    readonly consistencyProofs: {
      readonly vectors: { size1: number; size2: number; proof: string[]; root1: string; root2: string }[];
    };
  };
  readonly probes: { readonly inclusion: InclusionProbe[]; readonly consistency: ConsistencyProbe[] };
}

// Tests run from dist/test/ledger; the shared vectors live beside the repository root.
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/rfc6962/vectors.json', import.meta.url));
if (!existsSync(VECTORS)) throw new Error(`test vectors missing: expected ${VECTORS}`);
const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as Vectors;
const { rfc6962, probes } = vectors;
assert.equal(probes.inclusion.length, 98, 'expected 98 inclusion probes');
assert.equal(probes.consistency.length, 98, 'expected 98 consistency probes');

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const VECTOR_LEAVES = rfc6962.leafHashes.map(hex);

/** MTH straight from the RFC 9162 §2.1.1 definition. */
function mth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** PATH(m, D[n]) straight from RFC 9162 §2.1.3.1. */
function refPath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...refPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...refPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

/** SUBPROOF(m, D[n], b) straight from RFC 9162 §2.1.4.1. */
function refSubproof(m: number, leaves: readonly Buffer[], b: boolean): Buffer[] {
  if (m === leaves.length) return b ? [] : [mth(leaves)];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m <= k
    ? [...refSubproof(m, leaves.slice(0, k), b), mth(leaves.slice(k))]
    : [...refSubproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

/** Every perfect-subtree hash of a tree, by level, computed by pairing hashes level after level. */
function perfectLevels(leaves: readonly Buffer[]): Buffer[][] {
  const levels = [[...leaves]];
  for (let row = levels[0]!; row.length > 1; ) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    levels.push(next);
    row = next;
  }
  return levels;
}

/** A ReadNodes over every node of the tree, derived from its leaves alone. */
function leafReader(leaves: readonly Buffer[]): ReadNodes {
  const levels = perfectLevels(leaves);
  return async (ids) =>
    ids.map(({ level, index }) => {
      const hash = levels[level]?.[index];
      assert.ok(hash !== undefined, `node ${level}/${index} is not in a tree of ${leaves.length}`);
      return hash;
    });
}

/** Distinct leaf hashes for a tree of `size` leaves. */
function makeLeaves(size: number, salt = 0): Buffer[] {
  return Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`leaf ${salt} ${i}`)));
}

function flipped(hash: Uint8Array, at: number): Buffer {
  const copy = Buffer.from(hash);
  const i = at % copy.length;
  copy[i] = (copy[i] ?? 0) ^ 0x01;
  return copy;
}

function rejects(fn: () => unknown, message?: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof ProofError && (message === undefined || message.test(err.message)),
  );
}

describe('RFC 9162 hashing', () => {
  it('hashes the standard leaves and the empty tree', () => {
    assert.deepEqual(
      rfc6962.leavesHex.map((l) => leafHash(hex(l)).toString('hex')),
      rfc6962.leafHashes,
    );
    assert.equal(EMPTY_ROOT.toString('hex'), rfc6962.rootsBySize['0']);
    assert.equal(nodeHash(VECTOR_LEAVES[0]!, VECTOR_LEAVES[1]!).toString('hex'), rfc6962.rootsBySize['2']);
  });

  it('hashes text as the leaf of its UTF-8 bytes, whatever the text (lone surrogates, beyond 64 KiB)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (text) => {
        assert.deepEqual(leafHashOfText(text), leafHash(Buffer.from(text, 'utf8')));
      }),
    );
    for (const text of ['x'.repeat(65_536), '😀'.repeat(32_768), '€'.repeat(65_537)]) {
      assert.deepEqual(leafHashOfText(text), leafHash(Buffer.from(text, 'utf8')));
    }
  });

  it('computes the roots of sizes 0 to 8 three ways', async () => {
    const read = leafReader(VECTOR_LEAVES);
    for (let n = 0; n <= 8; n++) {
      const want = rfc6962.rootsBySize[String(n)];
      assert.equal(rootFromLeaves(VECTOR_LEAVES.slice(0, n)).toString('hex'), want, `rootFromLeaves(${n})`);
      assert.equal((await rootAt(n, read)).toString('hex'), want, `rootAt(${n})`);
      assert.equal(mth(VECTOR_LEAVES.slice(0, n)).toString('hex'), want, `mth(${n})`);
    }
  });
});

describe('RFC 9162 proof vectors', () => {
  const read = leafReader(VECTOR_LEAVES);

  for (const v of rfc6962.inclusionProofs.vectors) {
    it(`inclusion of leaf ${v.leafIndex} in a tree of ${v.treeSize}`, async () => {
      const proof = await proveInclusion(v.leafIndex, v.treeSize, read);
      assert.deepEqual(
        proof.map((h) => h.toString('hex')),
        v.proof,
      );
      verifyInclusion(hex(v.leafHash), v.leafIndex, v.treeSize, v.proof.map(hex), hex(v.root));
    });
  }

  for (const v of rfc6962.consistencyProofs.vectors) {
    it(`consistency from ${v.size1} to ${v.size2}`, async () => {
      const proof = await proveConsistency(v.size1, v.size2, read);
      assert.deepEqual(
        proof.map((h) => h.toString('hex')),
        v.proof,
      );
      verifyConsistency(v.size1, v.size2, hex(v.root1), hex(v.root2), v.proof.map(hex));
    });
  }
});

describe('transparency-dev probes', () => {
  for (const p of probes.inclusion) {
    it(`${p.wantErr ? 'rejects' : 'accepts'} ${p.file}`, () => {
      const verify = () =>
        verifyInclusion(b64(p.leafHash), p.leafIdx, p.treeSize, (p.proof ?? []).map(b64), b64(p.root));
      if (p.wantErr) rejects(verify);
      else verify();
    });
  }

  for (const p of probes.consistency) {
    it(`${p.wantErr ? 'rejects' : 'accepts'} ${p.file}`, () => {
      const verify = () =>
        verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), (p.proof ?? []).map(b64));
      if (p.wantErr) rejects(verify);
      else verify();
    });
  }
});

describe('verification failures say what failed', () => {
  const [l0, l1] = [VECTOR_LEAVES[0]!, VECTOR_LEAVES[1]!];
  const root2 = hex(rfc6962.rootsBySize['2']!);

  it('names the check', async () => {
    rejects(() => verifyInclusion(l0, 2, 2, [l1], root2), /index beyond size/);
    rejects(() => verifyInclusion(l0, 0, 2, [], root2), /wrong proof size/);
    rejects(() => verifyInclusion(l0, 0, 2, [l1.subarray(1)], root2), /proof\[0\] is 31 bytes/);
    rejects(() => verifyInclusion(l0, 0, 2, [l1], l1), /root mismatch/);
    rejects(() => verifyInclusion(l0, -1, 2, [l1], root2), /bad position/);
    rejects(() => verifyInclusion(l0, 0.5, 2, [l1], root2), /bad position/);
    rejects(() => verifyConsistency(2, 1, root2, l0, []), /old size beyond new size/);
    rejects(() => verifyConsistency(0, 2, EMPTY_ROOT, root2, []), /old size is 0/);
    rejects(() => verifyConsistency(1, 2, l0, root2, []), /wrong proof size/);
    const [root3, root4] = [hex(rfc6962.rootsBySize['3']!), hex(rfc6962.rootsBySize['4']!)];
    const proof = await proveConsistency(3, 4, leafReader(VECTOR_LEAVES));
    verifyConsistency(3, 4, root3, root4, proof);
    rejects(() => verifyConsistency(3, 4, root2, root4, proof), /old root mismatch/);
    rejects(() => verifyConsistency(3, 4, root3, root3, proof), /new root mismatch/);
  });
});

describe('proof generation', () => {
  it('matches the RFC definitions for every index and size up to 40', async () => {
    const leaves = makeLeaves(40);
    const read = leafReader(leaves);
    for (let n = 1; n <= 40; n++) {
      const tree = leaves.slice(0, n);
      for (let i = 0; i < n; i++)
        assert.deepEqual(await proveInclusion(i, n, read), refPath(i, tree), `PATH(${i}, ${n})`);
      for (let m = 1; m <= n; m++) {
        assert.deepEqual(await proveConsistency(m, n, read), refSubproof(m, tree, true), `PROOF(${m}, ${n})`);
      }
    }
  });

  it('reads once, without duplicates, and not at all for empty proofs', async () => {
    const leaves = makeLeaves(77);
    const base = leafReader(leaves);
    const calls: NodeId[][] = [];
    const read: ReadNodes = (ids) => {
      calls.push([...ids]);
      return base(ids);
    };
    await proveInclusion(41, 77, read);
    await proveConsistency(13, 77, read);
    await rootAt(77, read);
    assert.equal(calls.length, 3);
    for (const ids of calls)
      assert.equal(new Set(ids.map((id) => `${id.level}/${id.index}`)).size, ids.length);
    assert.deepEqual(await proveInclusion(0, 1, read), []);
    assert.deepEqual(await proveConsistency(77, 77, read), []);
    assert.deepEqual(await rootAt(0, read), EMPTY_ROOT);
    assert.equal(calls.length, 3);
  });

  it('rejects bad arguments and bad reads', async () => {
    const read = leafReader(makeLeaves(8));
    await assert.rejects(proveInclusion(8, 8, read), RangeError);
    await assert.rejects(proveInclusion(-1, 8, read), RangeError);
    await assert.rejects(proveConsistency(0, 8, read), RangeError);
    await assert.rejects(proveConsistency(9, 8, read), RangeError);
    await assert.rejects(rootAt(2 ** 53, read), RangeError);
    assert.throws(() => rangeSubtrees(5, 4), RangeError);
    assert.throws(() => hashFold([]), RangeError);
    await assert.rejects(
      proveInclusion(3, 8, async () => []),
      /read 0 node hashes for 3 nodes/,
    );
    await assert.rejects(
      rootAt(8, async () => [Buffer.alloc(31)]),
      /must be 32 bytes/,
    );
  });

  it('decomposes ranges into aligned perfect subtrees that tile the range', () => {
    fc.assert(
      fc.property(fc.nat(2 ** 40), fc.nat(2 ** 40), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        let at = lo;
        for (const { level, index } of rangeSubtrees(lo, hi)) {
          assert.equal(index * 2 ** level, at);
          at += 2 ** level;
        }
        assert.equal(at, hi);
      }),
    );
    assert.deepEqual(rangeSubtrees(0, 13), [
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    assert.deepEqual(rangeSubtrees(3, 8), [
      { level: 0, index: 3 },
      { level: 2, index: 1 },
    ]);
    assert.equal(rangeSubtrees(0, 2 ** 53 - 1).length, 53);
  });

  it('gives proof ranges whose subtrees fold to the MTH of the range', () => {
    const leaves = makeLeaves(100);
    const levels = perfectLevels(leaves);
    const fold = ([lo, hi]: [number, number]) =>
      hashFold(rangeSubtrees(lo, hi).map(({ level, index }) => levels[level]![index]!));
    for (let n = 1; n <= 100; n += 7) {
      for (let i = 0; i < n; i += 3) {
        for (const r of inclusionRanges(i, n)) assert.deepEqual(fold(r), mth(leaves.slice(...r)));
      }
      for (let m = 1; m <= n; m += 5) {
        for (const r of consistencyRanges(m, n)) assert.deepEqual(fold(r), mth(leaves.slice(...r)));
      }
    }
  });
});

describe('proof properties over random trees', () => {
  const treeArb = fc
    .record({
      size: fc.integer({ min: 1, max: 300 }),
      salt: fc.nat(),
      a: fc.nat(),
      b: fc.nat(),
      at: fc.nat(),
    })
    .map(({ size, salt, a, b, at }) => ({ size, salt, index: a % size, other: b % size, at }));

  it('inclusion proofs verify, and any tampering is rejected', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async ({ size, salt, index, other, at }) => {
        const leaves = makeLeaves(size, salt);
        const root = rootFromLeaves(leaves);
        const leaf = leaves[index]!;
        const proof = await proveInclusion(index, size, leafReader(leaves));
        verifyInclusion(leaf, index, size, proof, root);
        proof.forEach((_, j) => {
          rejects(() => verifyInclusion(leaf, index, size, proof.with(j, flipped(proof[j]!, at)), root));
        });
        rejects(() => verifyInclusion(leaf, index, size, proof, flipped(root, at)));
        rejects(() => verifyInclusion(flipped(leaf, at), index, size, proof, root));
        if (other !== index) rejects(() => verifyInclusion(leaf, other, size, proof, root));
        rejects(() => verifyInclusion(leaf, index, size * 2, proof, root));
        rejects(() => verifyInclusion(leaf, index, Math.floor(size / 2), proof, root));
        rejects(() => verifyInclusion(leaf, index, size, [...proof, root], root));
        if (proof.length > 0) rejects(() => verifyInclusion(leaf, index, size, proof.slice(1), root));
      }),
    );
  });

  it('consistency proofs verify, and any tampering is rejected', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async ({ size, salt, index, other, at }) => {
        const [m, n, otherM] = [index + 1, size, other + 1];
        const leaves = makeLeaves(n, salt);
        const oldRoot = rootFromLeaves(leaves.slice(0, m));
        const newRoot = rootFromLeaves(leaves);
        const proof = await proveConsistency(m, n, leafReader(leaves));
        verifyConsistency(m, n, oldRoot, newRoot, proof);
        proof.forEach((_, j) => {
          rejects(() => verifyConsistency(m, n, oldRoot, newRoot, proof.with(j, flipped(proof[j]!, at))));
        });
        rejects(() => verifyConsistency(m, n, flipped(oldRoot, at), newRoot, proof));
        rejects(() => verifyConsistency(m, n, oldRoot, flipped(newRoot, at), proof));
        if (otherM !== m) rejects(() => verifyConsistency(otherM, n, oldRoot, newRoot, proof));
        rejects(() => verifyConsistency(m, n * 2, oldRoot, newRoot, proof));
        rejects(() => verifyConsistency(m, n, oldRoot, newRoot, [...proof, newRoot]));
        if (proof.length > 0) rejects(() => verifyConsistency(m, n, oldRoot, newRoot, proof.slice(1)));
      }),
    );
  });
});

describe('CompactRange', () => {
  it('agrees with the RFC root at every size, and reports each completed subtree once', () => {
    const leaves = makeLeaves(300);
    const levels = perfectLevels(leaves);
    const range = new CompactRange();
    const completed = new Set<string>();
    leaves.forEach((leaf, i) => {
      for (const node of range.append(leaf)) {
        assert.ok(node.level >= 1);
        assert.deepEqual(node.hash, levels[node.level]![node.index], `node ${node.level}/${node.index}`);
        assert.ok((node.index + 1) * 2 ** node.level <= i + 1, 'only complete subtrees');
        completed.add(`${node.level}/${node.index}`);
      }
      assert.equal(range.size, i + 1);
      assert.deepEqual(range.root(), mth(leaves.slice(0, i + 1)));
    });
    const perfect = levels.slice(1).reduce((sum, row) => sum + row.length, 0);
    assert.equal(completed.size, perfect);
    assert.deepEqual(new CompactRange().root(), EMPTY_ROOT);
  });

  it('rebuilds from the subtrees of rangeSubtrees(0, size), and clones independently', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 60 }),
        async (size, more) => {
          const leaves = makeLeaves(size + more);
          const hashes = await leafReader(leaves)(rangeSubtrees(0, size));
          const range = CompactRange.fromSubtrees(size, hashes);
          assert.equal(range.size, size);
          assert.deepEqual(range.root(), rootFromLeaves(leaves.slice(0, size)));
          const copy = range.clone();
          for (const leaf of leaves.slice(size)) range.append(leaf);
          assert.deepEqual(range.root(), rootFromLeaves(leaves));
          assert.equal(copy.size, size);
          assert.deepEqual(copy.root(), rootFromLeaves(leaves.slice(0, size)));
        },
      ),
    );
  });

  it('appends whole subtrees as the leaves would (reader-thread chunks of verify)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 300 }),
        async (chunkLevel, size) => {
          const leaves = makeLeaves(size);
          const chunk = 2 ** chunkLevel;
          const byLeaf = new CompactRange();
          const byChunk = new CompactRange();
          const leafNodes = new Set<string>();
          const chunkNodes = new Set<string>();
          for (const [i, leaf] of leaves.entries()) {
            for (const n of byLeaf.append(leaf))
              if (n.level > chunkLevel) leafNodes.add(`${n.level}/${n.index}`);
            if ((i + 1) % chunk !== 0 && i + 1 < size) continue;
            // A chunk ends here: append its subtrees, as a compact range of its own leaves.
            const start = Math.floor(i / chunk) * chunk;
            const hashes = await leafReader(leaves)(rangeSubtrees(start, i + 1));
            for (const [k, id] of rangeSubtrees(start, i + 1).entries()) {
              for (const n of byChunk.appendSubtree(id.level, hashes[k]!))
                chunkNodes.add(`${n.level}/${n.index}`);
            }
            assert.deepEqual(byChunk.root(), byLeaf.root(), `at size ${i + 1}`);
            assert.deepEqual(
              byChunk.subtrees().map((n) => n.hash),
              byLeaf.subtrees().map((n) => n.hash),
            );
          }
          assert.deepEqual([...chunkNodes].sort(), [...leafNodes].sort());
        },
      ),
    );
    const range = new CompactRange();
    range.append(Buffer.alloc(32));
    assert.throws(() => range.appendSubtree(1, Buffer.alloc(32)), /cannot follow a tree of 1 leaves/);
  });

  it('rejects a wrong number or size of hashes', () => {
    assert.throws(() => CompactRange.fromSubtrees(3, [Buffer.alloc(32)]), /has 2 subtrees, got 1/);
    assert.throws(() => CompactRange.fromSubtrees(1, [Buffer.alloc(31)]), RangeError);
    assert.throws(() => new CompactRange().append(Buffer.alloc(33)), RangeError);
  });
});

/** A fake ledger store: leaves at tile level 0 and the level-8k subtree hashes CompactRange reports. */
function storeFrom(leaves: readonly Buffer[]): {
  store: Buffer[][];
  readStored: ReadStored;
  calls: number[][];
} {
  const store: Buffer[][] = [[...leaves]];
  const range = new CompactRange();
  for (const leaf of leaves) {
    for (const node of range.append(leaf)) {
      if (!storedLevel(node.level)) continue;
      store[node.level / 8] ??= [];
      assert.equal(store[node.level / 8]!.length, node.index, 'subtrees complete in index order');
      store[node.level / 8]!.push(node.hash);
    }
  }
  const calls: number[][] = [];
  const readStored: ReadStored = async (tileLevel, from, to) => {
    calls.push([tileLevel, from, to]);
    const row = store[tileLevel] ?? [];
    assert.ok(to <= row.length, `read beyond stored hashes at tile level ${tileLevel}`);
    return row.slice(from, to);
  };
  return { store, readStored, calls };
}

describe('readNodesFrom over stored levels', () => {
  it('gives the same proofs as reading leaves only, in small random trees', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1200 }), fc.nat(), fc.nat(), async (size, a, b) => {
        const leaves = makeLeaves(size);
        const { readStored } = storeFrom(leaves);
        const stored = readNodesFrom(readStored);
        const reference = leafReader(leaves);
        const [index, m] = [a % size, (b % size) + 1];
        assert.deepEqual(
          await proveInclusion(index, size, stored),
          await proveInclusion(index, size, reference),
        );
        assert.deepEqual(await proveConsistency(m, size, stored), await proveConsistency(m, size, reference));
        assert.deepEqual(await rootAt(size, stored), await rootAt(size, reference));
      }),
      { numRuns: 40 },
    );
  });

  it('gives the same proofs in a tree of 70,000, using level-1 and level-2 tile hashes', async () => {
    const size = 70_000;
    const leaves = makeLeaves(size);
    const { store, readStored, calls } = storeFrom(leaves);
    assert.deepEqual(
      store.map((row) => row.length),
      [70_000, 273, 1],
    );
    const stored = readNodesFrom(readStored);
    const reference = leafReader(leaves);
    const root = rootFromLeaves(leaves);
    assert.deepEqual(await rootAt(size, stored), root);
    const cases = [0, 255, 256, 65_535, 65_536, 69_999, 12_345, 40_000];
    for (const index of cases) {
      const proof = await proveInclusion(index, size, stored);
      assert.deepEqual(proof, await proveInclusion(index, size, reference), `inclusion of ${index}`);
      verifyInclusion(leaves[index]!, index, size, proof, root);
      const m = index + 1;
      const consistency = await proveConsistency(m, size, stored);
      assert.deepEqual(consistency, await proveConsistency(m, size, reference), `consistency from ${m}`);
      verifyConsistency(m, size, rootFromLeaves(leaves.slice(0, m)), root, consistency);
    }
    assert.ok(calls.some(([tileLevel]) => tileLevel === 1));
    assert.ok(calls.some(([tileLevel]) => tileLevel === 2));
  });

  it('hashes level 16 and up from a synthetic tile level 2, merging adjacent reads', async () => {
    const level2 = makeLeaves(8, 16);
    const calls: number[][] = [];
    const read = readNodesFrom(async (tileLevel, from, to) => {
      assert.equal(tileLevel, 2);
      calls.push([from, to]);
      return level2.slice(from, to);
    });
    const [h0, h1, h2, h3, h4, h5] = level2 as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
    const ids = [
      { level: 16, index: 5 },
      { level: 17, index: 1 },
      { level: 18, index: 0 },
    ];
    assert.deepEqual(await read(ids), [h5, nodeHash(h2, h3), nodeHash(nodeHash(h0, h1), nodeHash(h2, h3))]);
    assert.deepEqual(calls, [
      [0, 4],
      [5, 6],
    ]);
    calls.length = 0;
    assert.deepEqual(await read([...ids, { level: 16, index: 4 }]), [
      h5,
      nodeHash(h2, h3),
      nodeHash(nodeHash(h0, h1), nodeHash(h2, h3)),
      h4,
    ]);
    assert.deepEqual(calls, [[0, 6]]);
  });

  it('makes one read per node at most, and rejects short reads', async () => {
    const leaves = makeLeaves(1000);
    const { readStored, calls } = storeFrom(leaves);
    const ids = rangeSubtrees(0, 1000);
    await readNodesFrom(readStored)(ids);
    assert.ok(calls.length <= ids.length);
    const short = readNodesFrom(async (_, from, to) => leaves.slice(from, to - 1));
    await assert.rejects(short([{ level: 1, index: 0 }]), /did not return 2 32-byte hashes/);
  });

  it('stores leaves and every eighth level', () => {
    assert.deepEqual([0, 1, 7, 8, 9, 16, 24].map(storedLevel), [true, false, false, true, false, true, true]);
  });
});
