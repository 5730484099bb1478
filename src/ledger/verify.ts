import { openCheckpoint } from './checkpoint.js';
import { entryHash } from './entry-hash.js';
import { CompactRange, hashFold, type SubtreeHash } from './merkle.js';
import type { NoteKey } from './note.js';
import { rootFromRange } from './range-root.js';
import { TILE_HEIGHT } from './tiles.js';
import type { ChunkResult } from './verify-chunk.js';

/** One stored entry as the verifier reads it, in index order. A purged entry has no body but keeps its hash. */
export interface VerifyLeaf {
  readonly index: number;
  readonly body: string | null;
  readonly storedHash: Buffer | null;
  /** True when a missing body is an error: the event row is gone or its body was never purged. */
  readonly bodyExpected: boolean;
  /** True for an event row that is neither integrated nor queued (live store only). */
  readonly noLeaf?: boolean;
}

/** What went wrong, at the first index it affects. */
export type FailureKind =
  | 'missing-leaf'
  | 'missing-body'
  | 'leaf-mismatch'
  | 'unexpected-leaf'
  | 'truncated'
  | 'tile-hash-mismatch'
  | 'checkpoint-signature'
  | 'checkpoint-size'
  | 'checkpoint-root';

export type VerifyResult =
  | { readonly ok: true; readonly size: number; readonly checkpoints: number; readonly purged: number }
  | { readonly ok: false; readonly index: number; readonly kind: FailureKind; readonly message: string };

export interface VerifySource {
  readonly key: NoteKey;
  /** First index of the entries (0 for the whole log; more for a partial export). */
  readonly from: number;
  /** End of the entries, exclusive, for a partial export; by default the size of the last checkpoint. */
  readonly to?: number;
  /** The entries in index order, one at a time or in pages (arrays), which saves a step per entry. */
  readonly leaves: AsyncIterable<VerifyLeaf | readonly VerifyLeaf[]>;
  /**
   * Whole log only: leading entries already checked in chunks (`verifyChunk`, in reader threads), in
   * order from index 0; `leaves` then continue where the last chunk ended.
   */
  readonly chunks?: AsyncIterable<ChunkResult>;
  /** Signed checkpoints, by ascending size as stored. */
  readonly checkpoints: readonly { readonly size: number; readonly note: string }[];
  /** Stored tile-level subtree hashes to cross-check (live store only), keyed `${tileLevel}/${idx}`. */
  readonly tileHashes?: ReadonlyMap<string, Buffer>;
  /** For a partial export: hashes of the subtrees outside [from, to) (see `outsideNodes`). */
  readonly outside?: readonly Buffer[];
  readonly onProgress?: (done: number) => void;
}

/**
 * Recomputes every leaf from its body (a purged one from its kept hash), rebuilds the tree, and checks
 * every checkpoint's signature and root against it; consecutive checkpoints are consistent exactly
 * when each matches the one rebuilt tree. Names the first index that fails.
 */
export async function verifyLog(src: VerifySource): Promise<VerifyResult> {
  const checkpoints: { size: number; root: Buffer; prev: number }[] = [];
  for (const [i, cp] of src.checkpoints.entries()) {
    const prev = i === 0 ? 0 : (src.checkpoints[i - 1]?.size ?? 0);
    try {
      const parsed = openCheckpoint(cp.note, src.key, src.key.name);
      if (parsed.size !== cp.size) {
        return fail(
          prev,
          'checkpoint-size',
          `checkpoint stored for size ${cp.size} says size ${parsed.size}`,
        );
      }
      checkpoints.push({ size: parsed.size, root: parsed.root, prev });
    } catch (err) {
      return fail(prev, 'checkpoint-signature', `checkpoint of size ${cp.size}: ${(err as Error).message}`);
    }
  }
  const last = checkpoints[checkpoints.length - 1];
  const whole = src.from === 0 && src.outside === undefined;
  const range = new CompactRange();
  const partialLeaves: Buffer[] = [];
  let expected = src.from;
  let purged = 0;
  let nextCp = 0;
  const checkRootsUpTo = (
    size: number,
    root: () => Buffer = () => range.root(),
  ): VerifyResult | undefined => {
    for (; nextCp < checkpoints.length && (checkpoints[nextCp]?.size ?? 0) <= size; nextCp++) {
      const cp = checkpoints[nextCp];
      if (cp === undefined || cp.size !== size || !whole) continue;
      if (!root().equals(cp.root)) {
        return fail(
          cp.prev,
          'checkpoint-root',
          `checkpoint of size ${cp.size} does not match the stored entries; first unconfirmed index ${cp.prev}`,
        );
      }
    }
    return undefined;
  };
  const checkTiles = (nodes: readonly SubtreeHash[]): VerifyResult | undefined => {
    for (const node of nodes) {
      if (src.tileHashes === undefined || node.level % TILE_HEIGHT !== 0) continue;
      const stored = src.tileHashes.get(`${node.level / TILE_HEIGHT}/${node.index}`);
      if (stored === undefined || !stored.equals(node.hash)) {
        const first = node.index * 2 ** node.level;
        return fail(
          first,
          'tile-hash-mismatch',
          `stored subtree hash at level ${node.level} index ${node.index} is ${stored ? 'wrong' : 'missing'}`,
        );
      }
    }
    return undefined;
  };
  // A chunk replays, in index order, what `step` would have met on its entries: the tile-level subtrees
  // they completed, the checkpoints inside the chunk (root = the tree before the chunk, then the chunk's
  // own subtrees at that size), and the first entry that failed. Its subtrees then join the tree.
  const applyChunk = (chunk: ChunkResult): VerifyResult | undefined => {
    if (chunk.from !== expected) throw new Error(`chunk from ${chunk.from} arrived at ${expected}`);
    for (const ev of chunk.events) {
      const bad =
        ev.kind === 'tile'
          ? checkTiles([{ level: ev.level, index: ev.index, hash: Buffer.from(ev.hash) }])
          : checkRootsUpTo(ev.size, () => hashFold([...range.subtrees().map((n) => n.hash), ...ev.hashes]));
      if (bad) return bad;
    }
    if (chunk.failure !== undefined) {
      const { index, kind, message } = chunk.failure;
      return fail(index, kind, message);
    }
    for (const node of chunk.subtrees) {
      const bad = checkTiles(range.appendSubtree(node.level, Buffer.from(node.hash)));
      if (bad) return bad;
    }
    const bad = checkRootsUpTo(range.size);
    if (bad) return bad;
    purged += chunk.purged;
    const before = expected;
    expected = chunk.to;
    for (let m = (Math.floor(before / 100_000) + 1) * 100_000; m <= expected; m += 100_000)
      src.onProgress?.(m);
    return undefined;
  };
  const step = (leaf: VerifyLeaf): VerifyResult | undefined => {
    if (leaf.index !== expected) {
      return leaf.index > expected
        ? fail(expected, 'missing-leaf', `entry ${expected} is missing`)
        : fail(leaf.index, 'unexpected-leaf', `entry ${leaf.index} appears twice or out of order`);
    }
    if (leaf.noLeaf) {
      return fail(
        leaf.index,
        'missing-leaf',
        `entry ${leaf.index}: an event row is neither integrated (no leaf hash) nor queued`,
      );
    }
    const hash = entryHash(leaf.index, leaf.body, leaf.storedHash, !leaf.bodyExpected);
    if (!Buffer.isBuffer(hash)) return fail(hash.index, hash.kind, hash.message);
    // A purged entry's kept hash belongs to the source; a body's hash is this function's own.
    const owned = leaf.body !== null;
    if (!owned) purged++;
    if (whole) {
      const badTile = checkTiles(owned ? range.appendOwned(hash) : range.append(hash));
      if (badTile) return badTile;
      const bad = checkRootsUpTo(range.size);
      if (bad) return bad;
    } else partialLeaves.push(hash);
    expected++;
    if (expected % 100_000 === 0) src.onProgress?.(expected);
    return undefined;
  };
  if (src.chunks !== undefined) {
    if (!whole) throw new Error('chunks verify a whole log only');
    for await (const chunk of src.chunks) {
      const bad = applyChunk(chunk);
      if (bad) return bad;
    }
  }
  for await (const item of src.leaves) {
    if (Array.isArray(item)) {
      for (const leaf of item as readonly VerifyLeaf[]) {
        const bad = step(leaf);
        if (bad) return bad;
      }
    } else {
      const bad = step(item as VerifyLeaf);
      if (bad) return bad;
    }
  }
  const size = last?.size ?? 0;
  const end = src.to ?? size;
  if (expected < end) {
    const claim = src.to === undefined ? 'a checkpoint covers' : 'the export range ends at';
    return fail(expected, 'truncated', `the log ends at ${expected} entries but ${claim} ${end}`);
  }
  if (whole && expected > size) {
    return fail(size, 'unexpected-leaf', `entries from ${size} on are not covered by any signed checkpoint`);
  }
  if (!whole && last !== undefined) {
    let root: Buffer;
    try {
      root = rootFromRange(src.from, expected, last.size, partialLeaves, src.outside ?? []);
    } catch (err) {
      return fail(src.from, 'checkpoint-root', (err as Error).message);
    }
    if (!root.equals(last.root)) {
      return fail(
        src.from,
        'checkpoint-root',
        `the entries from ${src.from} do not match the checkpoint of size ${last.size}`,
      );
    }
  }
  src.onProgress?.(expected);
  return { ok: true, size: expected, checkpoints: checkpoints.length, purged };
}

function fail(index: number, kind: FailureKind, message: string): VerifyResult {
  return Object.freeze({ ok: false, index, kind, message });
}
