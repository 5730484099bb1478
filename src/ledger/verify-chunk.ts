import { leafHashOfText, nodeHash } from './merkle.js';
import { TILE_HEIGHT } from './tiles.js';
import type { FailureKind } from './verify.js';

/** One stored leaf as a reader thread gets it: [seq, leaf hash, event body, event pos, purged_at]. */
export type ChunkRow = readonly [
  seq: number,
  hash: Uint8Array | null,
  body: string | null,
  epos: number | null,
  purgedAt: number | null,
];

/** Entries [from, to) of the log to check, with the checkpoint sizes strictly inside (from, to). */
export interface ChunkTask {
  readonly id: number;
  readonly from: number;
  readonly to: number;
  readonly checkpoints: readonly number[];
}

/** Something `verifyLog` must check, in index order, against what the main thread holds. */
export type ChunkEvent =
  /** A tile-level subtree (level a multiple of 8) that the chunk's entries completed. */
  | { readonly kind: 'tile'; readonly level: number; readonly index: number; readonly hash: Uint8Array }
  /** A checkpoint inside the chunk: its root is the tree before the chunk, then these subtrees of it. */
  | { readonly kind: 'checkpoint'; readonly size: number; readonly hashes: readonly Uint8Array[] };

/** What one chunk amounts to. `subtrees` (the chunk's compact range) join the tree unless it failed. */
export interface ChunkResult {
  readonly id: number;
  readonly from: number;
  readonly to: number;
  readonly purged: number;
  readonly events: readonly ChunkEvent[];
  readonly subtrees: readonly { readonly level: number; readonly hash: Uint8Array }[];
  readonly failure?: { readonly index: number; readonly kind: FailureKind; readonly message: string };
}

/**
 * Checks the stored leaves of one chunk exactly as `verifyLog` checks them one by one (each body
 * hashed and compared with its stored leaf hash, purged entries by their kept hash, no gaps), and
 * builds the chunk's part of the tree. `task.from` must be a multiple of the chunk's size, a power of
 * two, so that the chunk is a subtree of the log's tree. Stops at the first failing entry.
 */
export function verifyChunk(task: ChunkTask, rows: readonly ChunkRow[]): ChunkResult {
  const { id, from, to } = task;
  // The chunk's compact range as a binary counter: `stack` holds its subtree hashes left to right, whose
  // levels are the set bits of `count` (the entries appended so far), highest first.
  const stack: Buffer[] = [];
  let count = 0;
  const events: ChunkEvent[] = [];
  const append = (leaf: Buffer): void => {
    let hash = leaf;
    let level = 0;
    for (let c = count; c % 2 === 1; c = (c - 1) / 2) {
      hash = nodeHash(stack.pop() as Buffer, hash);
      level++;
      if (level % TILE_HEIGHT === 0) {
        events.push({ kind: 'tile', level, index: (from + count + 1) / 2 ** level - 1, hash });
      }
    }
    stack.push(hash);
    count++;
  };
  let cp = 0;
  let expected = from;
  let purged = 0;
  const result = (failure?: ChunkResult['failure']): ChunkResult => ({
    id,
    from,
    to: expected,
    purged,
    events,
    subtrees: failure ? [] : subtreesOf(stack, count),
    ...(failure ? { failure } : {}),
  });
  for (const [seq, stored, body, epos, purgedAt] of rows) {
    const index = Number(seq);
    if (index !== expected) {
      return result({ index: expected, kind: 'missing-leaf', message: `entry ${expected} is missing` });
    }
    const storedHash =
      stored === null || Buffer.isBuffer(stored)
        ? stored
        : Buffer.from(stored.buffer, stored.byteOffset, stored.length);
    if (body !== null) {
      const hash = leafHashOfText(body);
      if (storedHash !== null && !hash.equals(storedHash)) {
        return result({
          index,
          kind: 'leaf-mismatch',
          message: `entry ${index}: its body does not hash to its stored leaf hash`,
        });
      }
      append(hash);
    } else if (epos === null || purgedAt === null || storedHash === null) {
      return result({
        index,
        kind: 'missing-body',
        message: `entry ${index}: the event body is missing and was not purged`,
      });
    } else {
      if (storedHash.length !== 32) {
        throw new RangeError(`leaf hash must be 32 bytes, got ${storedHash.length}`);
      }
      append(storedHash);
      purged++;
    }
    expected++;
    while (cp < task.checkpoints.length && (task.checkpoints[cp] ?? 0) <= expected) {
      if (task.checkpoints[cp] === expected && expected < to) {
        events.push({ kind: 'checkpoint', size: expected, hashes: [...stack] });
      }
      cp++;
    }
  }
  if (expected < to) {
    return result({ index: expected, kind: 'missing-leaf', message: `entry ${expected} is missing` });
  }
  return result();
}

/** The subtrees of a compact range held as a binary counter (see verifyChunk), with their levels. */
function subtreesOf(stack: readonly Buffer[], count: number): { level: number; hash: Uint8Array }[] {
  const out: { level: number; hash: Uint8Array }[] = [];
  let i = 0;
  for (let level = 52; level >= 0; level--) {
    if (Math.floor(count / 2 ** level) % 2 === 1) out.push({ level, hash: stack[i++] as Buffer });
  }
  return out;
}
