import { Worker } from 'node:worker_threads';
import { type ChunkResult, type ChunkTask, chunkTasks } from './verify-chunk.js';
import type { ReaderSource } from './verify-worker.js';

type Reply =
  | { readonly ready: true }
  | { readonly ok: true; readonly result: ChunkResult }
  | { readonly ok: false; readonly id: number; readonly message: string };

interface Pending {
  readonly promise: Promise<ChunkResult>;
  settled: boolean;
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
  const p: Pending = {
    promise,
    settled: false,
    resolve: (r) => {
      p.settled = true;
      resolve(r);
    },
    reject: (err) => {
      p.settled = true;
      reject(err);
    },
  };
  return p;
}

/** Chunks each reader thread is given ahead, so that it never waits for the main thread. */
const AHEAD = 2;

/** Reads and checks one chunk on the calling thread. */
export type LocalChunk = (task: ChunkTask) => Promise<ChunkResult>;

/**
 * Reader threads, each with its own connection to the store, that read and check chunks of the log
 * (`verifyChunk`) beside the main thread. The main thread checks chunks too, over its own connection,
 * whenever the next result it needs is not there yet: from the start, while the threads are still
 * starting (which takes a few hundred milliseconds), and whenever they fall behind. `close` ends them.
 */
export class ChunkReaders {
  readonly #workers: Worker[];
  readonly #ready = new Set<Worker>();
  #onReady: ((w: Worker) => void) | undefined;
  #closed = false;
  #error: Error | undefined;

  constructor(source: ReaderSource, threads: number) {
    const url = new URL('./verify-worker.js', import.meta.url);
    this.#workers = Array.from({ length: threads }, () => {
      const w = new Worker(url, { workerData: source });
      w.on('error', (err) => {
        this.#error ??= err;
      });
      w.on('message', (reply: Reply) => {
        if (!('ready' in reply)) return;
        this.#ready.add(w);
        this.#onReady?.(w);
      });
      return w;
    });
  }

  /**
   * The results of chunks of `chunkLeaves` entries covering [0, size), in order, shared between the
   * threads and `local` (if given). `checkpoints` are the stored checkpoint sizes, ascending.
   */
  chunks(
    size: number,
    chunkLeaves: number,
    checkpoints: readonly number[],
    local: LocalChunk | undefined,
  ): AsyncGenerator<ChunkResult> {
    const count = Math.ceil(size / chunkLeaves);
    const results = Array.from({ length: count }, pending);
    const failAll = (err: Error) => {
      for (const r of results) if (!r.settled) r.reject(err);
    };
    if (this.#error !== undefined) failAll(this.#error);
    // Tasks are made in index order, whoever takes them.
    const tasks = chunkTasks(size, chunkLeaves, checkpoints);
    const take = (): ChunkTask | undefined => (this.#closed ? undefined : tasks.next().value);
    const dispatch = (w: Worker) => {
      const task = take();
      if (task !== undefined) w.postMessage(task);
    };
    this.#onReady = (w) => {
      for (let i = 0; i < AHEAD; i++) dispatch(w);
    };
    const listeners = this.#workers.map((w) => {
      const onMessage = (reply: Reply) => {
        if ('ready' in reply) return;
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
      if (this.#ready.has(w)) this.#onReady?.(w);
      return () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
    });
    const work = async (): Promise<boolean> => {
      if (local === undefined) return false;
      // Reading SQLite never leaves the microtask queue: let the threads' messages in before each chunk.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const task = take();
      if (task === undefined) return false;
      const r = results[task.id] as Pending;
      try {
        r.resolve(await local(task));
      } catch (err) {
        r.reject(err as Error);
      }
      return true;
    };
    return inOrder(results, work, () => {
      this.#onReady = undefined;
      for (const off of listeners) off();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** The results in order; while the next one is pending, `work` checks a chunk on this thread. */
async function* inOrder(
  results: readonly Pending[],
  work: () => Promise<boolean>,
  done: () => void,
): AsyncGenerator<ChunkResult> {
  try {
    for (const r of results) {
      // Once every chunk is taken, the result comes from a thread.
      while (!r.settled && (await work())) {}
      yield await r.promise;
    }
  } finally {
    done();
  }
}
