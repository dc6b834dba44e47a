import { text, type UserCursor } from './user-filter.ts';
import { dayRange, formatDay, parseCursors, refuseUnknownKeys } from './mail-filter.ts';

/**
 * The audit log's filters: who acted (text in the actor), what was done (the start of the
 * action, `users.` for every users action), the user it was done to (an identity), a range of UTC
 * days; and its keyset cursor. Pure; an unknown key or a malformed value is refused with the field named.
 */
export interface AuditFilter {
  actor: string | null;
  action: string | null;
  user: string | null;
  from: number | null;
  to: number | null;
}

export interface AuditListQuery {
  filter: AuditFilter;
  after: UserCursor | null;
  before: UserCursor | null;
}

const QUERY_KEYS = new Set<string>(['actor', 'action', 'user', 'from', 'to', 'after', 'before']);

export function parseAuditListQuery(raw: Record<string, unknown>): AuditListQuery {
  refuseUnknownKeys(raw, QUERY_KEYS);
  const filter: AuditFilter = {
    actor: text(raw.actor, 'actor', 256),
    action: text(raw.action, 'action', 64, /^[a-z0-9._-]+$/i),
    user: text(raw.user, 'user', 256),
    ...dayRange(raw),
  };
  return { filter, ...parseCursors(raw) };
}

export function auditFilterParams(f: AuditFilter): Record<string, string> {
  const out: Record<string, string> = {};
  if (f.actor) out.actor = f.actor;
  if (f.action) out.action = f.action;
  if (f.user) out.user = f.user;
  if (f.from !== null) out.from = formatDay(f.from);
  if (f.to !== null) out.to = formatDay(f.to - 86_400_000);
  return out;
}
