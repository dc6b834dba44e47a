import { AppError } from '../core/errors.ts';
import type { OutboxTable } from '../adapters/db/schema.ts';
import type { TenantScope } from './context.ts';

/** How an outbox row is shown: status, attempts, last reply, recipient; never the PIN. */
export interface OutboxView {
  Id: string;
  Kind: string;
  Status: string;
  Recipient: string;
  Language: string;
  User: string | null;
  Attempts: number;
  CreatedAt: string;
  NextAttemptAt: string | null;
  SentAt: string | null;
  LastError: string | null;
  LastReply: string | null;
  MessageId: string;
  CarriesPin: boolean;
}

export function outboxView(r: OutboxTable & { sip?: string | null }): OutboxView {
  return {
    Id: r.id,
    Kind: r.kind,
    Status: r.status,
    Recipient: r.recipient,
    Language: r.language,
    User: r.sip ?? r.user_id,
    Attempts: r.attempts,
    CreatedAt: new Date(r.created_at).toISOString(),
    NextAttemptAt: r.status === 'queued' ? new Date(r.run_at).toISOString() : null,
    SentAt: r.sent_at ? new Date(r.sent_at).toISOString() : null,
    LastError: r.last_error,
    LastReply: r.last_reply,
    MessageId: r.message_id,
    CarriesPin: r.pin_enc !== null,
  };
}

export async function listOutbox(s: TenantScope, f: { status?: string | null; kind?: string | null; user?: string | null; limit: number }): Promise<OutboxView[]> {
  let q = s.db.kysely.selectFrom('outbox').leftJoin('users', 'users.id', 'outbox.user_id').selectAll('outbox').select('users.sip').where('outbox.tenant_id', '=', s.tenant.id);
  if (f.status) q = q.where('outbox.status', '=', f.status);
  if (f.kind) q = q.where('outbox.kind', '=', f.kind);
  if (f.user) q = q.where('users.sip', '=', f.user);
  const rows = await q.orderBy('outbox.created_at', 'desc').orderBy('outbox.id').limit(f.limit).execute();
  return rows.map(outboxView);
}

export async function getOutbox(s: TenantScope, id: string): Promise<OutboxView> {
  const r = await s.db.kysely.selectFrom('outbox').leftJoin('users', 'users.id', 'outbox.user_id').selectAll('outbox').select('users.sip').where('outbox.tenant_id', '=', s.tenant.id).where('outbox.id', '=', id).executeTakeFirst();
  if (!r) throw new AppError('OUTBOX_NOT_FOUND', `No outbox message has the id ${id}.`, { field: 'Id' });
  return outboxView(r);
}

export async function outboxCounts(s: TenantScope): Promise<Record<string, number>> {
  const rows = await s.db.kysely.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll().as('n')]).where('tenant_id', '=', s.tenant.id).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
