import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

// What makes a version what it is: none of these may change once the row is inserted.
const VERSION_IDENTITY = [
  'model_id',
  'project_id',
  'number',
  'manifest_digest',
  'total_bytes',
  'file_count',
  'created_by',
  'created_by_type',
  'created_ms',
];

/**
 * Immutable versions in the database too: a version's manifest rows (model_files) can never be
 * updated, and a version's identity columns (number, manifest digest, sizes, creator) never change.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    const same = VERSION_IDENTITY.map((c) => `NEW.${c} IS NOT DISTINCT FROM OLD.${c}`).join(' AND ');
    await sql`
      CREATE FUNCTION warden_model_files_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'model_files rows never change'; END $$`.execute(db);
    await sql`
      CREATE TRIGGER model_files_no_update BEFORE UPDATE ON model_files
      FOR EACH ROW EXECUTE FUNCTION warden_model_files_immutable()`.execute(db);
    await sql
      .raw(
        `CREATE FUNCTION warden_model_version_identity() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF ${same} THEN RETURN NEW; END IF;
           RAISE EXCEPTION 'model_versions: a version''s files, number and creator never change';
         END $$`,
      )
      .execute(db);
    await sql`
      CREATE TRIGGER model_versions_identity BEFORE UPDATE ON model_versions
      FOR EACH ROW EXECUTE FUNCTION warden_model_version_identity()`.execute(db);
    return;
  }
  const same = VERSION_IDENTITY.map((c) => `NEW.${c} IS OLD.${c}`).join(' AND ');
  await sql
    .raw(
      `CREATE TRIGGER model_files_no_update BEFORE UPDATE ON model_files
       BEGIN SELECT RAISE(ABORT, 'model_files rows never change'); END`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER model_versions_identity BEFORE UPDATE ON model_versions
       WHEN NOT (${same})
       BEGIN SELECT RAISE(ABORT, 'model_versions: a version''s files, number and creator never change'); END`,
    )
    .execute(db);
}
