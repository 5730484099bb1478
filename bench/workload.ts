import { canonicalJson, newId, rfc3339 } from '../src/core/index.js';
import type { EventInput } from '../src/ledger/index.js';

/** Events per recording transaction, for Warden and the baseline alike. */
export const BATCH = 500;

/** The multiplier `BENCH_SCALE` applies to every size (default 1). */
export function benchScale(): number {
  const raw = process.env.BENCH_SCALE ?? '1';
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0)
    throw new Error(`BENCH_SCALE must be a positive number, got ${raw}`);
  return scale;
}

/** `n` scaled by BENCH_SCALE and rounded to a whole number of `unit`s (at least one). */
export function scaled(n: number, scale: number, unit: number = BATCH): number {
  return Math.max(unit, Math.round((n * scale) / unit) * unit);
}

const ACTIONS = ['dataset.read', 'model_version.promote', 'endpoint.invoke', 'artifact.download'] as const;

/** The i-th event of a realistic mix: a user acting through the API, with decision and context (~400 bytes stored). */
export function eventInput(i: number): EventInput {
  const n = String(i).padStart(7, '0');
  return {
    actor: {
      type: 'user',
      id: `u-${n.slice(-4)}`,
      ip: `10.${i % 200}.${(i >> 8) % 250}.${i % 97}`,
      mfa: i % 3 !== 0,
      via: 'api',
    },
    action: ACTIONS[i % ACTIONS.length] as string,
    resource: { type: 'Dataset', id: `ds-fraud-${n.slice(-3)}` },
    outcome: i % 17 === 0 ? 'denied' : 'allowed',
    decision: { policies: ['role.data-scientist'], reason: 'role data-scientist' },
    context: { project: 'fraud', purpose: 'training' },
    request: { id: `req-${n}` },
  };
}

/** The stored body the recorder would write for `eventInput(i)`: its JCS form with `v`, `id` and `time`. */
export function eventBody(i: number, now: number): string {
  return canonicalJson({ v: 1, id: newId(now), time: rfc3339(now), ...eventInput(i) });
}
