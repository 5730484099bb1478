/**
 * The query of the stored leaves [from, to) with their event rows, in index order, as every verifier
 * reads them: seq, leaf hash, body, event pos (null: the event row is gone) and purged_at. `from` and
 * `to` are the bounds' placeholders (`$1`, `$2` or `?`) or, for COPY, which takes no parameters, the
 * checked integers themselves.
 */
export function leafRowsSql(from: string, to: string): string {
  return `SELECT l.seq, l.hash, e.body, e.pos AS epos, e.purged_at FROM ledger_leaves l
    LEFT JOIN ledger_events e ON e.pos = l.pos WHERE l.seq >= ${from} AND l.seq < ${to} ORDER BY l.seq`;
}
