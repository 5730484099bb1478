import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/index.js';
import {
  authFailureBursts,
  buildDetectors,
  bulkDatasetReads,
  type Detector,
  deniedActionBursts,
  detectorsSchema,
  type Finding,
  type ObservedEvent,
  offHoursPrivileged,
  oversizedPayloads,
  parseMonitorSettings,
  rateSpikes,
  withinWorkingHours,
} from '../../src/monitor/index.js';

const D = detectorsSchema.parse({});
let n = 0;

/** A scripted event: a service account's call by default. */
function ev(over: Partial<ObservedEvent> & { timeMs: number }): ObservedEvent {
  return {
    id: `e${n++}`,
    action: 'endpoint.invoke',
    outcome: 'succeeded',
    actorType: 'service',
    actorId: 'svc-1',
    ip: '10.0.0.1',
    credential: 'token:t1',
    project: 'fraud',
    resourceType: 'Endpoint',
    resourceId: 'ep1',
    details: { status: 200, bytesIn: 100 },
    ...over,
  };
}

function run(d: Detector, events: readonly ObservedEvent[]): Finding[] {
  return events.flatMap((e) => d.observe(e));
}

/** `count` events spread evenly over `[from, from + spanMs)`. */
function spread(
  count: number,
  from: number,
  spanMs: number,
  over: Partial<ObservedEvent> = {},
): ObservedEvent[] {
  return Array.from({ length: count }, (_, i) =>
    ev({ ...over, timeMs: from + Math.floor((i * spanMs) / count) }),
  );
}

describe('rate spike detector', () => {
  const s = { ...D.rateSpike, minCalls: 50, factor: 5, windowSeconds: 60 };

  it('fires once when a principal exceeds k× its own baseline, and stays quiet at its usual rate', () => {
    const d = rateSpikes(s);
    // Ten minutes at a steady 20 calls a minute: the baseline.
    const steady = Array.from({ length: 10 }, (_, m) => spread(20, m * 60_000, 60_000)).flat();
    assert.deepEqual(run(d, steady), []);
    const spike = spread(300, 10 * 60_000, 30_000);
    const found = run(d, spike);
    assert.equal(found.length, 1, 'one alert per window');
    const f = found[0]!;
    assert.equal(f.kind, 'rate_spike');
    assert.deepEqual(f.subject, { type: 'ServiceAccount', id: 'svc-1' });
    assert.equal(f.key, `rate_spike:svc-1:${10 * 60_000}`);
    assert.ok(Number(f.details.calls) > 5 * Number(f.details.baseline));
  });

  it('never fires below minCalls, however low the baseline', () => {
    const d = rateSpikes(s);
    assert.deepEqual(run(d, spread(4, 0, 5 * 60_000)), []);
    assert.deepEqual(run(d, spread(49, 5 * 60_000, 1000)), []);
  });

  it('without a baseline yet, fires only at factor × minCalls', () => {
    assert.deepEqual(run(rateSpikes(s), spread(249, 0, 60_000)), []);
    const found = run(rateSpikes(s), spread(250, 0, 60_000));
    assert.equal(found.length, 1);
    assert.equal(found[0]!.details.learning, true);
  });

  it('keeps each principal to its own baseline', () => {
    const d = rateSpikes(s);
    const busy = Array.from({ length: 12 }, (_, m) =>
      spread(200, m * 60_000, 60_000, { actorId: 'busy' }),
    ).flat();
    assert.deepEqual(run(d, busy.slice(0, 2000)), [], 'a steady heavy user is normal for itself');
    const usual = Array.from({ length: 5 }, (_, m) =>
      spread(2, (5 + m) * 60_000, 60_000, { actorId: 'quiet' }),
    );
    assert.deepEqual(run(d, usual.flat()), []);
    const found = run(d, spread(60, 10 * 60_000, 60_000, { actorId: 'quiet' }));
    assert.equal(found.length, 1);
    assert.equal(found[0]!.subject.id, 'quiet');
  });

  it('resumes from a snapshot as if it had never stopped', () => {
    const a = rateSpikes(s);
    const b = rateSpikes(s);
    const events = [...spread(100, 0, 120_000), ...spread(300, 180_000, 20_000)];
    const half = events.length / 2;
    const whole = run(a, events);
    const first = run(b, events.slice(0, half));
    const c = rateSpikes(s);
    c.restore(JSON.parse(JSON.stringify(b.snapshot())));
    assert.deepEqual([...first, ...run(c, events.slice(half))], whole);
  });

  it('property: a steady rate never fires', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 2, max: 20 }), (perMinute, minutes) => {
        const d = rateSpikes({ ...s, minCalls: 100 });
        const events = Array.from({ length: minutes }, (_, m) =>
          spread(perMinute, m * 60_000, 60_000),
        ).flat();
        assert.deepEqual(run(d, events), []);
      }),
    );
  });
});

describe('burst detectors', () => {
  it('fires on failed authentications from one address and not on scattered ones', () => {
    const d = authFailureBursts({ ...D.authFailures, threshold: 10, windowSeconds: 60 });
    const fail = {
      action: 'auth.authenticate',
      outcome: 'denied',
      actorType: 'anonymous',
      actorId: 'anonymous',
    };
    // Ten failures from ten addresses, and a slow trickle from one: quiet.
    const scattered = Array.from({ length: 10 }, (_, i) =>
      ev({ ...fail, ip: `10.0.1.${i}`, timeMs: i * 1000 }),
    );
    const trickle = Array.from({ length: 30 }, (_, i) => ev({ ...fail, ip: '10.0.2.1', timeMs: i * 10_000 }));
    assert.deepEqual(run(d, [...scattered, ...trickle]), []);
    const burst = spread(10, 1_000_000, 5000, { ...fail, ip: '192.0.2.9' });
    const found = run(d, burst);
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.subject, { type: 'SourceIp', id: '192.0.2.9' });
    assert.equal(found[0]!.suspend, undefined);
  });

  it('fires on a principal’s denied actions, asking for the configured suspension', () => {
    const d = deniedActionBursts({
      ...D.deniedActions,
      threshold: 5,
      windowSeconds: 60,
      suspend: { target: 'token', minutes: 15 },
    });
    assert.deepEqual(
      run(d, spread(20, 0, 60_000 * 20, { outcome: 'denied' })),
      [],
      'one a minute is not a burst',
    );
    assert.deepEqual(
      run(d, spread(50, 0, 10_000, { outcome: 'succeeded' })),
      [],
      'allowed calls do not count',
    );
    const found = run(d, spread(5, 2_000_000, 2000, { outcome: 'denied', actorId: 'svc-2' }));
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.suspend, {
      target: 'token',
      minutes: 15,
      principalId: 'svc-2',
      credential: 'token:t1',
    });
  });

  it('fires on bulk dataset reads, not on a few', () => {
    const d = bulkDatasetReads({ ...D.bulkReads, threshold: 20, windowSeconds: 600 });
    const read = { action: 'dataset.read', outcome: 'allowed', resourceType: 'Dataset' };
    assert.deepEqual(run(d, spread(19, 0, 500_000, read)), []);
    const hours = bulkDatasetReads({ ...D.bulkReads, threshold: 20, windowSeconds: 600 });
    assert.deepEqual(run(hours, spread(40, 0, 3_600_000 * 10, read)), [], 'spread over hours');
    const found = run(
      bulkDatasetReads({ ...D.bulkReads, threshold: 20, windowSeconds: 600 }),
      spread(25, 0, 60_000, read),
    );
    assert.equal(found.length, 1);
    assert.equal(found[0]!.kind, 'bulk_reads');
  });

  it('property: fewer than the threshold in any window never fires', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 1, max: 100 }), (threshold, count) => {
        const d = bulkDatasetReads({ ...D.bulkReads, threshold, windowSeconds: 60 });
        // Gaps of a full window between events: never two in one window.
        const events = Array.from({ length: count }, (_, i) =>
          ev({ action: 'dataset.read', outcome: 'allowed', timeMs: i * 60_000 }),
        );
        assert.deepEqual(run(d, events), []);
      }),
    );
  });
});

describe('oversized payload detector', () => {
  it('fires on a 413 or a body over the limit, once per cooldown, and not on normal calls', () => {
    const d = oversizedPayloads({ ...D.oversized, maxBytes: 1_000_000, cooldownSeconds: 60 });
    assert.deepEqual(run(d, spread(100, 0, 60_000)), []);
    const found = run(d, [
      ev({ timeMs: 100_000, details: { status: 413, bytesIn: 5_000_000 } }),
      ev({ timeMs: 101_000, details: { status: 413, bytesIn: 5_000_000 } }),
      ev({ timeMs: 200_000, details: { status: 200, bytesIn: 2_000_000 } }),
    ]);
    assert.deepEqual(
      found.map((f) => f.details.status),
      [413, 200],
    );
  });
});

describe('off-hours privileged action detector', () => {
  const s = { ...D.offHours, timezone: 'Europe/Paris', hours: '08:00-19:00' };
  // Monday 2026-01-05.
  const at = (iso: string) => Date.parse(iso);

  it('reads working hours on the zone’s wall clock', () => {
    assert.equal(withinWorkingHours(at('2026-01-05T07:30:00Z'), s), true, '08:30 in Paris');
    assert.equal(withinWorkingHours(at('2026-01-05T06:30:00Z'), s), false, '07:30 in Paris');
    assert.equal(withinWorkingHours(at('2026-01-05T17:59:00Z'), s), true, '18:59 in Paris');
    assert.equal(withinWorkingHours(at('2026-01-05T18:00:00Z'), s), false, '19:00 in Paris');
    assert.equal(withinWorkingHours(at('2026-01-10T10:00:00Z'), s), false, 'Saturday');
    assert.equal(withinWorkingHours(at('2026-07-06T06:30:00Z'), s), true, '08:30 summer time');
    const night = { ...s, hours: '22:00-06:00', days: ['Mon'] };
    assert.equal(withinWorkingHours(at('2026-01-05T22:30:00Z'), night), true, 'spans midnight');
    assert.equal(withinWorkingHours(at('2026-01-05T12:00:00Z'), night), false);
  });

  it('fires on a privileged action taken at night and not on the same action by day or on other actions', () => {
    const d = offHoursPrivileged(s);
    const apply = { action: 'policy.apply', resourceType: 'Platform', resourceId: 'root' };
    assert.deepEqual(
      run(d, [
        ev({ ...apply, timeMs: at('2026-01-05T10:00:00Z') }),
        ev({ timeMs: at('2026-01-05T23:00:00Z') }),
        ev({ ...apply, outcome: 'denied', timeMs: at('2026-01-05T23:00:00Z') }),
        ev({ ...apply, actorType: 'system', actorId: 'warden', timeMs: at('2026-01-05T23:00:00Z') }),
      ]),
      [],
    );
    const found = run(d, [
      ev({ ...apply, actorType: 'user', actorId: 'u1', timeMs: at('2026-01-05T23:00:00Z') }),
    ]);
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.subject, { type: 'User', id: 'u1' });
  });
});

describe('detector settings', () => {
  it('defaults every detector, and disabling one leaves it out', () => {
    assert.equal(buildDetectors(D).length, 6);
    const s = detectorsSchema.parse({ offHours: { enabled: false }, rateSpike: { enabled: false } });
    assert.deepEqual(
      buildDetectors(s).map((d) => d.kind),
      ['auth_failures', 'denied_actions', 'oversized', 'bulk_reads'],
    );
  });

  it('names the bad field', () => {
    const base = { intervalMs: 1000, webhookMaxAttempts: 3, webhookBackoffMs: 10 };
    assert.throws(
      () => parseMonitorSettings({ ...base, detectors: { rateSpike: { factor: 0 } }, webhooks: [] }),
      (err: { issues: { field: string }[] }) =>
        err.issues[0]?.field === 'detectors (WARDEN_DETECTORS).rateSpike.factor',
    );
    assert.throws(
      () =>
        parseMonitorSettings({
          ...base,
          detectors: { offHours: { timezone: 'Mars/Olympus' } },
          webhooks: [],
        }),
      (err: { issues: { field: string }[] }) =>
        err.issues[0]?.field === 'detectors (WARDEN_DETECTORS).offHours.timezone',
    );
    assert.throws(
      () => parseMonitorSettings({ ...base, detectors: {}, webhooks: [{ url: 'ftp://x', secret: 'short' }] }),
      (err: { issues: { field: string }[] }) =>
        err.issues.map((i) => i.field).join() ===
        'alertWebhooks (WARDEN_ALERT_WEBHOOKS)[0].url,alertWebhooks (WARDEN_ALERT_WEBHOOKS)[0].secret',
    );
    assert.throws(
      () => parseMonitorSettings({ ...base, detectors: { nope: {} }, webhooks: [] }),
      /WARDEN_DETECTORS/,
    );
    assert.throws(
      () => loadConfig({}, { WARDEN_DETECTORS: '[1]' }, undefined),
      (err: { issues: { field: string }[] }) => err.issues[0]?.field === 'detectors (WARDEN_DETECTORS)',
    );
    assert.throws(
      () => loadConfig({}, { WARDEN_ALERT_WEBHOOKS: '{"url": 1' }, undefined),
      (err: { issues: { field: string }[] }) =>
        err.issues[0]?.field === 'alertWebhooks (WARDEN_ALERT_WEBHOOKS)',
    );
  });
});
