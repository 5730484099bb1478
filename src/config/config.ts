import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { invalidInput } from '../core/index.js';
import { MAX_RETENTION_DAYS } from '../ledger/retention.js';

/** Every setting, with its environment variable and config-file key (README: Configuration). */
export const SETTINGS = {
  dataDir: {
    env: 'WARDEN_DATA_DIR',
    help: 'data directory (SQLite database, keys, blobs)',
    default: './.warden',
  },
  databaseUrl: {
    env: 'WARDEN_DATABASE_URL',
    help: 'postgres:// URL; unset means embedded SQLite',
    default: '',
  },
  host: { env: 'WARDEN_HOST', help: 'address to listen on', default: '127.0.0.1' },
  port: { env: 'WARDEN_PORT', help: 'port to listen on', default: '8080' },
  origin: {
    env: 'WARDEN_ORIGIN',
    help: 'ledger origin (checkpoint key name), fixed at first start',
    default: '',
  },
  bootstrapToken: {
    env: 'WARDEN_BOOTSTRAP_TOKEN',
    help: 'admin token to use at first start instead of a generated one',
    default: '',
  },
  sensitiveFields: {
    env: 'WARDEN_SENSITIVE_FIELDS',
    help: 'comma-separated event fields stored only as HMAC (e.g. actor.ip,details.email)',
    default: '',
  },
  retentionDays: {
    env: 'WARDEN_RETENTION_DAYS',
    help: 'purge event bodies older than this (0 keeps all)',
    default: '0',
  },
  batchSize: { env: 'WARDEN_LEDGER_BATCH_SIZE', help: 'most events integrated per batch', default: '2000' },
  idleMs: {
    env: 'WARDEN_LEDGER_IDLE_MS',
    help: 'integrator poll interval when the queue is empty, and least time between batches that are not full (ms)',
    default: '20',
  },
  maxBodyBytes: { env: 'WARDEN_MAX_BODY_BYTES', help: 'largest request body accepted', default: '16777216' },
  gatewayRatePerSecond: {
    env: 'WARDEN_GATEWAY_RATE_PER_SECOND',
    help: 'gateway calls per second each principal may make (sustained; endpoints may set their own)',
    default: '100',
  },
  gatewayBurst: {
    env: 'WARDEN_GATEWAY_BURST',
    help: 'gateway calls a principal may make at once before the rate applies',
    default: '200',
  },
  gatewayMaxPayloadBytes: {
    env: 'WARDEN_GATEWAY_MAX_PAYLOAD_BYTES',
    help: 'largest gateway request body (endpoints may set a smaller one)',
    default: '16777216',
  },
  gatewayTimeoutMs: {
    env: 'WARDEN_GATEWAY_TIMEOUT_MS',
    help: 'longest wait for an upstream to send its response headers, and between body chunks (ms)',
    default: '60000',
  },
  gatewayConnectTimeoutMs: {
    env: 'WARDEN_GATEWAY_CONNECT_TIMEOUT_MS',
    help: 'longest wait to connect to an upstream (ms)',
    default: '5000',
  },
  maxUploadBytes: {
    env: 'WARDEN_MAX_UPLOAD_BYTES',
    help: "largest model version upload: the sum of its files' sizes (10 GiB)",
    default: '10737418240',
  },
  maxUploadFiles: {
    env: 'WARDEN_MAX_UPLOAD_FILES',
    help: 'most entries (files and directories) in one model version upload',
    default: '10000',
  },
  maxFileBytes: {
    env: 'WARDEN_MAX_FILE_BYTES',
    help: 'largest single file in a model version upload (10 GiB)',
    default: '10737418240',
  },
  maxUploadRatio: {
    env: 'WARDEN_MAX_UPLOAD_RATIO',
    help: 'most decompressed bytes per compressed byte in a gzip upload (against compression bombs)',
    default: '200',
  },
  redisUrl: {
    env: 'WARDEN_REDIS_URL',
    help: 'redis:// URL; set, gateway rate limits are shared by every replica using it (unset: per process)',
    default: '',
  },
  redisPrefix: {
    env: 'WARDEN_REDIS_PREFIX',
    help: 'prefix of the rate-limit keys in Redis (replicas sharing limits use the same one)',
    default: 'warden:rl:',
  },
  logLevel: { env: 'WARDEN_LOG_LEVEL', help: 'fatal|error|warn|info|debug|silent', default: 'info' },
  sessionIdleMinutes: {
    env: 'WARDEN_SESSION_IDLE_MINUTES',
    help: 'a session ends after this long unused',
    default: '30',
  },
  sessionMaxHours: {
    env: 'WARDEN_SESSION_MAX_HOURS',
    help: 'a session ends this long after sign-in, used or not',
    default: '12',
  },
  trustProxy: {
    env: 'WARDEN_TRUST_PROXY',
    help: 'addresses of trusted reverse proxies (comma-separated IPs/CIDRs) whose X-Forwarded-For names the client',
    default: '',
  },
  authFailureLimit: {
    env: 'WARDEN_AUTH_FAILURE_LIMIT',
    help: 'failed authentications one source may make in 5 minutes before it gets 429',
    default: '50',
  },
  oidcIssuers: {
    env: 'WARDEN_OIDC_ISSUERS',
    help: 'JSON array of trusted OpenID providers (see README: Single sign-on)',
    default: '[]',
  },
  detectors: {
    env: 'WARDEN_DETECTORS',
    help: 'JSON object tuning the misuse detectors (see README: Misuse detection and alerts)',
    default: '{}',
  },
  alertWebhooks: {
    env: 'WARDEN_ALERT_WEBHOOKS',
    help: 'JSON array of webhooks alerts are sent to: {url, secret, kinds?, minSeverity?}',
    default: '[]',
  },
  monitorIntervalMs: {
    env: 'WARDEN_MONITOR_INTERVAL_MS',
    help: 'pause between the monitor passes over new ledger events (ms)',
    default: '1000',
  },
  webhookMaxAttempts: {
    env: 'WARDEN_WEBHOOK_MAX_ATTEMPTS',
    help: 'delivery attempts per alert webhook before it is dead-lettered',
    default: '8',
  },
  webhookBackoffMs: {
    env: 'WARDEN_WEBHOOK_BACKOFF_MS',
    help: 'first webhook retry delay; it doubles per attempt, at most an hour (ms)',
    default: '5000',
  },
} as const;

export type SettingName = keyof typeof SETTINGS;

/** A setting holding JSON of the given shape (`object` or `array`), parsed; the detail is checked by its owner. */
const jsonSetting = (shape: 'object' | 'array') =>
  z.string().transform((s, ctx) => {
    try {
      const v = JSON.parse(s) as unknown;
      if (shape === 'array' ? !Array.isArray(v) : v === null || typeof v !== 'object' || Array.isArray(v))
        throw new Error(`must be a JSON ${shape}`);
      return v;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be a JSON ${shape}: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

const schema = z.object({
  dataDir: z.string().min(1),
  databaseUrl: z.string(),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  origin: z
    .string()
    .regex(/^[^\s+]*$/, 'must not contain spaces or "+"')
    .max(255),
  bootstrapToken: z.string().refine((t) => t === '' || t.length >= 32, 'must be at least 32 characters'),
  sensitiveFields: z.string().transform((s) =>
    s
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== ''),
  ),
  retentionDays: z.coerce.number().min(0).max(MAX_RETENTION_DAYS),
  batchSize: z.coerce.number().int().min(1).max(100_000),
  idleMs: z.coerce.number().int().min(1).max(60_000),
  maxBodyBytes: z.coerce.number().int().min(1024),
  gatewayRatePerSecond: z.coerce.number().positive(),
  gatewayBurst: z.coerce.number().int().min(1),
  gatewayMaxPayloadBytes: z.coerce.number().int().min(1),
  gatewayTimeoutMs: z.coerce.number().int().min(1).max(3_600_000),
  gatewayConnectTimeoutMs: z.coerce.number().int().min(1).max(600_000),
  maxUploadBytes: z.coerce.number().int().min(1),
  maxUploadFiles: z.coerce.number().int().min(1),
  maxFileBytes: z.coerce.number().int().min(1),
  maxUploadRatio: z.coerce.number().min(1),
  redisUrl: z
    .string()
    .refine((u) => u === '' || /^rediss?:\/\//.test(u), 'must be a redis:// or rediss:// URL'),
  redisPrefix: z.string().max(200),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  sessionIdleMinutes: z.coerce
    .number()
    .min(1)
    .max(24 * 60),
  sessionMaxHours: z.coerce
    .number()
    .min(1)
    .max(24 * 30),
  authFailureLimit: z.coerce.number().int().min(1),
  trustProxy: z.string().transform((s) =>
    s
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== ''),
  ),
  oidcIssuers: z.string().transform((s, ctx) => {
    try {
      const v = JSON.parse(s) as unknown;
      if (!Array.isArray(v)) throw new Error('must be a JSON array');
      return v as unknown[];
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a JSON array of issuer objects: ${(err as Error).message}`,
      });
      return z.NEVER;
    }
  }),
  detectors: jsonSetting('object'),
  alertWebhooks: jsonSetting('array'),
  monitorIntervalMs: z.coerce.number().int().min(10).max(3_600_000),
  webhookMaxAttempts: z.coerce.number().int().min(1).max(100),
  webhookBackoffMs: z.coerce.number().int().min(1).max(3_600_000),
});

/** Resolved configuration. */
export type Config = z.infer<typeof schema> & {
  readonly sqlitePath: string;
  readonly signingKeyFile: string;
  readonly hmacKeyFile: string;
  readonly blobDir: string;
};

/**
 * Merges, highest first: explicit overrides (command-line flags), `WARDEN_*` environment variables,
 * the JSON config file (`--config` or `WARDEN_CONFIG`), defaults. Bad values name their setting.
 */
export function loadConfig(
  overrides: Partial<Record<SettingName, string | number>> = {},
  env: NodeJS.ProcessEnv = process.env,
  configFile: string | undefined = env.WARDEN_CONFIG,
): Config {
  const file = configFile ? readConfigFile(configFile) : {};
  const raw: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    raw[name] = overrides[name] ?? env[s.env] ?? file[name] ?? s.default;
    if (Array.isArray(raw[name]))
      raw[name] =
        name === 'oidcIssuers' || name === 'alertWebhooks'
          ? JSON.stringify(raw[name])
          : (raw[name] as unknown[]).join(',');
    // JSON-valued settings may be written as objects in the config file.
    if (name === 'detectors' && raw[name] !== null && typeof raw[name] === 'object')
      raw[name] = JSON.stringify(raw[name]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw invalidInput(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0]) as SettingName;
        return { field: `${name} (${SETTINGS[name]?.env ?? '?'})`, message: i.message };
      }),
    );
  }
  const dataDir = resolve(parsed.data.dataDir);
  return Object.freeze({
    ...parsed.data,
    dataDir,
    sqlitePath: join(dataDir, 'warden.db'),
    signingKeyFile: join(dataDir, 'ledger.key'),
    hmacKeyFile: join(dataDir, 'hmac.key'),
    blobDir: join(dataDir, 'blobs'),
  });
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalidInput([{ field: 'config', message: `cannot read ${path}: ${(err as Error).message}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidInput([{ field: 'config', message: `${path} is not JSON: ${(err as Error).message}` }]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidInput([{ field: 'config', message: `${path} must hold a JSON object` }]);
  }
  const unknown = Object.keys(value).filter((k) => !(k in SETTINGS));
  if (unknown.length > 0) {
    throw invalidInput(unknown.map((k) => ({ field: `config.${k}`, message: `unknown setting in ${path}` })));
  }
  return value as Record<string, unknown>;
}
