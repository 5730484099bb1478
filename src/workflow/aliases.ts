import type { Caller } from '../catalog/index.js';
import { type Clock, rfc3339, WardenError } from '../core/index.js';
import type { Ledger } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import { lockVersion, versionResource } from './versions.js';

/** Alias names: a lowercase slug that starts with a letter (so it never reads as a version number). */
export const ALIAS_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** An alias and the version it names. */
export interface AliasView {
  readonly model: string;
  readonly alias: string;
  readonly version: string;
  readonly setBy: string;
  readonly setAt: string;
}

/** Movable names for a model's versions (e.g. `champion`); every change is recorded. */
export class Aliases {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
  }

  /** Points `alias` at a version of the model (moving it if set); retired versions get no alias (409). */
  async set(caller: Caller, modelId: string, alias: string, versionId: string): Promise<AliasView> {
    const now = this.#clock.now();
    await this.#store.db.transaction().execute(async (trx) => {
      const v = await lockVersion(trx, versionId);
      if (v.model_id !== modelId)
        throw new WardenError(
          'WARDEN_INVALID_INPUT',
          `version ${versionId} is not a version of model ${modelId}`,
          {
            issues: [{ field: 'version', message: 'not a version of this model' }],
          },
        );
      if (v.stage === 'retired')
        throw new WardenError('WARDEN_CONFLICT', 'a retired version cannot carry an alias');
      const before = await trx
        .selectFrom('model_aliases')
        .select('version_id')
        .where('model_id', '=', modelId)
        .where('alias', '=', alias)
        .executeTakeFirst();
      await trx
        .insertInto('model_aliases')
        .values({ model_id: modelId, alias, version_id: v.id, set_by: caller.actor.id, set_ms: now })
        .onConflict((oc) =>
          oc
            .columns(['model_id', 'alias'])
            .doUpdateSet({ version_id: v.id, set_by: caller.actor.id, set_ms: now }),
        )
        .execute();
      await this.#ledger.record(trx, {
        actor: caller.actor,
        action: 'model_version.alias',
        resource: versionResource(v),
        outcome: 'succeeded',
        context: { project: v.project_id },
        details: { model: modelId, alias, op: 'set', previous: before?.version_id ?? null },
      });
    });
    this.#ledger.committed();
    return { model: modelId, alias, version: versionId, setBy: caller.actor.id, setAt: rfc3339(now) };
  }

  /** Removes an alias (404 when the model has no such alias). */
  async remove(caller: Caller, modelId: string, alias: string): Promise<void> {
    await this.#store.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('model_aliases')
        .select('version_id')
        .where('model_id', '=', modelId)
        .where('alias', '=', alias)
        .executeTakeFirst();
      if (!row) throw new WardenError('WARDEN_NOT_FOUND', `model ${modelId} has no alias ${alias}`);
      const v = await lockVersion(trx, row.version_id);
      await trx
        .deleteFrom('model_aliases')
        .where('model_id', '=', modelId)
        .where('alias', '=', alias)
        .execute();
      await this.#ledger.record(trx, {
        actor: caller.actor,
        action: 'model_version.alias',
        resource: versionResource(v),
        outcome: 'succeeded',
        context: { project: v.project_id },
        details: { model: modelId, alias, op: 'remove' },
      });
    });
    this.#ledger.committed();
  }

  /** The version an alias names, for authorization (undefined when unset). */
  async target(modelId: string, alias: string): Promise<string | undefined> {
    const row = await this.#store.db
      .selectFrom('model_aliases')
      .select('version_id')
      .where('model_id', '=', modelId)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return row?.version_id;
  }
}
