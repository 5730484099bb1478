import { z } from 'zod';
import { invalidInput } from '../core/index.js';

const severity = z.enum(['info', 'warning', 'critical']);

/** What an alert may do to the offender: suspend its API token (or the principal) for a while. */
const suspend = z
  .object({
    target: z.enum(['token', 'principal']),
    minutes: z
      .number()
      .positive()
      .max(60 * 24 * 30),
  })
  .strict();

const seconds = z
  .number()
  .positive()
  .max(7 * 86_400);

const rateSpike = z
  .object({
    enabled: z.boolean().default(true),
    severity: severity.default('warning'),
    /** Actions counted as calls; `*` counts every action. */
    actions: z.array(z.string().min(1)).min(1).default(['endpoint.invoke']),
    windowSeconds: seconds.default(60),
    /** Fires when a window's calls exceed this many times the principal's baseline... */
    factor: z.number().min(1).default(5),
    /** ...and are at least this many. */
    minCalls: z.number().int().min(1).default(100),
    /** Weight of the latest window in the baseline (an exponentially weighted moving average). */
    alpha: z.number().gt(0).max(1).default(0.2),
    /** Windows of history before the baseline counts; until then only factor × minCalls fires. */
    warmupWindows: z.number().int().min(0).max(1000).default(3),
    suspend: suspend.optional(),
  })
  .strict();

const burst = (defaults: { threshold: number; windowSeconds: number; severity: 'warning' | 'critical' }) =>
  z
    .object({
      enabled: z.boolean().default(true),
      severity: severity.default(defaults.severity),
      threshold: z.number().int().min(1).default(defaults.threshold),
      windowSeconds: seconds.default(defaults.windowSeconds),
    })
    .strict();

const oversized = z
  .object({
    enabled: z.boolean().default(true),
    severity: severity.default('warning'),
    /** Gateway calls with more request bytes than this fire (as does every 413). */
    maxBytes: z
      .number()
      .int()
      .min(1)
      .default(8 * 1024 * 1024),
    /** At most one alert per principal in this period. */
    cooldownSeconds: seconds.default(300),
    suspend: suspend.optional(),
  })
  .strict();

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)');
const weekday = z.enum(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);

const offHours = z
  .object({
    enabled: z.boolean().default(true),
    severity: severity.default('warning'),
    actions: z
      .array(z.string().min(1))
      .default([
        'policy.apply',
        'binding.create',
        'model_version.promote_production',
        'endpoint.deploy_production',
        'audit.export',
        'ledger.purge',
      ]),
    /** An IANA time zone, e.g. `Europe/Paris`. */
    timezone: z
      .string()
      .min(1)
      .refine((tz) => validZone(tz), 'is not an IANA time zone this runtime knows')
      .default('UTC'),
    /** Working hours `HH:MM-HH:MM` (start inclusive, end exclusive) on `days`. */
    hours: z
      .string()
      .regex(/^\d\d:\d\d-\d\d:\d\d$/, 'must be HH:MM-HH:MM')
      .refine((h) => h.split('-').every((p) => hhmm.safeParse(p).success), 'hours must be 00:00-23:59')
      .default('08:00-19:00'),
    days: z.array(weekday).default(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']),
    suspend: suspend.optional(),
  })
  .strict();

const bulkReads = z
  .object({
    enabled: z.boolean().default(true),
    severity: severity.default('warning'),
    threshold: z.number().int().min(1).default(50),
    windowSeconds: seconds.default(600),
    suspend: suspend.optional(),
  })
  .strict();

const deniedBurst = burst({ threshold: 20, windowSeconds: 300, severity: 'warning' }).extend({
  suspend: suspend.optional(),
});

/** Every detector's settings (WARDEN_DETECTORS); each key may be omitted to take its defaults. */
export const detectorsSchema = z
  .object({
    rateSpike: rateSpike.default(rateSpike.parse({})),
    authFailures: burst({ threshold: 20, windowSeconds: 300, severity: 'warning' }).default({
      enabled: true,
      severity: 'warning',
      threshold: 20,
      windowSeconds: 300,
    }),
    deniedActions: deniedBurst.default(deniedBurst.parse({})),
    oversized: oversized.default(oversized.parse({})),
    offHours: offHours.default(offHours.parse({})),
    bulkReads: bulkReads.default(bulkReads.parse({})),
  })
  .strict();

/** One webhook (WARDEN_ALERT_WEBHOOKS): where alerts go, signed with `secret`, optionally filtered. */
export const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    secret: z.string().min(16, 'must be at least 16 characters'),
    kinds: z.array(z.string().min(1)).optional(),
    minSeverity: severity.optional(),
  })
  .strict();

export type DetectorSettings = z.infer<typeof detectorsSchema>;
export type WebhookSettings = z.infer<typeof webhookSchema>;
export type SuspendSettings = z.infer<typeof suspend>;
export type Severity = z.infer<typeof severity>;

/** How misuse detection runs (resolved from the configuration). */
export interface MonitorSettings {
  readonly detectors: DetectorSettings;
  readonly webhooks: readonly WebhookSettings[];
  /** Pause between passes over new ledger events (and webhook and suspension sweeps). */
  readonly intervalMs: number;
  /** Delivery attempts per webhook before the delivery is dead-lettered. */
  readonly webhookMaxAttempts: number;
  /** First retry delay; each later one doubles (capped at an hour). */
  readonly webhookBackoffMs: number;
}

/**
 * Validates the detector and webhook JSON settings; a bad value is a configuration error naming
 * its path under the environment variable (e.g. `WARDEN_DETECTORS.rateSpike.factor`).
 */
export function parseMonitorSettings(input: {
  detectors: unknown;
  webhooks: unknown;
  intervalMs: number;
  webhookMaxAttempts: number;
  webhookBackoffMs: number;
}): MonitorSettings {
  const detectors = detectorsSchema.safeParse(input.detectors);
  const webhooks = z.array(webhookSchema).safeParse(input.webhooks);
  const issues = [
    ...(detectors.success ? [] : named('detectors (WARDEN_DETECTORS)', detectors.error.issues)),
    ...(webhooks.success ? [] : named('alertWebhooks (WARDEN_ALERT_WEBHOOKS)', webhooks.error.issues)),
  ];
  if (issues.length > 0 || !detectors.success || !webhooks.success) throw invalidInput(issues);
  return Object.freeze({
    detectors: detectors.data,
    webhooks: Object.freeze(webhooks.data),
    intervalMs: input.intervalMs,
    webhookMaxAttempts: input.webhookMaxAttempts,
    webhookBackoffMs: input.webhookBackoffMs,
  });
}

function named(setting: string, issues: readonly z.core.$ZodIssue[]) {
  return issues.map((i) => ({
    field: `${setting}${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`,
    message: i.message,
  }));
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
