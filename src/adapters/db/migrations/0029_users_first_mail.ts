import { sql, type Kysely } from 'kysely';
import type { Backfill } from '../backfills.ts';

/**
 * Issue 16: the users list's "never mailed" at 100,000 users. Each user's first mail time, kept
 * by the outbox's one insert (app/mail-queue.ts) so the filter reads a column instead of probing
 * the outbox for every user (850 ms when no one matches). Users of before get it from the
 * backfill below, in batches; until it reaches them the filter still asks the outbox. It survives
 * a purge of old mail: a user who was mailed stays so. Immutable once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('first_mail_at', 'bigint').execute();
  await db.schema.createIndex('users_tenant_first_mail').on('users').columns(['tenant_id', 'first_mail_at']).execute();
}

export const backfill: Backfill = {
  name: '0029_users_first_mail',
  table: 'users',
  key: 'id',
  async rewrite(trx, keys) {
    await sql`update users set first_mail_at = (select min(o.created_at) from outbox o where o.user_id = users.id) where users.id in (${sql.join(keys)}) and users.first_mail_at is null`.execute(trx);
  },
};
