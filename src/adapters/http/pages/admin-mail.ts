import type { FastifyInstance } from 'fastify';
import { listOutbox, outboxCounts } from '../../../app/outbox.ts';
import { listAudit } from '../../../app/audit.ts';
import { OUTBOX_STATUSES } from '../../../app/mail-queue.ts';
import { scopeFor } from '../auth.ts';
import { html } from '../html.ts';
import { page } from './layout.ts';
import type { MsgKey } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

const LIMITS = [50, 200, 1000];

/** Mail (outbox status, failures with the server's reply) and the audit log. */
export function adminMailPages(app: FastifyInstance, deps: PageDeps): void {
  app.get<{ Querystring: { status?: string } }>('/admin/mail', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const c = adminCtx(req);
    const s = scopeFor(deps.ctx, req);
    const status = (OUTBOX_STATUSES as readonly string[]).includes(req.query.status ?? '') ? req.query.status! : null;
    const counts = await outboxCounts(s);
    const rows = await listOutbox(s, { status, limit: 200 });
    const body = html`<nav class="filters" aria-label="${c.t('mail.filter')}"><ul>
<li><a href="/admin/mail"${status === null ? html` aria-current="page"` : ''}>${c.t('mail.all')}</a></li>
${OUTBOX_STATUSES.map((st) => html`<li><a href="/admin/mail?status=${st}"${status === st ? html` aria-current="page"` : ''}>${c.t(`mail.status.${st}` as MsgKey)} <span class="badge${st === 'failed' || st === 'expired' ? ' bad' : ''}" data-testid="count-${st}">${counts[st] ?? 0}</span></a></li>`)}
</ul></nav>
<div class="table-wrap"><table><caption class="sr-only">${c.t('mail.title')}</caption>
<thead><tr><th scope="col">${c.t('mail.created')}</th><th scope="col">${c.t('mail.kind')}</th><th scope="col">${c.t('mail.recipient')}</th><th scope="col">${c.t('mail.status')}</th><th scope="col">${c.t('mail.attempts')}</th><th scope="col">${c.t('mail.reply')}</th></tr></thead>
<tbody>${rows.map(
      (m) => html`<tr><td><time datetime="${m.CreatedAt}">${m.CreatedAt.replace('T', ' ').slice(0, 19)}</time></td><td>${c.t(`kind.${m.Kind}` as MsgKey)}</td><td>${m.Recipient}</td>
<td><span class="badge${m.Status === 'failed' || m.Status === 'expired' ? ' bad' : m.Status === 'sent' ? ' on' : ''}">${c.t(`mail.status.${m.Status}` as MsgKey)}</span></td><td>${m.Attempts}</td><td class="reply">${m.LastReply ?? m.LastError ?? ''}</td></tr>`,
    )}</tbody></table></div>
${rows.length === 0 ? html`<p>${c.t('mail.none')}</p>` : ''}`;
    return sendPage(reply, page(c, c.t('mail.title'), body));
  });

  app.get<{ Querystring: { limit?: string } }>('/admin/audit', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    const c = adminCtx(req);
    const limit = LIMITS.includes(Number(req.query.limit)) ? Number(req.query.limit) : LIMITS[0]!;
    const rows = await listAudit(scopeFor(deps.ctx, req), { limit });
    const body = html`<p class="filters">${c.t('audit.show')} ${LIMITS.map((l) => (l === limit ? html`<strong>${l}</strong> ` : html`<a href="/admin/audit?limit=${l}">${l}</a> `))}</p>
<div class="table-wrap"><table><caption class="sr-only">${c.t('audit.title')}</caption>
<thead><tr><th scope="col">${c.t('audit.at')}</th><th scope="col">${c.t('audit.actor')}</th><th scope="col">${c.t('audit.action')}</th><th scope="col">${c.t('audit.target')}</th><th scope="col">${c.t('audit.details')}</th></tr></thead>
<tbody>${rows.map(
      (r) => html`<tr><td><time datetime="${r.At}">${r.At.replace('T', ' ').slice(0, 19)}</time></td><td>${r.Actor}</td><td><code>${r.Action}</code></td><td>${r.Target ?? ''}</td><td class="details">${Object.entries(r.Details)
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('; ')}</td></tr>`,
    )}</tbody></table></div>`;
    return sendPage(reply, page(c, c.t('audit.title'), body));
  });
}
