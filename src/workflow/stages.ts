import type { Kysely } from 'kysely';
import type { Caller } from '../catalog/index.js';
import { type Clock, WardenError } from '../core/index.js';
import type { EventInput, Ledger } from '../ledger/index.js';
import type { Database, ModelVersionTable, Store } from '../store/index.js';
import { holdsOn, lockVersion, setStage, versionResource, versionRow } from './versions.js';

/** Removes a blob by digest; true when it was there. */
export interface BlobRemover {
  delete(digest: string): Promise<boolean>;
}

/** A version's stage after a workflow change. */
export interface StageView {
  readonly id: string;
  readonly stage: ModelVersionTable['stage'];
  readonly rationale: string | null;
  readonly changedAt: string;
}

const HOLD_POLICY = 'workflow:legal-hold';

/**
 * Rollback, retirement and artifact purge: each needs a rationale, is recorded, and moves the stage
 * by compare-and-set under the version's row lock. A legal hold on the version blocks retirement
 * and the purge.
 */
export class Stages {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #blobs: BlobRemover;

  constructor(deps: { store: Store; ledger: Ledger; clock: Clock; blobs: BlobRemover }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#blobs = deps.blobs;
  }

  /**
   * Rolls a production version back: the version it replaced in production (see
   * `production_history`) is production again and this one goes back to staging. 409 when the
   * version is not in production or there is nothing (or only a retired version) to restore.
   */
  async rollback(caller: Caller, versionId: string, rationale: string): Promise<StageView> {
    const now = this.#clock.now();
    await this.#store.db.transaction().execute(async (trx) => {
      const v = await lockVersion(trx, versionId);
      if (v.stage !== 'production')
        throw new WardenError(
          'WARDEN_CONFLICT',
          `only a production version is rolled back; this one is ${v.stage}`,
        );
      const history = await trx
        .selectFrom('production_history')
        .select('previous_version_id')
        .where('version_id', '=', v.id)
        .executeTakeFirst();
      const previousId = history?.previous_version_id ?? null;
      if (previousId === null)
        throw new WardenError('WARDEN_CONFLICT', 'no previous production version to roll back to');
      const previous = await lockVersion(trx, previousId);
      if (previous.stage === 'retired')
        throw new WardenError(
          'WARDEN_CONFLICT',
          `the previous production version ${previous.id} is retired; promote another version instead`,
        );
      await setStage(trx, v, 'staging', rationale, now);
      await setStage(trx, previous, 'production', rationale, now);
      const cancelled = await cancelPending(trx, [v.id, previous.id], 'a rollback changed the stage', now);
      await this.#ledger.record(trx, {
        ...event(caller, 'model_version.rollback', v),
        outcome: 'succeeded',
        details: {
          rationale,
          from: 'production',
          to: 'staging',
          restored: previous.id,
          cancelledRequests: cancelled,
        },
      });
      await this.#ledger.record(trx, {
        ...event(caller, 'model_version.restore', previous),
        outcome: 'succeeded',
        details: { rationale, from: previous.stage, to: 'production', rolledBack: v.id },
      });
    });
    this.#ledger.committed();
    return this.#stage(versionId);
  }

  /**
   * Retires a version (from any other stage): pending requests are cancelled and its aliases
   * removed. Refused (409): already retired, still actively deployed, or under a legal hold (recorded).
   */
  async retire(caller: Caller, versionId: string, rationale: string): Promise<StageView> {
    const now = this.#clock.now();
    const refusal = await this.#store.db.transaction().execute(async (trx) => {
      const v = await lockVersion(trx, versionId);
      if (v.stage === 'retired') throw new WardenError('WARDEN_CONFLICT', 'the version is already retired');
      const held = await this.#refuseHeld(trx, caller, 'model_version.retire', v, rationale);
      if (held) return held;
      const deployed = await trx
        .selectFrom('deployments')
        .select('endpoint_id')
        .where('version_id', '=', v.id)
        .where('status', '=', 'active')
        .execute();
      if (deployed.length > 0)
        throw new WardenError(
          'WARDEN_CONFLICT',
          `the version is deployed to endpoint ${deployed.map((d) => d.endpoint_id).join(', ')}; deploy another version first`,
        );
      const aliases = await trx
        .deleteFrom('model_aliases')
        .where('version_id', '=', v.id)
        .returning('alias')
        .execute();
      const cancelled = await cancelPending(trx, [v.id], 'the version was retired', now);
      await setStage(trx, v, 'retired', rationale, now);
      await this.#ledger.record(trx, {
        ...event(caller, 'model_version.retire', v),
        outcome: 'succeeded',
        details: {
          rationale,
          from: v.stage,
          removedAliases: aliases.map((a) => a.alias),
          cancelledRequests: cancelled,
        },
      });
      return undefined;
    });
    this.#ledger.committed();
    if (refusal) throw refusal;
    return this.#stage(versionId);
  }

  /**
   * Deletes the blobs of a retired version that no other version references (the manifest stays;
   * its files can no longer be downloaded). Refused (409): not retired, or under a legal hold
   * (recorded). The event is committed before any blob goes, so a purge interrupted midway is
   * finished by running it again.
   */
  async purgeArtifacts(
    caller: Caller,
    versionId: string,
    rationale: string,
  ): Promise<{ version: string; deleted: number; kept: number }> {
    const result = await this.#store.db.transaction().execute(async (trx) => {
      const v = await lockVersion(trx, versionId);
      if (v.stage !== 'retired')
        throw new WardenError(
          'WARDEN_CONFLICT',
          `only a retired version's artifacts are purged; this one is ${v.stage}`,
        );
      const held = await this.#refuseHeld(trx, caller, 'model_version.purge_artifacts', v, rationale);
      if (held) return { refused: held };
      const digests = (
        await trx
          .selectFrom('model_files')
          .select('digest')
          .distinct()
          .where('version_id', '=', v.id)
          .execute()
      ).map((f) => f.digest);
      const shared = new Set(
        digests.length === 0
          ? []
          : (
              await trx
                .selectFrom('model_files')
                .select('digest')
                .distinct()
                .where('version_id', '!=', v.id)
                .where('digest', 'in', digests)
                .execute()
            ).map((f) => f.digest),
      );
      const unique = digests.filter((d) => !shared.has(d));
      await this.#ledger.record(trx, {
        ...event(caller, 'model_version.purge_artifacts', v),
        outcome: 'succeeded',
        details: { rationale, blobs: unique.length, keptShared: shared.size },
      });
      return { unique, kept: shared.size };
    });
    this.#ledger.committed();
    if ('refused' in result) throw result.refused;
    let deleted = 0;
    for (const digest of result.unique) if (await this.#blobs.delete(digest)) deleted++;
    return { version: versionId, deleted, kept: result.kept };
  }

  /** A refusal for a held version, recorded in the transaction (which then commits), or undefined. */
  async #refuseHeld(
    trx: Kysely<Database>,
    caller: Caller,
    action: string,
    v: ModelVersionTable,
    rationale: string,
  ): Promise<WardenError | undefined> {
    const holds = await holdsOn(trx, v);
    if (holds.length === 0) return undefined;
    const reason = `the version is under legal hold ${holds.join(', ')}`;
    await this.#ledger.record(trx, {
      ...event(caller, action, v),
      outcome: 'denied',
      decision: { policies: [HOLD_POLICY], reason },
      details: { rationale, holds },
    });
    return new WardenError('WARDEN_CONFLICT', `${action} refused: ${reason}`);
  }

  async #stage(id: string): Promise<StageView> {
    const v = await versionRow(this.#store.db, id);
    return {
      id: v.id,
      stage: v.stage,
      rationale: v.stage_rationale,
      changedAt: new Date(Number(v.stage_changed_ms)).toISOString(),
    };
  }
}

/** Cancels the pending requests of these versions (their stage moved under them); returns their ids. */
async function cancelPending(
  trx: Kysely<Database>,
  versionIds: readonly string[],
  reason: string,
  now: number,
): Promise<string[]> {
  const rows = await trx
    .updateTable('promotion_requests')
    .set({ status: 'cancelled', closed_ms: now, closed_reason: reason })
    .where('version_id', 'in', versionIds)
    .where('status', '=', 'pending')
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

function event(
  caller: Caller,
  action: string,
  v: Pick<ModelVersionTable, 'id' | 'manifest_digest' | 'project_id'>,
): Pick<EventInput, 'actor' | 'action' | 'resource' | 'context'> {
  return { actor: caller.actor, action, resource: versionResource(v), context: { project: v.project_id } };
}
