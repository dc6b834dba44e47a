import { sql, type Kysely } from 'kysely';

/**
 * Issue 16, part 2: the admin center's users list at 100,000 users. `users.source` (where a user
 * came from: 'csv' for the CSV import, the CLI and the API, 'directory' for a directory sync,
 * 'scim'); indexes for keyset paging by SIP address or display name within a filter; an index
 * for each user's last mail; and the background jobs of the list's bulk actions, with one row
 * per user handled (the downloadable report). No PIN is ever stored in them. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('source', 'text', (c) => c.notNull().defaultTo('csv')).execute();
  await sql`update users set source = 'directory' where directory_id is not null`.execute(db);
  await db.schema.createIndex('users_tenant_name_id').on('users').columns(['tenant_id', 'display_name', 'id']).execute();
  await db.schema.createIndex('users_tenant_enabled_sip').on('users').columns(['tenant_id', 'dialin_enabled', 'sip']).execute();
  await db.schema.createIndex('users_tenant_bridge_sip').on('users').columns(['tenant_id', 'bridge_id', 'sip']).execute();
  await db.schema.createIndex('users_tenant_language_sip').on('users').columns(['tenant_id', 'language', 'sip']).execute();
  await db.schema.createIndex('users_tenant_source_sip').on('users').columns(['tenant_id', 'source', 'sip']).execute();
  await db.schema.createIndex('outbox_user_created').on('outbox').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('user_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    // 'enable' | 'disable' | 'reset_pin' | 'send_info' | 'move' | 'import'
    .addColumn('kind', 'text', (c) => c.notNull())
    // JSON: the filter or the chosen ids, and the action's options (bridge, number); for an import, the CSV until it is applied.
    .addColumn('params', 'text', (c) => c.notNull())
    // 'preview' | 'queued' | 'running' | 'done' | 'failed'
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('processed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unchanged', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('skipped', 'integer', (c) => c.notNull().defaultTo(0))
    // Where the next batch starts: the last SIP address handled.
    .addColumn('cursor', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('error', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('user_jobs_tenant_created').on('user_jobs').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('user_job_items')
    .addColumn('job_id', 'text', (c) => c.notNull().references('user_jobs.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('input', 'text', (c) => c.notNull())
    .addColumn('user_sip', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('reason', 'text')
    .addPrimaryKeyConstraint('user_job_items_pk', ['job_id', 'seq'])
    .execute();
}
