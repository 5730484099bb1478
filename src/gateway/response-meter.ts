import { SseUsageScanner, type TokenUsage, usageFromJson } from './usage.js';

const MAX_JSON_KEPT = 1 << 20;

/**
 * Watches an upstream response body as it passes through, counting its bytes and reading the token
 * usage a model server reports (a JSON body's `usage`, or the last `usage` of an event stream).
 */
export class ResponseMeter {
  readonly #sse: SseUsageScanner | undefined;
  readonly #json: Buffer[] | undefined;
  #jsonBytes = 0;
  bytes = 0;

  constructor(contentType: string | undefined, readUsage: boolean) {
    const type = readUsage ? (contentType ?? '').toLowerCase() : '';
    this.#sse = type.startsWith('text/event-stream') ? new SseUsageScanner() : undefined;
    this.#json = type.startsWith('application/json') ? [] : undefined;
  }

  /** Counts (and, for usage, reads) one chunk on its way to the caller. */
  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.#sse?.push(chunk);
    if (this.#json !== undefined && this.#jsonBytes <= MAX_JSON_KEPT) {
      this.#json.push(chunk);
      this.#jsonBytes += chunk.length;
    }
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
