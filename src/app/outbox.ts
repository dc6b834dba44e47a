import { AppError } from '../core/errors.ts';
import type { OutboxTable } from '../adapters/db/schema.ts';
import type { TenantScope } from './context.ts';
import type { Db } from '../adapters/db/database.ts';
import { sql } from 'kysely';
import { KIND_CARRIES_PIN, OUTBOX_STATUSES, type MailKind } from '../core/mail-kinds.ts';

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
  /** After delivery: the DSN status (5.1.1), or the feedback type of a complaint. */
  ReportStatus: string | null;
  ReportDiagnostic: string | null;
  /** The MTA that reported it. */
  ReportedBy: string | null;
  ReportedAt: string | null;
  /** What to do about a bounced or complained mail, in plain words. */
  Advice: string | null;
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
    ReportStatus: r.report_status ?? null,
    ReportDiagnostic: r.report_diagnostic ?? null,
    ReportedBy: r.report_mta ?? null,
    ReportedAt: r.reported_at ? new Date(r.reported_at).toISOString() : null,
    Advice: adviceFor(r.status, r.kind, r.recipient),
  };
}

/** Plain words for the admin about a mail that came back (a PIN mail's PIN never reached its user). */
export function adviceFor(status: string, kind: string, recipient: string): string | null {
  const pin = KIND_CARRIES_PIN[kind as MailKind] ?? false;
  if (status === 'bounced') {
    return pin
      ? `The mail with the PIN never reached ${recipient}: the user does not know the PIN. Correct the user's e-mail address, then reset the PIN (Set-CsOnlineDialInConferencingUser -ResetLeaderPin) so a new mail is sent.`
      : `The mail never reached ${recipient}. Correct the user's e-mail address; the next change is mailed to the new one.`;
  }
  if (status === 'complained') return `${recipient} reported the mail as unwanted. Check with the user before mailing again (Set-CsOnlineDialInConferencingTenantSettings -AutomaticallySendEmailsToUsers stops automatic mail for the tenant).`;
  if (status === 'delayed') return `A server on the way could not deliver to ${recipient} yet and keeps trying; nothing to do unless a bounce follows.`;
  return null;
}

/** The status of each user's newest mail (LastMailStatus of Get-CsOnlineDialInConferencingUser). */
export async function lastMailStatus(db: Db['kysely'], userIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < userIds.length; i += 500) {
    const ids = userIds.slice(i, i + 500);
    const rows = await db.selectFrom('outbox').select(['user_id', 'status', 'created_at', 'id']).where('user_id', 'in', ids).execute();
    const newest = new Map<string, { at: number; id: string; status: string }>();
    for (const r of rows) {
      const cur = newest.get(r.user_id!);
      if (!cur || r.created_at > cur.at || (r.created_at === cur.at && r.id > cur.id)) newest.set(r.user_id!, { at: r.created_at, id: r.id, status: r.status });
    }
    for (const [u, v] of newest) out.set(u, v.status);
  }
  return out;
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

/**
 * The tenant's messages by status, each count stopping at `cap` + 1 (read as "more than cap"):
 * a page shows them on every request, and an exact count walks a million index entries where
 * this walks at most cap + 1 per status.
 */
export async function outboxCountsUpTo(s: TenantScope, cap: number): Promise<Record<string, number>> {
  const counts = await Promise.all(
    OUTBOX_STATUSES.map(async (status) => {
      const few = s.db.kysely.selectFrom('outbox').select(sql.lit(1).as('one')).where('tenant_id', '=', s.tenant.id).where('status', '=', status).limit(cap + 1);
      const r = await s.db.kysely.selectFrom(few.as('few')).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return [status, Number(r.n)] as const;
    }),
  );
  return Object.fromEntries(counts.filter(([, n]) => n > 0));
}

export async function outboxCounts(s: TenantScope): Promise<Record<string, number>> {
  const rows = await s.db.kysely.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll().as('n')]).where('tenant_id', '=', s.tenant.id).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
