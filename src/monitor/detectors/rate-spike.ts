import { type Detector, type Finding, isPrincipal, suspensionFor } from '../detector.js';
import type { DetectorSettings } from '../settings.js';

interface PrincipalRate {
  /** Start of the window being counted. */
  w: number;
  /** Calls in that window. */
  n: number;
  /** Exponentially weighted mean of past windows' calls. */
  base: number;
  /** Whether this window already fired. */
  fired: boolean;
  /** Windows completed since the principal was first seen (counted up to the warm-up). */
  k: number;
}

const MAX_PRINCIPALS = 50_000;

/**
 * A principal's calls per window against its own baseline (an EWMA of its past windows, idle
 * windows counting as zero): fires once per window when calls reach `minCalls` and exceed
 * `factor` × baseline. Until a principal has `warmupWindows` windows of history it has no
 * baseline, and only `factor` × `minCalls` calls in a window fire.
 */
export function rateSpikes(s: DetectorSettings['rateSpike']): Detector {
  const windowMs = s.windowSeconds * 1000;
  const all = s.actions.includes('*');
  let rates = new Map<string, PrincipalRate>();
  let seen = 0;

  const roll = (r: PrincipalRate, w: number) => {
    if (w <= r.w) return;
    r.base = s.alpha * r.n + (1 - s.alpha) * r.base;
    const idle = Math.min((w - r.w) / windowMs - 1, 1000);
    r.base *= (1 - s.alpha) ** idle;
    r.k = Math.min(r.k + (w - r.w) / windowMs, s.warmupWindows);
    r.w = w;
    r.n = 0;
    r.fired = false;
  };

  return {
    kind: 'rate_spike',
    observe(e): Finding[] {
      if (!isPrincipal(e) || !(all || s.actions.includes(e.action))) return [];
      const w = Math.floor(e.timeMs / windowMs) * windowMs;
      if (++seen % 1000 === 0 || rates.size >= MAX_PRINCIPALS) prune(rates, w, windowMs);
      let r = rates.get(e.actorId);
      if (r === undefined) {
        r = { w, n: 0, base: 0, fired: false, k: 0 };
        rates.set(e.actorId, r);
      }
      roll(r, w);
      r.n++;
      const learning = r.k < s.warmupWindows;
      if (r.fired || r.n < (learning ? s.factor * s.minCalls : s.minCalls) || r.n <= s.factor * r.base)
        return [];
      r.fired = true;
      return [
        {
          kind: 'rate_spike',
          severity: s.severity,
          key: `rate_spike:${e.actorId}:${r.w}`,
          subject: { type: e.actorType === 'user' ? 'User' : 'ServiceAccount', id: e.actorId },
          project: e.project,
          summary: `${e.actorId} made ${r.n} calls within ${s.windowSeconds} s, over ${s.factor}× its baseline of ${r.base.toFixed(1)}`,
          details: {
            calls: r.n,
            baseline: Math.round(r.base * 100) / 100,
            factor: s.factor,
            windowStartMs: r.w,
            windowSeconds: s.windowSeconds,
            ...(learning ? { learning: true } : {}),
            lastEvent: e.id,
          },
          suspend: suspensionFor(e, s.suspend),
        },
      ];
    },
    snapshot: () => Object.fromEntries(rates),
    restore(state) {
      rates = new Map();
      if (state === null || typeof state !== 'object') return;
      for (const [k, v] of Object.entries(state as Record<string, PrincipalRate>)) {
        if (typeof v?.w === 'number' && typeof v.n === 'number' && typeof v.base === 'number')
          rates.set(k, { w: v.w, n: v.n, base: v.base, fired: v.fired === true, k: Number(v.k) || 0 });
      }
    },
  };
}

// Principals idle long enough that their baseline has decayed to nothing are forgotten.
function prune(rates: Map<string, PrincipalRate>, w: number, windowMs: number): void {
  for (const [k, r] of rates) if (w - r.w > 100 * windowMs) rates.delete(k);
  if (rates.size >= MAX_PRINCIPALS) {
    const keys = [...rates.keys()];
    for (const k of keys.slice(0, keys.length / 2)) rates.delete(k);
  }
}
