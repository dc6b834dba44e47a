import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../../core/errors.ts';
import { displayNumber } from '../../../core/phone-number.ts';
import { filterParams, parseUserListQuery, USER_MAIL_STATES, USER_PIN_STATES, USER_SORTS, USER_SOURCES, USER_STATES, type UserFilter, type UserListQuery } from '../../../core/user-filter.ts';
import { countUsersUpTo, listUserPage, userLanguages, type UserRow } from '../../../app/user-list.ts';
import { JOB_KINDS } from '../../../app/user-jobs.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { csrfField, errorBox } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import type { MsgKey } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';
import { userJobPages } from './admin-user-jobs.ts';

export const USERS_PER_PAGE = 50;
/**
 * The count says "more than" past this many (an exact count at 100,000 users reads every one).
 * A text search or a last-mail filter has no index to count from, each user read in turn: it
 * stops sooner.
 */
export const USER_COUNT_CAP = 10_000;
export const USER_SCAN_COUNT_CAP = 1_000;

const BAD_MAIL = new Set(['failed', 'expired', 'bounced', 'complained']);

function filterSelect(c: PageCtx, name: keyof UserFilter, label: MsgKey, values: readonly { value: string; label: string }[], current: string | null): Html {
  return html`<div class="field"><label for="f-${name}">${c.t(label)}</label><select id="f-${name}" name="${name}"><option value="">${c.t('users.any')}</option>${values.map(
    (v) => html`<option value="${v.value}"${v.value === current ? html` selected` : ''}>${v.label}</option>`,
  )}</select></div>`;
}

function numbers(u: UserRow): Html {
  const list = [u.serviceNumber, u.tollFreeNumber].filter((n): n is string => !!n).map((n) => displayNumber(n));
  return list.length ? html`${list.map((n, i) => html`${i ? html`<br>` : ''}<span class="nowrap">${n}</span>`)}` : html`—`;
}

/** The users list: filters, sort, keyset pages, the columns an administrator looks at, bulk actions over a selection or the whole filter. */
export async function usersListPage(c: PageCtx, req: FastifyRequest, deps: PageDeps, q: UserListQuery, error: AppError | null = null): Promise<string> {
  const s = scopeFor(deps.ctx, req);
  const res = await listUserPage(s, q, USERS_PER_PAGE);
  // A first page with no next one holds every match: its length is the count.
  const first = q.after === null && q.before === null;
  const cap = q.filter.q || q.filter.mail ? USER_SCAN_COUNT_CAP : USER_COUNT_CAP;
  const [total, bridges, languages] = await Promise.all([
    first && res.next === null ? res.rows.length : countUsersUpTo(s, q.filter, cap),
    s.db.kysely.selectFrom('bridges').select(['id', 'name']).where('tenant_id', '=', s.tenant.id).orderBy('name').execute(),
    userLanguages(s),
  ]);
  const capText = cap.toLocaleString(c.lang === 'fr' ? 'fr-FR' : 'en-US');
  const bridgeName = new Map(bridges.map((b) => [b.id, b.name]));
  const f = q.filter;
  const keep: Record<string, string> = { ...filterParams(f), ...(q.sort !== 'sip' ? { sort: q.sort } : {}), ...(q.dir !== 'asc' ? { dir: q.dir } : {}) };
  const link = (extra: Record<string, string>) => `/admin/users?${new URLSearchParams({ ...keep, ...extra }).toString()}`;
  const isAdmin = c.admin?.role === 'admin';
  const kinds = JOB_KINDS.filter((k) => isAdmin || k === 'reset_pin' || k === 'send_info');
  const filterQuery = new URLSearchParams(filterParams(f)).toString();
  const opt = (prefix: string, list: readonly string[]) => list.map((v) => ({ value: v, label: c.t(`${prefix}.${v}` as MsgKey) }));
  const body = html`${errorBox(c, error)}
<form method="get" action="/admin/users" class="filters-form" role="search" aria-label="${c.t('users.filters')}">
<div class="field"><label for="q">${c.t('users.search')}</label><input id="q" name="q" type="search" value="${f.q ?? ''}" maxlength="128"></div>
${filterSelect(c, 'state', 'users.state', opt('users.state', USER_STATES), f.state)}
${filterSelect(c, 'pin', 'users.pin', opt('users.pin', USER_PIN_STATES), f.pin)}
${filterSelect(c, 'mail', 'users.mail', opt('users.mail', USER_MAIL_STATES), f.mail)}
${filterSelect(c, 'bridge', 'user.bridge', bridges.map((b) => ({ value: b.id, label: b.name })), f.bridge)}
${filterSelect(c, 'language', 'user.language', languages.filter((l) => l).map((l) => ({ value: l, label: l })), f.language)}
${filterSelect(c, 'source', 'users.source', opt('users.source', USER_SOURCES), f.source)}
<div class="field"><label for="f-sort">${c.t('users.sort')}</label><select id="f-sort" name="sort">${USER_SORTS.map((v) => html`<option value="${v}"${v === q.sort ? html` selected` : ''}>${c.t(`users.sort.${v}` as MsgKey)}</option>`)}</select></div>
<div class="field"><label for="f-dir">${c.t('users.dir')}</label><select id="f-dir" name="dir">${(['asc', 'desc'] as const).map((v) => html`<option value="${v}"${v === q.dir ? html` selected` : ''}>${c.t(`users.dir.${v}`)}</option>`)}</select></div>
<div class="field buttons"><button type="submit">${c.t('action.search')}</button> <a href="/admin/users">${c.t('users.clear')}</a></div>
</form>
<p class="count" role="status" data-testid="user-count">${total > cap ? c.t('users.countMore', { total: capText }) : c.t('users.count', { total })}</p>
<p class="actions"><a href="/admin/users/export.csv${filterQuery ? `?${filterQuery}` : ''}" download>${c.t('users.export')}</a>${isAdmin ? html` · <a href="/admin/users/import">${c.t('users.import')}</a>` : ''}</p>
<form method="post" action="/admin/users/jobs" id="bulk">${csrfField(c)}<input type="hidden" name="filter" value="${filterQuery}">
<div class="table-wrap"><table class="users">
<caption class="sr-only">${c.t('users.title')}</caption>
<thead><tr><th scope="col"><input type="checkbox" id="select-page" data-select-all="ids" aria-label="${c.t('users.selectPage')}" hidden></th><th scope="col">${c.t('user.displayName')}</th><th scope="col">${c.t('user.sip')}</th><th scope="col">${c.t('user.conferenceId')}</th><th scope="col">${c.t('users.numbers')}</th><th scope="col">${c.t('users.pinStatus')}</th><th scope="col">${c.t('user.dialin')}</th><th scope="col">${c.t('user.bridge')}</th><th scope="col">${c.t('user.language')}</th><th scope="col">${c.t('users.source')}</th><th scope="col">${c.t('user.lastMail')}</th></tr></thead>
<tbody>${res.rows.map(
    (u) => html`<tr><td><input type="checkbox" name="ids" value="${u.id}" aria-label="${c.t('users.selectRow', { name: u.displayName })}"></td><td><a href="/admin/users/${encodeURIComponent(u.id)}">${u.displayName}</a></td><td>${u.sip.replace(/^sip:/, '')}</td>
<td class="nowrap">${u.conferenceId ?? '—'}</td><td>${numbers(u)}</td>
<td>${u.pin === 'locked' ? html`<span class="badge bad">${c.t('users.pin.locked')}</span>` : c.t(u.pin === 'set' ? 'users.pin.set' : 'users.pin.none')}</td>
<td>${u.enabled ? html`<span class="badge on">${c.t('user.enabled')}</span>` : html`<span class="badge">${u.provider === 'ThirdParty' ? c.t('user.thirdParty') : c.t('user.notEnabled')}</span>`}</td>
<td>${u.bridgeId ? (bridgeName.get(u.bridgeId) ?? '—') : '—'}</td><td>${u.language || '—'}</td><td>${c.t(`users.source.${u.source}` as MsgKey)}</td>
<td>${u.lastMailStatus ? html`${c.t(`kind.${u.lastMailKind}` as MsgKey)}: <span class="badge${BAD_MAIL.has(u.lastMailStatus) ? ' bad' : u.lastMailStatus === 'sent' ? ' on' : ''}">${c.t(`mail.status.${u.lastMailStatus}` as MsgKey)}</span>` : c.t('users.mail.never')}</td></tr>`,
  )}</tbody></table></div>
<nav class="pager" aria-label="${c.t('pager.label')}">${res.prev ? html`<a href="${link({})}">${c.t('users.first')}</a> <a href="${link({ before: res.prev })}" rel="prev">${c.t('users.prev')}</a>` : ''}
${res.next ? html`<a href="${link({ after: res.next })}" rel="next">${c.t('users.next')}</a>` : ''}</nav>
<fieldset class="card bulk"><legend>${c.t('users.bulk')}</legend>
<fieldset><legend>${c.t('users.bulk.scope')}</legend>
<div class="field check"><input type="radio" id="scope-selected" name="scope" value="selected" checked><label for="scope-selected">${c.t('users.bulk.selected')}</label></div>
<div class="field check"><input type="radio" id="scope-all" name="scope" value="all"><label for="scope-all">${total > cap ? c.t('users.bulk.allMore', { total: capText }) : c.t('users.bulk.all', { total })}</label></div>
</fieldset>
<div class="field"><label for="f-action">${c.t('users.bulk.action')}</label><select id="f-action" name="action">${kinds.map((k) => html`<option value="${k}">${c.t(`users.bulk.${k}` as MsgKey)}</option>`)}</select></div>
${isAdmin
  ? html`<div class="field"><label for="f-BridgeId">${c.t('users.bulk.bridge')}</label><select id="f-BridgeId" name="BridgeId"><option value="">${c.t('users.bulk.defaultBridge')}</option>${bridges.map((b) => html`<option value="${b.id}">${b.name}</option>`)}</select></div>
<div class="field"><label for="f-ServiceNumber">${c.t('users.bulk.tollNumber')}</label><input id="f-ServiceNumber" name="ServiceNumber" type="tel" maxlength="32" autocomplete="off"></div>`
  : ''}
<button type="submit" class="primary">${c.t('users.bulk.start')}</button>
</fieldset>
</form>`;
  return page(c, c.t('users.title'), body);
}

/** Users: the list at scale, and (admin-user-jobs.ts) its bulk jobs, import and export. */
export function adminUsersPages(app: FastifyInstance, deps: PageDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/admin/users', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const c = adminCtx(req);
    let q: UserListQuery;
    try {
      q = parseUserListQuery(req.query);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return showRefused(c, req, reply, deps, e, parseUserListQuery({}));
    }
    return sendPage(reply, await usersListPage(c, req, deps, q));
  });
  userJobPages(app, deps);
}

async function showRefused(c: PageCtx, req: FastifyRequest, reply: FastifyReply, deps: PageDeps, e: AppError, q: UserListQuery): Promise<FastifyReply> {
  return sendPage(reply, await usersListPage(c, req, deps, q, e), e.kind === 'forbidden' ? 403 : e.kind === 'not_found' ? 404 : e.kind === 'validation' ? 400 : 409);
}
export { showRefused as usersListRefused };
