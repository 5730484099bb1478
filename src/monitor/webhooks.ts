import { createHmac } from 'node:crypto';
import type { Severity, WebhookSettings } from './settings.js';

/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
export const SIGNATURE_HEADER = 'x-warden-signature';
/** Header carrying the signing time in Unix milliseconds; it is part of the MAC. */
export const TIMESTAMP_HEADER = 'x-warden-timestamp';
/** Header carrying the delivery id (the same on every retry), so receivers can drop duplicates. */
export const DELIVERY_HEADER = 'x-warden-delivery';

/** The signature of one webhook body: HMAC-SHA256 under the webhook's secret of `${timestamp}.${body}`. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Whether an alert of this kind and severity goes to the webhook. */
export function webhookWants(w: WebhookSettings, kind: string, severity: Severity): boolean {
  if (w.kinds !== undefined && !w.kinds.includes(kind)) return false;
  return w.minSeverity === undefined || RANK[severity] >= RANK[w.minSeverity];
}

/** Delay before attempt `attempts + 1`: `baseMs` doubled per failed attempt, at most an hour. */
export function backoffMs(baseMs: number, attempts: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), 3_600_000);
}
