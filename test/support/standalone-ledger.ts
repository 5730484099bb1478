import { join } from 'node:path';
import { systemClock } from '../../src/core/index.js';
import {
  Integrator,
  type IntegratorOptions,
  Ledger,
  loadOrCreateLedgerKeys,
  Recorder,
  SensitiveFields,
  SoleLeadership,
} from '../../src/ledger/index.js';
import { BlobStore, openStore, type Store } from '../../src/store/index.js';
import type { Backend } from './backends.js';

/** A ledger with its own store and integrator, without the rest of Warden. */
export interface StandaloneLedger {
  readonly store: Store;
  readonly ledger: Ledger;
  readonly integrator: Integrator;
}

/**
 * Opens the store of `backend` and builds a Ledger over it with keys in its data directory and an
 * Integrator (not started) of these settings; `make` builds the integrator (a subclass, say).
 */
export async function standaloneLedger(
  backend: Backend,
  settings: Pick<IntegratorOptions, 'batchSize' | 'idleMs' | 'keysBatch' | 'onError'>,
  make: (opts: IntegratorOptions) => Integrator = (opts) => new Integrator(opts),
): Promise<StandaloneLedger> {
  const store = await openStore({
    databaseUrl: backend.databaseUrl,
    sqlitePath: join(backend.dataDir, 'warden.db'),
  });
  const keys = await loadOrCreateLedgerKeys({
    signingKeyFile: join(backend.dataDir, 'ledger.key'),
    hmacKeyFile: join(backend.dataDir, 'hmac.key'),
    origin: 'standalone.test/ledger',
  });
  const sensitive = new SensitiveFields([], keys.hmacKey);
  const integrator = make({
    store,
    signer: keys.signer,
    leadership: new SoleLeadership(),
    clock: systemClock,
    takeoverMs: 1000,
    ...settings,
  });
  const ledger = new Ledger({
    store,
    recorder: new Recorder({
      clock: systemClock,
      sensitive,
      blobs: new BlobStore(join(backend.dataDir, 'blobs')),
    }),
    integrator,
    key: keys.signer,
    verifierKey: keys.verifierKey,
    sensitive,
  });
  return { store, ledger, integrator };
}
