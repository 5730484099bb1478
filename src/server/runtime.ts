import type { FastifyInstance } from 'fastify';
import { catalogResolver, Datasets, Lineage, Projects } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { type Clock, systemClock } from '../core/index.js';
import {
  AuditQueue,
  EndpointDirectory,
  EndpointSettings,
  Gateway,
  MemoryTokenBuckets,
  RedisTokenBuckets,
} from '../gateway/index.js';
import {
  type BootstrapResult,
  bootstrap,
  Credentials,
  Directory,
  Federation,
  LocalLogin,
  parseIssuers,
  SecretBox,
  Throttle,
} from '../identity/index.js';
import {
  AdvisoryLockLeadership,
  Integrator,
  Ledger,
  loadOrCreateLedgerKeys,
  Recorder,
  Retention,
  SensitiveFields,
  SoleLeadership,
} from '../ledger/index.js';
import { Alerts, Monitor, parseMonitorSettings } from '../monitor/index.js';
import { Authorizer, Bindings } from '../policy/index.js';
import { Models, Provenances, Signatures, Versions } from '../registry/index.js';
import { BlobStore, openStore, type Store } from '../store/index.js';
import { Aliases, Endpoints, Promotions, Stages } from '../workflow/index.js';
import { buildApp } from './app.js';
import { Guard } from './guard.js';
import { Metrics } from './metrics.js';
import type { AnyRoute } from './route.js';
import { allRoutes } from './routes/index.js';

/** A running Warden: the store, the ledger and its integrator, identity, policy, the HTTP app. */
export interface Runtime {
  readonly config: Config;
  readonly store: Store;
  readonly ledger: Ledger;
  readonly integrator: Integrator;
  readonly retention: Retention;
  readonly directory: Directory;
  readonly credentials: Credentials;
  readonly authorizer: Authorizer;
  readonly bindings: Bindings;
  readonly metrics: Metrics;
  /** Misuse detection: runs the detectors over integrated events on the integrator's leader. */
  readonly monitor: Monitor;
  readonly app: FastifyInstance;
  /** The route table the app serves. */
  readonly routes: readonly AnyRoute[];
  readonly bootstrap: BootstrapResult;
  /** Stops accepting, drains requests, integrates what is pending (signing a final checkpoint), closes. */
  close(): Promise<void>;
}

const RETENTION_EVERY_MS = 3_600_000;

/** Opens the store, loads or creates the keys, bootstraps on first run and builds the app (not yet listening). */
export async function startRuntime(config: Config, clock: Clock = systemClock): Promise<Runtime> {
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
  try {
    const keys = await loadOrCreateLedgerKeys({
      signingKeyFile: config.signingKeyFile,
      hmacKeyFile: config.hmacKeyFile,
      origin: config.origin,
    });
    const sensitive = new SensitiveFields(config.sensitiveFields, keys.hmacKey);
    const recorder = new Recorder({ clock, sensitive, blobs: new BlobStore(config.blobDir) });
    const integrator = new Integrator({
      store,
      signer: keys.signer,
      leadership: store.url ? new AdvisoryLockLeadership(store.url) : new SoleLeadership(),
      clock,
      batchSize: config.batchSize,
      idleMs: config.idleMs,
      takeoverMs: 1000,
      onError: (err) => app.log.error({ err }, 'ledger integration failed; retrying'),
    });
    const ledger = new Ledger({
      store,
      recorder,
      integrator,
      key: keys.signer,
      verifierKey: keys.verifierKey,
      sensitive,
    });
    const retention = new Retention({ store, ledger, clock });
    const directory = new Directory({ store, ledger, clock });
    const credentials = new Credentials({ store, ledger, clock });
    const authorizer = new Authorizer({ store, ledger, clock });
    authorizer.addResolver(catalogResolver);
    const projects = new Projects({ store, ledger, clock, authorizer });
    const datasets = new Datasets({ store, ledger, clock, authorizer });
    const lineage = new Lineage({ store });
    const models = new Models({ store, ledger, clock });
    const versions = new Versions({
      store,
      ledger,
      clock,
      blobs: new BlobStore(config.blobDir),
      limits: {
        maxTotalBytes: config.maxUploadBytes,
        maxEntries: config.maxUploadFiles,
        maxFileBytes: config.maxFileBytes,
        maxRatio: config.maxUploadRatio,
      },
    });
    const signatures = new Signatures({ store, ledger, clock });
    const provenances = new Provenances({ store, ledger, clock });
    const promotions = new Promotions({ store, ledger, clock, authorizer });
    const stages = new Stages({ store, ledger, clock, blobs: new BlobStore(config.blobDir) });
    const aliases = new Aliases({ store, ledger, clock });
    const endpoints = new Endpoints({ store, ledger, clock, authorizer });
    const bindings = new Bindings({ store, ledger, clock });
    const now = () => clock.now();
    const throttle = {
      ip: new Throttle({ failures: config.authFailureLimit, windowMs: 5 * 60_000 }, now),
      account: new Throttle({ failures: 5, windowMs: 15 * 60_000 }, now),
    };
    const sessions = {
      idleTimeoutMs: config.sessionIdleMinutes * 60_000,
      absoluteTimeoutMs: config.sessionMaxHours * 3_600_000,
    };
    const federation = new Federation({
      issuers: parseIssuers(config.oidcIssuers),
      store,
      directory,
      box: new SecretBox(keys.hmacKey, 'warden oidc login state'),
      clock,
    });
    const login = new LocalLogin({
      store,
      ledger,
      clock,
      directory,
      credentials,
      box: new SecretBox(keys.hmacKey, 'warden totp seeds'),
      sessions,
      issuer: 'Warden',
    });
    const metrics = new Metrics();
    const guard = new Guard({
      metrics,
      store,
      ledger,
      clock,
      authorizer,
      throttle: throttle.ip,
      ...(federation.enabled
        ? { verifyJwt: federation.verifyJwt, resolveFederated: federation.resolve }
        : {}),
    });
    const audit = new AuditQueue({
      store,
      ledger,
      clock,
      onError: (err) => app.log.error({ err }, 'gateway events could not be recorded; retrying'),
    });
    const upstreamBox = new SecretBox(keys.hmacKey, 'warden upstream credentials');
    const endpointDirectory = new EndpointDirectory({ store, clock, box: upstreamBox });
    const endpointSettings = new EndpointSettings({
      store,
      ledger,
      box: upstreamBox,
      directory: endpointDirectory,
    });
    const buckets =
      config.redisUrl !== ''
        ? new RedisTokenBuckets({ url: config.redisUrl, prefix: config.redisPrefix })
        : new MemoryTokenBuckets(clock);
    metrics.watchLedger(ledger);
    const gateway = new Gateway({
      audit,
      buckets,
      clock,
      observer: metrics.gateway,
      limits: {
        principalRate: { perSecond: config.gatewayRatePerSecond, burst: config.gatewayBurst },
        maxPayloadBytes: config.gatewayMaxPayloadBytes,
        timeoutMs: config.gatewayTimeoutMs,
        connectTimeoutMs: config.gatewayConnectTimeoutMs,
      },
    });
    const monitorSettings = parseMonitorSettings({
      detectors: config.detectors,
      webhooks: config.alertWebhooks,
      intervalMs: config.monitorIntervalMs,
      webhookMaxAttempts: config.webhookMaxAttempts,
      webhookBackoffMs: config.webhookBackoffMs,
    });
    const alerts = new Alerts({ store, ledger, clock, webhooks: monitorSettings.webhooks });
    const monitor = new Monitor({
      store,
      ledger,
      alerts,
      clock,
      settings: monitorSettings,
      isLeader: () => integrator.isLeader,
      onAlert: (a) => metrics.alerts.inc({ kind: a.kind, severity: a.severity }),
      onError: (err) => app.log.error({ err }, 'misuse detection pass failed; retrying'),
    });
    const routes = allRoutes({
      store,
      ledger,
      integrator,
      retention,
      retentionDays: config.retentionDays,
      directory,
      credentials,
      authorizer,
      bindings,
      login,
      federation,
      sessions,
      throttle,
      metrics,
      projects,
      datasets,
      lineage,
      gateway,
      endpointDirectory,
      models,
      versions,
      signatures,
      provenances,
      promotions,
      stages,
      aliases,
      endpoints,
      endpointSettings,
      alerts,
    });
    const app = buildApp({
      guard,
      routes,
      maxBodyBytes: config.maxBodyBytes,
      trustProxy: config.trustProxy,
      logLevel: config.logLevel,
    });
    const boot = await bootstrap(store, ledger, config.bootstrapToken, clock);
    integrator.start();
    monitor.start();
    const retentionTimer =
      config.retentionDays > 0
        ? setInterval(() => {
            if (!integrator.isLeader) return;
            retention
              .purge({ type: 'system', id: 'retention', via: 'system' }, config.retentionDays * 86_400_000)
              .catch((err) => app.log.error({ err }, 'retention purge failed'));
          }, RETENTION_EVERY_MS)
        : undefined;
    retentionTimer?.unref();
    let closing: Promise<void> | undefined;
    return {
      config,
      store,
      ledger,
      integrator,
      retention,
      directory,
      credentials,
      authorizer,
      bindings,
      metrics,
      monitor,
      app,
      routes,
      bootstrap: boot,
      close: () => {
        closing ??= (async () => {
          if (retentionTimer) clearInterval(retentionTimer);
          await app.close();
          await monitor.stop();
          await gateway.close();
          await buckets.close();
          await audit.drain().catch((err) => app.log.error({ err }, 'gateway events lost at shutdown'));
          await integrator.stop();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
