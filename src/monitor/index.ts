export { type AlertFilter, Alerts, type AlertView, type DeliveryView, MONITOR_ACTOR } from './alerts.js';
export type { Detector, Finding, ObservedEvent } from './detector.js';
export { observe } from './detector.js';
export {
  authFailureBursts,
  buildDetectors,
  bulkDatasetReads,
  deniedActionBursts,
  offHoursPrivileged,
  oversizedPayloads,
  rateSpikes,
  withinWorkingHours,
} from './detectors/index.js';
export { Monitor } from './monitor.js';
export {
  type DetectorSettings,
  detectorsSchema,
  type MonitorSettings,
  parseMonitorSettings,
  type Severity,
  type WebhookSettings,
} from './settings.js';
export { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './webhooks.js';
