import type { Kysely } from 'kysely';

/**
 * Issue 16 item 1: single sign-on (OIDC) for the admin center.
 * `sso_providers`: one per tenant, the client secret sealed under the key ring (`key_version`),
 *   the group claim and groups that give the admin and helpdesk roles, whether local password
 *   sign-in stays on, and the one break-glass admin account that keeps a password when it is off.
 * `sso_identities`: the people who signed in through it (issuer subject, e-mail, the role of their
 *   last sign-in); web sessions name them as their subject. No admin row is made for them.
 * `sso_logins`: an authorization request in flight (state digest → nonce, PKCE verifier), one use,
 *   ten minutes. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sso_providers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_secret_sealed', 'text', (c) => c.notNull())
    .addColumn('key_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('groups_claim', 'text', (c) => c.notNull())
    .addColumn('admin_group', 'text')
    .addColumn('helpdesk_group', 'text')
    .addColumn('local_passwords', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('break_glass_admin_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sso_providers_tenant').unique().on('sso_providers').column('tenant_id').execute();
  await db.schema
    .createTable('sso_identities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('name', 'text')
    .addColumn('role', 'text')
    .addColumn('last_login_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sso_identities_subject').unique().on('sso_identities').columns(['provider_id', 'subject']).execute();
  await db.schema
    .createTable('sso_logins')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('next', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}
