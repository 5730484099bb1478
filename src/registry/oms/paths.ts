import { WardenError } from '../../core/errors.js';

/** Paths the reference implementation leaves out of every signature, matched at the model root only. */
export const GIT_PATHS: readonly string[] = Object.freeze([
  '.git',
  '.gitattributes',
  '.github',
  '.gitignore',
]);

/**
 * The canonical POSIX form of a model-relative path, as Python's PurePosixPath gives it: empty and
 * `.` components dropped. Undefined for absolute paths, `..` components, NUL bytes and the root itself.
 */
export function canonicalRelativePath(raw: string): string | undefined {
  if (raw.startsWith('/') || raw.includes('\0')) return undefined;
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  return parts.join('/');
}

/**
 * The reference's resource order: Python sorts PurePosixPath values component by component, so
 * `a/b` comes before `a-c` (plain string order would put `a-c` first). Components compare by code
 * point, which is UTF-8 byte order.
 */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(Buffer.from(pa[i] ?? '', 'utf8'), Buffer.from(pb[i] ?? '', 'utf8'));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/** Ignore rules: each entry excludes that model-relative path and, if it is a directory, all below it. */
export class IgnoreRules {
  readonly #paths: readonly string[];

  constructor(paths: Iterable<string>) {
    this.#paths = [...new Set(paths)];
  }

  /** The ignore entry that covers `rel`, if any. */
  match(rel: string): string | undefined {
    return this.#paths.find((p) => rel === p || rel.startsWith(`${p}/`));
  }

  /** The entries, sorted and without duplicates, as recorded in `serialization.ignore_paths`. */
  list(): string[] {
    return [...this.#paths].sort(comparePaths);
  }
}

/** Canonical forms of caller-supplied ignore paths; `label` names the input in the error. */
export function canonicalIgnorePaths(paths: readonly string[], label: string): string[] {
  return paths.map((p, i) => {
    const c = typeof p === 'string' ? canonicalRelativePath(p) : undefined;
    if (c !== undefined) return c;
    throw new WardenError(
      'WARDEN_INVALID_INPUT',
      `${label}[${i}] must be a relative path inside the model (got ${JSON.stringify(p)})`,
    );
  });
}
