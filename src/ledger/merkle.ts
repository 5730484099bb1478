import { hash as oneShot } from 'node:crypto';
import { constantTimeEqual, sha256 } from '../core/hash.js';

// RFC 9162 §2.1 Merkle tree math over SHA-256. Tree positions are JavaScript numbers, so sizes and
// indices are limited to safe integers (2^53 − 1 leaves); bit operations use arithmetic, not `>>`.

/** Bytes in a SHA-256 hash, leaf or node. */
export const HASH_SIZE = 32;
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** A proof, root or claimed position that does not check out; the message says which check failed. */
export class ProofError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProofError';
  }
}

/** The root of the empty tree, SHA-256(""). Shared: copy it before mutating. */
export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

/**
 * SHA-256 with node:crypto's one-shot hash. Asked for a Buffer, it gives each digest a backing store of
 * its own, which costs more than hashing a leaf; a 'binary' (latin1) string copied into a pooled Buffer
 * costs about half as much.
 */
function digest(data: Uint8Array | string): Buffer {
  return Buffer.from(oneShot('sha256', data, 'binary'), 'latin1');
}

// Reused input of leafHash and leafHashOfText: 0x00 ‖ data, for texts of up to 64 KiB (an event's limit).
const leafInput = Buffer.alloc(1 + 3 * 65_536, 0x00);

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Buffer {
  if (data.length >= leafInput.length) return sha256(Buffer.concat([LEAF_PREFIX, data]));
  // Copied behind the prefix in the reused buffer: cheaper than a new buffer per call.
  leafInput.set(data, 1);
  return digest(new Uint8Array(leafInput.buffer, leafInput.byteOffset, data.length + 1));
}

/** RFC 9162 leaf hash of UTF-8 text: SHA-256(0x00 ‖ UTF-8(text)), without a Buffer or string per call. */
export function leafHashOfText(text: string): Buffer {
  // node:crypto's one-shot hash skips the Hash object. The text is encoded into a reused buffer, which
  // costs less than hashing `\0${text}` (a new string, flattened, then encoded); U+0000 is the byte 0x00.
  if (text.length > 65_536) return digest(`\0${text}`);
  const n = leafInput.write(text, 1, 'utf8');
  return digest(new Uint8Array(leafInput.buffer, leafInput.byteOffset, n + 1));
}

// Reused input of nodeHash: 0x01 ‖ left ‖ right (node:crypto copies it before returning).
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return sha256(Buffer.concat([NODE_PREFIX, left, right]));
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return digest(nodeInput);
}

const NONE: SubtreeHash[] = [];
Object.freeze(NONE);

/** The perfect subtree covering leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A perfect subtree and its hash. */
export interface SubtreeHash extends NodeId {
  readonly hash: Buffer;
}

/** Fetches the hashes of the given subtrees, in the same order. */
export type ReadNodes = (ids: readonly NodeId[]) => Promise<Buffer[]>;

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function checkCount(n: number, name: string): void {
  if (!isCount(n)) throw new RangeError(`${name} must be a non-negative safe integer, got ${n}`);
}

function checkHash(hash: Uint8Array, name: string): void {
  if (hash.length !== HASH_SIZE)
    throw new RangeError(`${name} must be ${HASH_SIZE} bytes, got ${hash.length}`);
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/** The largest power of two strictly below n (n ≥ 2): RFC 9162's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Splits leaves [lo, hi) into maximal aligned perfect subtrees, left to right. When lo is a multiple of a
 * power of two ≥ hi − lo (every range in a proof, and [0, n)), hashFold of their hashes is MTH(D[lo:hi]).
 */
export function rangeSubtrees(lo: number, hi: number): NodeId[] {
  checkCount(lo, 'lo');
  checkCount(hi, 'hi');
  if (lo > hi) throw new RangeError(`empty range: lo ${lo} > hi ${hi}`);
  const ids: NodeId[] = [];
  while (lo < hi) {
    let level = 0;
    let width = 1;
    while (lo % (width * 2) === 0 && lo + width * 2 <= hi) {
      width *= 2;
      level++;
    }
    ids.push({ level, index: lo / width });
    lo += width;
  }
  return ids;
}

/** Right fold of subtree hashes (h = last; then h = nodeHash(prev, h)): the MTH of a range from its subtrees. */
export function hashFold(hashes: readonly Uint8Array[]): Buffer {
  const last = hashes.at(-1);
  if (last === undefined) throw new RangeError('hashFold needs at least one hash');
  let h: Buffer = Buffer.from(last);
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i]!, h);
  return h;
}

/** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in a tree of `size`, as leaf ranges, leaf's sibling first. */
export function inclusionRanges(index: number, size: number): Array<[number, number]> {
  checkCount(index, 'index');
  checkCount(size, 'size');
  if (index >= size) throw new RangeError(`index ${index} is beyond tree size ${size}`);
  const ranges: Array<[number, number]> = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
    }
  }
  return ranges.reverse();
}

/** RFC 9162 §2.1.4.1 consistency proof between tree sizes m and n (0 < m ≤ n), as leaf ranges in proof order. */
export function consistencyRanges(m: number, n: number): Array<[number, number]> {
  checkCount(m, 'old size');
  checkCount(n, 'new size');
  if (m === 0 || m > n) throw new RangeError(`consistency needs 0 < old size ≤ new size, got ${m} and ${n}`);
  const ranges: Array<[number, number]> = [];
  let lo = 0;
  let hi = n;
  let prefix = true; // SUBPROOF's b: [lo, hi) still starts at leaf 0, so the old root is known to the verifier
  while (m < hi) {
    const k = splitPoint(hi - lo);
    if (m - lo <= k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
      prefix = false;
    }
  }
  if (!prefix) ranges.push([lo, hi]);
  return ranges.reverse();
}

const nodeKey = (id: NodeId): string => `${id.level}/${id.index}`;

/** The MTH of each range, from one batched `read` of their deduplicated subtrees. */
async function hashRanges(
  ranges: ReadonlyArray<readonly [number, number]>,
  read: ReadNodes,
): Promise<Buffer[]> {
  if (ranges.length === 0) return [];
  const subtrees = ranges.map(([lo, hi]) => rangeSubtrees(lo, hi));
  const unique = new Map<string, NodeId>();
  for (const id of subtrees.flat()) unique.set(nodeKey(id), id);
  const ids = [...unique.values()];
  const hashes = await read(ids);
  if (hashes.length !== ids.length)
    throw new Error(`read ${hashes.length} node hashes for ${ids.length} nodes`);
  const byKey = new Map<string, Buffer>();
  ids.forEach((id, i) => {
    const hash = hashes[i]!;
    checkHash(hash, `node ${nodeKey(id)}`);
    byKey.set(nodeKey(id), hash);
  });
  return subtrees.map((list) => hashFold(list.map((id) => byKey.get(nodeKey(id))!)));
}

/** RFC 9162 inclusion proof for leaf `index` in the tree of `size` leaves. */
export async function proveInclusion(index: number, size: number, read: ReadNodes): Promise<Buffer[]> {
  return hashRanges(inclusionRanges(index, size), read);
}

/** RFC 9162 consistency proof from the tree of m leaves to the tree of n leaves (0 < m ≤ n). */
export async function proveConsistency(m: number, n: number, read: ReadNodes): Promise<Buffer[]> {
  return hashRanges(consistencyRanges(m, n), read);
}

/** The root of the tree of `size` leaves. */
export async function rootAt(size: number, read: ReadNodes): Promise<Buffer> {
  checkCount(size, 'size');
  if (size === 0) return Buffer.from(EMPTY_ROOT);
  const [root] = await hashRanges([[0, size]], read);
  return root!;
}

function checkProof(proof: readonly Uint8Array[], want: number): void {
  if (proof.length !== want)
    throw new ProofError(`wrong proof size: got ${proof.length} hashes, want ${want}`);
  proof.forEach((p, i) => {
    if (p.length !== HASH_SIZE) throw new ProofError(`proof[${i}] is ${p.length} bytes, not ${HASH_SIZE}`);
  });
}

/**
 * RFC 9162 §2.1.3.2: checks that `leaf` (a leaf hash) is at `index` in the tree of `size` with this root.
 * Throws ProofError on failure.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  if (!isCount(index) || !isCount(size)) throw new ProofError(`bad position: index ${index}, size ${size}`);
  if (index >= size) throw new ProofError(`index beyond size: index ${index}, size ${size}`);
  if (leaf.length !== HASH_SIZE) throw new ProofError(`leaf hash is ${leaf.length} bytes, not ${HASH_SIZE}`);
  // With the expected length checked up front, sn reaches 0 exactly at the last proof hash.
  checkProof(proof, inclusionRanges(index, size).length);
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (!constantTimeEqual(r, root))
    throw new ProofError('root mismatch: the proof does not lead to the given root');
}

/**
 * RFC 9162 §2.1.4.2: checks that the tree of n leaves with `newRoot` extends the tree of m leaves with `oldRoot`.
 * Throws ProofError on failure.
 */
export function verifyConsistency(
  m: number,
  n: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  if (!isCount(m) || !isCount(n)) throw new ProofError(`bad sizes: old ${m}, new ${n}`);
  if (m === 0)
    throw new ProofError('old size is 0: every tree extends the empty tree, there is nothing to prove');
  if (m > n) throw new ProofError(`old size beyond new size: ${m} > ${n}`);
  checkProof(proof, consistencyRanges(m, n).length);
  if (m === n) {
    if (!constantTimeEqual(oldRoot, newRoot))
      throw new ProofError('root mismatch: equal sizes, different roots');
    return;
  }
  // When m is a power of two the old tree is a single subtree of the new one and the proof omits its root.
  const path = splitPoint(m + 1) === m ? [oldRoot, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (!constantTimeEqual(fr, oldRoot))
    throw new ProofError('old root mismatch: the proof does not lead to it');
  if (!constantTimeEqual(sr, newRoot))
    throw new ProofError('new root mismatch: the proof does not lead to it');
}

/**
 * The right edge of a growing tree: the hashes of rangeSubtrees(0, size), as in transparency-dev/merkle
 * compact ranges. Enough to append leaves and compute the root without the rest of the tree.
 */
export class CompactRange {
  #size = 0;
  #nodes: SubtreeHash[] = [];

  /** Rebuilds the range of a tree of `size` leaves from the hashes of rangeSubtrees(0, size), left to right. */
  static fromSubtrees(size: number, hashes: readonly Uint8Array[]): CompactRange {
    const ids = rangeSubtrees(0, size);
    if (hashes.length !== ids.length) {
      throw new RangeError(
        `a tree of ${size} leaves has ${ids.length} subtrees, got ${hashes.length} hashes`,
      );
    }
    const range = new CompactRange();
    range.#size = size;
    range.#nodes = ids.map((id, i) => {
      const hash = hashes[i]!;
      checkHash(hash, `subtree ${nodeKey(id)}`);
      return { ...id, hash: Buffer.from(hash) };
    });
    return range;
  }

  /** The number of leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /** An independent copy, to append to tentatively. */
  clone(): CompactRange {
    const copy = new CompactRange();
    copy.#size = this.#size;
    copy.#nodes = [...this.#nodes];
    return copy;
  }

  /**
   * Appends the hash of a whole perfect subtree of 2^level leaves (a leaf for level 0), which must start
   * at the current size and be no larger than the last subtree held; returns the subtrees above `level`
   * this completed, lowest first. `hash` is owned, as in `appendOwned`.
   */
  appendSubtree(level: number, hash: Buffer): SubtreeHash[] {
    const last = this.#nodes.at(-1);
    if (this.#size % 2 ** level !== 0 || (last !== undefined && last.level < level)) {
      throw new RangeError(`a subtree of level ${level} cannot follow a tree of ${this.#size} leaves`);
    }
    checkHash(hash, 'subtree hash');
    const completed = this.#push({ level, index: this.#size / 2 ** level, hash });
    this.#size += 2 ** level;
    return completed;
  }

  /** The subtrees held, left to right (the hashes of rangeSubtrees(0, size)). Do not change them. */
  subtrees(): readonly SubtreeHash[] {
    return this.#nodes;
  }

  /** Appends a leaf hash; returns the perfect subtrees of level ≥ 1 this completed, lowest first. */
  append(leaf: Uint8Array): SubtreeHash[] {
    checkHash(leaf, 'leaf hash');
    return this.appendOwned(Buffer.from(leaf));
  }

  /** `append` for a 32-byte hash the caller hands over and never changes again (no defensive copy). */
  appendOwned(leaf: Buffer): SubtreeHash[] {
    const node: SubtreeHash = { level: 0, index: this.#size, hash: leaf };
    if (this.#size % 2 === 0) {
      this.#nodes.push(node);
      this.#size++;
      return NONE;
    }
    const completed = this.#push(node);
    this.#size++;
    return completed;
  }

  /** Holds `node` (the subtree starting at the current size), merged with the equal subtrees to its left; returns the merged ones. */
  #push(start: SubtreeHash): SubtreeHash[] {
    let node = start;
    const completed: SubtreeHash[] = [];
    for (let left = this.#nodes.at(-1); left?.level === node.level; left = this.#nodes.at(-1)) {
      this.#nodes.pop();
      node = { level: node.level + 1, index: left.index / 2, hash: nodeHash(left.hash, node.hash) };
      completed.push(node);
    }
    this.#nodes.push(node);
    return completed;
  }

  /** The RFC 9162 root of the tree so far. */
  root(): Buffer {
    return this.#nodes.length === 0 ? Buffer.from(EMPTY_ROOT) : hashFold(this.#nodes.map((n) => n.hash));
  }
}

/** The RFC 9162 root of a tree with these leaf hashes. */
export function rootFromLeaves(leafHashes: readonly Uint8Array[]): Buffer {
  const range = new CompactRange();
  for (const leaf of leafHashes) range.append(leaf);
  return range.root();
}
