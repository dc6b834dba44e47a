import { AppError } from '../core/errors.ts';
import { KIND_CARRIES_PIN, type MailKind } from '../core/mail-kinds.ts';
import type { MailPayload } from './mail-queue.ts';
import { audit } from './audit.ts';
import { outboxCounts, outboxCountsUpTo } from './outbox.ts';
import type { TenantScope } from './context.ts';

const RETRYABLE = ['failed', 'expired'];
/** Statuses a purge may delete: final ones only, never mail still to be sent. */
export const PURGEABLE = ['sent', 'delayed', 'bounced', 'complained', 'failed', 'expired', 'superseded'] as const;

/** The tenant's delivery state: messages by status and, when paused, why. */
export interface DeliveryStatus {
  Counts: Record<string, number>;
  Paused: boolean;
  PausedSince: string | null;
  PauseReason: string | null;
  NextTryAt: string | null;
  OldestQueuedAt: string | null;
}

/** `countsUpTo`: each status counted up to that many and one more (a page's badges), else exactly. */
export async function deliveryStatus(s: TenantScope, opts: { countsUpTo?: number } = {}): Promise<DeliveryStatus> {
  const pause = await s.db.kysely.selectFrom('mail_pauses').selectAll().where('tenant_id', '=', s.tenant.id).executeTakeFirst();
  const oldest = await s.db.kysely.selectFrom('outbox').select((eb) => eb.fn.min('created_at').as('t')).where('tenant_id', '=', s.tenant.id).where('status', '=', 'queued').executeTakeFirst();
  const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(Number(t)).toISOString());
  return {
    Counts: opts.countsUpTo === undefined ? await outboxCounts(s) : await outboxCountsUpTo(s, opts.countsUpTo),
    Paused: !!pause,
    PausedSince: iso(pause?.paused_at),
    PauseReason: pause?.reason ?? null,
    NextTryAt: iso(pause?.retry_at),
    OldestQueuedAt: iso(oldest?.t),
  };
}

/**
 * Queues failed or expired messages again, with a fresh lifetime and retry schedule. A message
 * that carried a PIN cannot be re-sent (its PIN was wiped): reset the PIN instead.
 */
export async function retryMail(s: TenantScope, sel: { ids?: string[]; status?: 'failed' | 'expired' }): Promise<number> {
  return s.db.kysely.transaction().execute(async (trx) => {
    let q = trx.selectFrom('outbox').select(['id', 'status', 'kind', 'payload']).where('tenant_id', '=', s.tenant.id);
    if (sel.ids?.length) q = q.where('id', 'in', sel.ids);
    else if (sel.status) q = q.where('status', '=', sel.status);
    else throw new AppError('MISSING_ARGUMENT', 'Name the messages to retry, or give --failed or --expired.', { field: 'Id' });
    const rows = await q.execute();
    for (const id of sel.ids ?? []) if (!rows.some((r) => r.id === id)) throw new AppError('OUTBOX_NOT_FOUND', `No outbox message has the id ${id}.`, { field: 'Id' });
    const ok = rows.filter((r) => RETRYABLE.includes(r.status) && !carriesPin(r.kind, r.payload));
    if (sel.ids?.length && ok.length !== rows.length) {
      const bad = rows.find((r) => !ok.includes(r))!;
      const why = RETRYABLE.includes(bad.status) ? 'it carried a PIN, which is never sent again: reset the PIN to send a new one' : `it is ${bad.status}`;
      throw new AppError('MAIL_NOT_RETRYABLE', `Message ${bad.id} cannot be retried: ${why}.`, { field: 'Id' });
    }
    const now = s.now();
    for (let i = 0; i < ok.length; i += 500) {
      await trx
        .updateTable('outbox')
        .set({ status: 'queued', attempts: 0, run_at: now, expires_at: now + s.mailLifetimeMs, lease_owner: null, lease_until: null, last_error: `queued again by ${s.actor}` })
        .where('id', 'in', ok.slice(i, i + 500).map((r) => r.id))
        .execute();
    }
    await audit(trx, s, 'mail.retry', { label: sel.ids?.length ? sel.ids.join(',') : `all ${sel.status}` }, { messages: ok.length });
    if (ok.length) s.onMailQueued?.();
    return ok.length;
  });
}

function carriesPin(kind: string, payload: string): boolean {
  return KIND_CARRIES_PIN[kind as MailKind] === true && !(JSON.parse(payload) as MailPayload).options?.sample;
}

/** Deletes finished messages older than `olderThanDays` (an explicit, audited clean-up). */
export async function purgeMail(s: TenantScope, o: { olderThanDays: number; statuses?: string[] }): Promise<number> {
  const statuses = o.statuses?.length ? o.statuses : [...PURGEABLE];
  for (const st of statuses) {
    if (!(PURGEABLE as readonly string[]).includes(st)) throw new AppError('INVALID_ARGUMENT', `Only ${PURGEABLE.join(', ')} messages can be purged, not "${st}".`, { field: 'Status' });
  }
  if (!Number.isFinite(o.olderThanDays) || o.olderThanDays < 0) throw new AppError('INVALID_ARGUMENT', '--older-than must be a number of days.', { field: 'OlderThan' });
  const before = s.now() - o.olderThanDays * 86_400_000;
  return s.db.kysely.transaction().execute(async (trx) => {
    const r = await trx.deleteFrom('outbox').where('tenant_id', '=', s.tenant.id).where('status', 'in', statuses).where('created_at', '<', before).executeTakeFirst();
    const n = Number(r.numDeletedRows);
    await audit(trx, s, 'mail.purge', { label: statuses.join(',') }, { messages: n, olderThanDays: o.olderThanDays });
    return n;
  });
}

/** Ends the tenant's pause now (after the relay settings were fixed), rather than at the next try. */
export async function resumeDeliveries(s: TenantScope): Promise<boolean> {
  return s.db.kysely.transaction().execute(async (trx) => {
    const r = await trx.deleteFrom('mail_pauses').where('tenant_id', '=', s.tenant.id).executeTakeFirst();
    const was = Number(r.numDeletedRows) > 0;
    if (was) await audit(trx, s, 'mail.resume', { label: 'deliveries' });
    if (was) s.onMailQueued?.();
    return was;
  });
}
