import { AppError } from './errors.ts';
import { printable } from './email-address.ts';

/**
 * The users list's filters, sort and keyset cursor, read from a query string (the page, its
 * export and its bulk actions share them). Pure: unknown or malformed values are refused with
 * the field named, never ignored.
 */
export const USER_STATES = ['enabled', 'disabled'] as const;
export const USER_PIN_STATES = ['locked', 'notset'] as const;
export const USER_MAIL_STATES = ['never', 'failed', 'bounced'] as const;
export const USER_SOURCES = ['csv', 'directory', 'scim'] as const;
export const USER_SORTS = ['sip', 'name'] as const;

export interface UserFilter {
  q: string | null;
  state: (typeof USER_STATES)[number] | null;
  pin: (typeof USER_PIN_STATES)[number] | null;
  mail: (typeof USER_MAIL_STATES)[number] | null;
  bridge: string | null;
  language: string | null;
  source: (typeof USER_SOURCES)[number] | null;
}

export interface UserCursor {
  /** The sort column's value of the row the page starts after (or before). */
  value: string;
  id: string;
}

export interface UserListQuery {
  filter: UserFilter;
  sort: (typeof USER_SORTS)[number];
  dir: 'asc' | 'desc';
  after: UserCursor | null;
  before: UserCursor | null;
}

/** The query string keys of a filter, in the order links are written. */
export const FILTER_KEYS = ['q', 'state', 'pin', 'mail', 'bridge', 'language', 'source'] as const;
const QUERY_KEYS = new Set<string>([...FILTER_KEYS, 'sort', 'dir', 'after', 'before', 'done', 'error']);

export function oneOf<T extends string>(raw: unknown, allowed: readonly T[], field: string): T | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    throw new AppError('INVALID_ARGUMENT', `${field} must be one of ${allowed.join(', ')} (got "${printable(String(raw)).slice(0, 40)}").`, { field });
  }
  return raw as T;
}

export function text(raw: unknown, field: string, max: number, pattern?: RegExp): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string') throw new AppError('INVALID_ARGUMENT', `${field} is given more than once.`, { field });
  const v = raw.trim();
  if (v.length > max) throw new AppError('INVALID_ARGUMENT', `${field} is longer than ${max} characters.`, { field });
  if (pattern && v && !pattern.test(v)) throw new AppError('INVALID_ARGUMENT', `${field} "${printable(v).slice(0, 40)}" is not of the expected form.`, { field });
  return v || null;
}

export function encodeCursor(c: UserCursor): string {
  return Buffer.from(JSON.stringify([c.value, c.id]), 'utf8').toString('base64url');
}

export function decodeCursor(raw: unknown, field: string): UserCursor | null {
  const v = text(raw, field, 2048, /^[A-Za-z0-9_-]+$/);
  if (!v) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(v, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string') return { value: parsed[0], id: parsed[1] };
  } catch {
    // refused below
  }
  throw new AppError('INVALID_ARGUMENT', `${field} is not a page position this list wrote.`, { field });
}

/** Reads filters, sort and cursor; refuses an unknown key so a misspelt filter is not silently ignored. */
export function parseUserListQuery(raw: Record<string, unknown>): UserListQuery {
  for (const k of Object.keys(raw)) if (!QUERY_KEYS.has(k)) throw new AppError('INVALID_ARGUMENT', `Unknown filter "${printable(k).slice(0, 40)}".`, { field: k });
  const filter: UserFilter = {
    q: text(raw.q, 'q', 128),
    state: oneOf(raw.state, USER_STATES, 'state'),
    pin: oneOf(raw.pin, USER_PIN_STATES, 'pin'),
    mail: oneOf(raw.mail, USER_MAIL_STATES, 'mail'),
    bridge: text(raw.bridge, 'bridge', 64, /^[0-9a-f-]{36}$/i),
    language: text(raw.language, 'language', 16, /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/),
    source: oneOf(raw.source, USER_SOURCES, 'source'),
  };
  const after = decodeCursor(raw.after, 'after');
  const before = decodeCursor(raw.before, 'before');
  if (after && before) throw new AppError('CONFLICTING_PARAMETERS', 'after and before cannot be used together.', { field: 'before' });
  return { filter, sort: oneOf(raw.sort, USER_SORTS, 'sort') ?? 'sip', dir: oneOf(raw.dir, ['asc', 'desc'] as const, 'dir') ?? 'asc', after, before };
}

/** The query string parameters of a filter (empty ones left out). */
export function filterParams(f: UserFilter): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of FILTER_KEYS) if (f[k]) out[k] = f[k]!;
  return out;
}
