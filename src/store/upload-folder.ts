import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WardenError } from '../core/index.js';
import { checkManifestPaths, PATH_LIMITS } from './upload-paths.js';

/** One regular file of a local model folder. */
export interface FolderEntry {
  /** Manifest path: relative, `/`-separated, NFC. */
  readonly path: string;
  /** Where to read it (its on-disk name may differ from `path` in Unicode normalisation). */
  readonly file: string;
  readonly size: number;
}

/**
 * Lists the regular files under `dir` (which may itself be a symlink) sorted by UTF-8 bytes of their
 * paths. Refuses symlinks, devices, sockets and FIFOs inside it, and paths `checkManifestPaths` rejects.
 */
export async function checkFolderEntries(dir: string): Promise<FolderEntry[]> {
  if (!(await stat(dir)).isDirectory()) {
    throw new WardenError('WARDEN_INVALID_INPUT', `${dir} is not a directory`);
  }
  const found: { rel: string; file: string; size: number }[] = [];
  const refused: string[] = [];
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    if (depth > PATH_LIMITS.maxDepth) {
      throw new WardenError(
        'WARDEN_INVALID_INPUT',
        `${rel} is nested deeper than ${PATH_LIMITS.maxDepth} levels`,
      );
    }
    for (const name of await readdir(abs)) {
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(childAbs);
      if (st.isDirectory()) await walk(childAbs, childRel, depth + 1);
      else if (st.isFile()) found.push({ rel: childRel, file: childAbs, size: st.size });
      else refused.push(`${childRel} (${st.isSymbolicLink() ? 'symbolic link' : 'not a regular file'})`);
    }
  };
  await walk(dir, '', 1);
  if (refused.length > 0) {
    throw new WardenError(
      'WARDEN_INVALID_INPUT',
      `${dir} holds entries that cannot be uploaded; only regular files and directories are: ${refused.join(', ')}`,
    );
  }
  const paths = checkManifestPaths(found.map((f) => f.rel));
  return found
    .map((f, i) => ({ path: paths[i] as string, file: f.file, size: f.size }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}
