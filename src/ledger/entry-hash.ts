import { HASH_SIZE, leafHash, leafHashOfText } from './merkle.js';
import type { FailureKind } from './verify.js';

/** Why a stored entry cannot join the tree, at its index. */
export interface EntryFailure {
  readonly index: number;
  readonly kind: FailureKind;
  readonly message: string;
}

/**
 * The hash a stored entry adds to the tree, as every verifier checks it: its body's leaf hash, which
 * must equal the stored leaf hash when there is one; or, when the body is missing because retention
 * purged it (`purged`), the kept leaf hash. Otherwise the entry's failure.
 */
export function entryHash(
  index: number,
  body: string | Uint8Array | null,
  stored: Buffer | null,
  purged: boolean,
): Buffer | EntryFailure {
  if (body !== null) {
    const hash = typeof body === 'string' ? leafHashOfText(body) : leafHash(body);
    if (stored !== null && !hash.equals(stored)) {
      return {
        index,
        kind: 'leaf-mismatch',
        message: `entry ${index}: its body does not hash to its stored leaf hash`,
      };
    }
    return hash;
  }
  if (!purged || stored === null) {
    return {
      index,
      kind: 'missing-body',
      message: `entry ${index}: the event body is missing and was not purged`,
    };
  }
  if (stored.length !== HASH_SIZE) {
    return {
      index,
      kind: 'leaf-mismatch',
      message: `entry ${index}: its kept leaf hash has ${stored.length} bytes, not ${HASH_SIZE}`,
    };
  }
  return stored;
}
