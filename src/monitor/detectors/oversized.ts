import { type Detector, isPrincipal, suspensionFor } from '../detector.js';
import type { DetectorSettings } from '../settings.js';

const MAX_KEYS = 50_000;

/** Gateway calls refused as too large (413) or carrying more than `maxBytes`; one alert per principal per cooldown. */
export function oversizedPayloads(s: DetectorSettings['oversized']): Detector {
  let last = new Map<string, number>();
  const cooldownMs = s.cooldownSeconds * 1000;
  return {
    kind: 'oversized',
    observe(e) {
      if (e.action !== 'endpoint.invoke') return [];
      const status = e.details.status;
      const bytesIn = typeof e.details.bytesIn === 'number' ? e.details.bytesIn : 0;
      if (status !== 413 && bytesIn <= s.maxBytes) return [];
      const who = isPrincipal(e) ? e.actorId : `ip:${e.ip ?? 'unknown'}`;
      const previous = last.get(who);
      if (previous !== undefined && e.timeMs - previous < cooldownMs) return [];
      if (last.size >= MAX_KEYS) {
        last = new Map([...last].filter(([, t]) => e.timeMs - t < cooldownMs));
        if (last.size >= MAX_KEYS) last = new Map([...last].slice(MAX_KEYS / 2));
      }
      last.set(who, e.timeMs);
      return [
        {
          kind: 'oversized',
          severity: s.severity,
          key: `oversized:${e.id}`,
          subject: isPrincipal(e)
            ? { type: e.actorType === 'user' ? 'User' : 'ServiceAccount', id: e.actorId }
            : { type: 'SourceIp', id: e.ip ?? 'unknown' },
          project: e.project,
          summary: `${who} sent ${status === 413 ? 'a payload over the endpoint cap (413)' : `${bytesIn} bytes`} to ${String(e.details.endpoint ?? e.resourceId)}`,
          details: { event: e.id, status, bytesIn, maxBytes: s.maxBytes, endpoint: e.details.endpoint },
          suspend: suspensionFor(e, s.suspend),
        },
      ];
    },
    snapshot: () => Object.fromEntries(last),
    restore(state) {
      last = new Map(
        Object.entries(state !== null && typeof state === 'object' ? state : {}).filter(
          (kv): kv is [string, number] => typeof kv[1] === 'number',
        ),
      );
    },
  };
}
