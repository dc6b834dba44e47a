import { sql, type ExpressionBuilder, type Expression, type SqlBool } from 'kysely';
import type { Database, UsersTable } from '../adapters/db/schema.ts';
import { containsTextFolded } from '../adapters/db/like.ts';
import { isLockedOut } from '../core/pin-lockout.ts';
import { encodeCursor, type UserCursor, type UserFilter, type UserListQuery } from '../core/user-filter.ts';
import type { TenantScope, Trx } from './context.ts';

/** One row of the admin center's users list: directory fields, dial-in state, PIN status, source, last mail. */
export interface UserRow {
  id: string;
  sip: string;
  displayName: string;
  email: string;
  language: string;
  provider: string;
  enabled: boolean;
  bridgeId: string | null;
  conferenceId: string | null;
  serviceNumber: string | null;
  tollFreeNumber: string | null;
  /** 'none' | 'set' | 'locked' — never the PIN. */
  pin: 'none' | 'set' | 'locked';
  source: string;
  lastMailKind: string | null;
  lastMailStatus: string | null;
}

type EB = ExpressionBuilder<Database, 'users'>;

const LAST_MAIL = (col: 'status' | 'kind') =>
  sql<string | null>`(select o.${sql.ref(col)} from outbox o where o.user_id = users.id order by o.created_at desc, o.id desc limit 1)`;

/**
 * Users whose last mail has one of the statuses. Only the users with any mail in those statuses
 * (read from the (tenant, status, user_id) index) have their last mail looked up, rather than
 * each of 100,000 users.
 */
function lastMailIn(s: TenantScope, statuses: string[]): Expression<SqlBool> {
  const list = sql.join(statuses.map((x) => sql.lit(x)));
  return sql<SqlBool>`(users.id in (select o.user_id from outbox o where o.tenant_id = ${s.tenant.id} and o.status in (${list})) and ${LAST_MAIL('status')} in (${list}))`;
}

/** The WHERE of a filter, on the tenant's users. */
export function filterWhere(s: TenantScope, f: UserFilter): (eb: EB) => Expression<SqlBool> {
  const now = s.now();
  return (eb) => {
    const all: Expression<SqlBool>[] = [eb('users.tenant_id', '=', s.tenant.id)];
    if (f.q) all.push(eb.or([containsTextFolded(s.db.dialect, 'display_name', f.q), containsTextFolded(s.db.dialect, 'sip', f.q), containsTextFolded(s.db.dialect, 'email', f.q)]));
    if (f.state === 'enabled') all.push(eb.and([eb('dialin_enabled', '=', 1), eb('provider', '=', 'Microsoft')]));
    if (f.state === 'disabled') all.push(eb.or([eb('dialin_enabled', '=', 0), eb('provider', '!=', 'Microsoft')]));
    if (f.pin === 'locked') all.push(eb.or([eb('pin_locked', '=', 1), eb('pin_locked_until', '>', now)]));
    if (f.pin === 'notset') all.push(eb('pin_hash', 'is', null));
    // The column says it for users mailed since 0029 (and those the backfill reached); the outbox for the rest.
    if (f.mail === 'never') all.push(sql<SqlBool>`(users.first_mail_at is null and not exists (select 1 from outbox o where o.user_id = users.id))`);
    if (f.mail === 'failed') all.push(lastMailIn(s, ['failed', 'expired']));
    if (f.mail === 'bounced') all.push(lastMailIn(s, ['bounced', 'complained']));
    if (f.bridge) all.push(eb('bridge_id', '=', f.bridge));
    if (f.language) all.push(eb('language', '=', f.language));
    if (f.source === 'directory') all.push(eb.or([eb('directory_id', 'is not', null), eb('source', '=', 'directory')]));
    if (f.source === 'csv') all.push(eb.and([eb('directory_id', 'is', null), eb('source', '=', 'csv')]));
    if (f.source === 'scim') all.push(eb.and([eb('directory_id', 'is', null), eb('source', '=', 'scim')]));
    return eb.and(all);
  };
}

function toRow(s: TenantScope, u: UsersTable & { last_mail_status: string | null; last_mail_kind: string | null }): UserRow {
  const locked = isLockedOut({ failuresLocal: u.pin_fail_local, windowStart: u.pin_window_start, failuresGlobal: u.pin_fail_global, lockedUntil: u.pin_locked_until === null ? null : Number(u.pin_locked_until), locked: u.pin_locked === 1 }, s.now());
  return {
    id: u.id,
    sip: u.sip,
    displayName: u.display_name,
    email: u.email,
    language: u.language,
    provider: u.provider,
    enabled: u.provider === 'Microsoft' && u.dialin_enabled === 1,
    bridgeId: u.bridge_id,
    conferenceId: u.conference_id,
    serviceNumber: u.service_number,
    tollFreeNumber: u.toll_free_number,
    pin: locked ? 'locked' : u.pin_hash ? 'set' : 'none',
    source: u.directory_id ? 'directory' : (u.source ?? 'csv'),
    lastMailKind: u.last_mail_kind,
    lastMailStatus: u.last_mail_status,
  };
}

function baseQuery(db: Trx, s: TenantScope, f: UserFilter) {
  return db
    .selectFrom('users')
    .selectAll('users')
    .select([LAST_MAIL('status').as('last_mail_status'), LAST_MAIL('kind').as('last_mail_kind')])
    .where(filterWhere(s, f));
}

/**
 * One page of the list by keyset (never OFFSET): the rows after (or before) a cursor in the
 * sort order, the sort column then the id breaking ties. Asks for one row more than the page to
 * know whether there is a next page.
 */
export async function listUserPage(s: TenantScope, q: UserListQuery, limit: number): Promise<{ rows: UserRow[]; next: string | null; prev: string | null }> {
  const col = q.sort === 'name' ? 'display_name' : 'sip';
  const backwards = q.before !== null;
  const dir = (q.dir === 'asc') !== backwards ? 'asc' : 'desc';
  const cur: UserCursor | null = q.after ?? q.before;
  let query = baseQuery(s.db.kysely, s, q.filter);
  if (cur) {
    const op = dir === 'asc' ? '>' : '<';
    query = query.where((eb) => eb.or([eb(col, op, cur.value), eb.and([eb(col, '=', cur.value), eb('id', op, cur.id)])]));
  }
  const got = await query.orderBy(col, dir).orderBy('id', dir).limit(limit + 1).execute();
  const more = got.length > limit;
  const page = got.slice(0, limit);
  if (backwards) page.reverse();
  const rows = page.map((u) => toRow(s, u));
  const at = (u: UserRow): string => encodeCursor({ value: q.sort === 'name' ? u.displayName : u.sip, id: u.id });
  const first = rows[0];
  const last = rows[rows.length - 1];
  // Going forward, a previous page exists when we came from a cursor; going back, a next one always does.
  const hasNext = backwards ? true : more;
  const hasPrev = backwards ? more : cur !== null;
  return { rows, next: hasNext && last ? at(last) : null, prev: hasPrev && first ? at(first) : null };
}

/**
 * The users matching a filter, counted up to `cap` + 1 (read as "more than cap"): the list shows
 * it on every page, and an exact count at 100,000 users reads every one of them.
 */
export async function countUsersUpTo(s: TenantScope, f: UserFilter, cap: number): Promise<number> {
  const few = s.db.kysely.selectFrom('users').select(sql.lit(1).as('one')).where(filterWhere(s, f)).limit(cap + 1);
  const r = await s.db.kysely.selectFrom(few.as('few')).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function countUsers(s: TenantScope, f: UserFilter): Promise<number> {
  const r = await s.db.kysely.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where(filterWhere(s, f)).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * The tenant's users' languages, in order: one index seek per language on (tenant, language, sip)
 * (a "loose index scan"), where SELECT DISTINCT read all 100,000 users on every page of the list.
 */
export async function userLanguages(s: TenantScope): Promise<string[]> {
  const { rows } = await sql<{ language: string | null }>`with recursive l(language) as (
  select min(language) from users where tenant_id = ${s.tenant.id}
  union all
  select (select min(u.language) from users u where u.tenant_id = ${s.tenant.id} and u.language > l.language) from l where l.language is not null
) select language from l where language is not null`.execute(s.db.kysely);
  return rows.map((r) => r.language!);
}

/** Every user matching a filter, in SIP order, a batch at a time (export, bulk jobs). */
export async function* usersMatching(s: TenantScope, f: UserFilter, opts: { batch?: number; afterSip?: string | null } = {}): AsyncGenerator<UserRow[]> {
  const size = opts.batch ?? 1000;
  let after = opts.afterSip ?? null;
  for (;;) {
    let q = baseQuery(s.db.kysely, s, f);
    if (after !== null) q = q.where('sip', '>', after);
    const got = await q.orderBy('sip').limit(size).execute();
    if (got.length === 0) return;
    yield got.map((u) => toRow(s, u));
    if (got.length < size) return;
    after = got[got.length - 1]!.sip;
  }
}
