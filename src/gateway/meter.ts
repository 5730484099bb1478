import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { WardenError } from '../core/index.js';

/**
 * Passes a request body through unchanged while hashing and counting it; fails with 413 as soon as
 * more than `maxBytes` have passed, so an oversized body is never sent on in full. Keeps the first
 * `keepBytes` for payload logging.
 */
export class RequestMeter extends Transform {
  readonly #hash = createHash('sha256');
  readonly #maxBytes: number;
  readonly #keepBytes: number;
  readonly #kept: Buffer[] = [];
  #keptBytes = 0;
  bytes = 0;

  constructor(maxBytes: number, keepBytes = 0) {
    super();
    this.#maxBytes = maxBytes;
    this.#keepBytes = keepBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#maxBytes) {
      done(tooLarge(this.#maxBytes));
      return;
    }
    this.#hash.update(chunk);
    if (this.#keptBytes <= this.#keepBytes) {
      this.#kept.push(chunk);
      this.#keptBytes += chunk.length;
    }
    done(null, chunk);
  }

  /** Hex SHA-256 of everything that passed (call once, after the end). */
  digest(): string {
    return this.#hash.digest('hex');
  }

  /** The body, if it was no longer than `keepBytes`. */
  kept(): Buffer | undefined {
    return this.#keptBytes <= this.#keepBytes ? Buffer.concat(this.#kept) : undefined;
  }
}

/** The 413 for a body over `maxBytes`. */
export function tooLarge(maxBytes: number): WardenError {
  return new WardenError('WARDEN_PAYLOAD_TOO_LARGE', `the request body exceeds ${maxBytes} bytes`, {
    issues: [{ field: 'body', message: `at most ${maxBytes} bytes` }],
  });
}
