/** Token counts a model server reported for one call. */
export interface TokenUsage {
  readonly prompt?: number;
  readonly completion?: number;
  readonly total?: number;
}

/** The `usage` object of an OpenAI-compatible response (JSON body or one stream chunk), if present. */
export function usageFromJson(body: unknown): TokenUsage | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const usage = (body as { usage?: unknown }).usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const u = usage as Record<string, unknown>;
  const count = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
  const prompt = count(u.prompt_tokens);
  const completion = count(u.completion_tokens);
  const total = count(u.total_tokens);
  if (prompt === undefined && completion === undefined && total === undefined) return undefined;
  return {
    ...(prompt !== undefined ? { prompt } : {}),
    ...(completion !== undefined ? { completion } : {}),
    ...(total !== undefined ? { total } : {}),
  };
}

// A longer line is not an OpenAI chunk worth reading; it is skipped rather than buffered.
const MAX_LINE = 1 << 20;

/**
 * Reads a `text/event-stream` response as it passes through and keeps the last `usage` any event
 * carried (OpenAI sends it in the final chunk when asked to). Chunk boundaries never matter: the
 * result is the same however the bytes are split.
 */
export class SseUsageScanner {
  readonly #decoder = new TextDecoder();
  #line = '';
  #skipping = false;
  #afterCr = false;
  #data: string[] = [];
  #usage: TokenUsage | undefined;
  #events = 0;

  /** Feeds the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    this.#scan(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Ends the stream: a last event without its blank line still counts. */
  end(): void {
    this.#scan(this.#decoder.decode());
    if (this.#line !== '' || this.#skipping) this.#endLine();
    this.#dispatch();
  }

  /** The last usage seen, if any. */
  get usage(): TokenUsage | undefined {
    return this.#usage;
  }

  /** Events with data seen (stream chunks), `[DONE]` excluded. */
  get events(): number {
    return this.#events;
  }

  #scan(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // CRLF is one line end: the LF right after a CR ends nothing.
      if (c === 10 && this.#afterCr && i === start) {
        this.#afterCr = false;
        start = i + 1;
        continue;
      }
      this.#append(text.slice(start, i));
      this.#endLine();
      this.#afterCr = c === 13;
      start = i + 1;
    }
    if (start < text.length) {
      this.#afterCr = false;
      this.#append(text.slice(start));
    }
  }

  #append(part: string): void {
    if (this.#skipping) return;
    if (this.#line.length + part.length > MAX_LINE) {
      this.#skipping = true;
      this.#line = '';
      return;
    }
    this.#line += part;
  }

  #endLine(): void {
    const line = this.#line;
    const skipped = this.#skipping;
    this.#line = '';
    this.#skipping = false;
    if (skipped) return;
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith('data:')) {
      const value = line.slice(5);
      this.#data.push(value.startsWith(' ') ? value.slice(1) : value);
    }
  }

  #dispatch(): void {
    if (this.#data.length === 0) return;
    const data = this.#data.join('\n');
    this.#data = [];
    if (data === '[DONE]') return;
    this.#events++;
    try {
      const usage = usageFromJson(JSON.parse(data));
      if (usage !== undefined) this.#usage = usage;
    } catch {
      // Not JSON: counted as an event, carries no usage.
    }
  }
}
