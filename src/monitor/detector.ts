import type { Severity, SuspendSettings } from './settings.js';

/** The facts of one ledger event that detectors look at. */
export interface ObservedEvent {
  readonly id: string;
  readonly timeMs: number;
  readonly action: string;
  readonly outcome: string;
  readonly actorType: string;
  readonly actorId: string;
  readonly ip: string | undefined;
  /** The credential that acted, e.g. `token:<id>` (the guard puts it in `actor.session`). */
  readonly credential: string | undefined;
  readonly project: string | undefined;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** What a detector asks for when it fires: an alert, and maybe a suspension of the offender. */
export interface Finding {
  readonly kind: string;
  readonly severity: Severity;
  /** Identifies the detector window: a finding whose key was already raised is dropped. */
  readonly key: string;
  readonly subject: { readonly type: string; readonly id: string };
  readonly project: string | undefined;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly suspend?: SuspendRequest | undefined;
}

/** Suspend `credential` (when target is token and it is an API token) or else the principal. */
export interface SuspendRequest extends SuspendSettings {
  readonly principalId: string;
  readonly credential: string | undefined;
}

/**
 * A detector: pure logic over the event stream. `observe` sees events in ledger order; its state
 * is a JSON value the monitor persists with its cursor, so a restart resumes where it stopped.
 */
export interface Detector {
  readonly kind: string;
  observe(event: ObservedEvent): Finding[];
  snapshot(): unknown;
  restore(state: unknown): void;
}

/** Whether the actor is a signed-in user or service account (not anonymous, not Warden itself). */
export function isPrincipal(e: ObservedEvent): boolean {
  return e.actorType === 'user' || e.actorType === 'service';
}

/** The suspension a finding asks for, if its detector is configured to suspend. */
export function suspensionFor(
  e: ObservedEvent,
  suspend: SuspendSettings | undefined,
): SuspendRequest | undefined {
  if (suspend === undefined || !isPrincipal(e)) return undefined;
  return { ...suspend, principalId: e.actorId, credential: e.credential };
}

/** The detector facts of a stored event body, or undefined for a purged or malformed one. */
export function observe(id: string, body: unknown): ObservedEvent | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const e = body as {
    time?: unknown;
    action?: unknown;
    outcome?: unknown;
    actor?: { type?: unknown; id?: unknown; ip?: unknown; session?: unknown };
    resource?: { type?: unknown; id?: unknown };
    context?: { project?: unknown };
    details?: unknown;
  };
  const timeMs = typeof e.time === 'string' ? Date.parse(e.time) : Number.NaN;
  if (Number.isNaN(timeMs) || typeof e.action !== 'string' || typeof e.outcome !== 'string') return undefined;
  return {
    id,
    timeMs,
    action: e.action,
    outcome: e.outcome,
    actorType: str(e.actor?.type) ?? 'unknown',
    actorId: str(e.actor?.id) ?? 'unknown',
    ip: str(e.actor?.ip),
    credential: str(e.actor?.session),
    project: str(e.context?.project),
    resourceType: str(e.resource?.type) ?? '',
    resourceId: str(e.resource?.id) ?? '',
    details:
      e.details !== null && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {},
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
