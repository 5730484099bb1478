import { type Detector, type Finding, isPrincipal, type ObservedEvent, suspensionFor } from '../detector.js';
import type { DetectorSettings } from '../settings.js';
import { BurstCounter } from './burst-counter.js';

/** Failed authentications from one source address: `threshold` within `windowSeconds`. */
export function authFailureBursts(s: DetectorSettings['authFailures']): Detector {
  const counter = new BurstCounter(s.threshold, s.windowSeconds * 1000);
  return {
    kind: 'auth_failures',
    observe(e) {
      if (e.action !== 'auth.authenticate' || e.outcome !== 'denied') return [];
      const ip = e.ip ?? 'unknown';
      const first = counter.add(ip, e.timeMs);
      if (first === undefined) return [];
      return [
        {
          kind: 'auth_failures',
          severity: s.severity,
          key: `auth_failures:${ip}:${first}`,
          subject: { type: 'SourceIp', id: ip },
          project: undefined,
          summary: `${s.threshold} failed authentications from ${ip} within ${s.windowSeconds} s`,
          details: {
            ip,
            count: s.threshold,
            windowSeconds: s.windowSeconds,
            firstMs: first,
            lastEvent: e.id,
          },
        },
      ];
    },
    snapshot: () => counter.snapshot(),
    restore: (state) => counter.restore(state),
  };
}

/** Denied actions by one principal: `threshold` within `windowSeconds`. */
export function deniedActionBursts(s: DetectorSettings['deniedActions']): Detector {
  return principalBursts(
    'denied_actions',
    s,
    (e) => e.outcome === 'denied' && e.action !== 'auth.authenticate',
    {
      what: 'denied actions',
    },
  );
}

/** Dataset reads by one principal: `threshold` within `windowSeconds`. */
export function bulkDatasetReads(s: DetectorSettings['bulkReads']): Detector {
  return principalBursts(
    'bulk_reads',
    s,
    (e) => e.action === 'dataset.read' && (e.outcome === 'allowed' || e.outcome === 'succeeded'),
    { what: 'dataset reads' },
  );
}

function principalBursts(
  kind: string,
  s: DetectorSettings['deniedActions'] | DetectorSettings['bulkReads'],
  counts: (e: ObservedEvent) => boolean,
  words: { what: string },
): Detector {
  const counter = new BurstCounter(s.threshold, s.windowSeconds * 1000);
  return {
    kind,
    observe(e): Finding[] {
      if (!isPrincipal(e) || !counts(e)) return [];
      const first = counter.add(e.actorId, e.timeMs);
      if (first === undefined) return [];
      return [
        {
          kind,
          severity: s.severity,
          key: `${kind}:${e.actorId}:${first}`,
          subject: { type: e.actorType === 'user' ? 'User' : 'ServiceAccount', id: e.actorId },
          project: e.project,
          summary: `${s.threshold} ${words.what} by ${e.actorId} within ${s.windowSeconds} s`,
          details: {
            count: s.threshold,
            windowSeconds: s.windowSeconds,
            firstMs: first,
            lastEvent: e.id,
            lastAction: e.action,
            lastResource: `${e.resourceType}::${e.resourceId}`,
          },
          suspend: suspensionFor(e, s.suspend),
        },
      ];
    },
    snapshot: () => counter.snapshot(),
    restore: (state) => counter.restore(state),
  };
}
