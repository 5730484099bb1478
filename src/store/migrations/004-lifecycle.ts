import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The governed lifecycle: projects and their signers, datasets and access grants, models, immutable
 * versions with their file manifests, signatures, aliases, promotion requests and approvals,
 * endpoints and deployments, lineage edges, and alerts (which gates consult).
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('environments', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('updated_ms', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('project_signers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('pem', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('revoked_ms', bigint)
    .execute();
  await db.schema.createIndex('project_signers_project').on('project_signers').column('project_id').execute();

  await db.schema
    .createTable('datasets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version_digest', 'text', (c) => c.notNull())
    .addColumn('sensitivity', 'text', (c) => c.notNull())
    .addColumn('domain', 'text')
    .addColumn('owner_id', 'text')
    .addColumn('allowed_purposes', 'text', (c) => c.notNull())
    .addColumn('pii_fields', 'text', (c) => c.notNull())
    .addColumn('location_uri', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('datasets_project_name_digest')
    .on('datasets')
    .columns(['project_id', 'name', 'version_digest'])
    .unique()
    .execute();

  await db.schema
    .createTable('dataset_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id'))
    .addColumn('principal_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('expires_ms', bigint, (c) => c.notNull())
    .addColumn('revoked_ms', bigint)
    .execute();
  await db.schema
    .createIndex('dataset_grants_dataset_principal')
    .on('dataset_grants')
    .columns(['dataset_id', 'principal_id'])
    .execute();

  await db.schema
    .createTable('models')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('models_project_name')
    .on('models')
    .columns(['project_id', 'name'])
    .unique()
    .execute();

  await db.schema
    .createTable('model_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_id', 'text', (c) => c.notNull().references('models.id'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('manifest_digest', 'text', (c) => c.notNull())
    .addColumn('total_bytes', bigint, (c) => c.notNull())
    .addColumn('file_count', 'integer', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_by_type', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('provenance', 'text')
    .addColumn('provenance_digest', 'text')
    .addColumn('trainer', 'text')
    .addColumn('stage_changed_ms', bigint, (c) => c.notNull())
    .addColumn('stage_rationale', 'text')
    .execute();
  await db.schema
    .createIndex('model_versions_model_number')
    .on('model_versions')
    .columns(['model_id', 'number'])
    .unique()
    .execute();

  await db.schema
    .createTable('model_files')
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('model_files_pk', ['version_id', 'path'])
    .execute();
  await db.schema.createIndex('model_files_digest').on('model_files').column('digest').execute();

  await db.schema
    .createTable('model_signatures')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('bundle_digest', 'text', (c) => c.notNull())
    .addColumn('bundle', 'text', (c) => c.notNull())
    .addColumn('signer_id', 'text', (c) => c.notNull().references('project_signers.id'))
    .addColumn('signer', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('model_signatures_version')
    .on('model_signatures')
    .columns(['version_id', 'bundle_digest'])
    .unique()
    .execute();

  await db.schema
    .createTable('model_aliases')
    .addColumn('model_id', 'text', (c) => c.notNull().references('models.id'))
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('set_by', 'text', (c) => c.notNull())
    .addColumn('set_ms', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('model_aliases_pk', ['model_id', 'alias'])
    .execute();

  await db.schema
    .createTable('promotion_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('from_stage', 'text', (c) => c.notNull())
    .addColumn('target_stage', 'text', (c) => c.notNull())
    .addColumn('rationale', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('gates', 'text', (c) => c.notNull())
    .addColumn('required_approvals', 'integer', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_ms', bigint, (c) => c.notNull())
    .addColumn('expires_ms', bigint, (c) => c.notNull())
    .addColumn('closed_ms', bigint)
    .addColumn('closed_reason', 'text')
    .execute();
  await db.schema
    .createIndex('promotion_requests_version')
    .on('promotion_requests')
    .column('version_id')
    .execute();

  await db.schema
    .createTable('promotion_approvals')
    .addColumn('request_id', 'text', (c) => c.notNull().references('promotion_requests.id'))
    .addColumn('approver_id', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('promotion_approvals_pk', ['request_id', 'approver_id'])
    .execute();

  await db.schema
    .createTable('endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('upstream_url', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('endpoints_project_name')
    .on('endpoints')
    .columns(['project_id', 'name'])
    .unique()
    .execute();

  await db.schema
    .createTable('deployments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('endpoint_id', 'text', (c) => c.notNull().references('endpoints.id'))
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('rationale', 'text')
    .addColumn('deployed_by', 'text', (c) => c.notNull())
    .addColumn('deployed_ms', bigint, (c) => c.notNull())
    .addColumn('ended_ms', bigint)
    .execute();
  await db.schema.createIndex('deployments_endpoint').on('deployments').column('endpoint_id').execute();
  await db.schema.createIndex('deployments_version').on('deployments').column('version_id').execute();

  await db.schema
    .createTable('lineage_edges')
    .addColumn('from_kind', 'text', (c) => c.notNull())
    .addColumn('from_id', 'text', (c) => c.notNull())
    .addColumn('to_kind', 'text', (c) => c.notNull())
    .addColumn('to_id', 'text', (c) => c.notNull())
    .addColumn('relation', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('lineage_edges_pk', ['from_kind', 'from_id', 'to_kind', 'to_id'])
    .execute();
  await db.schema.createIndex('lineage_edges_to').on('lineage_edges').columns(['to_kind', 'to_id']).execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('subject_type', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('updated_ms', bigint, (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .execute();
  await db.schema
    .createIndex('alerts_subject')
    .on('alerts')
    .columns(['subject_type', 'subject_id'])
    .execute();
}
