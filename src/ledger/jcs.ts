import { canonicalJson } from '../core/index.js';
import { deepFreeze } from './event.js';

// RFC 8785 (JCS) for the JSON values events are made of, byte for byte what the `canonicalize` package
// (core's `canonicalJson`) writes, but faster: the value is copied with every object's keys inserted in
// JCS order (UTF-16 code-unit order, which is what Array#sort does), and V8's native JSON.stringify
// writes the copy. JCS takes strings and numbers exactly as JSON.stringify writes them, so only key
// order differs, and an object enumerates its keys in insertion order unless a key is an array index
// (those come first) or `__proto__` (a setter): such keys, and anything beyond plain JSON data (toJSON,
// functions, bigint, symbols in arrays, non-finite numbers, sparse arrays), are handed to the package
// so the result, or the error, stays the same.

class Unusual extends Error {}

/** The JCS form of `value`, identical to `canonicalJson(value)`. */
export function canonicalEvent(value: unknown): string {
  return canonicalForm(value).text;
}

/**
 * The JCS text of `value` and a deep-frozen copy of it that serializes to that text: the ordered copy
 * the text was written from (so the caller's objects are neither shared nor frozen), or for unusual
 * values the value itself, deep-frozen.
 */
export function canonicalForm<T>(value: T): { readonly value: T; readonly text: string } {
  let copy: unknown;
  try {
    copy = ordered(value);
  } catch (err) {
    if (err instanceof Unusual) return { value: deepFreeze(value), text: canonicalJson(value) };
    throw err;
  }
  return { value: copy as T, text: JSON.stringify(copy) };
}

function ordered(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Unusual();
      return value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) return orderedArray(value);
      return orderedObject(value as Record<string, unknown>);
    }
    default:
      throw new Unusual();
  }
}

function orderedArray(arr: readonly unknown[]): readonly unknown[] {
  if (typeof (arr as { toJSON?: unknown }).toJSON === 'function') throw new Unusual();
  const out: unknown[] = new Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    if (!(i in arr)) throw new Unusual(); // the package treats holes its own way
    const v = arr[i];
    out[i] = v === undefined ? null : ordered(v);
  }
  return Object.freeze(out);
}

function orderedObject(obj: Record<string, unknown>): Record<string, unknown> {
  if (typeof obj.toJSON === 'function') throw new Unusual();
  const keys = Object.keys(obj);
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort();
      break;
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = obj[key];
    if (v === undefined || typeof v === 'symbol') continue;
    const c = key.charCodeAt(0);
    // A key starting with a digit may be an array index, which objects enumerate first.
    if ((c >= 48 && c <= 57) || key === '__proto__') throw new Unusual();
    out[key] = ordered(v);
  }
  return Object.freeze(out);
}
