import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError, type AppError } from '../../../core/errors.ts';
import { BRIDGE_LANGUAGES } from '../../../core/languages.ts';
import { getBridges, newBridge, setBridge, type BridgeView } from '../../../app/bridges.ts';
import { registerServiceNumber, unregisterServiceNumber } from '../../../app/service-numbers.ts';
import { scopeFor } from '../auth.ts';
import { html } from '../html.ts';
import { csrfField, errorBox, flash, input, postButton, select } from './kit.ts';
import { page, type PageCtx } from './layout.ts';
import { displayNumber } from '../../../core/phone-number.ts';
import { adminCtx, sendPage, type PageDeps } from './routes.ts';

function bridgesPage(c: PageCtx, bridges: BridgeView[], o: { error?: AppError | null; saved?: boolean }): string {
  const cards = bridges.map(
    (b) => html`<section class="card" aria-labelledby="b-${b.Identity}"><h2 id="b-${b.Identity}">${b.Name}${b.IsDefault ? html` <span class="badge on">${c.t('bridges.default')}</span>` : ''}</h2>
<p>${c.t('bridges.localNumbers')}: <a href="${b.LocalNumbersUrl}" class="url" data-testid="local-numbers-url">${b.LocalNumbersUrl}</a> ${postButton(c, `/admin/bridges/${b.Identity}/local-numbers-link`, c.t('bridges.newLocalNumbersLink'), { confirm: c.t('bridges.newLocalNumbersConfirm') })}</p>
<p>${c.t('bridges.defaultNumber')}: <strong>${b.DefaultServiceNumber ? displayNumber(b.DefaultServiceNumber) : '—'}</strong> · ${c.t('bridges.defaultTollFree')}: <strong>${b.DefaultTollFreeServiceNumber ? displayNumber(b.DefaultTollFreeServiceNumber) : '—'}</strong></p>
${b.ServiceNumbers.length
  ? html`<div class="table-wrap"><table><thead><tr><th scope="col">${c.t('bridges.number')}</th><th scope="col">${c.t('bridges.type')}</th><th scope="col">${c.t('bridges.city')}</th><th scope="col">${c.t('bridges.languages')}</th><th scope="col"><span class="sr-only">${c.t('bridges.actions')}</span></th></tr></thead>
<tbody>${b.ServiceNumbers.map(
      (n) => html`<tr><td><a href="tel:${n.Number}">${displayNumber(n.Number)}</a></td><td>${n.Type === 'TollFree' ? c.t('bridges.tollFree') : c.t('bridges.toll')}</td><td>${n.City ?? '—'}</td><td>${[n.PrimaryLanguage, ...n.SecondaryLanguages].filter(Boolean).join(', ')}</td>
<td class="row-actions">${n.Number !== b.DefaultServiceNumber && n.Number !== b.DefaultTollFreeServiceNumber ? postButton(c, `/admin/bridges/${b.Identity}/default?number=${encodeURIComponent(n.Number)}&type=${n.Type}`, c.t('bridges.makeDefault')) : ''}
${postButton(c, `/admin/numbers/remove?number=${encodeURIComponent(n.Number)}`, c.t('bridges.remove'), { confirm: c.t('bridges.removeConfirm', { number: displayNumber(n.Number) }), kind: 'danger' })}</td></tr>`,
    )}</tbody></table></div>`
  : html`<p>${c.t('bridges.noNumbers')}</p>`}
</section>`,
  );
  return page(
    c,
    c.t('bridges.title'),
    html`${flash(c, o.saved ? 'flash.saved' : null)}${errorBox(c, o.error ?? null)}${cards}
<div class="grid2">
<form method="post" action="/admin/numbers" class="card">${csrfField(c)}<h2>${c.t('bridges.register')}</h2>
${input(c, 'Identity', c.t('bridges.number'), { required: true, hint: c.t('bridges.numberHint'), inputmode: 'tel', error: o.error, fields: ['Number'] })}
${select(c, 'BridgeId', c.t('bridges.bridge'), bridges.map((b) => ({ value: b.Identity, label: b.Name })), bridges.find((b) => b.IsDefault)?.Identity ?? null)}
${select(c, 'Type', c.t('bridges.type'), [{ value: 'Toll', label: c.t('bridges.toll') }, { value: 'TollFree', label: c.t('bridges.tollFree') }], 'Toll')}
${input(c, 'City', c.t('bridges.city'), { maxlength: 128 })}
${select(c, 'PrimaryLanguage', c.t('bridges.primaryLanguage'), BRIDGE_LANGUAGES.map((l) => ({ value: l, label: l })), 'en-US')}
<button type="submit" class="primary">${c.t('bridges.registerButton')}</button></form>
<form method="post" action="/admin/bridges" class="card">${csrfField(c)}<h2>${c.t('bridges.new')}</h2>
${input(c, 'Name', c.t('bridges.name'), { required: true, maxlength: 128, error: o.error })}
<button type="submit">${c.t('bridges.create')}</button></form>
</div>`,
  );
}

/** Bridges and numbers: New-/Set-CsOnlineDialInConferencingBridge and (Un)Register-…ServiceNumber. */
export function adminBridgesPages(app: FastifyInstance, deps: PageDeps): void {
  const show = async (req: FastifyRequest, reply: FastifyReply, o: { error?: AppError; saved?: boolean }, status = 200) =>
    sendPage(reply, bridgesPage(adminCtx(req), await getBridges(scopeFor(deps.ctx, req), {}), o), status);
  const action = <B>(url: string, run: (req: FastifyRequest<{ Body: B; Querystring: { number?: string; type?: string }; Params: { id?: string } }>) => Promise<unknown>) => {
    app.post<{ Body: B; Querystring: { number?: string; type?: string }; Params: { id?: string } }>(url, { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => {
      try {
        await run(req);
        return reply.redirect('/admin/bridges?done=saved', 303);
      } catch (e) {
        if (!isAppError(e)) throw e;
        return show(req, reply, { error: e }, e.kind === 'validation' ? 400 : e.kind === 'not_found' ? 404 : 409);
      }
    });
  };

  app.get<{ Querystring: { done?: string } }>('/admin/bridges', { schema: { hide: true }, config: { access: 'admin' } }, async (req, reply) => show(req, reply, { saved: req.query.done === 'saved' }));
  action<{ Name?: string }>('/admin/bridges', (req) => newBridge(scopeFor(deps.ctx, req), { name: req.body?.Name ?? '' }));
  action('/admin/bridges/:id/default', (req) => setBridge(scopeFor(deps.ctx, req), { id: req.params.id ?? null }, req.query.type === 'TollFree' ? { defaultTollFreeServiceNumber: req.query.number ?? '' } : { defaultServiceNumber: req.query.number ?? '' }));
  action('/admin/bridges/:id/local-numbers-link', (req) => setBridge(scopeFor(deps.ctx, req), { id: req.params.id ?? null }, { newLocalNumbersLink: true }));
  action<{ Identity?: string; BridgeId?: string; Type?: string; City?: string; PrimaryLanguage?: string }>('/admin/numbers', (req) =>
    registerServiceNumber(scopeFor(deps.ctx, req), { number: req.body?.Identity ?? '', bridge: { id: req.body?.BridgeId || null }, type: req.body?.Type, city: req.body?.City || null, primaryLanguage: req.body?.PrimaryLanguage }),
  );
  action('/admin/numbers/remove', (req) => unregisterServiceNumber(scopeFor(deps.ctx, req), { number: req.query.number ?? '', bridge: {} }));
}
