import { AppError } from './errors.ts';
import { printable } from './email-address.ts';
import { MAIL_KINDS, OUTBOX_STATUSES } from './mail-kinds.ts';
import { decodeCursor, oneOf, text, type UserCursor } from './user-filter.ts';

/**
 * The Mail page's filters (recipient search, status, kind, a date range) and its keyset cursor,
 * read from a query string. Pure: an unknown key or a malformed value is refused with the field
 * named, never ignored. Dates are whole UTC days (an <input type="date"> value).
 */
export interface MailFilter {
  q: string | null;
  status: (typeof OUTBOX_STATUSES)[number] | null;
  kind: (typeof MAIL_KINDS)[number] | null;
  /** First day shown, 00:00 UTC, as epoch ms. */
  from: number | null;
  /** The day after the last day shown, 00:00 UTC, as epoch ms (exclusive). */
  to: number | null;
}

export interface MailListQuery {
  filter: MailFilter;
  after: UserCursor | null;
  before: UserCursor | null;
}

export const MAIL_FILTER_KEYS = ['q', 'status', 'kind', 'from', 'to'] as const;
const QUERY_KEYS = new Set<string>([...MAIL_FILTER_KEYS, 'after', 'before', 'done']);
const DAY_MS = 86_400_000;

/** A YYYY-MM-DD day as 00:00 UTC epoch ms; refused when it is not a real calendar day. */
export function parseDay(raw: unknown, field: string): number | null {
  const v = text(raw, field, 10, /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
  if (!v) return null;
  const [y, m, d] = v.split('-').map(Number) as [number, number, number];
  const t = Date.UTC(y, m - 1, d);
  if (new Date(t).toISOString().slice(0, 10) !== v) throw new AppError('INVALID_ARGUMENT', `${field} "${v}" is not a calendar day (YYYY-MM-DD).`, { field });
  return t;
}

/** The YYYY-MM-DD of a day start, for links and the date inputs. */
export function formatDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** A from/to pair of days: from inclusive, to turned into the exclusive end of its day. */
export function dayRange(raw: Record<string, unknown>): { from: number | null; to: number | null } {
  const from = parseDay(raw.from, 'from');
  const last = parseDay(raw.to, 'to');
  if (from !== null && last !== null && last < from) throw new AppError('CONFLICTING_PARAMETERS', 'to is a day before from.', { field: 'to' });
  return { from, to: last === null ? null : last + DAY_MS };
}

export function refuseUnknownKeys(raw: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  for (const k of Object.keys(raw)) if (!allowed.has(k)) throw new AppError('INVALID_ARGUMENT', `Unknown filter "${printable(k).slice(0, 40)}".`, { field: k });
}

export function parseCursors(raw: Record<string, unknown>): { after: UserCursor | null; before: UserCursor | null } {
  const after = decodeCursor(raw.after, 'after');
  const before = decodeCursor(raw.before, 'before');
  if (after && before) throw new AppError('CONFLICTING_PARAMETERS', 'after and before cannot be used together.', { field: 'before' });
  if ([after, before].some((c) => c && !/^[0-9]{1,16}$/.test(c.value))) throw new AppError('INVALID_ARGUMENT', 'The page position is not one this list wrote.', { field: after ? 'after' : 'before' });
  return { after, before };
}

export function parseMailListQuery(raw: Record<string, unknown>): MailListQuery {
  refuseUnknownKeys(raw, QUERY_KEYS);
  const filter: MailFilter = {
    q: text(raw.q, 'q', 254),
    status: oneOf(raw.status, OUTBOX_STATUSES, 'status'),
    kind: oneOf(raw.kind, MAIL_KINDS, 'kind'),
    ...dayRange(raw),
  };
  return { filter, ...parseCursors(raw) };
}

/** The query string parameters of a filter (empty ones left out), the days written back as typed. */
export function mailFilterParams(f: MailFilter): Record<string, string> {
  const out: Record<string, string> = {};
  if (f.q) out.q = f.q;
  if (f.status) out.status = f.status;
  if (f.kind) out.kind = f.kind;
  if (f.from !== null) out.from = formatDay(f.from);
  if (f.to !== null) out.to = formatDay(f.to - DAY_MS);
  return out;
}
