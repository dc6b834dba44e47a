import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Database, OutboxTable } from '../adapters/db/schema.ts';
import { containsText } from '../adapters/db/like.ts';
import type { MailFilter, MailListQuery } from '../core/mail-filter.ts';
import { encodeCursor, type UserCursor } from '../core/user-filter.ts';
import { outboxView, type OutboxView } from './outbox.ts';
import { keysetPage } from './keyset.ts';
import type { TenantScope } from './context.ts';

type EB = ExpressionBuilder<Database, 'outbox'>;

/**
 * How many messages a recipient search reads for one page at most. A text search inside an address
 * has no index to walk: a rare address would read the whole outbox (a million rows) for one page.
 * Instead a page reads this many messages (after the other filters, newest first) and shows what
 * matched among them, with a link to go on with the older ones.
 */
export const MAIL_SEARCH_WINDOW = 10_000;

export interface MailPage {
  rows: OutboxView[];
  next: string | null;
  prev: string | null;
  /** A recipient search that stopped at its window: the creation time it read back (or forward) to. */
  searchedTo: number | null;
}

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

const position = (r: { created_at: number | string; id: string }): UserCursor => ({ value: String(r.created_at), id: r.id });

/**
 * One page of the Mail page, newest first, by keyset on (created_at, id) — never OFFSET, so the
 * thousandth page costs what the first does. The users' SIP addresses are joined for the page's
 * rows only. A recipient search reads at most `searchWindow` messages (MAIL_SEARCH_WINDOW).
 */
export async function listMailPage(s: TenantScope, q: MailListQuery, limit: number, opts: { searchWindow?: number } = {}): Promise<MailPage> {
  const backwards = q.before !== null;
  const dir = backwards ? 'asc' : 'desc';
  const cur = q.after ?? q.before;
  const f = q.filter;
  const inOrder = (withQ: boolean) => {
    let query = s.db.kysely.selectFrom('outbox').where(mailWhere(s, withQ ? f : { ...f, q: null }));
    if (cur) {
      const op = backwards ? '>' : '<';
      const t = Number(cur.value);
      query = query.where((eb) => eb.or([eb('outbox.created_at', op, t), eb.and([eb('outbox.created_at', '=', t), eb('outbox.id', op, cur.id)])]));
    }
    return query.orderBy('outbox.created_at', dir).orderBy('outbox.id', dir);
  };

  let got: OutboxTable[];
  let page: { rows: OutboxTable[]; next: string | null; prev: string | null };
  let searchedTo: number | null = null;
  if (!f.q) {
    got = await inOrder(false).selectAll('outbox').limit(limit + 1).execute();
    page = keysetPage(got, limit, q, position);
  } else {
    const window = opts.searchWindow ?? MAIL_SEARCH_WINDOW;
    const scanned = inOrder(false).select(['outbox.id', 'outbox.created_at', 'outbox.recipient']).limit(window);
    const hits = await s.db.kysely
      .selectFrom(scanned.as('w'))
      .select(['w.id', 'w.created_at'])
      .where(containsText('w.recipient', f.q))
      .orderBy('w.created_at', dir)
      .orderBy('w.id', dir)
      .limit(limit + 1)
      .execute();
    // Fewer hits than a page: either the outbox ends here, or the window did (its last message says where).
    const edge = hits.length > limit ? undefined : await inOrder(false).select(['outbox.id', 'outbox.created_at']).limit(1).offset(window - 1).executeTakeFirst();
    const byId = new Map((hits.length ? await s.db.kysely.selectFrom('outbox').selectAll().where('id', 'in', hits.map((h) => h.id)).execute() : []).map((r) => [r.id, r]));
    got = hits.map((h) => byId.get(h.id)).filter((r): r is NonNullable<typeof r> => r !== undefined);
    page = keysetPage(got, limit, q, position);
    if (edge) {
      // The window ended before a page of hits: go on from its last message, in the direction read.
      searchedTo = Number(edge.created_at);
      const onward = encodeCursor(position(edge));
      if (backwards) {
        page.prev = onward;
      } else {
        page.next = onward;
        if (page.rows.length === 0 && cur) page.prev = onward;
      }
    }
  }
  const userIds = [...new Set(page.rows.map((r) => r.user_id).filter((u): u is string => !!u))];
  const sips = new Map<string, string>();
  if (userIds.length) for (const u of await s.db.kysely.selectFrom('users').select(['id', 'sip']).where('id', 'in', userIds).execute()) sips.set(u.id, u.sip);
  return { next: page.next, prev: page.prev, searchedTo, rows: page.rows.map((r) => outboxView({ ...r, sip: r.user_id ? (sips.get(r.user_id) ?? null) : null })) };
}
