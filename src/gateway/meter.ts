import { createHash, hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { WardenError } from '../core/index.js';

/** What the gateway learned of a request body: its size, its digest once read whole, its bytes if small. */
export interface BodyFacts {
  readonly bytes: number;
  /** Hex SHA-256 of the whole body, or undefined when it was not read to the end. */
  digest(): string | undefined;
  /** The body, if it was read whole and no longer than the bytes asked to keep. */
  kept(): Buffer | undefined;
}

/**
 * Passes a request body through unchanged while hashing and counting it; fails with 413 as soon as
 * more than `maxBytes` have passed, so an oversized body is never sent on in full. Keeps the first
 * `keepBytes` for payload logging. For bodies of unknown or large size (small ones are read whole).
 */
export class RequestMeter extends Transform implements BodyFacts {
  readonly #hash = createHash('sha256');
  readonly #maxBytes: number;
  readonly #keepBytes: number;
  readonly #kept: Buffer[] = [];
  #keptBytes = 0;
  #digest: string | undefined;
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

  digest(): string | undefined {
    if (!this.writableFinished) return undefined;
    this.#digest ??= this.#hash.digest('hex');
    return this.#digest;
  }

  kept(): Buffer | undefined {
    return this.writableFinished && this.#keptBytes <= this.#keepBytes
      ? Buffer.concat(this.#kept)
      : undefined;
  }
}

/** A request body read whole into memory (small bodies of declared length: cheaper than a stream). */
export class BufferedBody implements BodyFacts {
  readonly body: Buffer;
  readonly #keepBytes: number;
  #digest: string | undefined;

  constructor(body: Buffer, keepBytes: number) {
    this.body = body;
    this.#keepBytes = keepBytes;
  }

  get bytes(): number {
    return this.body.length;
  }

  digest(): string {
    this.#digest ??= hash('sha256', this.body, 'hex');
    return this.#digest;
  }

  kept(): Buffer | undefined {
    return this.body.length <= this.#keepBytes ? this.body : undefined;
  }
}

/** Reads a whole request body of declared length; rejects if the caller goes away first. */
export function readWhole(body: Readable, declared: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
    });
    body.once('end', () => {
      settled = true;
      if (bytes !== declared) reject(new Error(`request body ended after ${bytes} of ${declared} bytes`));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes));
    });
    body.once('error', (err) => {
      settled = true;
      reject(err);
    });
    // 'close' also follows a normal end: only a close before it means the caller went away.
    body.once('close', () => {
      if (!settled) reject(new Error('the caller closed the connection while sending its body'));
    });
  });
}

/** The 413 for a body over `maxBytes`. */
export function tooLarge(maxBytes: number): WardenError {
  return new WardenError('WARDEN_PAYLOAD_TOO_LARGE', `the request body exceeds ${maxBytes} bytes`, {
    issues: [{ field: 'body', message: `at most ${maxBytes} bytes` }],
  });
}
