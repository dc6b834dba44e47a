import type { Kysely } from 'kysely';

/**
 * Mail delivery: tenants' template overrides and paused deliveries. Immutable once shipped.
 * The outbox itself is in 0001; this adds what the delivery worker and `dialin template` need.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // One row per overridden part; a missing row means the built-in template.
  await db.schema
    .createTable('mail_templates')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('part', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('mail_templates_pk', ['tenant_id', 'kind', 'language', 'part'])
    .execute();

  // A tenant whose relay refused the login or the TLS handshake: its mail waits, nothing fails.
  await db.schema
    .createTable('mail_pauses')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('paused_at', 'bigint', (c) => c.notNull())
    .addColumn('retry_at', 'bigint', (c) => c.notNull())
    .execute();
}
