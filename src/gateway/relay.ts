import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { callerResponseHeaders } from './headers.js';
import type { ResponseMeter } from './response-meter.js';

/** How a relayed call ended: whole, cut off by the caller, or cut off by the model server. */
export type RelayEnding = 'complete' | 'client-aborted' | 'upstream-error';

/** What a relay reports: the answer started (or failed before it did), and how it ended. */
export interface RelayHooks {
  /** Takes the caller's response over from the web framework: when the answer starts, or the caller left. */
  takeOver(): void;
  /** The upstream's status and headers were sent on to the caller. */
  started(status: number): void;
  /** The model server could not be reached or did not answer in time (nothing was sent). */
  failed(err: Error): void;
  /** The call ended after it started, or the caller went away before it did (called once). */
  ended(how: RelayEnding): void;
}

/**
 * An undici dispatch handler that writes the model server's answer straight into the caller's
 * response: headers without hop-by-hop fields, then each chunk as it arrives (metered on the way),
 * pausing the upstream while the caller is slow. If the caller goes away, before or during the
 * answer, the upstream request is aborted and the call ends as `client-aborted`.
 */
export class Relay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #hooks: RelayHooks;
  readonly #meter: (contentType: string | undefined) => ResponseMeter;
  #controller: Dispatcher.DispatchController | undefined;
  #out: ResponseMeter | undefined;
  #started = false;
  #ended = false;

  constructor(
    res: ServerResponse,
    hooks: RelayHooks,
    meter: (contentType: string | undefined) => ResponseMeter,
  ) {
    this.#res = res;
    this.#hooks = hooks;
    this.#meter = meter;
  }

  /** The response meter, once the response has started. */
  get meter(): ResponseMeter | undefined {
    return this.#out;
  }

  /** Whether the upstream's headers reached the caller. */
  get started(): boolean {
    return this.#started;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const first = this.#controller === undefined;
    this.#controller = controller;
    if (!first) return; // a retry on another connection: the caller is watched already
    if (this.#res.destroyed) this.#abandon();
    else this.#res.once('close', () => this.#abandon());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (status < 200 || this.#started || this.#ended) return; // 1xx: informational, not relayed
    this.#started = true;
    const type = headers['content-type'];
    this.#out = this.#meter(Array.isArray(type) ? type[0] : type);
    this.#hooks.takeOver();
    this.#res.writeHead(status, callerResponseHeaders(headers));
    this.#res.on('drain', () => controller.resume());
    this.#hooks.started(status);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#ended) return;
    this.#out?.push(chunk);
    if (!this.#res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#ended) return;
    this.#end('complete');
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#ended) return;
    if (!this.#started) {
      this.#ended = true;
      this.#hooks.failed(err);
      return;
    }
    this.#end('upstream-error');
    this.#res.destroy();
  }

  /** The caller's connection closed: unless the answer was complete, stop the model server's work. */
  #abandon(): void {
    if (this.#ended) return;
    if (!this.#started) this.#hooks.takeOver(); // nothing is left to answer
    this.#end('client-aborted');
    this.#controller?.abort(new Error('the caller went away'));
  }

  #end(how: RelayEnding): void {
    this.#ended = true;
    this.#hooks.ended(how);
  }
}
