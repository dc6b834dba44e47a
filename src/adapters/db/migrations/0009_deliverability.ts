import type { Kysely } from 'kysely';

/**
 * Deliverability (issue 14): DKIM keys (the private key sealed under the master key, never in
 * clear) and what became of a mail after the relay took it (bounced, delayed, complained), as
 * reported by a delivery status notification or a feedback report. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('dkim_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // null: a key of the deployment (the default sender's domain); else the tenant whose mail it signs.
    .addColumn('tenant_id', 'text', (c) => c.references('tenants.id'))
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('selector', 'text', (c) => c.notNull())
    /** 'rsa' | 'ed25519' */
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('private_key_sealed', 'text', (c) => c.notNull())
    /** The p= value of the DNS record (base64). */
    .addColumn('public_key', 'text', (c) => c.notNull())
    /** 1: signs mail now; 0: standby (generated for a rotation, published before it is activated). */
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dkim_keys_domain_selector').unique().on('dkim_keys').columns(['domain', 'selector']).execute();

  // The last report about the mail after the relay accepted it; status becomes bounced, delayed or complained.
  await db.schema.alterTable('outbox').addColumn('report_status', 'text').execute();
  await db.schema.alterTable('outbox').addColumn('report_diagnostic', 'text').execute();
  await db.schema.alterTable('outbox').addColumn('report_mta', 'text').execute();
  await db.schema.alterTable('outbox').addColumn('reported_at', 'bigint').execute();
  // A bounce read from a mailbox without its return path is matched by the Message-ID it quotes.
  await db.schema.createIndex('outbox_message_id').on('outbox').column('message_id').execute();
}
