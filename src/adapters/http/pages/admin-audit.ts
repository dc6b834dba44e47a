import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError, type AppError } from '../../../core/errors.ts';
import { describeActor } from '../../../core/actor.ts';
import { auditFilterParams, parseAuditListQuery, type AuditListQuery } from '../../../core/audit-filter.ts';
import { listAuditPage } from '../../../app/audit.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { errorBox } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import type { MsgKey } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

export const AUDIT_PER_PAGE = 50;

/** Who acted, in words: the admin's address, the token's name, the OS user and the machine for the CLI. */
export function actorCell(c: PageCtx, actor: string): Html {
  const a = describeActor(actor);
  const via = c.t(`audit.via.${a.kind}` as MsgKey);
  if (a.kind === 'cli') return html`<span class="actor" data-actor="${actor}">${a.host ? c.t('audit.cliOn', { user: a.name, host: a.host }) : a.name} <span class="hint">${via}</span></span>`;
  if (a.kind === 'directory' || a.kind === 'other') return html`<span class="actor" data-actor="${actor}">${a.kind === 'other' ? a.name : via}</span>`;
  return html`<span class="actor" data-actor="${actor}">${a.name} <span class="hint">${via}</span></span>`;
}

/** The audit log: who did what to whom, newest first, filtered by actor, action, user and days, in keyset pages. */
export function adminAuditPages(app: FastifyInstance, deps: PageDeps): void {
  const show = async (req: FastifyRequest, reply: FastifyReply, raw: Record<string, unknown>, error: AppError | null = null, code = 200): Promise<FastifyReply> => {
    const c = adminCtx(req);
    let q: AuditListQuery;
    let res: Awaited<ReturnType<typeof listAuditPage>>;
    try {
      q = parseAuditListQuery(raw);
      res = await listAuditPage(scopeFor(deps.ctx, req), q, AUDIT_PER_PAGE);
    } catch (e) {
      if (!isAppError(e) || error) throw e;
      return show(req, reply, {}, e, e.kind === 'not_found' ? 404 : 400);
    }
    const f = q.filter;
    const keep = auditFilterParams(f);
    const link = (extra: Record<string, string>) => `/admin/audit?${new URLSearchParams({ ...keep, ...extra }).toString()}`;
    // A refused filter shows what was typed, so it can be corrected.
    const typed = (k: string) => (error && typeof req.query === 'object' ? String((req.query as Record<string, unknown>)[k] ?? '') : (keep[k] ?? ''));
    const field = (name: string, label: MsgKey, type = 'text') =>
      html`<div class="field${error?.field === name ? ' invalid' : ''}"><label for="f-${name}">${c.t(label)}</label><input id="f-${name}" name="${name}" type="${type}" value="${typed(name)}"${type === 'text' ? html` maxlength="256" autocomplete="off"` : ''}${error?.field === name ? html` aria-invalid="true"` : ''}></div>`;
    const body = html`${errorBox(c, error)}
<form method="get" action="/admin/audit" class="filters-form" role="search" aria-label="${c.t('audit.filters')}">
${field('actor', 'audit.filter.actor')}${field('action', 'audit.filter.action')}${field('user', 'audit.filter.user')}${field('from', 'filter.from', 'date')}${field('to', 'filter.to', 'date')}
<div class="field buttons"><button type="submit">${c.t('action.search')}</button> <a href="/admin/audit">${c.t('users.clear')}</a></div>
</form>
<div class="table-wrap"><table data-testid="audit-table"><caption class="sr-only">${c.t('audit.title')}</caption>
<thead><tr><th scope="col">${c.t('audit.at')}</th><th scope="col">${c.t('audit.actor')}</th><th scope="col">${c.t('audit.action')}</th><th scope="col">${c.t('audit.target')}</th><th scope="col">${c.t('audit.details')}</th></tr></thead>
<tbody>${res.rows.map(
      (r) => html`<tr data-id="${r.Id}"><td><time datetime="${r.At}">${r.At.replace('T', ' ').slice(0, 19)}</time></td><td>${actorCell(c, r.Actor)}</td><td><code>${r.Action}</code></td><td>${r.Target ?? r.User ?? ''}</td><td class="details">${Object.entries(r.Details)
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('; ')}</td></tr>`,
    )}</tbody></table></div>
${res.rows.length === 0 ? html`<p>${c.t('audit.none')}</p>` : ''}
<nav class="pager" aria-label="${c.t('pager.label')}">${res.prev ? html`<a href="${link({})}">${c.t('list.newest')}</a> <a href="${link({ before: res.prev })}" rel="prev">${c.t('users.prev')}</a>` : ''}
${res.next ? html`<a href="${link({ after: res.next })}" rel="next">${c.t('users.next')}</a>` : ''}</nav>`;
    return sendPage(reply, page(c, c.t('audit.title'), body), code);
  };

  app.get<{ Querystring: Record<string, unknown> }>('/admin/audit', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => show(req, reply, req.query));
}
