import type { Kysely } from 'kysely';

/**
 * Issue 16: the admin center's pages at 100,000 users and a million outbox rows. Indexes only.
 * - A user's last mail (the users list's column and its "last mail failed/bounced" filters) is the
 *   first entry of (user_id, created_at, id) read backwards, its status and kind in the index: one
 *   seek, no row read, no sort of the ties. It covers what the two older user_id indexes did.
 * - The users whose last mail failed or bounced are found from the mails in those statuses that have
 *   a user: (tenant, status, user_id).
 * - The Mail page filtered by status and kind walks one index newest first.
 * - The dashboard counts enables, disables and PIN lockouts of 30 days from (tenant, action, at),
 *   and the PINs locked now from the two lock columns.
 * - A recipient search in the users list reads the tenant's SIP, name and e-mail from one index.
 * Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('outbox_user_last').on('outbox').columns(['user_id', 'created_at', 'id', 'status', 'kind']).execute();
  await db.schema.dropIndex('outbox_user_created').execute();
  await db.schema.dropIndex('outbox_user').execute();
  await db.schema.createIndex('outbox_tenant_status_user').on('outbox').columns(['tenant_id', 'status', 'user_id']).execute();
  await db.schema.createIndex('outbox_tenant_status_kind_created').on('outbox').columns(['tenant_id', 'status', 'kind', 'created_at']).execute();
  await db.schema.createIndex('audit_tenant_action_at').on('audit').columns(['tenant_id', 'action', 'at']).execute();
  await db.schema.createIndex('users_tenant_pin_locked').on('users').columns(['tenant_id', 'pin_locked']).execute();
  await db.schema.createIndex('users_tenant_pin_locked_until').on('users').columns(['tenant_id', 'pin_locked_until']).execute();
  await db.schema.createIndex('users_tenant_sip_search').on('users').columns(['tenant_id', 'sip', 'id', 'display_name', 'email']).execute();
}
