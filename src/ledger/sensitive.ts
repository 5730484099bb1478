import { createHmac } from 'node:crypto';

/** Prefix of a value replaced by its keyed hash. */
export const HMAC_PREFIX = 'hmac-sha256:';

/**
 * Replaces configured sensitive fields (dotted paths such as `actor.ip` or `details.email`) by
 * `hmac-sha256:<hex>` under the deployment key, so equal values still compare equal but are not kept.
 */
export class SensitiveFields {
  readonly #paths: readonly (readonly string[])[];
  readonly #key: Buffer;

  constructor(paths: readonly string[], key: Buffer) {
    this.#paths = paths.map((p) => p.split('.'));
    this.#key = key;
  }

  /** Whether the dotted path is configured as sensitive. */
  covers(path: string): boolean {
    return this.#paths.some((p) => p.join('.') === path);
  }

  /** The keyed hash a stored value carries for `value`. */
  mask(value: unknown): string {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return HMAC_PREFIX + createHmac('sha256', this.#key).update(text).digest('hex');
  }

  /** A copy of `obj` with every configured field that is present masked. */
  apply<T extends object>(obj: T): T {
    if (this.#paths.length === 0) return obj;
    const copy = structuredClone(obj) as Record<string, unknown>;
    for (const path of this.#paths) this.#maskAt(copy, path);
    return copy as T;
  }

  #maskAt(obj: Record<string, unknown>, path: readonly string[]): void {
    const [head, ...rest] = path;
    if (head === undefined || !(head in obj)) return;
    const value = obj[head];
    if (rest.length === 0) {
      if (value !== undefined && !(typeof value === 'string' && value.startsWith(HMAC_PREFIX))) {
        obj[head] = this.mask(value);
      }
      return;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      this.#maskAt(value as Record<string, unknown>, rest);
    }
  }
}
