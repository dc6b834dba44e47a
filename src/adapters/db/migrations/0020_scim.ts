import type { Kysely } from 'kysely';

/**
 * Issue 15: SCIM 2.0 provisioning. On `users`: the identity provider's `externalId`, its `active`
 * flag, the SCIM attributes we keep but do not map to columns (name parts, phone numbers, the
 * enterprise extension…, as JSON), and a version that is the resource's ETag. SCIM groups with
 * their members; the tenant's SCIM licence rule; and the disables SCIM caused, for the
 * accidental-disable guard's one-hour window. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('scim_external_id', 'text').execute();
  await db.schema.alterTable('users').addColumn('scim_active', 'integer').execute();
  await db.schema.alterTable('users').addColumn('scim_attrs', 'text').execute();
  await db.schema.alterTable('users').addColumn('scim_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('users_tenant_scim_external_id').on('users').columns(['tenant_id', 'scim_external_id']).execute();
  await db.schema.createIndex('users_tenant_source_created').on('users').columns(['tenant_id', 'source', 'created_at', 'id']).execute();

  await db.schema
    .createTable('scim_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('display_name', 'text', (c) => c.notNull())
    // Lower-cased display name: the licence group is named case-insensitively.
    .addColumn('display_name_key', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('scim_groups_tenant_name').on('scim_groups').columns(['tenant_id', 'display_name_key']).execute();
  await db.schema.createIndex('scim_groups_tenant_created').on('scim_groups').columns(['tenant_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('scim_group_members')
    .addColumn('group_id', 'text', (c) => c.notNull().references('scim_groups.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('scim_group_members_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('scim_group_members_user').on('scim_group_members').columns(['user_id']).execute();

  await db.schema
    .createTable('scim_config')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    // 'none' | 'group' | 'all-active'
    .addColumn('licence', 'text', (c) => c.notNull())
    .addColumn('licence_group', 'text')
    // Null: the default guard (500 or 10 % of the licensed users, whichever is smaller) per hour.
    .addColumn('max_disable', 'integer')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('scim_disables')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('scim_disables_tenant_at').on('scim_disables').columns(['tenant_id', 'at']).execute();
}
