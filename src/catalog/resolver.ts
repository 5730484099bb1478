import type { Kysely } from 'kysely';
import type { CedarValue, EntityData, EntityRef, ResourceResolver } from '../policy/index.js';
import { PLATFORM } from '../policy/index.js';
import type { Database } from '../store/index.js';

const platform: EntityData = { uid: PLATFORM, attrs: {}, parents: [] };
const entity = (type: string, id: string): CedarValue => ({ __entity: { type, id } });

/**
 * Describes the lifecycle resources to the policies from the tables: Project{environments},
 * Dataset{sensitivity, allowedPurposes, owner?}, Model, ModelVersion{createdBy, stage, signed} and
 * Endpoint{environment}, each with its ancestors up to the platform. An unknown id gets the
 * strictest attributes directly under the platform: only platform-wide roles reach the handler
 * (which answers 404), everyone else is refused as for any resource they cannot see.
 */
export const catalogResolver: ResourceResolver = async (ref, db) =>
  (await known(ref, db)) ??
  (Object.hasOwn(UNKNOWN, ref.type)
    ? [{ uid: ref, attrs: UNKNOWN[ref.type], parents: [PLATFORM] }, platform]
    : undefined);

/** Attributes of a resource that does not exist: restricted, unsigned, production. */
const UNKNOWN: Record<string, Record<string, CedarValue>> = {
  Project: { environments: [] },
  Dataset: { sensitivity: 'restricted', allowedPurposes: [] },
  Model: {},
  ModelVersion: { createdBy: {}, stage: 'unknown', signed: false },
  Endpoint: { environment: 'production' },
};

async function known(ref: EntityRef, db: Kysely<Database>): Promise<EntityData[] | undefined> {
  switch (ref.type) {
    case 'Project':
      return projectChain(db, ref.id);
    case 'Dataset': {
      const row = await db
        .selectFrom('datasets as d')
        .leftJoin('principals as o', (j) => j.onRef('o.id', '=', 'd.owner_id').on('o.type', '=', 'user'))
        .select(['d.project_id', 'd.sensitivity', 'd.allowed_purposes', 'o.id as owner'])
        .where('d.id', '=', ref.id)
        .executeTakeFirst();
      if (!row) return undefined;
      const attrs: Record<string, CedarValue> = {
        sensitivity: row.sensitivity,
        allowedPurposes: JSON.parse(row.allowed_purposes) as string[],
        ...(row.owner ? { owner: entity('User', row.owner) } : {}),
      };
      return inProject(db, { uid: ref, attrs, parents: [project(row.project_id)] }, row.project_id);
    }
    case 'Model': {
      const row = await db
        .selectFrom('models')
        .select('project_id')
        .where('id', '=', ref.id)
        .executeTakeFirst();
      if (!row) return undefined;
      return inProject(db, { uid: ref, attrs: {}, parents: [project(row.project_id)] }, row.project_id);
    }
    case 'ModelVersion':
      return modelVersionChain(db, ref);
    case 'Endpoint': {
      const row = await db
        .selectFrom('endpoints')
        .select(['project_id', 'environment'])
        .where('id', '=', ref.id)
        .executeTakeFirst();
      if (!row) return undefined;
      return inProject(
        db,
        { uid: ref, attrs: { environment: row.environment }, parents: [project(row.project_id)] },
        row.project_id,
      );
    }
    default:
      return undefined;
  }
}

function project(id: string): EntityRef {
  return { type: 'Project', id };
}

async function projectChain(db: Kysely<Database>, id: string): Promise<EntityData[] | undefined> {
  const row = await db.selectFrom('projects').select('environments').where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return [
    {
      uid: project(id),
      attrs: { environments: JSON.parse(row.environments) as string[] },
      parents: [PLATFORM],
    },
    platform,
  ];
}

/** `head` followed by its project and the platform (a missing project still chains to the platform). */
async function inProject(db: Kysely<Database>, head: EntityData, projectId: string): Promise<EntityData[]> {
  const chain = (await projectChain(db, projectId)) ?? [
    { uid: project(projectId), attrs: { environments: [] }, parents: [PLATFORM] },
    platform,
  ];
  return [head, ...chain];
}

async function modelVersionChain(db: Kysely<Database>, ref: EntityRef): Promise<EntityData[] | undefined> {
  const row = await db
    .selectFrom('model_versions')
    .select(['model_id', 'project_id', 'stage', 'created_by', 'created_by_type'])
    .where('id', '=', ref.id)
    .executeTakeFirst();
  if (!row) return undefined;
  const signature = await db
    .selectFrom('model_signatures as s')
    .innerJoin('project_signers as p', 'p.id', 's.signer_id')
    .select('s.id')
    .where('s.version_id', '=', ref.id)
    .where('p.revoked_ms', 'is', null)
    .limit(1)
    .executeTakeFirst();
  const createdBy: CedarValue =
    row.created_by_type === 'user'
      ? { user: entity('User', row.created_by) }
      : { serviceAccount: entity('ServiceAccount', row.created_by) };
  const model: EntityRef = { type: 'Model', id: row.model_id };
  const version: EntityData = {
    uid: ref,
    attrs: { createdBy, stage: row.stage, signed: signature !== undefined },
    parents: [model, project(row.project_id)],
  };
  return [
    version,
    ...(await inProject(db, { uid: model, attrs: {}, parents: [project(row.project_id)] }, row.project_id)),
  ];
}
