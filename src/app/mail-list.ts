import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Database } from '../adapters/db/schema.ts';
import { containsText } from '../adapters/db/like.ts';
import type { MailFilter, MailListQuery } from '../core/mail-filter.ts';
import { outboxView, type OutboxView } from './outbox.ts';
import { keysetPage } from './keyset.ts';
import type { TenantScope } from './context.ts';

type EB = ExpressionBuilder<Database, 'outbox'>;

/** The WHERE of the Mail page's filter, on the tenant's outbox rows. */
function mailWhere(s: TenantScope, f: MailFilter): (eb: EB) => Expression<SqlBool> {
  return (eb) => {
    const all: Expression<SqlBool>[] = [eb('outbox.tenant_id', '=', s.tenant.id)];
    if (f.q) all.push(containsText('outbox.recipient', f.q));
    if (f.status) all.push(eb('outbox.status', '=', f.status));
    if (f.kind) all.push(eb('outbox.kind', '=', f.kind));
    if (f.from !== null) all.push(eb('outbox.created_at', '>=', f.from));
    if (f.to !== null) all.push(eb('outbox.created_at', '<', f.to));
    return eb.and(all);
  };
}

/**
 * One page of the Mail page, newest first, by keyset on (created_at, id) — never OFFSET, so the
 * thousandth page costs what the first does. The users' SIP addresses are joined for the page's
 * rows only.
 */
export async function listMailPage(s: TenantScope, q: MailListQuery, limit: number): Promise<{ rows: OutboxView[]; next: string | null; prev: string | null }> {
  const backwards = q.before !== null;
  const dir = backwards ? 'asc' : 'desc';
  const cur = q.after ?? q.before;
  let query = s.db.kysely.selectFrom('outbox').selectAll('outbox').where(mailWhere(s, q.filter));
  if (cur) {
    const op = backwards ? '>' : '<';
    const t = Number(cur.value);
    query = query.where((eb) => eb.or([eb('outbox.created_at', op, t), eb.and([eb('outbox.created_at', '=', t), eb('outbox.id', op, cur.id)])]));
  }
  const got = await query.orderBy('outbox.created_at', dir).orderBy('outbox.id', dir).limit(limit + 1).execute();
  const page = keysetPage(got, limit, q, (r) => ({ value: String(r.created_at), id: r.id }));
  const userIds = [...new Set(page.rows.map((r) => r.user_id).filter((u): u is string => !!u))];
  const sips = new Map<string, string>();
  if (userIds.length) for (const u of await s.db.kysely.selectFrom('users').select(['id', 'sip']).where('id', 'in', userIds).execute()) sips.set(u.id, u.sip);
  return { ...page, rows: page.rows.map((r) => outboxView({ ...r, sip: r.user_id ? (sips.get(r.user_id) ?? null) : null })) };
}
