import { Transform, type TransformCallback } from 'node:stream';
import { SseUsageScanner, type TokenUsage, usageFromJson } from './usage.js';

const MAX_JSON_KEPT = 1 << 20;

/**
 * Passes an upstream response body through unchanged, counting its bytes and reading the token
 * usage a model server reports (a JSON body's `usage`, or the last `usage` of an event stream).
 */
export class ResponseMeter extends Transform {
  readonly #sse: SseUsageScanner | undefined;
  readonly #json: Buffer[] | undefined;
  #jsonBytes = 0;
  bytes = 0;

  constructor(contentType: string | undefined, readUsage: boolean) {
    super();
    const type = (contentType ?? '').toLowerCase();
    this.#sse = readUsage && type.startsWith('text/event-stream') ? new SseUsageScanner() : undefined;
    this.#json = readUsage && type.startsWith('application/json') ? [] : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.#sse?.push(chunk);
    if (this.#json !== undefined && this.#jsonBytes <= MAX_JSON_KEPT) {
      this.#json.push(chunk);
      this.#jsonBytes += chunk.length;
    }
    done(null, chunk);
  }

  /** Usage the response reported, once it has ended. */
  usage(): TokenUsage | undefined {
    if (this.#sse !== undefined) {
      this.#sse.end();
      return this.#sse.usage;
    }
    if (this.#json === undefined || this.#jsonBytes > MAX_JSON_KEPT) return undefined;
    try {
      return usageFromJson(JSON.parse(Buffer.concat(this.#json).toString('utf8')));
    } catch {
      return undefined;
    }
  }
}
