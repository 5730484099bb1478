import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Misuse detection: a dedupe key on alerts (one alert per detector window, even across restarts),
 * webhook deliveries with their retry state and dead letters, time-limited suspensions of
 * principals and API tokens (the until-time authentication honours), and the suspension history.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema.alterTable('alerts').addColumn('dedupe_key', 'text').execute();
  await db.schema.createIndex('alerts_dedupe_key').on('alerts').column('dedupe_key').unique().execute();
  await db.schema
    .createIndex('alerts_status_created')
    .on('alerts')
    .columns(['status', 'created_ms'])
    .execute();

  await db.schema.alterTable('principals').addColumn('suspended_until_ms', bigint).execute();
  await db.schema.alterTable('api_tokens').addColumn('suspended_until_ms', bigint).execute();

  await db.schema
    .createTable('alert_suspensions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id'))
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text', (c) => c.notNull())
    .addColumn('until_ms', bigint, (c) => c.notNull())
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('lifted_ms', bigint)
    .addColumn('lifted_by', 'text')
    .execute();
  await db.schema
    .createIndex('alert_suspensions_open')
    .on('alert_suspensions')
    .columns(['lifted_ms', 'until_ms'])
    .execute();
  await db.schema.createIndex('alert_suspensions_alert').on('alert_suspensions').column('alert_id').execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_ms', bigint, (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('updated_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_ms'])
    .execute();
}
