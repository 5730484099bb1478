import { createHash, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { link, mkdir, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { invalidInput, notFound, WardenError } from '../core/index.js';

/** Temp files of interrupted writes older than this are swept (a live upload keeps touching its file). */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** What `putStream` stored. */
export interface StoredBlob {
  readonly digest: string;
  readonly size: number;
  /** True when the same bytes were already stored, so nothing new was kept. */
  readonly deduplicated: boolean;
}

/**
 * Content-addressed blob store on the filesystem: a blob's name is `sha256:<hex>` of its bytes.
 * Writes go to `<root>/tmp` (same filesystem), are fsynced, made read-only (0444), then linked
 * into `<root>/sha256/<xx>/<hex>`; a link never replaces an existing blob, so a stored blob never changes.
 */
export class BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  /** Stores bytes (a second put of the same bytes is a no-op) and returns their digest. */
  async put(data: Uint8Array): Promise<string> {
    return (await this.putStream([data], { maxBytes: data.byteLength })).digest;
  }

  /**
   * Streams `source` into the store while hashing, never holding the whole body. Fails with 413 past
   * `maxBytes` and with 400 when `expectedSha256` (`sha256:<hex>` or bare hex) does not match; any
   * failure removes the partial file.
   */
  async putStream(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable,
    opts: { maxBytes: number; expectedSha256?: string },
  ): Promise<StoredBlob> {
    const expected = opts.expectedSha256 === undefined ? undefined : parseExpected(opts.expectedSha256);
    // Iterating rethrows a stream's error; until iteration starts, this listener keeps one from crashing the process.
    const readable = source instanceof Readable ? source : undefined;
    readable?.on('error', ignore);
    try {
      return await this.#write(source, opts.maxBytes, expected);
    } finally {
      readable?.off('error', ignore);
    }
  }

  async #write(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    maxBytes: number,
    expected?: string,
  ): Promise<StoredBlob> {
    const tmpDir = join(this.#root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const file = await open(tmp, 'wx', 0o444);
    let closed = false;
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          throw new WardenError('WARDEN_PAYLOAD_TOO_LARGE', `upload exceeds the limit of ${maxBytes} bytes`);
        }
        const written = writeAll(file, chunk);
        hash.update(chunk); // hashes while the thread pool writes the same chunk
        await written;
      }
      const hex = hash.digest('hex');
      if (expected !== undefined && expected !== hex) {
        throw invalidInput([
          { field: 'sha256', message: `expected sha256:${expected}, received bytes hash to sha256:${hex}` },
        ]);
      }
      await file.chmod(0o444); // independent of the umask
      await file.sync();
      closed = true;
      await file.close();
      const deduplicated = await this.#commit(tmp, hex);
      return { digest: `sha256:${hex}`, size, deduplicated };
    } finally {
      if (!closed) await file.close().catch(() => {});
      await rm(tmp, { force: true });
    }
  }

  /** The blob's bytes, or undefined when absent. */
  async get(digest: string): Promise<Buffer | undefined> {
    const hex = parseDigest(digest);
    try {
      return await readFile(this.#path(hex));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** A stream of the blob's bytes; 404 when absent (checked before any byte is streamed). */
  async open(digest: string): Promise<Readable> {
    const hex = parseDigest(digest);
    try {
      const file = await open(this.#path(hex), 'r');
      return file.createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${digest}`);
      throw err;
    }
  }

  /** Whether the blob is stored. */
  async has(digest: string): Promise<boolean> {
    const hex = parseDigest(digest);
    try {
      return (await stat(this.#path(hex))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Removes a blob; true when it was there. Only for blobs nothing references: those a failed upload
   * newly wrote, and those of a retired version's purge. A stored blob is otherwise never changed.
   */
  async delete(digest: string): Promise<boolean> {
    const hex = parseDigest(digest);
    try {
      await unlink(this.#path(hex));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Removes temp files left by crashed writes (untouched for an hour); returns how many it removed. */
  async sweepTemp(now: number = Date.now()): Promise<number> {
    const tmpDir = join(this.#root, 'tmp');
    let names: string[];
    try {
      names = await readdir(tmpDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(tmpDir, name);
      const st = await stat(path).catch(() => undefined);
      if (st?.isFile() && now - st.mtimeMs > STALE_TEMP_MS) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Links the finished temp file into place unless the blob exists; true when it already did. */
  async #commit(tmp: string, hex: string): Promise<boolean> {
    const path = this.#path(hex);
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return true;
      throw err;
    }
    const handle = await open(dir, 'r');
    try {
      await handle.sync(); // the new directory entry survives a crash
    } finally {
      await handle.close();
    }
    return false;
  }

  #path(hex: string): string {
    return join(this.#root, 'sha256', hex.slice(0, 2), hex);
  }
}

async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

function ignore(): void {}

function parseDigest(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m?.[1])
    throw invalidInput([{ field: 'digest', message: `not a sha256 digest: ${JSON.stringify(digest)}` }]);
  return m[1];
}

function parseExpected(sha256: string): string {
  const m = /^(?:sha256:)?([0-9a-f]{64})$/.exec(sha256);
  if (!m?.[1])
    throw invalidInput([
      { field: 'sha256', message: 'must be sha256:<64 lowercase hex> or 64 lowercase hex' },
    ]);
  return m[1];
}
