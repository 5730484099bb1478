import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventDecision } from './event.js';

/** What the request path knows about the current call: the decision that allowed it, its request id. */
export interface CallScope {
  readonly decision?: EventDecision;
  readonly requestId?: string;
}

const scope = new AsyncLocalStorage<CallScope>();

/** Runs `fn` with `call` as the current call, so every event it records carries the decision and request id. */
export function withCallScope<T>(call: CallScope, fn: () => Promise<T>): Promise<T> {
  return scope.run(call, fn);
}

/** The current call, if any. */
export function currentCallScope(): CallScope | undefined {
  return scope.getStore();
}
