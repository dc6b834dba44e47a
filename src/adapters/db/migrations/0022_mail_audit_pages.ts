import type { Kysely } from 'kysely';

/**
 * Issue 16, parts 3 and 4: the Mail page, the audit log and the dashboard at a million outbox
 * rows. Indexes only: each filter of the Mail page (status, kind) walks its own index newest
 * first; the dashboard counts a period by status from one index without reading the rows; the
 * audit log's filter by user walks its own (actor and action are text searches over the newest rows). Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('outbox_tenant_status_created').on('outbox').columns(['tenant_id', 'status', 'created_at']).execute();
  await db.schema.createIndex('outbox_tenant_kind_created').on('outbox').columns(['tenant_id', 'kind', 'created_at']).execute();
  await db.schema.createIndex('outbox_tenant_created_status').on('outbox').columns(['tenant_id', 'created_at', 'status']).execute();
  await db.schema.createIndex('audit_tenant_user_at').on('audit').columns(['tenant_id', 'target_user_id', 'at']).execute();
}
