import type { Kysely } from 'kysely';
import { WardenError } from '../core/index.js';
import type { EventInput } from '../ledger/index.js';
import { bumpAuthzEpoch, type Database, type ModelVersionTable } from '../store/index.js';

/** A version's stage. */
export type Stage = ModelVersionTable['stage'];

/** The version row, or 404. */
export async function versionRow(db: Kysely<Database>, id: string): Promise<ModelVersionTable> {
  const row = await db.selectFrom('model_versions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new WardenError('WARDEN_NOT_FOUND', `model version ${id} not found`);
  return row;
}

/**
 * Reads the version while taking its row lock for the rest of the transaction (a no-op update:
 * PostgreSQL holds the row lock until commit; SQLite runs one write transaction at a time), so
 * concurrent workflow changes to one version run one after the other and see each other's writes.
 */
export async function lockVersion(trx: Kysely<Database>, id: string): Promise<ModelVersionTable> {
  const row = await trx
    .updateTable('model_versions')
    .set((eb) => ({ revision: eb.ref('revision') }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new WardenError('WARDEN_NOT_FOUND', `model version ${id} not found`);
  return row;
}

/**
 * Moves a version to `stage` by compare-and-set on its revision (0 rows → 409: someone else changed
 * it first), and moves the authorization epoch, since the policies see the stage.
 */
export async function setStage(
  trx: Kysely<Database>,
  v: Pick<ModelVersionTable, 'id' | 'revision'>,
  stage: Stage,
  rationale: string,
  now: number,
): Promise<void> {
  const res = await trx
    .updateTable('model_versions')
    .set({ stage, revision: v.revision + 1, stage_changed_ms: now, stage_rationale: rationale })
    .where('id', '=', v.id)
    .where('revision', '=', v.revision)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1)
    throw new WardenError('WARDEN_CONFLICT', `model version ${v.id} was changed concurrently; read it again`);
  await bumpAuthzEpoch(trx);
}

/** How events name a version. */
export function versionResource(
  v: Pick<ModelVersionTable, 'id' | 'manifest_digest'>,
): EventInput['resource'] {
  return { type: 'ModelVersion', id: v.id, digest: v.manifest_digest };
}

/**
 * Unreleased legal holds that cover a version's artifacts: holds naming the version, and
 * project-wide holds (no resource, no time window) on its project.
 */
export async function holdsOn(
  db: Kysely<Database>,
  v: Pick<ModelVersionTable, 'id' | 'project_id'>,
): Promise<string[]> {
  const rows = await db
    .selectFrom('legal_holds')
    .select('id')
    .where('released_ms', 'is', null)
    .where((eb) =>
      eb.or([
        eb.and([eb('resource_type', '=', 'ModelVersion'), eb('resource_id', '=', v.id)]),
        eb.and([
          eb('project', '=', v.project_id),
          eb('resource_type', 'is', null),
          eb('resource_id', 'is', null),
          eb('from_ms', 'is', null),
          eb('to_ms', 'is', null),
        ]),
      ]),
    )
    .execute();
  return rows.map((r) => r.id);
}
