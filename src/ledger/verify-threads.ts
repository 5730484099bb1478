import { Worker } from 'node:worker_threads';
import type { ChunkResult, ChunkTask } from './verify-chunk.js';
import type { ReaderSource } from './verify-worker.js';

type Reply =
  | { readonly ok: true; readonly result: ChunkResult }
  | { readonly ok: false; readonly id: number; readonly message: string };

interface Pending {
  readonly promise: Promise<ChunkResult>;
  resolve(r: ChunkResult): void;
  reject(err: Error): void;
}

function pending(): Pending {
  let resolve!: (r: ChunkResult) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<ChunkResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Results nobody waits for any more (verification stopped at a failure) must not be unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Chunks each reader thread is given ahead, so that it never waits for the main thread. */
const AHEAD = 2;

/**
 * Reader threads, each with its own connection to the store, that read and check chunks of the log
 * (`verifyChunk`) while the main thread combines their results. Started before they are needed, so
 * that their start-up overlaps the main thread's own reads; `close` ends them.
 */
export class ChunkReaders {
  readonly #workers: Worker[];
  #closed = false;
  #error: Error | undefined;

  constructor(source: ReaderSource, threads: number) {
    const url = new URL('./verify-worker.js', import.meta.url);
    this.#workers = Array.from({ length: threads }, () => {
      const w = new Worker(url, { workerData: source });
      w.on('error', (err) => {
        this.#error ??= err;
      });
      return w;
    });
  }

  /**
   * Hands out chunks of `chunkLeaves` entries covering [0, size) at once, and returns their results in
   * order. `checkpoints` are the stored checkpoint sizes, ascending.
   */
  chunks(size: number, chunkLeaves: number, checkpoints: readonly number[]): AsyncGenerator<ChunkResult> {
    const count = Math.ceil(size / chunkLeaves);
    const results = Array.from({ length: count }, pending);
    const failAll = (err: Error) => {
      for (const r of results) r.reject(err);
    };
    if (this.#error !== undefined) failAll(this.#error);
    let next = 0;
    let cp = 0;
    const task = (id: number): ChunkTask => {
      const from = id * chunkLeaves;
      const to = Math.min(from + chunkLeaves, size);
      while (cp < checkpoints.length && (checkpoints[cp] ?? 0) <= from) cp++;
      const inside: number[] = [];
      for (let i = cp; i < checkpoints.length && (checkpoints[i] ?? 0) < to; i++)
        inside.push(checkpoints[i] ?? 0);
      return { id, from, to, checkpoints: inside };
    };
    const dispatch = (w: Worker) => {
      if (next < count && !this.#closed) w.postMessage(task(next++));
    };
    const listeners = this.#workers.map((w) => {
      const onMessage = (reply: Reply) => {
        if (reply.ok) {
          results[reply.result.id]?.resolve(reply.result);
          dispatch(w);
        } else results[reply.id]?.reject(new Error(`reading the ledger: ${reply.message}`));
      };
      const onError = (err: Error) => failAll(err);
      const onExit = (code: number) => {
        if (!this.#closed) failAll(new Error(`a ledger reader thread stopped (exit code ${code})`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      for (let i = 0; i < AHEAD; i++) dispatch(w);
      return () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
    });
    return inOrder(results, () => {
      for (const off of listeners) off();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

async function* inOrder(results: readonly Pending[], done: () => void): AsyncGenerator<ChunkResult> {
  try {
    for (const r of results) yield await r.promise;
  } finally {
    done();
  }
}
