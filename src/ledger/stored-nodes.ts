import { type NodeId, nodeHash, type ReadNodes } from './merkle.js';
import { TILE_HEIGHT } from './tiles.js';

/** Reads the stored hashes [from, to) at a tile level (tile level k holds tree level 8k; 0 = leaf hashes). */
export type ReadStored = (tileLevel: number, from: number, to: number) => Promise<Buffer[]>;

/** Whether the ledger stores the hashes of this tree level: the leaves and every TILE_HEIGHT-th level above. */
export function storedLevel(level: number): boolean {
  return level % TILE_HEIGHT === 0;
}

interface Span {
  tileLevel: number;
  from: number;
  to: number;
}

/** Hashes 2^d perfect-subtree hashes up to their common root. */
function hashUp(hashes: Buffer[]): Buffer {
  let row = hashes;
  while (row.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!;
}

/**
 * A ReadNodes over a store holding only the stored levels: a node at tree level ℓ is hashed up from the
 * 2^(ℓ−8k) hashes beneath it at tile level k = ⌊ℓ/8⌋. Overlapping or adjacent spans share one read.
 */
export function readNodesFrom(readStored: ReadStored): ReadNodes {
  return async (ids: readonly NodeId[]) => {
    const spans: Span[] = ids.map(({ level, index }) => {
      const tileLevel = Math.floor(level / TILE_HEIGHT);
      const width = 2 ** (level - tileLevel * TILE_HEIGHT);
      return { tileLevel, from: index * width, to: (index + 1) * width };
    });
    const order = spans.map((_, i) => i);
    order.sort((a, b) => spans[a]!.tileLevel - spans[b]!.tileLevel || spans[a]!.from - spans[b]!.from);
    const reads: Span[] = [];
    const readOf: number[] = [];
    for (const i of order) {
      const span = spans[i]!;
      const last = reads.at(-1);
      if (last?.tileLevel === span.tileLevel && span.from <= last.to) last.to = Math.max(last.to, span.to);
      else reads.push({ ...span });
      readOf[i] = reads.length - 1;
    }
    const results = await Promise.all(
      reads.map(async ({ tileLevel, from, to }) => {
        const hashes = await readStored(tileLevel, from, to);
        if (hashes.length !== to - from || hashes.some((h) => h.length !== 32)) {
          throw new Error(
            `stored read at tile level ${tileLevel} [${from}, ${to}) did not return ${to - from} 32-byte hashes`,
          );
        }
        return hashes;
      }),
    );
    return spans.map((span, i) => {
      const read = reads[readOf[i]!]!;
      return hashUp(results[readOf[i]!]!.slice(span.from - read.from, span.to - read.from));
    });
  };
}
