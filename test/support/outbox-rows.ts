import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/adapters/db/database.ts';
import type { OutboxTable } from '../../src/adapters/db/schema.ts';

export type OutboxSeed = Pick<OutboxTable, 'tenant_id' | 'kind' | 'recipient' | 'status' | 'created_at'> & Partial<OutboxTable>;

/** A whole outbox row from the fields a list or a chart looks at (no PIN, an empty payload). */
export function outboxRow(r: OutboxSeed): OutboxTable {
  const id = r.id ?? randomUUID();
  return {
    user_id: null,
    language: 'en',
    payload: '{}',
    pin_enc: null,
    key_version: 1,
    message_id: `<${id}@test.invalid>`,
    attempts: r.status === 'queued' ? 0 : 1,
    run_at: r.created_at,
    lease_until: null,
    lease_owner: null,
    last_error: r.status === 'failed' ? '550 5.1.1 mailbox unavailable' : null,
    last_reply: null,
    sent_at: r.status === 'sent' || r.status === 'bounced' ? r.created_at + 1000 : null,
    expires_at: r.created_at + 3 * 86_400_000,
    ...r,
    id,
  };
}

/** Inserts rows straight into the outbox, many per statement (fixtures and the web bench). */
export async function insertOutboxRows(db: Db, rows: OutboxSeed[], perStatement = 500): Promise<void> {
  await db.kysely.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += perStatement) await trx.insertInto('outbox').values(rows.slice(i, i + perStatement).map(outboxRow)).execute();
  });
}
