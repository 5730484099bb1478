import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Identity and authorization state: profiles, memberships, sessions, role bindings, policy bundles, the authorization epoch. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const bigint = pg ? 'bigint' : 'integer';

  for (const [col, type] of [
    ['display_name', 'text'],
    ['email', 'text'],
    ['external_id', 'text'],
    ['issuer', 'text'],
    ['subject', 'text'],
    ['password_hash', 'text'],
    ['totp_secret', 'text'],
    ['totp_last_step', bigint],
    ['attributes', 'text'],
    ['updated_ms', bigint],
  ] as const) {
    await db.schema.alterTable('principals').addColumn(col, type).execute();
  }
  await db.schema
    .createIndex('principals_issuer_subject')
    .on('principals')
    .columns(['issuer', 'subject'])
    .unique()
    .execute();
  await db.schema.alterTable('api_tokens').addColumn('mfa_until_ms', bigint).execute();
  await db.schema.createIndex('api_tokens_principal').on('api_tokens').column('principal_id').execute();

  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
    .addColumn('member_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'member_id'])
    .execute();
  await db.schema.createIndex('group_members_member').on('group_members').column('member_id').execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
    .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('last_seen_ms', bigint, (c) => c.notNull())
    .addColumn('idle_timeout_ms', bigint, (c) => c.notNull())
    .addColumn('expires_ms', bigint, (c) => c.notNull())
    .addColumn('mfa_until_ms', bigint)
    .addColumn('revoked_ms', bigint)
    .addColumn('claim_groups', 'text')
    .execute();
  await db.schema.createIndex('sessions_principal').on('sessions').column('principal_id').execute();

  await db.schema
    .createTable('role_bindings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_type', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('expires_ms', bigint)
    .addColumn('reason', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('revoked_ms', bigint)
    .addColumn('revoked_by', 'text')
    .execute();
  await db.schema.createIndex('role_bindings_principal').on('role_bindings').column('principal_id').execute();

  await db.schema
    .createTable('policy_bundles')
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('files', 'text', (c) => c.notNull())
    .addColumn('applied_by', 'text', (c) => c.notNull())
    .addColumn('applied_ms', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('authz_epoch')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('epoch', bigint, (c) => c.notNull())
    .execute();
  await sql`INSERT INTO authz_epoch (id, epoch) VALUES (1, 1)`.execute(db);
}
