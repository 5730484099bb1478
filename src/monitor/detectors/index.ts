import type { Detector } from '../detector.js';
import type { DetectorSettings } from '../settings.js';
import { authFailureBursts, bulkDatasetReads, deniedActionBursts } from './bursts.js';
import { offHoursPrivileged } from './off-hours.js';
import { oversizedPayloads } from './oversized.js';
import { rateSpikes } from './rate-spike.js';

/** The enabled detectors, in a fixed order. */
export function buildDetectors(s: DetectorSettings): Detector[] {
  return [
    s.rateSpike.enabled ? rateSpikes(s.rateSpike) : undefined,
    s.authFailures.enabled ? authFailureBursts(s.authFailures) : undefined,
    s.deniedActions.enabled ? deniedActionBursts(s.deniedActions) : undefined,
    s.oversized.enabled ? oversizedPayloads(s.oversized) : undefined,
    s.offHours.enabled ? offHoursPrivileged(s.offHours) : undefined,
    s.bulkReads.enabled ? bulkDatasetReads(s.bulkReads) : undefined,
  ].filter((d): d is Detector => d !== undefined);
}

export { authFailureBursts, bulkDatasetReads, deniedActionBursts } from './bursts.js';
export { offHoursPrivileged } from './off-hours.js';
export { oversizedPayloads } from './oversized.js';
export { rateSpikes } from './rate-spike.js';
export { withinWorkingHours } from './working-hours.js';
