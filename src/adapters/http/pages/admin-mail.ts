import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError, type AppError } from '../../../core/errors.ts';
import type { OutboxView } from '../../../app/outbox.ts';
import { listMailPage, MAIL_SEARCH_WINDOW } from '../../../app/mail-list.ts';
import { MAIL_KINDS, OUTBOX_STATUSES } from '../../../core/mail-kinds.ts';
import { mailFilterParams, parseMailListQuery, type MailListQuery } from '../../../core/mail-filter.ts';
import { deliveryStatus, resumeDeliveries, retryMail } from '../../../app/mail-admin.ts';
import { scopeFor } from '../auth.ts';
import { html, type Html } from '../html.ts';
import { errorBox, flash, postButton } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import type { MsgKey } from './i18n.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

export const MAILS_PER_PAGE = 50;
/** The status badges count up to this many, then say "more than" (an exact count walks the whole outbox). */
export const MAIL_COUNT_CAP = 10_000;
const BAD = new Set(['failed', 'expired', 'bounced', 'complained']);

/** What came back for a mail after delivery, and what to do about it (the PIN mail that bounced above all). */
export function reportNote(c: PageCtx, m: OutboxView): Html {
  if (!m.ReportStatus) return html`${m.LastReply ?? m.LastError ?? ''}`;
  const advice: MsgKey | null = m.Status === 'bounced' ? (m.Kind === 'welcome' || m.Kind === 'pin_changed' ? 'mail.advice.bouncedPin' : 'mail.advice.bounced') : m.Status === 'complained' ? 'mail.advice.complained' : m.Status === 'delayed' ? 'mail.advice.delayed' : null;
  return html`<span data-testid="report">${c.t('mail.report', { mta: m.ReportedBy ?? '?', status: m.ReportStatus, diagnostic: m.ReportDiagnostic ?? '' })}</span>${advice ? html`<p class="advice" data-testid="advice">${c.t(advice, { to: m.Recipient })}</p>` : ''}`;
}

/** A filter's drop-down, "any" first. */
export function choice(c: PageCtx, name: string, label: MsgKey, values: readonly { value: string; label: string }[], current: string | null): Html {
  return html`<div class="field"><label for="f-${name}">${c.t(label)}</label><select id="f-${name}" name="${name}"><option value="">${c.t('users.any')}</option>${values.map(
    (v) => html`<option value="${v.value}"${v.value === current ? html` selected` : ''}>${v.label}</option>`,
  )}</select></div>`;
}

/** Mail: outbox status, failures with the server's reply, keyset pages and filters. */
export function adminMailPages(app: FastifyInstance, deps: PageDeps): void {
  const DONE: Record<string, MsgKey> = { requeued: 'mail.requeued', resumed: 'mail.resumed' };
  const show = async (req: FastifyRequest, reply: FastifyReply, raw: Record<string, unknown>, error: AppError | null = null, code = 200) => {
    const c = adminCtx(req);
    const s = scopeFor(deps.ctx, req);
    let q: MailListQuery;
    try {
      q = parseMailListQuery(raw);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return show(req, reply, {}, e, 400);
    }
    const f = q.filter;
    const [st, res] = await Promise.all([deliveryStatus(s, { countsUpTo: MAIL_COUNT_CAP }), listMailPage(s, q, MAILS_PER_PAGE)]);
    const counts = st.Counts;
    const keep = mailFilterParams(f);
    const link = (extra: Record<string, string>) => `/admin/mail?${new URLSearchParams({ ...keep, ...extra }).toString()}`;
    const done = typeof raw.done === 'string' ? raw.done : '';
    const body = html`${flash(c, DONE[done] ?? null)}${errorBox(c, error)}
${st.Paused ? html`<div class="notice error" role="alert"><p>${c.t('mail.paused', { since: st.PausedSince ?? '', reason: st.PauseReason ?? '', next: st.NextTryAt ?? '' })}</p>${postButton(c, '/admin/mail/resume', c.t('mail.resume'), { kind: 'primary' })}</div>` : ''}
<nav class="filters" aria-label="${c.t('mail.filter')}"><ul>
<li><a href="/admin/mail"${f.status === null ? html` aria-current="page"` : ''}>${c.t('mail.all')}</a></li>
${OUTBOX_STATUSES.map((x) => html`<li><a href="/admin/mail?status=${x}"${f.status === x ? html` aria-current="page"` : ''}>${c.t(`mail.status.${x}` as MsgKey)} <span class="badge${BAD.has(x) ? ' bad' : ''}" data-testid="count-${x}">${(counts[x] ?? 0) > MAIL_COUNT_CAP ? c.t('mail.countMore', { n: MAIL_COUNT_CAP.toLocaleString(c.lang === 'fr' ? 'fr-FR' : 'en-US') }) : (counts[x] ?? 0)}</span></a></li>`)}
</ul></nav>
<form method="get" action="/admin/mail" class="filters-form" role="search" aria-label="${c.t('mail.filters')}">
<div class="field"><label for="q">${c.t('mail.search')}</label><input id="q" name="q" type="search" value="${f.q ?? ''}" maxlength="254" autocomplete="off"></div>
${choice(c, 'status', 'mail.status', OUTBOX_STATUSES.map((x) => ({ value: x, label: c.t(`mail.status.${x}` as MsgKey) })), f.status)}
${choice(c, 'kind', 'mail.kind', MAIL_KINDS.map((x) => ({ value: x, label: c.t(`kind.${x}` as MsgKey) })), f.kind)}
<div class="field"><label for="f-from">${c.t('filter.from')}</label><input id="f-from" name="from" type="date" value="${keep.from ?? ''}"></div>
<div class="field"><label for="f-to">${c.t('filter.to')}</label><input id="f-to" name="to" type="date" value="${keep.to ?? ''}"></div>
<div class="field buttons"><button type="submit">${c.t('action.search')}</button> <a href="/admin/mail">${c.t('users.clear')}</a></div>
</form>
${(counts.failed ?? 0) > 0 ? html`<div class="actions">${postButton(c, '/admin/mail/retry?status=failed', c.t('mail.retryAll'))}</div>` : ''}
<div class="table-wrap"><table data-testid="mail-table"><caption class="sr-only">${c.t('mail.title')}</caption>
<thead><tr><th scope="col">${c.t('mail.created')}</th><th scope="col">${c.t('mail.kind')}</th><th scope="col">${c.t('mail.recipient')}</th><th scope="col">${c.t('mail.status')}</th><th scope="col">${c.t('mail.attempts')}</th><th scope="col">${c.t('mail.reply')}</th><th scope="col"><span class="sr-only">${c.t('mail.actions')}</span></th></tr></thead>
<tbody>${res.rows.map(
      (m) => html`<tr data-id="${m.Id}"><td><time datetime="${m.CreatedAt}">${m.CreatedAt.replace('T', ' ').slice(0, 19)}</time></td><td>${c.t(`kind.${m.Kind}` as MsgKey)}</td><td>${m.Recipient}</td>
<td><span class="badge${BAD.has(m.Status) ? ' bad' : m.Status === 'sent' ? ' on' : ''}">${c.t(`mail.status.${m.Status}` as MsgKey)}</span></td><td>${m.Attempts}</td><td class="reply">${reportNote(c, m)}</td>
<td class="row-actions">${m.Status === 'failed' || m.Status === 'expired' ? postButton(c, `/admin/mail/retry?id=${encodeURIComponent(m.Id)}`, c.t('mail.retry')) : ''}</td></tr>`,
    )}</tbody></table></div>
${res.rows.length === 0 ? html`<p>${c.t('mail.none')}</p>` : ''}
${res.searchedTo !== null ? html`<p class="hint" role="status" data-testid="searched-to">${c.t(q.before ? 'mail.searchedFrom' : 'mail.searchedTo', { n: MAIL_SEARCH_WINDOW.toLocaleString(c.lang === 'fr' ? 'fr-FR' : 'en-US'), at: new Date(res.searchedTo).toISOString().slice(0, 16).replace('T', ' ') })}</p>` : ''}
<nav class="pager" aria-label="${c.t('pager.label')}">${res.prev ? html`<a href="${link({})}">${c.t('list.newest')}</a> <a href="${link({ before: res.prev })}" rel="prev">${c.t('users.prev')}</a>` : ''}
${res.next ? html`<a href="${link({ after: res.next })}" rel="next">${c.t('users.next')}</a>` : ''}</nav>`;
    return sendPage(reply, page(c, c.t('mail.title'), body), code);
  };

  app.get<{ Querystring: Record<string, unknown> }>('/admin/mail', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => show(req, reply, req.query));

  app.post<{ Querystring: { id?: string; status?: string } }>('/admin/mail/retry', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    try {
      await retryMail(scopeFor(deps.ctx, req), req.query.id ? { ids: [req.query.id] } : { status: req.query.status === 'expired' ? 'expired' : 'failed' });
      return reply.redirect('/admin/mail?done=requeued', 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return show(req, reply, {}, e, e.kind === 'not_found' ? 404 : 409);
    }
  });

  app.post('/admin/mail/resume', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
    await resumeDeliveries(scopeFor(deps.ctx, req));
    return reply.redirect('/admin/mail?done=resumed', 303);
  });
}
