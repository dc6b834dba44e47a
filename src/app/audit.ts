import type { AuditTable } from '../adapters/db/schema.ts';
import type { TenantScope, Trx } from './context.ts';
import { AppError, isAppError } from '../core/errors.ts';
import { parseIdentity } from '../core/identity.ts';
import type { AuditListQuery } from '../core/audit-filter.ts';
import { containsText, escapeLike, likeEscaped } from '../adapters/db/like.ts';
import { findUser } from './users.ts';
import { keysetPage } from './keyset.ts';

/**
 * One audit record: who did what to whom, and when. `details` must never hold a secret; the
 * callers pass only names of changed fields and non-secret values.
 */
export function auditRow(
  s: TenantScope,
  action: string,
  target: { userId?: string | null; label?: string | null },
  details: Record<string, unknown> = {},
): AuditTable {
  return {
    id: s.newId(),
    tenant_id: s.tenant.id,
    at: s.now(),
    actor: s.actor,
    action,
    target_user_id: target.userId ?? null,
    target: target.label ?? null,
    details: JSON.stringify(details),
  };
}

export async function audit(trx: Trx, s: TenantScope, action: string, target: { userId?: string | null; label?: string | null }, details: Record<string, unknown> = {}): Promise<void> {
  await trx.insertInto('audit').values(auditRow(s, action, target, details)).execute();
}

export async function insertAuditRows(trx: Trx, rows: AuditTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await trx.insertInto('audit').values(rows.slice(i, i + 500)).execute();
}

export interface AuditEntry {
  At: string;
  Actor: string;
  Action: string;
  Target: string | null;
  Details: Record<string, unknown>;
}

export async function listAudit(s: TenantScope, opts: { limit: number; userId?: string }): Promise<AuditEntry[]> {
  let q = s.db.kysely.selectFrom('audit').selectAll().where('tenant_id', '=', s.tenant.id);
  if (opts.userId) q = q.where('target_user_id', '=', opts.userId);
  const rows = await q.orderBy('at', 'desc').limit(opts.limit).execute();
  return rows.map((r) => ({ At: new Date(r.at).toISOString(), Actor: r.actor, Action: r.action, Target: r.target, Details: JSON.parse(r.details) }));
}

export interface AuditPageEntry extends AuditEntry {
  Id: string;
  /** The SIP address of the user the action was done to, when there is one. */
  User: string | null;
}

/**
 * One page of the audit log, newest first, by keyset on (at, id): who acted (text in the
 * actor), the action's start, the user (an identity, resolved first: an unknown one is refused,
 * never an empty page that looks like "nothing happened"), a range of days.
 */
export async function listAuditPage(s: TenantScope, q: AuditListQuery, limit: number): Promise<{ rows: AuditPageEntry[]; next: string | null; prev: string | null }> {
  const f = q.filter;
  let userId: string | null = null;
  if (f.user) {
    try {
      userId = (await findUser(s.db.kysely, s.tenant.id, parseIdentity(f.user, 'user'), f.user)).id;
    } catch (e) {
      if (isAppError(e)) throw new AppError(e.code, e.message, { field: 'user' });
      throw e;
    }
  }
  const backwards = q.before !== null;
  const dir = backwards ? 'asc' : 'desc';
  const cur = q.after ?? q.before;
  let query = s.db.kysely.selectFrom('audit').selectAll().where('tenant_id', '=', s.tenant.id);
  if (f.actor) query = query.where(containsText('actor', f.actor));
  if (f.action) query = query.where(likeEscaped('action', `${escapeLike(f.action.toLowerCase())}%`, { lower: true }));
  if (userId) query = query.where('target_user_id', '=', userId);
  if (f.from !== null) query = query.where('at', '>=', f.from);
  if (f.to !== null) query = query.where('at', '<', f.to);
  if (cur) {
    const op = backwards ? '>' : '<';
    const t = Number(cur.value);
    query = query.where((eb) => eb.or([eb('at', op, t), eb.and([eb('at', '=', t), eb('id', op, cur.id)])]));
  }
  const got = await query.orderBy('at', dir).orderBy('id', dir).limit(limit + 1).execute();
  const page = keysetPage(got, limit, q, (r) => ({ value: String(r.at), id: r.id }));
  const ids = [...new Set(page.rows.map((r) => r.target_user_id).filter((u): u is string => !!u))];
  const sips = new Map<string, string>();
  if (ids.length) for (const u of await s.db.kysely.selectFrom('users').select(['id', 'sip']).where('id', 'in', ids).execute()) sips.set(u.id, u.sip);
  return {
    ...page,
    rows: page.rows.map((r) => ({ Id: r.id, At: new Date(Number(r.at)).toISOString(), Actor: r.actor, Action: r.action, Target: r.target, User: r.target_user_id ? (sips.get(r.target_user_id) ?? null) : null, Details: JSON.parse(r.details) as Record<string, unknown> })),
  };
}
