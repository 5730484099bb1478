import { hashFold, type NodeId, nodeHash, rangeSubtrees } from './merkle.js';

/**
 * The perfect subtrees lying wholly outside leaves [from, to) that, with the leaves inside, give the
 * root of the tree of `size`: what a partial export carries so it can be checked against a checkpoint.
 */
export function outsideNodes(from: number, to: number, size: number): NodeId[] {
  const out: NodeId[] = [];
  const visit = (n: NodeId): void => {
    const lo = n.index * 2 ** n.level;
    const hi = Math.min(lo + 2 ** n.level, size);
    if (hi <= from || lo >= to) out.push(n);
    else if (lo < from || hi > to) {
      visit({ level: n.level - 1, index: n.index * 2 });
      visit({ level: n.level - 1, index: n.index * 2 + 1 });
    }
  };
  for (const n of rangeSubtrees(0, size)) visit(n);
  return out;
}

/** The root of the tree of `size` from the leaf hashes of [from, to) and `outsideNodes` hashes in order. */
export function rootFromRange(
  from: number,
  to: number,
  size: number,
  leaves: readonly Buffer[],
  outside: readonly Buffer[],
): Buffer {
  let next = 0;
  const hashOf = (n: NodeId): Buffer => {
    const lo = n.index * 2 ** n.level;
    const hi = Math.min(lo + 2 ** n.level, size);
    if (hi <= from || lo >= to) {
      const h = outside[next++];
      if (h === undefined) throw new Error('the export holds too few outside hashes');
      return h;
    }
    if (n.level === 0) return leaves[lo - from] as Buffer;
    return nodeHash(
      hashOf({ level: n.level - 1, index: n.index * 2 }),
      hashOf({ level: n.level - 1, index: n.index * 2 + 1 }),
    );
  };
  const root = hashFold(rangeSubtrees(0, size).map(hashOf));
  if (next !== outside.length) throw new Error('the export holds more outside hashes than its range needs');
  return root;
}
