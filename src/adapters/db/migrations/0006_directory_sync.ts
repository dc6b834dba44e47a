import { sql, type Kysely } from 'kysely';

/**
 * Directory sync (issue 11): connections to an LDAP directory (OpenLDAP or Active Directory) per
 * tenant, the link of a user to their directory entry, the record of every sync, and the lease
 * that lets one process at a time sync a connection. The bind password is sealed under the
 * master key (AES-256-GCM), never stored or shown in clear. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('directory_connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    /** 'openldap' | 'ad' */
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('base_dn', 'text', (c) => c.notNull())
    .addColumn('bind_dn', 'text')
    .addColumn('bind_password_sealed', 'text')
    .addColumn('licence_group', 'text')
    .addColumn('filter', 'text')
    /** PEM file of the CA that signed the directory's certificate (else the system's CAs). */
    .addColumn('ca_file', 'text')
    /** 1: ldap:// without StartTLS was asked for explicitly. */
    .addColumn('insecure_plaintext', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('interval_ms', 'bigint', (c) => c.notNull())
    /** null: the default guard, min(500, 10 % of the licensed users). */
    .addColumn('max_disable', 'integer')
    /** JSON object field → attribute, the overrides of the kind's default mapping. */
    .addColumn('mapping', 'text', (c) => c.notNull().defaultTo('{}'))
    /** The newest modifyTimestamp (OpenLDAP) seen by the last sync: the next incremental pass starts there. */
    .addColumn('sync_mark', 'text')
    .addColumn('last_full_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`create unique index directory_connections_tenant_name on directory_connections (tenant_id, lower(name))`.execute(db);

  // Where a user comes from: null (CSV, CLI, API) or a directory connection and the entry's stable key.
  await db.schema.alterTable('users').addColumn('directory_id', 'text').execute();
  await db.schema.alterTable('users').addColumn('directory_key', 'text').execute();
  await db.schema.alterTable('users').addColumn('directory_dn', 'text').execute();
  /** JSON of the mapped attributes not stored in their own column (title, department, logon, …). */
  await db.schema.alterTable('users').addColumn('directory_attrs', 'text').execute();
  await db.schema.createIndex('users_directory_key').unique().on('users').columns(['directory_id', 'directory_key']).execute();

  await db.schema
    .createTable('directory_sync_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint', (c) => c.notNull())
    /** 'applied' | 'dry-run' | 'held' (mass disable waiting for approval) | 'failed' */
    .addColumn('status', 'text', (c) => c.notNull())
    /** 'full' | 'incremental' */
    .addColumn('mode', 'text', (c) => c.notNull())
    /** JSON: entries, licensed, create, adopt, update, enable, disable, skip. */
    .addColumn('counts', 'text', (c) => c.notNull())
    /** JSON array of the skipped entries and why (at most 100). */
    .addColumn('skipped', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('error_code', 'text')
    .addColumn('error', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('directory_sync_runs_connection').on('directory_sync_runs').columns(['connection_id', 'started_at']).execute();

  // One row per connection being synced; a process takes it when free or expired.
  await db.schema
    .createTable('directory_sync_leases')
    .addColumn('connection_id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'bigint', (c) => c.notNull())
    .execute();
}
