import type { Dialect } from '../../src/store/index.js';
import {
  type Actor,
  projectWithSigner,
  seedModel,
  seedVersion,
  serviceAccount,
  type VersionSeed,
} from './lifecycle-fixtures.js';
import { type TestServer, testServer } from './runtime.js';

/**
 * A test server with project `fraud` trusting one signing key, the people a promotion needs there
 * (a data scientist, a platform admin, two model validators) and a model `scorer` of the data scientist.
 */
export interface PromotionFixture {
  readonly s: TestServer;
  readonly key: { privateKey: string; publicKey: string };
  readonly signer: string;
  readonly ds: Actor;
  readonly rel: Actor;
  readonly val1: Actor;
  readonly val2: Actor;
  readonly model: string;
  /** Seeds a version of `scorer` by `ds`, signed with the trusted key and with provenance; `seed` overrides. */
  readonly version: (seed?: Partial<VersionSeed>) => Promise<string>;
}

/** Starts the fixture; `project` is added to the project's create body, `provenance` is the versions' default. */
export async function promotionFixture(
  dialect: Dialect,
  opts: { project?: Record<string, unknown>; provenance?: VersionSeed['provenance'] } = {},
): Promise<PromotionFixture> {
  const s = await testServer(dialect);
  const { key, signer } = await projectWithSigner(s, 'fraud', opts.project);
  const ds = await serviceAccount(s, 'ds', ['data-scientist'], 'fraud');
  const rel = await serviceAccount(s, 'rel', ['platform-admin'], 'fraud');
  const val1 = await serviceAccount(s, 'val1', ['model-validator'], 'fraud');
  const val2 = await serviceAccount(s, 'val2', ['model-validator'], 'fraud');
  const model = await seedModel(s, 'fraud', 'scorer', ds.id);
  const version = async (seed: Partial<VersionSeed> = {}) =>
    (
      await seedVersion(s, {
        project: 'fraud',
        model,
        createdBy: ds.id,
        sign: { privateKey: key.privateKey, signer },
        provenance: opts.provenance ?? {},
        ...seed,
      })
    ).id;
  return { s, key, signer, ds, rel, val1, val2, model, version };
}

/** The stage of a model version, read from the store. */
export async function stageOf(s: TestServer, id: string): Promise<string> {
  const row = await s.rt.store.db
    .selectFrom('model_versions')
    .select('stage')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.stage;
}
