/** Who acted. `anonymous` is a caller that failed to authenticate. */
export interface EventActor {
  readonly type: 'user' | 'service' | 'system' | 'anonymous';
  readonly id: string;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly session?: string;
  readonly mfa?: boolean;
  readonly via: 'api' | 'cli' | 'gateway' | 'ui' | 'system';
}

export interface EventResource {
  readonly type: string;
  readonly id: string;
  readonly version?: string;
  readonly digest?: string;
}

export type EventOutcome = 'allowed' | 'denied' | 'succeeded' | 'failed';

export interface EventDecision {
  readonly policies: readonly string[];
  readonly reason: string;
  readonly bundle?: string;
}

export interface EventContext {
  readonly project?: string;
  readonly environment?: string;
  readonly purpose?: string;
}

/** What a caller hands to `record`; the recorder adds `v`, `id` and `time`. */
export interface EventInput {
  readonly actor: EventActor;
  readonly action: string;
  readonly resource: EventResource;
  readonly outcome: EventOutcome;
  readonly decision?: EventDecision;
  readonly context?: EventContext;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly request?: { readonly id: string; readonly payloadSha256?: string };
}

/** A ledger event as hashed: its JCS form is the leaf data. */
export interface LedgerEvent extends EventInput {
  readonly v: 1;
  readonly id: string;
  readonly time: string;
}

/** The event format version written by this code. */
export const EVENT_VERSION = 1;

/** Leaf data cannot exceed this many bytes: tile entry bundles carry 16-bit lengths. */
export const MAX_EVENT_BYTES = 65535;

/** Deep-freezes a JSON-like value so recorded events cannot be altered in memory. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
