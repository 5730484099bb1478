import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { type Clock, systemClock } from '../core/index.js';
import { type BootstrapResult, bootstrap } from '../identity/index.js';
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
import { BlobStore, openStore, type Store } from '../store/index.js';
import { buildApp } from './app.js';
import { Guard } from './guard.js';
import { allRoutes } from './routes/index.js';

/** A running Warden: the store, the ledger and its integrator, the HTTP app. */
export interface Runtime {
  readonly config: Config;
  readonly store: Store;
  readonly ledger: Ledger;
  readonly integrator: Integrator;
  readonly retention: Retention;
  readonly app: FastifyInstance;
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
    const guard = new Guard({ store, ledger, clock });
    const routes = allRoutes({ store, ledger, integrator, retention, retentionDays: config.retentionDays });
    const app = buildApp({ guard, routes, maxBodyBytes: config.maxBodyBytes, logLevel: config.logLevel });
    const boot = await bootstrap(store, ledger, config.bootstrapToken, clock);
    integrator.start();
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
      app,
      bootstrap: boot,
      close: () => {
        closing ??= (async () => {
          if (retentionTimer) clearInterval(retentionTimer);
          await app.close();
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
