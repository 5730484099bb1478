import { entryHash } from './entry-hash.js';
import { nodeHash } from './merkle.js';
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
 * The chunks of `chunkLeaves` entries covering [0, size), in order, each with the checkpoint sizes
 * inside it; `checkpoints` are the stored checkpoint sizes, ascending.
 */
export function* chunkTasks(
  size: number,
  chunkLeaves: number,
  checkpoints: readonly number[],
): Generator<ChunkTask, undefined> {
  let cp = 0;
  for (let id = 0, from = 0; from < size; id++, from += chunkLeaves) {
    const to = Math.min(from + chunkLeaves, size);
    while (cp < checkpoints.length && (checkpoints[cp] ?? 0) <= from) cp++;
    const inside: number[] = [];
    for (let i = cp; i < checkpoints.length && (checkpoints[i] ?? 0) < to; i++)
      inside.push(checkpoints[i] ?? 0);
    yield { id, from, to, checkpoints: inside };
  }
  return undefined;
}

/**
 * Checks the stored leaves of one chunk exactly as `verifyLog` checks them one by one (each body
 * hashed and compared with its stored leaf hash, purged entries by their kept hash, no gaps), and
 * builds the chunk's part of the tree. `task.from` must be a multiple of the chunk's size, a power of
 * two, so that the chunk is a subtree of the log's tree. Stops at the first failing entry.
 */
export function verifyChunk(task: ChunkTask, rows: readonly ChunkRow[]): ChunkResult {
  const check = new ChunkCheck(task);
  for (const [seq, stored, body, epos, purgedAt] of rows) {
    if (!check.add(seq, stored, body, epos, purgedAt)) break;
  }
  return check.result();
}

/**
 * `verifyChunk` one row at a time, in index order, for rows that arrive one by one. It keeps no
 * reference to a row's buffers after `add` returns, so they may be reused.
 */
export class ChunkCheck {
  readonly #task: ChunkTask;
  // The chunk's compact range as a binary counter: `#stack` holds its subtree hashes left to right,
  // whose levels are the set bits of `#count` (the entries appended so far), highest first.
  readonly #stack: Buffer[] = [];
  #count = 0;
  readonly #events: ChunkEvent[] = [];
  #cp = 0;
  #expected: number;
  #purged = 0;
  #failure: ChunkResult['failure'];

  constructor(task: ChunkTask) {
    this.#task = task;
    this.#expected = task.from;
  }

  /**
   * Checks the next stored leaf: its index, leaf hash, event body (text or UTF-8 bytes), event pos and
   * purge time. False once the chunk has failed; later rows are then ignored.
   */
  add(
    seq: number,
    stored: Uint8Array | null,
    body: string | Uint8Array | null,
    epos: number | null,
    purgedAt: number | null,
  ): boolean {
    if (this.#failure !== undefined) return false;
    const index = Number(seq);
    if (index !== this.#expected) {
      return this.#fail({
        index: this.#expected,
        kind: 'missing-leaf',
        message: `entry ${this.#expected} is missing`,
      });
    }
    const storedHash =
      stored === null || Buffer.isBuffer(stored)
        ? stored
        : Buffer.from(stored.buffer, stored.byteOffset, stored.length);
    const hash = entryHash(index, body, storedHash, epos !== null && purgedAt !== null);
    if (!Buffer.isBuffer(hash)) return this.#fail(hash);
    if (body !== null) this.#append(hash);
    else {
      // A copy of the kept hash: the row's buffer may be reused once this returns.
      this.#append(Buffer.from(hash));
      this.#purged++;
    }
    this.#expected++;
    const { checkpoints, to } = this.#task;
    while (this.#cp < checkpoints.length && (checkpoints[this.#cp] ?? 0) <= this.#expected) {
      if (checkpoints[this.#cp] === this.#expected && this.#expected < to) {
        this.#events.push({ kind: 'checkpoint', size: this.#expected, hashes: [...this.#stack] });
      }
      this.#cp++;
    }
    return true;
  }

  /** What the chunk amounts to after the rows added (a missing leaf if they ended before `task.to`). */
  result(): ChunkResult {
    const { id, from, to } = this.#task;
    if (this.#failure === undefined && this.#expected < to) {
      this.#fail({
        index: this.#expected,
        kind: 'missing-leaf',
        message: `entry ${this.#expected} is missing`,
      });
    }
    const failure = this.#failure;
    return {
      id,
      from,
      to: this.#expected,
      purged: this.#purged,
      events: this.#events,
      subtrees: failure ? [] : subtreesOf(this.#stack, this.#count),
      ...(failure ? { failure } : {}),
    };
  }

  #fail(failure: NonNullable<ChunkResult['failure']>): false {
    this.#failure = failure;
    return false;
  }

  #append(leaf: Buffer): void {
    let hash = leaf;
    let level = 0;
    for (let c = this.#count; c % 2 === 1; c = (c - 1) / 2) {
      hash = nodeHash(this.#stack.pop() as Buffer, hash);
      level++;
      if (level % TILE_HEIGHT === 0) {
        const index = (this.#task.from + this.#count + 1) / 2 ** level - 1;
        this.#events.push({ kind: 'tile', level, index, hash });
      }
    }
    this.#stack.push(hash);
    this.#count++;
  }
}

/** The subtrees of a compact range held as a binary counter (see ChunkCheck), with their levels. */
function subtreesOf(stack: readonly Buffer[], count: number): { level: number; hash: Uint8Array }[] {
  const out: { level: number; hash: Uint8Array }[] = [];
  let i = 0;
  for (let level = 52; level >= 0; level--) {
    if (Math.floor(count / 2 ** level) % 2 === 1) out.push({ level, hash: stack[i++] as Buffer });
  }
  return out;
}
