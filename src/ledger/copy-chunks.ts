import type { ClientBase } from 'pg';
import { copyRows } from '../store/index.js';
import { leafRowsSql } from './leaf-rows.js';
import { ChunkCheck, type ChunkResult, type ChunkTask } from './verify-chunk.js';

/**
 * Checks the consecutive chunks `tasks` as `verifyChunk` does, reading their leaves on PostgreSQL with
 * one `COPY ... (FORMAT binary)` over `client` (in the caller's transaction) and checking each row as
 * it arrives: parsing costs a fraction of what node-postgres spends on the same rows as query results,
 * bodies are hashed as the UTF-8 bytes they arrive as, and the hashing overlaps the server's work.
 */
export async function checkChunksByCopy(
  client: ClientBase,
  tasks: readonly ChunkTask[],
): Promise<ChunkResult[]> {
  const first = tasks[0];
  const last = tasks[tasks.length - 1];
  if (first === undefined || last === undefined) return [];
  // COPY takes no bound parameters; both bounds are checked integers.
  if (!Number.isSafeInteger(first.from) || !Number.isSafeInteger(last.to)) {
    throw new RangeError(`chunk bounds must be safe integers, got ${first.from} and ${last.to}`);
  }
  const checks = tasks.map((task) => new ChunkCheck(task));
  let t = 0;
  await copyRows(client, leafRowsSql(String(first.from), String(last.to)), 5, (row) => {
    const seq = row.int8();
    if (seq === null) throw new Error('a leaf without a sequence number');
    // Rows come in index order: each goes to the chunk that holds its index.
    while (seq >= (tasks[t]?.to ?? Number.POSITIVE_INFINITY)) t++;
    checks[t]?.add(seq, row.bytes(), row.bytes(), row.int8(), row.int8());
  });
  return checks.map((check) => check.result());
}
