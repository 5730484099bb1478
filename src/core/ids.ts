import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** A new ULID: sortable by creation time, monotonic within this process. */
export function newId(now: number = Date.now()): string {
  return nextUlid(now);
}

/** A random URL-safe secret of `bytes` bytes, for tokens and keys. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
