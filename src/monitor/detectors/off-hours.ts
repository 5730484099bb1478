import { type Detector, isPrincipal, suspensionFor } from '../detector.js';
import type { DetectorSettings } from '../settings.js';
import { withinWorkingHours } from './working-hours.js';

/** A configured privileged action taken (not merely attempted) outside working hours. */
export function offHoursPrivileged(s: DetectorSettings['offHours']): Detector {
  const actions = new Set(s.actions);
  return {
    kind: 'off_hours',
    observe(e) {
      if (!isPrincipal(e) || !actions.has(e.action)) return [];
      if (e.outcome !== 'allowed' && e.outcome !== 'succeeded') return [];
      if (withinWorkingHours(e.timeMs, s)) return [];
      return [
        {
          kind: 'off_hours',
          severity: s.severity,
          key: `off_hours:${e.id}`,
          subject: { type: e.actorType === 'user' ? 'User' : 'ServiceAccount', id: e.actorId },
          project: e.project,
          summary: `${e.actorId} took ${e.action} on ${e.resourceType}::${e.resourceId} outside working hours (${s.hours} ${s.days.join(',')} ${s.timezone})`,
          details: {
            event: e.id,
            action: e.action,
            resource: `${e.resourceType}::${e.resourceId}`,
            at: new Date(e.timeMs).toISOString(),
            hours: s.hours,
            days: s.days,
            timezone: s.timezone,
          },
          suspend: suspensionFor(e, s.suspend),
        },
      ];
    },
    snapshot: () => null,
    restore: () => undefined,
  };
}
