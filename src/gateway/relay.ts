import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { callerResponseHeaders } from './headers.js';
import type { ResponseMeter } from './response-meter.js';

/** How a relayed response ended: whole, cut off by the caller, or cut off by the model server. */
export type RelayEnding = 'complete' | 'client-aborted' | 'upstream-error';

/** What a relay reports: the answer started (or failed before it did), and how it ended. */
export interface RelayHooks {
  /** Takes the caller's response over from the web framework, when the upstream's headers are in. */
  takeOver(): ServerResponse;
  /** The upstream's status and headers were sent on to the caller. */
  started(status: number): void;
  /** The call failed before any header arrived (nothing was sent to the caller). */
  failed(err: Error): void;
  /** The response ended (called once). */
  ended(how: RelayEnding): void;
}

/**
 * An undici dispatch handler that writes the model server's answer straight into the caller's
 * response: headers without hop-by-hop fields, then each chunk as it arrives (metered on the way),
 * pausing the upstream while the caller is slow and aborting it if the caller goes away.
 */
export class Relay implements Dispatcher.DispatchHandler {
  readonly #hooks: RelayHooks;
  readonly #meter: (contentType: string | undefined) => ResponseMeter;
  #res: ServerResponse | undefined;
  #out: ResponseMeter | undefined;
  #ended = false;

  constructor(hooks: RelayHooks, meter: (contentType: string | undefined) => ResponseMeter) {
    this.#hooks = hooks;
    this.#meter = meter;
  }

  /** The response meter, once the response has started. */
  get meter(): ResponseMeter | undefined {
    return this.#out;
  }

  onRequestStart(): void {}

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (status < 200 || this.#res !== undefined) return; // 1xx: informational, not relayed
    const type = headers['content-type'];
    this.#out = this.#meter(Array.isArray(type) ? type[0] : type);
    const res = this.#hooks.takeOver();
    this.#res = res;
    res.writeHead(status, callerResponseHeaders(headers));
    res.on('drain', () => controller.resume());
    res.on('close', () => {
      if (this.#ended) return;
      this.#end('client-aborted');
      // Nobody is listening any more: stop the model server's work too.
      controller.abort(new Error('the caller went away'));
    });
    this.#hooks.started(status);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#out?.push(chunk);
    if (this.#res?.write(chunk) === false) controller.pause();
  }

  onResponseEnd(): void {
    this.#end('complete');
    this.#res?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#res === undefined) {
      this.#hooks.failed(err);
      return;
    }
    this.#end('upstream-error');
    this.#res.destroy();
  }

  #end(how: RelayEnding): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#hooks.ended(how);
  }
}
