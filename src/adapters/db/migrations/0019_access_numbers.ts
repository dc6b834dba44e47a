import type { Kysely } from 'kysely';

/**
 * Issue 12. The Lync Server view of a service number (New-CsDialInConferencingAccessNumber):
 * `primary_uri` (its sip: identity, unique in a tenant; null for numbers registered the online way),
 * `display_number` (the number as invitations show it, free format) and `priority` (its place in
 * the bridge's list, 0 first). Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_numbers').addColumn('primary_uri', 'text').execute();
  await db.schema.alterTable('service_numbers').addColumn('display_number', 'text').execute();
  await db.schema.alterTable('service_numbers').addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('service_numbers_primary_uri').on('service_numbers').columns(['tenant_id', 'primary_uri']).unique().execute();
}
