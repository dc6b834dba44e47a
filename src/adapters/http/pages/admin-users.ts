import type { FastifyInstance } from 'fastify';
import { listUsers } from '../../../app/users.ts';
import { scopeFor } from '../auth.ts';
import { html } from '../html.ts';
import { pager } from './kit.ts';
import { page } from './layout.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

export const USERS_PER_PAGE = 50;

/** Users: search by name, SIP address or e-mail, and page through the directory. */
export function adminUsersPages(app: FastifyInstance, deps: PageDeps): void {
  app.get<{ Querystring: { q?: string; page?: string } }>('/admin/users', { schema: { hide: true }, config: { access: 'staff' } }, async (req, reply) => {
    const c = adminCtx(req);
    const q = String(req.query.q ?? '').trim().slice(0, 128);
    const requested = Math.max(1, Math.floor(Number(req.query.page) || 1));
    const s = scopeFor(deps.ctx, req);
    let res = await listUsers(s, { search: q || undefined, limit: USERS_PER_PAGE, offset: (requested - 1) * USERS_PER_PAGE });
    const pages = Math.max(1, Math.ceil(res.total / USERS_PER_PAGE));
    const current = Math.min(requested, pages);
    if (current !== requested) res = await listUsers(s, { search: q || undefined, limit: USERS_PER_PAGE, offset: (current - 1) * USERS_PER_PAGE });
    const body = html`<form method="get" action="/admin/users" class="search" role="search">
<label for="q">${c.t('users.search')}</label>
<input id="q" name="q" type="search" value="${q}" maxlength="128">
<button type="submit">${c.t('action.search')}</button>
</form>
<p class="count" role="status">${c.t('users.count', { total: res.total })}</p>
<div class="table-wrap"><table>
<caption class="sr-only">${c.t('users.title')}</caption>
<thead><tr><th scope="col">${c.t('user.displayName')}</th><th scope="col">${c.t('user.sip')}</th><th scope="col">${c.t('user.email')}</th><th scope="col">${c.t('user.language')}</th><th scope="col">${c.t('user.dialin')}</th></tr></thead>
<tbody>${res.users.map(
      (u) => html`<tr><td><a href="/admin/users/${encodeURIComponent(u.id)}">${u.display_name}</a></td><td>${u.sip.replace(/^sip:/, '')}</td><td>${u.email}</td><td>${u.language || '—'}</td>
<td>${u.provider === 'Microsoft' && u.dialin_enabled === 1 ? html`<span class="badge on">${c.t('user.enabled')}</span>` : html`<span class="badge">${u.provider === 'ThirdParty' ? c.t('user.thirdParty') : c.t('user.notEnabled')}</span>`}</td></tr>`,
    )}</tbody></table></div>
${pager(c, '/admin/users', q ? { q } : {}, current, pages)}`;
    return sendPage(reply, page(c, c.t('users.title'), body));
  });
}
