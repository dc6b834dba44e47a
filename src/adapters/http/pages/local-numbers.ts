import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../core/errors.ts';
import { groupAccessNumbers, type CountryGroup } from '../../../core/local-numbers.ts';
import { findLocalNumbers, type LocalNumbers } from '../../../app/local-numbers.ts';
import { html } from '../html.ts';
import { isLang, translate, type Lang } from './i18n.ts';
import { page, pageCtx, type PageCtx } from './layout.ts';
import { sendPage, type PageDeps } from './routes.ts';

function numbersPage(c: PageCtx, found: LocalNumbers, groups: CountryGroup[]): string {
  const body = groups.length === 0
    ? html`<p>${c.t('bridges.noNumbers')}</p>`
    : html`<p>${c.t('numbers.intro')}</p>
${groups.map(
  (g) => html`<section class="card" aria-labelledby="c-${g.code || 'other'}"><h2 id="c-${g.code || 'other'}">${g.name}</h2>
<div class="table-wrap"><table class="numbers"><thead><tr><th scope="col">${c.t('bridges.city')}</th><th scope="col">${c.t('bridges.number')}</th><th scope="col">${c.t('bridges.type')}</th><th scope="col">${c.t('bridges.languages')}</th></tr></thead>
<tbody>${g.cities.map((city) =>
    city.numbers.map((n, i) => html`<tr>${i === 0 ? html`<th scope="rowgroup" rowspan="${city.numbers.length}">${city.city ?? c.t('dialin.otherCity')}</th>` : ''}<td><a href="${n.tel}" class="tel" data-testid="number">${n.formatted}</a></td><td>${n.type === 'TollFree' ? c.t('bridges.tollFree') : c.t('bridges.toll')}</td><td class="languages">${n.languages.join(', ')}</td></tr>`),
  )}</tbody></table></div></section>`,
)}
<p class="hint">${c.t('numbers.howTo')}</p>`;
  return page(c, c.t('numbers.title'), html`<p class="hint">${found.bridgeName}</p>${body}`, { area: 'public' });
}

/**
 * The public "Find a local number" page of a bridge, /numbers/<token>: no sign-in, every
 * access number by country and city with its languages, each a tel: link, in the reader's
 * language (?lang=, else the switch's cookie, else Accept-Language). It names no user and no
 * conference ID; its address is a random token per bridge (Set-CsOnlineDialInConferencingBridge
 * -NewLocalNumbersLink makes a new one).
 */
export function localNumbersPages(app: FastifyInstance, deps: PageDeps): void {
  app.get<{ Params: { token: string }; Querystring: { lang?: unknown } }>('/numbers/:token', { schema: { hide: true } }, async (req, reply) => {
      const raw = req.query.lang;
      const asked = raw === undefined ? undefined : typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      if (asked !== undefined && !isLang(asked)) throw new AppError('LANGUAGE_INVALID', `lang "${String(raw).slice(0, 16)}" is not a page language; use en or fr.`, { field: 'lang' });
      const base = pageCtx(req);
      const lang: Lang = asked ?? base.lang;
      // The language switch comes back here without ?lang=, so its choice is the one that counts.
      const c: PageCtx = { ...base, lang, t: (k, v) => translate(lang, k, v), path: req.url.split('?')[0]! };
      const found = await findLocalNumbers(deps.ctx, req.params.token);
      reply.header('x-robots-tag', 'noindex, nofollow');
      return sendPage(reply, numbersPage(c, found, groupAccessNumbers(found.numbers, lang, c.t('numbers.otherCountry'))));
  });
}
