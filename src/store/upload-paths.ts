import { type FieldIssue, invalidInput } from '../core/index.js';

/** Bounds on a model file path: UTF-8 bytes of the whole path and of one segment, and segments. */
export const PATH_LIMITS = Object.freeze({ maxPathBytes: 1024, maxSegmentBytes: 255, maxDepth: 32 });

// C0/C1 controls (NUL included) and lone surrogates, which have no UTF-8 form.
const FORBIDDEN_CHAR = /[\p{Cc}\p{Cs}]/u;

/**
 * Validates the relative paths of a model folder upload and returns them in NFC, in input order.
 * Rejects absolute paths (`/x`, `C:x`), backslashes, controls, empty or dot-only segments, over-long
 * or over-deep paths, and paths that collide after NFC and case folding, including a file that is
 * also another file's directory: such a version could not be materialised on a case-insensitive
 * filesystem without one file overwriting another. Each issue names `files[i].path`.
 */
export function checkManifestPaths(paths: readonly string[]): string[] {
  const issues: FieldIssue[] = [];
  const out: string[] = [];
  const files = new Map<string, number>(); // folded path -> its index
  const dirs = new Map<string, number>(); // folded directory -> index of a file under it
  if (paths.length === 0) issues.push({ field: 'files', message: 'must list at least one file' });
  paths.forEach((raw, i) => {
    const field = `files[${i}].path`;
    const issue = pathIssue(raw, field);
    if (issue !== undefined) {
      issues.push(issue);
      return;
    }
    const path = raw.normalize('NFC');
    const key = fold(path);
    const parents = key
      .split('/')
      .map((_, n, segs) => segs.slice(0, n).join('/'))
      .slice(1);
    const other = files.get(key) ?? dirs.get(key) ?? firstDefined(parents.map((dir) => files.get(dir)));
    if (other !== undefined) {
      issues.push({
        field,
        message: `${show(raw)} collides with files[${other}].path ${show(paths[other])}`,
      });
      return;
    }
    out.push(path);
    files.set(key, i);
    for (const dir of parents) dirs.set(dir, i);
  });
  if (issues.length > 0) throw invalidInput(issues);
  return out;
}

function firstDefined<T>(values: readonly (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined);
}

/** The issue with one path on its own (not its collisions), named `field`, or undefined when it is fine. */
export function pathIssue(raw: unknown, field: string): FieldIssue | undefined {
  const problem = typeof raw === 'string' ? pathProblem(raw) : 'must be a string';
  return problem === undefined ? undefined : { field, message: `${problem}: ${show(raw)}` };
}

/** Why `path` is not an acceptable relative path, or undefined when it is. */
function pathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (FORBIDDEN_CHAR.test(path)) return 'must not contain NUL, control characters or lone surrogates';
  if (path.includes('\\')) return 'must use / as separator, not \\';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'must be relative';
  const nfc = path.normalize('NFC');
  if (Buffer.byteLength(nfc) > PATH_LIMITS.maxPathBytes) {
    return `must be at most ${PATH_LIMITS.maxPathBytes} UTF-8 bytes`;
  }
  const segments = nfc.split('/');
  if (segments.length > PATH_LIMITS.maxDepth) return `must be at most ${PATH_LIMITS.maxDepth} segments deep`;
  for (const segment of segments) {
    if (segment === '') return 'must not have empty segments (leading, trailing or double /)';
    if (/^\.+$/.test(segment)) return 'must not have segments of only dots (., ..)';
    if (Buffer.byteLength(segment) > PATH_LIMITS.maxSegmentBytes) {
      return `segments must be at most ${PATH_LIMITS.maxSegmentBytes} UTF-8 bytes`;
    }
  }
  return undefined;
}

/** The key two paths share when a case-insensitive filesystem would treat them as one. */
function fold(path: string): string {
  // Upper then lower applies full case folding's expansions too (ß → SS → ss).
  return path.toUpperCase().toLowerCase().normalize('NFC');
}

/** The path quoted with escapes, shortened so an error message stays readable. */
function show(path: unknown): string {
  const text = JSON.stringify(path) ?? String(path);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
