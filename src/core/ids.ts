import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

// ulid draws one random number per character; by default each is a getRandomValues call of its own,
// which made id generation a visible cost of every request. Secure random bytes are drawn in blocks.
let pool = Buffer.alloc(0);
let at = 0;
function securePrng(): number {
  if (at >= pool.length) {
    pool = randomBytes(4096);
    at = 0;
  }
  return (pool[at++] as number) / 256;
}

const nextUlid = monotonicFactory(securePrng);

/** A new ULID: sortable by creation time, monotonic within this process. */
export function newId(now: number = Date.now()): string {
  return nextUlid(now);
}
