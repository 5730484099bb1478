import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The workflow's additions: which version each production version replaced (so a rollback restores
 * exactly that one), and at most one pending promotion request per version.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('production_history')
    .addColumn('version_id', 'text', (c) => c.primaryKey().references('model_versions.id'))
    .addColumn('model_id', 'text', (c) => c.notNull().references('models.id'))
    .addColumn('previous_version_id', 'text', (c) => c.references('model_versions.id'))
    .addColumn('promoted_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('promotion_requests_one_pending')
    .on('promotion_requests')
    .column('version_id')
    .unique()
    .where(sql.ref('status'), '=', 'pending')
    .execute();
}
