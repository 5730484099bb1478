import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { constants } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WardenError } from '../../core/errors.js';
import { comparePaths, GIT_PATHS, IgnoreRules } from './paths.js';

/** How a model folder is enumerated; the defaults are the reference implementation's. */
export interface ModelWalkOptions {
  /** Extra model-relative paths to leave out (a directory excludes everything below it). */
  readonly ignorePaths?: readonly string[];
  /** Leave out `.git`, `.gitattributes`, `.github` and `.gitignore` at the root (default true). */
  readonly ignoreGitPaths?: boolean;
  /** Follow symbolic links; when false (the default) any symlink refuses the folder. */
  readonly allowSymlinks?: boolean;
}

/** One regular file of a model folder: its relative POSIX path and where to read it. */
export interface ModelFile {
  readonly path: string;
  readonly absolutePath: string;
}

/** The files of a model folder in the reference order, and the paths the ignore rules removed. */
export interface ModelListing {
  readonly files: readonly ModelFile[];
  readonly ignored: readonly string[];
}

/** One hashed file: relative POSIX path, lowercase hex SHA-256 and size in bytes. */
export interface ModelFileDigest {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/** A hashed model folder: files in the reference order, and what was ignored. */
export interface ModelManifest {
  readonly files: readonly ModelFileDigest[];
  readonly ignored: readonly string[];
}

const CHUNK = 1 << 20;
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

function refused(message: string, cause?: unknown): WardenError {
  return new WardenError('WARDEN_INVALID_INPUT', `model folder: ${message}`, { cause });
}

function ioError(what: string, err: unknown): WardenError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  return refused(`cannot read ${what} (${code})`, err);
}

function utf8Name(raw: Buffer, parent: string): string {
  const name = raw.toString('utf8');
  if (!Buffer.from(name, 'utf8').equals(raw)) {
    throw refused(`a file name under ${JSON.stringify(parent || '.')} is not valid UTF-8`);
  }
  return name;
}

/** The ignore rules a walk applies: the git defaults (unless turned off) and the extra paths. */
export function ignoreRulesFor(options: ModelWalkOptions): IgnoreRules {
  const git = options.ignoreGitPaths === false ? [] : GIT_PATHS;
  return new IgnoreRules([...git, ...(options.ignorePaths ?? [])]);
}

/**
 * Lists the regular files of a model folder, as the reference serializer would: ignored paths are
 * skipped without descending, symlinks are refused unless allowed (then followed, with cycles
 * refused), and special files are refused.
 */
export async function listModelFiles(
  modelDir: string,
  options: ModelWalkOptions = {},
): Promise<ModelListing> {
  const rules = ignoreRulesFor(options);
  const allowSymlinks = options.allowSymlinks === true;
  const files: ModelFile[] = [];
  const ignored: string[] = [];

  const root = await lstat(modelDir).catch((err: unknown) => {
    throw ioError(JSON.stringify(modelDir), err);
  });
  if (root.isSymbolicLink() && !allowSymlinks) throw refused(`${JSON.stringify(modelDir)} is a symlink`);
  const rootTarget = root.isSymbolicLink() ? await stat(modelDir) : root;
  if (!rootTarget.isDirectory()) throw refused(`${JSON.stringify(modelDir)} is not a directory`);

  const walk = async (dir: string, rel: string, ancestors: readonly string[]): Promise<void> => {
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      throw ioError(JSON.stringify(rel || '.'), err);
    }
    for (const entry of entries) {
      const name = utf8Name(entry.name, rel);
      const path = rel === '' ? name : `${rel}/${name}`;
      const absolutePath = join(dir, name);
      if (rules.match(path) !== undefined) {
        ignored.push(path);
        continue;
      }
      let kind: 'file' | 'dir' | 'other' = entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : 'other';
      if (entry.isSymbolicLink()) {
        if (!allowSymlinks) throw refused(`${JSON.stringify(path)} is a symlink (symlinks are not allowed)`);
        const target = await stat(absolutePath).catch((err: unknown) => {
          throw ioError(`the target of symlink ${JSON.stringify(path)}`, err);
        });
        kind = target.isFile() ? 'file' : target.isDirectory() ? 'dir' : 'other';
      }
      if (kind === 'file') {
        files.push({ path, absolutePath });
      } else if (kind === 'dir') {
        const real = await realpath(absolutePath);
        if (ancestors.includes(real)) throw refused(`symlink cycle at ${JSON.stringify(path)}`);
        await walk(absolutePath, path, [...ancestors, real]);
      } else {
        throw refused(`${JSON.stringify(path)} is not a regular file or directory`);
      }
    }
  };
  await walk(modelDir, '', [await realpath(modelDir)]);

  files.sort((a, b) => comparePaths(a.path, b.path));
  ignored.sort(comparePaths);
  return Object.freeze({ files: Object.freeze(files), ignored: Object.freeze(ignored) });
}

/**
 * Streams one file through SHA-256 in 1 MiB reads, reading the next chunk while hashing the
 * current one. With `noFollow` a file swapped for a symlink after listing is refused.
 */
export async function hashFile(
  absolutePath: string,
  noFollow = true,
): Promise<{ sha256: string; size: number }> {
  const handle = await open(absolutePath, constants.O_RDONLY | (noFollow ? NOFOLLOW : 0)).catch(
    (err: unknown) => {
      throw ioError(JSON.stringify(absolutePath), err);
    },
  );
  try {
    const hash = createHash('sha256');
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let which = 0;
    let position = 0;
    let pending = handle.read(buffers[0]!, 0, CHUNK, position);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      which ^= 1;
      pending = handle.read(buffers[which]!, 0, CHUNK, position);
      hash.update(buffer.subarray(0, bytesRead));
    }
    return { sha256: hash.digest('hex'), size: position };
  } catch (err) {
    throw err instanceof WardenError ? err : ioError(JSON.stringify(absolutePath), err);
  } finally {
    await handle.close();
  }
}

/** Hashes every file of a model folder (the manifest a signature covers); refuses an empty folder. */
export async function hashModelDir(modelDir: string, options: ModelWalkOptions = {}): Promise<ModelManifest> {
  const listing = await listModelFiles(modelDir, options);
  if (listing.files.length === 0) throw refused('no files to sign after applying the ignore rules');
  const noFollow = options.allowSymlinks !== true;
  const files: ModelFileDigest[] = [];
  for (const file of listing.files) {
    const { sha256, size } = await hashFile(file.absolutePath, noFollow);
    files.push(Object.freeze({ path: file.path, sha256, size }));
  }
  return Object.freeze({ files: Object.freeze(files), ignored: listing.ignored });
}
