/** A time-limited suspension a detector imposed on a principal or an API token. */
export interface AlertSuspensionTable {
  id: string;
  alert_id: string;
  target_type: 'principal' | 'token';
  target_id: string;
  /** The principal concerned (the token's owner for a token). */
  principal_id: string;
  until_ms: number;
  created_ms: number;
  /** When it ended: at `until_ms` by the sweep, or earlier by an administrator. */
  lifted_ms: number | null;
  lifted_by: string | null;
}

/** One alert to one webhook, with its retry state; `dead` after the last attempt failed. */
export interface WebhookDeliveryTable {
  id: string;
  alert_id: string;
  url: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  next_attempt_ms: number;
  last_error: string | null;
  created_ms: number;
  updated_ms: number;
}

/** The misuse-detection tables (migration 008). */
export interface MonitorTables {
  alert_suspensions: AlertSuspensionTable;
  webhook_deliveries: WebhookDeliveryTable;
}
