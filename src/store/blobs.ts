import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomSecret } from '../core/index.js';

/** Content-addressed blob store on the filesystem: a blob's name is `sha256:<hex>` of its bytes. */
export class BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  /** Stores bytes (a second put of the same bytes is a no-op) and returns their digest. */
  async put(data: Uint8Array): Promise<string> {
    const hex = createHash('sha256').update(data).digest('hex');
    const path = this.#path(hex);
    if (await exists(path)) return `sha256:${hex}`;
    await mkdir(join(path, '..'), { recursive: true });
    const tmp = `${path}.${randomSecret(6)}.tmp`;
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, path);
    return `sha256:${hex}`;
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

  #path(hex: string): string {
    return join(this.#root, 'sha256', hex.slice(0, 2), hex);
  }
}

function parseDigest(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m?.[1]) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
