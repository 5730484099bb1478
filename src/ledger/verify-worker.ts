// A reader thread of `verifyStore` on SQLite: reads chunks of stored leaves with their event bodies over
// its own connection, checks them with `verifyChunk` and posts back what the main thread needs to finish
// the tree. Leaves and checkpoints are insert-only, so a later snapshot holds the same entries below the
// size the main thread read (a body purged meanwhile is checked by its kept hash, as retention allows).
import { parentPort, workerData } from 'node:worker_threads';
import { leafRowsSql } from './leaf-rows.js';
import type { ChunkResult, ChunkRow, ChunkTask } from './verify-chunk.js';
import { verifyChunk } from './verify-chunk.js';

/** Where the reader thread finds the store. */
export interface ReaderSource {
  readonly path: string;
}

async function openReader(src: ReaderSource): Promise<(from: number, to: number) => ChunkRow[]> {
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(src.path, { readonly: true, fileMustExist: true });
  // Pages read through a memory map rather than a system call each.
  db.pragma('mmap_size = 1073741824');
  const statement = db.prepare(leafRowsSql('?', '?')).raw(true);
  return (from, to) => statement.all(from, to) as ChunkRow[];
}

const port = parentPort;
if (port === null) throw new Error('verify-worker runs as a worker thread');
const ready = openReader(workerData as ReaderSource);
ready.then(
  () => port.postMessage({ ready: true }),
  () => port.postMessage({ ready: true }),
);
// Tasks are answered in the order they came.
let queue: Promise<void> = Promise.resolve();
port.on('message', (task: ChunkTask) => {
  queue = queue.then(async () => {
    try {
      const read = await ready;
      port.postMessage({ ok: true, result: detached(verifyChunk(task, read(task.from, task.to))) });
    } catch (err) {
      port.postMessage({ ok: false, id: task.id, message: (err as Error).message ?? String(err) });
    }
  });
});

/**
 * The result with each hash copied into memory of its own: a hash is a view into Node's shared 8 KiB
 * buffer pool, and posting it would copy its whole slab to the main thread.
 */
function detached(r: ChunkResult): ChunkResult {
  return {
    ...r,
    events: r.events.map((e) =>
      e.kind === 'tile'
        ? { ...e, hash: new Uint8Array(e.hash) }
        : { ...e, hashes: e.hashes.map((h) => new Uint8Array(h)) },
    ),
    subtrees: r.subtrees.map((t) => ({ level: t.level, hash: new Uint8Array(t.hash) })),
  };
}
