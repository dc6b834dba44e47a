import { sql, type Kysely } from 'kysely';

/**
 * The dial-in directory. Immutable once shipped: later changes go in a new numbered file.
 * Types are chosen to mean the same on both dialects: text, integer (booleans as 0/1) and
 * bigint (epoch milliseconds; SQLite gives it INTEGER affinity).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('domain', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tenant_settings')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('bridges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('default_service_number', 'text')
    .addColumn('region', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`create unique index bridges_tenant_name on bridges (tenant_id, lower(name))`.execute(db);

  await db.schema
    .createTable('service_numbers')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('bridge_id', 'text', (c) => c.notNull().references('bridges.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('city', 'text')
    .addColumn('primary_language', 'text')
    .addColumn('secondary_languages', 'text', (c) => c.notNull().defaultTo('[]'))
    .addPrimaryKeyConstraint('service_numbers_pk', ['tenant_id', 'number'])
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('sip', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('phone', 'text')
    .addColumn('extension', 'text')
    .addColumn('provider', 'text', (c) => c.notNull().defaultTo('None'))
    .addColumn('dialin_enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bridge_id', 'text', (c) => c.references('bridges.id'))
    .addColumn('conference_id', 'text')
    .addColumn('service_number', 'text')
    .addColumn('toll_free_number', 'text')
    .addColumn('allow_pstn_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pin_hash', 'text')
    .addColumn('pin_set_at', 'bigint')
    .addColumn('pin_policy', 'text')
    .addColumn('pin_fail_local', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pin_window_start', 'bigint')
    .addColumn('pin_fail_global', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pin_locked_until', 'bigint')
    .addColumn('pin_locked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('users_tenant_sip').unique().on('users').columns(['tenant_id', 'sip']).execute();
  // NULLs are distinct in a unique index on both dialects, so users without an ID do not clash.
  await db.schema.createIndex('users_tenant_conference_id').unique().on('users').columns(['tenant_id', 'conference_id']).execute();
  await sql`create index users_tenant_display_name on users (tenant_id, lower(display_name))`.execute(db);
  await db.schema.createIndex('users_tenant_service_number').on('users').columns(['tenant_id', 'service_number']).execute();
  await db.schema.createIndex('users_tenant_toll_free_number').on('users').columns(['tenant_id', 'toll_free_number']).execute();

  await db.schema
    .createTable('user_acp')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('toll_number', 'text')
    .addColumn('toll_free_numbers', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('participant_passcode', 'text')
    .addColumn('url', 'text')
    .execute();

  await db.schema
    .createTable('pin_history')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('pin_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pin_history_user').on('pin_history').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('pin_policies')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('identity', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('min_password_length', 'integer', (c) => c.notNull())
    .addColumn('pin_history_count', 'integer', (c) => c.notNull())
    .addColumn('pin_lifetime', 'integer', (c) => c.notNull())
    .addColumn('allow_common_patterns', 'integer', (c) => c.notNull())
    .addColumn('maximum_logon_attempts', 'integer')
    .addPrimaryKeyConstraint('pin_policies_pk', ['tenant_id', 'identity'])
    .execute();

  await db.schema
    .createTable('released_conference_ids')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('conference_id', 'text', (c) => c.notNull())
    .addColumn('released_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('released_conference_ids_pk', ['tenant_id', 'conference_id'])
    .execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('user_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('pin_enc', 'text')
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('last_error', 'text')
    .addColumn('last_reply', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('outbox_status_run_at').on('outbox').columns(['status', 'run_at']).execute();
  await db.schema.createIndex('outbox_tenant_created').on('outbox').columns(['tenant_id', 'created_at']).execute();
  await db.schema.createIndex('outbox_user').on('outbox').columns(['user_id']).execute();

  await db.schema
    .createTable('audit')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_user_id', 'text')
    .addColumn('target', 'text')
    .addColumn('details', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_tenant_at').on('audit').columns(['tenant_id', 'at']).execute();
}
