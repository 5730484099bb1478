import type { FieldIssue } from '../core/index.js';

/**
 * How deeply input may nest: beyond any real document, and well within what the recursive serializers
 * survive (the ledger's canonical JSON of a CloudEvent whose data nested 5,000 deep overflowed the stack).
 */
export const MAX_DEPTH = 64;

const SURROGATE = /[\uD800-\uDFFF]/;
// With the u flag a surrogate pair is one code point: only a lone surrogate matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why a string is no text a store can keep: a NUL (PostgreSQL refuses it) or a lone surrogate (not Unicode). */
function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL (U+0000)';
  if (SURROGATE.test(s) && LONE_SURROGATE.test(s))
    return 'must be valid Unicode (it holds a lone UTF-16 surrogate)';
  return undefined;
}

/**
 * An array, or an object that is only a dictionary: parsed JSON, or the router's params and the query
 * parser's objects (whose prototype has no prototype). Never a stream or a buffer.
 */
function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  if (Array.isArray(v)) return true;
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/** A container met on the walk; its path is rebuilt from the parents only when an issue is reported. */
interface Frame {
  readonly value: Record<string, unknown> | unknown[];
  readonly parent: Frame | undefined;
  readonly key: string;
  readonly depth: number;
}

function fieldOf(frame: Frame, key: string | undefined, where: string): string {
  const path: string[] = key === undefined ? [] : [key];
  for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) path.push(f.key);
  return path.length === 0 ? where : path.reverse().join('.');
}

/**
 * The first string or key of a request part (`where`: path, query or body) that no route can take
 * whatever its schema, or nesting deeper than MAX_DEPTH, named like a schema issue. Walked without
 * recursion and without building a path per value, so any size or depth the body limit lets through
 * costs a fraction of parsing it.
 */
export function unsafeInput(value: unknown, where: string): FieldIssue | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem === undefined ? undefined : { field: where, message: problem };
  }
  if (!isContainer(value)) return undefined;
  const stack: Frame[] = [{ value, parent: undefined, key: '', depth: 0 }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    if (frame.depth >= MAX_DEPTH)
      return { field: fieldOf(frame, undefined, where), message: `nests deeper than ${MAX_DEPTH} levels` };
    const v = frame.value;
    const keys = Array.isArray(v) ? undefined : Object.keys(v);
    const n = keys === undefined ? (v as unknown[]).length : keys.length;
    for (let i = 0; i < n; i++) {
      // An array's index becomes a key only when it is reported or descended into.
      const key = keys?.[i];
      if (key !== undefined) {
        const problem = textProblem(key);
        if (problem !== undefined)
          return { field: fieldOf(frame, key, where), message: `its name ${problem}` };
      }
      const child = key === undefined ? (v as unknown[])[i] : (v as Record<string, unknown>)[key];
      if (typeof child === 'string') {
        const problem = textProblem(child);
        if (problem !== undefined)
          return { field: fieldOf(frame, key ?? String(i), where), message: problem };
      } else if (isContainer(child)) {
        stack.push({ value: child, parent: frame, key: key ?? String(i), depth: frame.depth + 1 });
      }
    }
  }
  return undefined;
}
